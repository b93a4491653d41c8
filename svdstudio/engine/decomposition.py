"""Thin and top-k singular value decompositions, returned as frozen results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.scaled import sum_of_squares
from svdstudio.engine.signs import apply_sign_convention
from svdstudio.engine.validate import as_matrix

__all__ = [
    "TOPK_METHODS",
    "Cancelled",
    "SVDResult",
    "decompose",
    "decompose_topk",
    "default_tolerance",
]

TOPK_METHODS = ("propack", "randomized")


class Cancelled(Exception):  # noqa: N818 - it is an event, not an error
    """Raised by a step-wise computation whose cancel check returned True."""


@dataclass(frozen=True, eq=False)
class SVDResult:
    """A (possibly partial) thin SVD A ≈ U diag(s) Vt with its summary figures.

    ``U`` is m×r, ``s`` has r entries in descending order, ``Vt`` is r×n.  For a full thin
    SVD r = min(m, n).  For a top-k result (``is_partial``) r = k, the rank is a lower bound
    and the condition number is unknown (nan).  ``total_energy`` is ‖A‖_F², so the error of
    any rank k ≤ r is known either way.  ``approx_from``: index of the first triplet whose
    estimated relative error exceeds the stated accuracy (1e-4), or None when all meet it.
    """

    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray
    shape: tuple[int, int]
    dtype: str
    rank: int
    tolerance: float
    condition_number: float
    total_energy: float
    driver: str
    is_partial: bool = False
    approx_from: int | None = None

    @property
    def n_components(self) -> int:
        """How many singular triplets this result holds."""
        return int(self.s.shape[0])


def default_tolerance(s: np.ndarray, shape: tuple[int, int], dtype: np.dtype) -> float:
    """σ_max · max(m, n) · eps, the usual numerical-rank tolerance (as numpy's matrix_rank)."""
    smax = float(s[0]) if s.size else 0.0
    return smax * (max(shape) * float(np.finfo(dtype).eps))  # this order cannot overflow


def _summarise(
    A: np.ndarray,
    U: np.ndarray,
    s: np.ndarray,
    Vt: np.ndarray,
    *,
    tol: float | None,
    driver: str,
    partial: bool,
    total_energy: float,
    signed: bool = False,
) -> SVDResult:
    # ``signed``: the caller has applied the sign convention to U and Vt already (in place,
    # on arrays it owns), so they are neither copied nor flipped again.
    if not signed:
        U, Vt = apply_sign_convention(U, Vt)
    tolerance = default_tolerance(s, A.shape, A.dtype) if tol is None else float(tol)
    if tol is None and s.size and s[0] > 0:
        # Relative to σ_1, so a tolerance that underflows (σ_1 below 1e-300) still works.
        rank = int(np.count_nonzero(s / s[0] > max(A.shape) * float(np.finfo(A.dtype).eps)))
    else:
        rank = int(np.count_nonzero(s > tolerance))
    if partial:
        cond = float("nan")
    else:
        smin = float(s[-1])
        cond = float(s[0]) / smin if smin > 0 else float("inf")
    return SVDResult(
        U=U,
        s=s,
        Vt=Vt,
        shape=(int(A.shape[0]), int(A.shape[1])),
        dtype=str(A.dtype),
        rank=rank,
        tolerance=tolerance,
        condition_number=cond,
        total_energy=total_energy,
        driver=driver,
        is_partial=partial,
    )


def decompose(A: object, *, tol: float | None = None, allow_float32: bool = False) -> SVDResult:
    """Thin SVD with LAPACK's divide-and-conquer driver (gesdd), falling back to gesvd.

    Input is validated (see :func:`as_matrix`); matrices are computed in float64, images may
    stay float32 with ``allow_float32``.  ``tol`` overrides the numerical-rank tolerance.
    """
    import scipy.linalg  # here, not at the top: scipy costs the app's start-up ≈ 0.7 s

    M = as_matrix(A, allow_float32=allow_float32)
    driver = "gesdd"
    try:
        U, s, Vt = scipy.linalg.svd(
            M, full_matrices=False, lapack_driver="gesdd", check_finite=False
        )
    except np.linalg.LinAlgError:
        # gesdd occasionally fails to converge on nasty inputs; gesvd is slower but robust.
        driver = "gesvd"
        U, s, Vt = scipy.linalg.svd(
            M, full_matrices=False, lapack_driver="gesvd", check_finite=False
        )
    total = sum_of_squares(s)  # scaled: no overflow near 1e308, no 0 below 1e-300
    return _summarise(M, U, s, Vt, tol=tol, driver=driver, partial=False, total_energy=total)


def frobenius_squared(M: np.ndarray, block_rows: int = 256) -> float:
    """‖M‖_F² accumulated in float64, a block of rows at a time (no full float64 copy)."""
    total = 0.0
    for start in range(0, M.shape[0], block_rows):
        block = M[start : start + block_rows].astype(np.float64)
        total += float(np.einsum("ij,ij->", block, block))
    return total


def _check(should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise Cancelled()


def decompose_topk(
    A: object,
    k: int,
    *,
    method: str = "propack",
    n_iter: int = 4,
    oversample: int = 10,
    seed: int = 0,
    allow_float32: bool = False,
    should_cancel: Callable[[], bool] | None = None,
) -> SVDResult:
    """The k largest singular triplets of A, for matrices too big for a full SVD.

    ``method="randomized"``: Halko–Martinsson–Tropp range finder with ``n_iter`` power
    iterations and a QR re-orthonormalisation between passes (without it, float32 accuracy
    collapses); it checks ``should_cancel`` between steps and raises :class:`Cancelled`.
    ``method="propack"``: scipy's PROPACK Lanczos solver, exact to working precision.
    If k covers the whole spectrum, this is the full SVD.
    """
    # Arguments first: a wrong method name or rank fails the same way for every matrix size.
    if method not in TOPK_METHODS:
        raise ValueError(f"unknown top-k method {method!r}; use 'randomized' or 'propack'")
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"rank k must be a whole number; got {k!r}")
    for name, value, low in (("n_iter", n_iter, 0), ("oversample", oversample, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be a whole number ≥ {low}; got {value!r}")
    _check(should_cancel)  # honoured even when the matrix is small enough for a full SVD
    M = as_matrix(A, allow_float32=allow_float32)
    m, n = M.shape
    p = min(m, n)
    if not 1 <= int(k) <= p:
        raise ValueError(f"rank k must be between 1 and {p} for a {m}×{n} matrix; got {k}")
    k = int(k)
    total = frobenius_squared(M)
    if k >= p - 1 or p <= 64:
        full = decompose(M, allow_float32=allow_float32)
        return _summarise(
            M,
            full.U[:, :k],
            full.s[:k],
            full.Vt[:k],
            tol=None,
            driver=full.driver,
            partial=k < p,
            total_energy=total,
        )
    if method == "propack":
        from scipy.sparse.linalg import svds

        _check(should_cancel)
        U, s, Vt = svds(M, k=k, solver="propack", random_state=seed)
        order = np.argsort(s)[::-1]
        U, s, Vt = U[:, order], s[order], Vt[order]
        _check(should_cancel)
    else:  # randomized
        rng = np.random.default_rng(seed)
        ell = min(p, k + oversample)
        Omega = rng.standard_normal((n, ell)).astype(M.dtype, copy=False)
        Q, _ = np.linalg.qr(M @ Omega)
        for _ in range(n_iter):
            _check(should_cancel)
            Z, _ = np.linalg.qr(M.T @ Q)
            _check(should_cancel)
            Q, _ = np.linalg.qr(M @ Z)
        _check(should_cancel)
        B = Q.T @ M
        import scipy.linalg  # lazily, as in decompose()

        Ub, s, Vt = scipy.linalg.svd(B, full_matrices=False, check_finite=False)
        U = Q @ Ub[:, :k]
        s, Vt = s[:k], Vt[:k]
        _check(should_cancel)
    return _summarise(M, U, s, Vt, tol=None, driver=method, partial=True, total_energy=total)
