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

import re
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import decompose
from svdstudio.engine.validate import as_matrix

__all__ = [
    "METHODS",
    "METHOD_EXPLANATIONS",
    "METHOD_KEYS",
    "METHOD_TITLES",
    "Projection",
    "ProjectionMethod",
    "component_names",
    "method_by_name",
    "method_names_help",
    "project",
]


@dataclass(frozen=True, eq=False)
class ProjectionMethod:
    """One projection method: its key, the title the GUI shows, the CLI's short name, the other
    names it answers to, and a sentence that explains it.

    It compares equal to (and hashes as) its ``key`` string, and ``str()`` gives the key, so code
    that stores or compares keys ("tsvd", "pca", "standardized") keeps working with it.
    """

    key: str
    title: str
    short: str
    aliases: tuple[str, ...]
    description: str

    def __str__(self) -> str:
        return self.key

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProjectionMethod):
            return other.key == self.key
        if isinstance(other, str):
            return other == self.key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name accepted for this method, the GUI title first (for messages and help)."""
        plain = _without_parenthesis(self.title)
        out: dict[str, str] = {}
        for n in (self.title, plain, self.short, self.key, *self.aliases):
            out.setdefault(_fold(n), n)  # "PCA" and "pca" are one name
        return tuple(out.values())


METHODS: tuple[ProjectionMethod, ...] = (
    ProjectionMethod(
        key="tsvd",
        title="Truncated SVD (raw data)",
        short="tsvd",
        aliases=("svd", "TruncatedSVD"),
        description="SVD of the raw table as in the article and scikit-learn's TruncatedSVD: "
        "coordinates U_k Σ_k, no centring, so component 1 mostly follows the mean.",
    ),
    ProjectionMethod(
        key="pca",
        title="PCA (centred)",
        short="pca",
        aliases=("centred PCA", "centred"),
        description="SVD of the table after subtracting each column's mean (PCA): "
        "components are the directions of largest variance.",
    ),
    ProjectionMethod(
        key="standardized",
        title="Standardised PCA (centred and scaled)",
        short="std",
        aliases=("standardised", "scaled PCA", "correlation PCA"),
        description="PCA after centring and dividing each column by its standard deviation "
        "(ddof 0): every feature counts equally, whatever its unit.",
    ),
)

METHOD_KEYS: tuple[str, ...] = tuple(m.key for m in METHODS)
METHOD_TITLES: dict[str, str] = {m.key: m.title for m in METHODS}
METHOD_EXPLANATIONS: dict[str, str] = {m.key: m.description for m in METHODS}

# British spellings the GUI uses, folded so the American ones match too.
_SPELLINGS = (("standardis", "standardiz"), ("centred", "centered"), ("normalis", "normaliz"))


def _without_parenthesis(text: str) -> str:
    return re.sub(r"\s*\([^)]*\)\s*", " ", text).strip()


def _fold(text: str) -> str:
    """Fold case, spaces, hyphens and spelling: "Standardised-PCA" ~ "standardized pca"."""
    t = text.casefold().replace("-", " ").replace("_", " ")
    for british, american in _SPELLINGS:
        t = t.replace(british, american)
    return " ".join(t.split())


def _index() -> dict[str, ProjectionMethod]:
    index: dict[str, ProjectionMethod] = {}
    for m in METHODS:
        for n in m.names:
            index.setdefault(_fold(n), m)
            index.setdefault(_fold(n).replace(" ", ""), m)
    return index


_BY_NAME = _index()


def method_by_name(text: str | ProjectionMethod) -> ProjectionMethod:
    """The method named ``text``: its key, short name, GUI title (with or without the part in
    parenthesis), or an alias, in any case and in British or American spelling.

    Raises ValueError naming what was typed and listing the accepted names.
    """
    if isinstance(text, ProjectionMethod):
        return text
    raw = str(text)
    # Also the text before an unclosed "(": what a shell user types half-way ("PCA (centred").
    for candidate in (raw, _without_parenthesis(raw), raw.split("(")[0]):
        folded = _fold(candidate)
        found = _BY_NAME.get(folded) or _BY_NAME.get(folded.replace(" ", ""))
        if found is not None:
            return found
    choices = ", ".join(f'{m.short} = "{_without_parenthesis(m.title)}"' for m in METHODS)
    raise ValueError(f"unknown projection method {raw!r}; use one of: {choices}")


def method_names_help() -> list[str]:
    """One line per method listing the names it accepts, for ``--help`` texts."""
    return [", ".join(repr(n) if " " in n else n for n in m.names) for m in METHODS]


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


def project(
    X: object, method: str | ProjectionMethod = "tsvd", n_components: int | None = None
) -> Projection:
    """Project the rows of ``X`` onto its first ``n_components`` singular directions.

    ``n_components`` None keeps all min(n, p) components.  Raises ValueError for an unknown
    method, fewer than 2 rows, a bad count or a zero-variance column when standardising.
    """
    method = method_by_name(method).key
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
