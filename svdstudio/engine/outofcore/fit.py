"""Truncated SVD, PCA and standardised PCA of a row-chunked Dask array.

The definitions are :mod:`svdstudio.engine.projection`'s, so a table that fits both ways gives
the same numbers: explained variance and ratios as scikit-learn defines them, components with
the engine's sign convention.  The means and scales come from one chunked pass (or from the
reader's own scan, which already made that pass); then either

- the exact tall-and-skinny SVD, ``dask.array.linalg.svd`` (TSQR: a QR per row chunk, then one
  small SVD of the stacked R factors), when the features fit one column chunk
  (``p <= EXACT_MAX_COLUMNS``), or
- ``dask.array.linalg.svd_compressed``, a randomized SVD with ``n_power_iter`` power iterations
  (QR between them) and ``n_oversamples`` extra directions, for wider tables.

Only σ and Vᵀ are computed here (U would hold a number per row); the projection of every row is
the streaming pass of :mod:`svdstudio.engine.outofcore.stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.outofcore.compute import DaskCompute
from svdstudio.engine.projection import METHODS
from svdstudio.engine.signs import apply_sign_convention

__all__ = ["EXACT_MAX_COLUMNS", "OutOfCoreFit", "chunked_array", "fit_projection"]

#: Up to this many features the exact TSQR SVD is used (R factors stay p × p, small).
EXACT_MAX_COLUMNS = 2000


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
    moments pass.  ``exact`` None picks TSQR when p ≤ EXACT_MAX_COLUMNS.  Raises ValueError
    for an unknown method, a bad count or a constant column when standardising.
    """
    import dask.array as da

    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; use one of {', '.join(METHODS)}")
    n, p = (int(d) for d in X.shape)  # type: ignore[attr-defined]
    if n < 2:
        raise ValueError(f"a projection needs at least 2 rows; the table has {n}")
    kmax = min(n, p)
    k = int(n_components)
    if not 1 <= k <= kmax:
        raise ValueError(
            f"number of components must be between 1 and {kmax} for a {n}×{p} table; got {k}"
        )
    if exact is None:
        exact = p <= EXACT_MAX_COLUMNS
    if X.chunks[1] != (p,):  # type: ignore[attr-defined]
        X = X.rechunk({1: p})  # type: ignore[attr-defined]

    if mean is None or variance is None:
        mean, variance = compute.compute(X.mean(axis=0), X.var(axis=0), stage="means and scales")  # type: ignore[attr-defined]
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    centre = np.zeros(p)
    scale = np.ones(p)
    A = X
    if method in ("pca", "standardized"):
        centre = mean
        A = A - centre
    if method == "standardized":
        scale = np.sqrt(variance)
        zero = np.nonzero(scale == 0)[0]
        if zero.size:
            raise ValueError(
                f"column {int(zero[0]) + 1} is constant; it cannot be standardised "
                "(drop constant columns first)"
            )
        A = A / scale

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
    s_all = np.asarray(s_all, dtype=np.float64)
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
        exact=bool(exact),
        where=compute.description,
    )
