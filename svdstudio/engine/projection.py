"""Project a data table (rows = samples, columns = features) onto its top singular directions.

Three methods, each defined as scikit-learn defines it so the numbers agree with it (up to the
sign of each component, fixed here by the engine's sign convention):

- ``"tsvd"``: truncated SVD of the raw table, as the article and ``TruncatedSVD``:
  projection = X V_k = U_k Σ_k; explained variance = variance (ddof 0) of each projected column,
  ratio = that / total variance (ddof 0) of X.  No centring, so the first component mostly
  points at the mean and the ratios need not decrease.
- ``"pca"``: SVD of the centred table, as ``PCA``: projection = (X − mean) V_k; explained
  variance σ_i² / (n − 1); ratio = σ_i² / Σ σ_j².
- ``"standardized"``: PCA of the centred table divided by each column's standard deviation
  (ddof 0, as ``StandardScaler``), i.e. PCA of the correlation matrix; every feature counts equally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import decompose
from svdstudio.engine.validate import as_matrix

__all__ = [
    "METHODS",
    "METHOD_EXPLANATIONS",
    "METHOD_TITLES",
    "Projection",
    "component_names",
    "project",
]

METHODS = ("tsvd", "pca", "standardized")

METHOD_TITLES = {
    "tsvd": "Truncated SVD (raw data)",
    "pca": "PCA (centred)",
    "standardized": "Standardised PCA (centred and scaled)",
}

METHOD_EXPLANATIONS = {
    "tsvd": "SVD of the raw table as in the article and scikit-learn's TruncatedSVD: "
    "coordinates U_k Σ_k, no centring, so component 1 mostly follows the mean.",
    "pca": "SVD of the table after subtracting each column's mean (PCA): "
    "components are the directions of largest variance.",
    "standardized": "PCA after centring and dividing each column by its standard deviation "
    "(ddof 0): every feature counts equally, whatever its unit.",
}


@dataclass(frozen=True, eq=False)
class Projection:
    """Result of :func:`project` for ``k`` components of an n × p table.

    ``components`` is k × p (rows are the directions v_i in feature space); ``projection`` is
    n × k; ``mean`` and ``scale`` (length p) are what was subtracted and divided before the SVD
    (zeros / ones when not applied); ``loadings`` is p × k = components.T · sqrt(explained
    variance), the feature arrows of a biplot (correlations for "standardized").
    ``total_variance`` is the denominator of the ratios.
    """

    method: str
    singular_values: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    components: np.ndarray
    projection: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    loadings: np.ndarray
    total_variance: float
    n_samples: int
    n_features: int

    @property
    def n_components(self) -> int:
        """How many components were kept."""
        return int(self.singular_values.shape[0])


def component_names(method: str, k: int) -> list[str]:
    """Column names for projected coordinates: SVD1.. for truncated SVD, PC1.. for PCA."""
    prefix = "SVD" if method == "tsvd" else "PC"
    return [f"{prefix}{i + 1}" for i in range(k)]


def project(X: object, method: str = "tsvd", n_components: int | None = None) -> Projection:
    """Project the rows of ``X`` onto its first ``n_components`` singular directions.

    ``n_components`` None keeps all min(n, p) components.  Raises ValueError for an unknown
    method, fewer than 2 rows, a bad count or a zero-variance column when standardising.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; use one of {', '.join(METHODS)}")
    raw = as_matrix(X, name="data table")
    A = raw
    n, p = A.shape
    if n < 2:
        raise ValueError(f"a projection needs at least 2 rows; the table has {n}")
    kmax = min(n, p)
    k = kmax if n_components is None else int(n_components)
    if not 1 <= k <= kmax:
        raise ValueError(
            f"number of components must be between 1 and {kmax} for a {n}×{p} table; got {k}"
        )

    mean = np.zeros(p)
    scale = np.ones(p)
    if method in ("pca", "standardized"):
        mean = A.mean(axis=0)
        A = A - mean
    if method == "standardized":
        scale = A.std(axis=0)  # ddof 0, as scikit-learn's StandardScaler
        zero = np.nonzero(scale == 0)[0]
        if zero.size:
            raise ValueError(
                f"column {int(zero[0]) + 1} is constant; it cannot be standardised "
                "(drop constant columns first)"
            )
        A = A / scale

    res = decompose(A)
    s = res.s[:k]
    Vt = res.Vt[:k]
    U = res.U[:, :k]
    coords = U * s  # = A V_k, the same numbers without another product

    if method == "tsvd":
        explained = coords.var(axis=0)
        total = float(np.sum(raw.var(axis=0)))
    else:
        explained = s**2 / (n - 1)
        total = float(np.sum(res.s**2) / (n - 1))
    ratio = explained / total if total > 0 else np.zeros_like(explained)
    loadings = Vt.T * np.sqrt(explained)
    return Projection(
        method=method,
        singular_values=s.copy(),
        explained_variance=explained,
        explained_variance_ratio=ratio,
        components=Vt.copy(),
        projection=coords,
        mean=mean,
        scale=scale,
        loadings=loadings,
        total_variance=total,
        n_samples=n,
        n_features=p,
    )
