"""Eigen-decompositions of the step-wise SVD's float32 Gram matrices.

:func:`_eigh_desc`: every eigenpair, largest first, in the Gram matrix's own buffer (LAPACK
``syevd`` without the GIL, :mod:`.lapack`); :func:`_top_eigenvalue`: a cheap estimate of
λ_max (for the shift that sorts the deflated directions last).  Their accuracy sets the
error estimates of :mod:`.fast_svd`: a float32 Gram matrix's eigenvalues are off by about
:data:`EPS32` · λ_max absolute.
"""

from __future__ import annotations

import numpy as np

from svdstudio.engine.image.busy_machine import lean_blas
from svdstudio.engine.image.lapack import eigh_inplace

__all__ = ["EPS32"]

EPS32 = float(np.finfo(np.float32).eps)


def _eigh_desc(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric float32 G, largest first: (λ ≥ 0, Zᵀ with row i = z_i).

    LAPACK ``syevd`` overwrites G's buffer with the eigenvectors, one per row
    (:func:`.lapack.eigh_inplace`, which releases the GIL); the rows are then put in
    descending order in place, a row pair at a time, so no second p×p array is made.
    """
    with lean_blas():
        lam, W = eigh_inplace(G)
    _reverse_rows(W)
    return np.maximum(lam[::-1], 0.0), W


def _reverse_rows(W: np.ndarray) -> None:
    """Reverse the order of W's rows in place (one row of scratch)."""
    n = W.shape[0]
    tmp = np.empty(W.shape[1:], W.dtype)
    for i in range(n // 2):
        j = n - 1 - i
        tmp[...] = W[i]
        W[i] = W[j]
        W[j] = tmp


def _top_eigenvalue(G: np.ndarray, iterations: int = 12) -> float:
    """A lower estimate of λ_max of a symmetric positive semi-definite G (power iteration)."""
    x = np.random.default_rng(1).standard_normal((G.shape[0],)).astype(G.dtype)
    lam = 0.0
    for _ in range(iterations):
        y = G @ x
        lam = float(np.linalg.norm(y))
        if lam == 0.0:
            return 0.0
        x = y / lam
    return lam
