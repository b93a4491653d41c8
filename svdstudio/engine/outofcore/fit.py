"""Truncated SVD, PCA and standardised PCA of a row-chunked Dask array.

The definitions are :mod:`svdstudio.engine.projection`'s, so a table that fits both ways gives
the same numbers: explained variance and ratios as scikit-learn defines them, components with
the engine's sign convention.  Two ways in:

- :func:`fit_from_factor`, the path of the CLI and the GUI: the reader's one chunked pass
  (its scan) also builds the table's centred R factor, a TSQR whose first level is a QR of
  each row block and whose tree is a Dask reduction (:mod:`.factors`); every method is then
  the exact SVD of a p × p matrix, with no further pass.  Measured on 250,000 × 50 chunks on
  2 busy cores: Dask's own TSQR (``dask.array.linalg.svd``, a full QR with Q per chunk) took
  46 s per 2 million rows, this 2.5–4× less per QR and one pass fewer.
- :func:`fit_projection` on any row-chunked Dask array: the means and scales by one chunked
  pass (unless given), then the exact ``dask.array.linalg.svd`` (TSQR) when the features fit
  one column chunk (``p <= EXACT_MAX_COLUMNS``), else ``dask.array.linalg.svd_compressed``,
  a randomized SVD with ``n_power_iter`` power iterations (QR between them) and
  ``n_oversamples`` extra directions, which the readers use for wider tables.

Only σ and Vᵀ are computed here (U would hold a number per row); the projection of every row is
the streaming pass of :mod:`svdstudio.engine.outofcore.stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.outofcore.compute import DaskCompute
from svdstudio.engine.outofcore.factors import ChunkFactor, raw_factor
from svdstudio.engine.projection import METHOD_KEYS
from svdstudio.engine.signs import apply_sign_convention

__all__ = [
    "EXACT_MAX_COLUMNS",
    "OutOfCoreFit",
    "chunked_array",
    "fit_from_factor",
    "fit_projection",
]

#: Up to this many features the exact TSQR SVD is used (each R factor is p × p: 8 MB at 1000).
EXACT_MAX_COLUMNS = 1000


@dataclass(frozen=True, eq=False)
class OutOfCoreFit:
    """What :func:`fit_projection` found for ``k`` components of an n × p table.

    Fields as :class:`svdstudio.engine.projection.Projection`, without the n × k projection;
    ``algorithm`` says which SVD ran (and its power iterations), ``where`` which scheduler.
    ``singular_values`` holds the k kept values; ``all_singular_values`` every value the
    algorithm computed (all min(n, p) on the exact path, k on the randomized one).
    """

    method: str
    singular_values: np.ndarray
    all_singular_values: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    loadings: np.ndarray
    total_variance: float
    n_samples: int
    n_features: int
    algorithm: str
    exact: bool
    where: str

    @property
    def n_components(self) -> int:
        """How many components were kept."""
        return int(self.singular_values.shape[0])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Coordinates of rows ``X`` (n × p, raw features): ((X − mean) / scale) · Vᵀᵀ."""
        return ((X - self.mean) / self.scale) @ self.components.T


def chunked_array(
    load: Callable[[int], np.ndarray], rows: Sequence[int], n_features: int
) -> object:
    """A Dask array n × p whose row chunk ``i`` is ``load(i)`` (``rows[i]`` rows, float64)."""
    import dask.array as da
    from dask import delayed

    blocks = [
        da.from_delayed(delayed(load, pure=True)(i), shape=(int(r), n_features), dtype=np.float64)
        for i, r in enumerate(rows)
        if r > 0
    ]
    if not blocks:
        raise ValueError("the table has no rows")
    return da.concatenate(blocks, axis=0)


def _key(method: object) -> str:
    """A method key from a key or a :class:`~svdstudio.engine.projection.ProjectionMethod`."""
    return str(getattr(method, "key", method))


def _check(method: str, n: int, p: int, n_components: int) -> int:
    if method not in METHOD_KEYS:
        raise ValueError(
            f"unknown projection method {method!r}; use one of {', '.join(METHOD_KEYS)}"
        )
    if n < 2:
        raise ValueError(f"a projection needs at least 2 rows; the table has {n}")
    kmax = min(n, p)
    k = int(n_components)
    if not 1 <= k <= kmax:
        raise ValueError(
            f"number of components must be between 1 and {kmax} for a {n}×{p} table; got {k}"
        )
    return k


def _centre_and_scale(
    method: str, mean: np.ndarray, variance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    p = mean.shape[0]
    centre = mean if method in ("pca", "standardized") else np.zeros(p)
    scale = np.ones(p)
    if method == "standardized":
        scale = np.sqrt(variance)
        zero = np.nonzero(scale == 0)[0]
        if zero.size:
            raise ValueError(
                f"column {int(zero[0]) + 1} is constant; it cannot be standardised "
                "(drop constant columns first)"
            )
    return centre, scale


def _finish(
    method: str,
    k: int,
    s_all: np.ndarray,
    v: np.ndarray,
    n: int,
    mean: np.ndarray,
    variance: np.ndarray,
    centre: np.ndarray,
    scale: np.ndarray,
    *,
    exact: bool,
    algorithm: str,
    where: str,
) -> OutOfCoreFit:
    """The engine's definitions of explained variance, ratios and loadings, and its signs."""
    p = mean.shape[0]
    s_all = np.asarray(s_all, dtype=np.float64)[: min(n, p)]
    s = s_all[:k].copy()
    _, Vt = apply_sign_convention(np.zeros((0, k)), np.asarray(v, dtype=np.float64)[:k])
    if method == "tsvd":
        # var of X v_i = mean((X v_i)²) − mean(X v_i)² = σ_i²/n − (μ·v_i)², as the engine's.
        explained = s**2 / n - (Vt @ mean) ** 2
        total = float(np.sum(variance))
    else:
        explained = s**2 / (n - 1)
        if exact:
            total = float(np.sum(s_all**2) / (n - 1))
        else:
            total = float(np.sum(variance / scale**2) * n / (n - 1))
    ratio = explained / total if total > 0 else np.zeros_like(explained)
    return OutOfCoreFit(
        method=method,
        singular_values=s,
        all_singular_values=s_all,
        explained_variance=explained,
        explained_variance_ratio=ratio,
        components=Vt,
        mean=centre,
        scale=scale,
        loadings=Vt.T * np.sqrt(np.maximum(explained, 0.0)),
        total_variance=total,
        n_samples=n,
        n_features=p,
        algorithm=algorithm,
        exact=exact,
        where=where,
    )


def fit_from_factor(
    factor: ChunkFactor,
    method: str,
    n_components: int,
    *,
    columns: Sequence[int] | None = None,
    where: str = "",
) -> OutOfCoreFit:
    """Fit ``method`` from the table's centred R factor (see :mod:`.factors`): exact, no pass.

    ``columns`` picks the features (constant columns left out: RᵀR's sub-block is theirs).
    """
    method = _key(method)
    cols = list(range(factor.R.shape[1])) if columns is None else list(columns)
    n, p = factor.n, len(cols)
    k = _check(method, n, p, n_components)
    R = factor.R[:, cols]
    mean = factor.mean[cols]
    variance = np.einsum("ij,ij->j", R, R) / n
    centre, scale = _centre_and_scale(method, mean, variance)
    S = raw_factor(factor, cols) if method == "tsvd" else R / scale
    # S is at most (p + 1) × p with SᵀS equal to the table's (centred, scaled) Gram matrix.
    _, s_all, v = np.linalg.svd(S, full_matrices=False)
    return _finish(
        method,
        k,
        s_all,
        v,
        n,
        mean,
        variance,
        centre,
        scale,
        exact=True,
        algorithm="exact tall-and-skinny SVD (TSQR: R of each row block in the chunked pass, "
        "combined by a Dask reduction tree, then the SVD of one p × p factor)",
        where=where,
    )


def fit_projection(
    X: object,
    method: str,
    n_components: int,
    compute: DaskCompute,
    *,
    mean: np.ndarray | None = None,
    variance: np.ndarray | None = None,
    exact: bool | None = None,
    n_power_iter: int = 2,
    n_oversamples: int = 10,
    seed: int = 0,
) -> OutOfCoreFit:
    """Fit ``method`` (tsvd, pca, standardized) to the Dask array ``X`` (n × p, row chunks).

    ``mean`` and ``variance`` (ddof 0), if the caller has them from its own pass, save the
    moments pass.  ``exact`` None picks TSQR (``dask.array.linalg.svd``) when
    p ≤ EXACT_MAX_COLUMNS, else ``svd_compressed``.  Raises ValueError for an unknown method,
    a bad count or a constant column when standardising.
    """
    import dask.array as da

    method = _key(method)
    n, p = (int(d) for d in X.shape)  # type: ignore[attr-defined]
    k = _check(method, n, p, n_components)
    if exact is None:
        exact = p <= EXACT_MAX_COLUMNS
    if X.chunks[1] != (p,):  # type: ignore[attr-defined]
        X = X.rechunk({1: p})  # type: ignore[attr-defined]
    if mean is None or variance is None:
        mean, variance = compute.compute(X.mean(axis=0), X.var(axis=0), stage="means and scales")  # type: ignore[attr-defined]
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    centre, scale = _centre_and_scale(method, mean, variance)
    A = (X - centre) / scale
    if exact:
        _, s_all, v = da.linalg.svd(A, coerce_signs=False)
        algorithm = "exact tall-and-skinny SVD (dask.array.linalg.svd, TSQR)"
    else:
        _, s_all, v = da.linalg.svd_compressed(
            A,
            k,
            n_power_iter=n_power_iter,
            n_oversamples=n_oversamples,
            seed=seed,
            coerce_signs=False,
        )
        algorithm = (
            f"randomized SVD (dask.array.linalg.svd_compressed, {n_power_iter} power "
            f"iterations, {n_oversamples} oversamples)"
        )
    s_all, v = compute.compute(s_all, v, stage="SVD")
    return _finish(
        method,
        k,
        s_all,
        v,
        n,
        mean,
        variance,
        centre,
        scale,
        exact=bool(exact),
        algorithm=algorithm,
        where=compute.description,
    )
