"""Projections and orthonormalisation of the step-wise SVD (in place where arrays are big).

:func:`_gemm_update` (C −= A B a band of rows at a time) deflates the residual and shifts the
Gram matrix; :func:`_project_rows` removes the accepted vectors from a level's block;
:func:`_orthonormal_completion` gives the vectors no estimate vouches for (or of σ ≈ 0)
orthonormal replacements.  Each projection runs twice: one classical Gram–Schmidt pass
leaves components of the size of the earlier σ.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__: list[str] = []  # helpers of .fast_svd, .factor_arrays and .gram_levels


def _project_out(Y: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Y − V (Vᵀ Y), twice (one classical Gram–Schmidt pass loses orthogonality)."""
    if V.shape[1] == 0:
        return Y
    for _ in range(2):
        Y = Y - V @ (V.T @ Y)
    return Y


def _orthonormal_completion(
    Y: np.ndarray, V: np.ndarray, sigma: np.ndarray, floor: float, seed: int
) -> np.ndarray:
    """Orthonormal columns ⟂ V, close to Y's directions (Y's columns of σ ≤ floor are noise)."""
    Y = Y.copy()
    noise = sigma <= floor
    if noise.any():
        # A numerically zero block has no direction worth keeping: any orthonormal completion
        # is a valid set of singular vectors for σ ≈ 0, and random columns have full rank.
        rng = np.random.default_rng(seed)
        Y[:, noise] = rng.standard_normal((Y.shape[0], int(noise.sum()))).astype(Y.dtype)
    for _ in range(2):
        Y = _project_out(Y, V)
        Q, Rq = scipy.linalg.qr(Y, mode="economic", check_finite=False)
        # Keep each column's sign (QR may flip it): q_i then approximates y_i / ‖y_i‖.
        signs = np.sign(np.diag(Rq))
        signs[signs == 0] = 1
        Y = Q * signs
    return Y


def _gemm_update(C: np.ndarray, A: np.ndarray, B: np.ndarray, rows: int = 1024) -> None:
    """C −= A B in place, a band of rows at a time (no temporary of C's size).

    ``C -= A @ B`` writes A B to a new array first (48 MB at 12 MP); bands of 1024 rows keep
    that to 16 MB (measured interleaved on the 3000×4000 deflation, load ≈ 6: 256-row bands
    were 2× slower than one temporary, 1024-row bands about as fast).  numpy's GEMM on
    purpose, not scipy's ``sgemm`` with β = 1: numpy and scipy each bundle their own OpenBLAS,
    and alternating between the two thread pools made the whole quick stage about 1.5×
    slower (interleaved, load ≈ 8; the idle pool's threads spin while the other works).
    """
    if A.shape[1] == 0:
        return
    tmp = np.empty((min(rows, C.shape[0]), C.shape[1]), np.result_type(A, B))
    for a in range(0, C.shape[0], rows):
        b = min(a + rows, C.shape[0])
        band = tmp[: b - a]
        np.matmul(A[a:b], B, out=band)
        C[a:b] -= band


def _project_rows(block: np.ndarray, V_rows: np.ndarray) -> None:
    """block −= (block Vᵀ) V in place for orthonormal rows V, twice (one classical
    Gram–Schmidt pass leaves components of the size of the earlier σ)."""
    if V_rows.shape[0] == 0:
        return
    for _ in range(2):
        _gemm_update(block, block @ V_rows.T, V_rows)
