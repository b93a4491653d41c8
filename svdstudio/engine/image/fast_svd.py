"""Full thin SVD of one float32 channel, step-wise: PROPACK top-k, deflate, Gram + eigh levels.

Why not one LAPACK ``gesdd`` call: it has no progress and no cancel inside, runs at a fifth of
this machine's float32 GEMM speed, and in float32 its small singular values are only accurate
to eps₃₂·σ₁ absolute (about 4e-4 relative at σ = 1e-3 σ₁).  Here (written for m ≤ n; a
tall matrix takes its Gram matrix on the other side, without a transposed copy):

1. *top*: the largest ``top`` triplets by PROPACK (exact to working precision);
2. *deflate*: R = (I − UUᵀ) A (I − VVᵀ), so ‖R‖₂ = σ_{k+1};
3. *gram*: G = R Rᵀ in float32, with −μ U Uᵀ added so the k deflated directions sort last;
4. *eigh*: G = W Λ Wᵀ (LAPACK ``syevd``); σ_i = √λ_i, u_i = w_i, v_i = Rᵀ w_i / σ_i.

Accuracy, per level: the eigenvalues of a float32 Gram matrix are off by about eps₃₂·λ_max
absolute, so σ_i and the orthogonality of v_i carry a relative error of about
eps₃₂·λ_max / λ_i (deflating the top k divides λ_max by (σ₁/σ_{k+1})²).  Triplets whose
estimate is above ``vector_tol`` are handed to the next *level*: the Gram matrix of their own
block Bᵀ = Rᵀ W_rest (with the accepted V projected out), whose λ_max is far smaller, so its
small values are accurate again.  What is left after ``max_levels`` gets orthonormal vectors by
QR and is marked approximate (``SVDResult.approx_from``).

Here: the top triplets, the deflation and level 1 (:func:`fast_full_svd`).  Levels 2 and on
and :func:`refine_tail` are in :mod:`.gram_levels`, the eigensolver in :mod:`.gram_eigh`, the
in-place projections in :mod:`.projections`, the result being filled in :mod:`.factor_arrays`,
the step costs and :class:`StepProgress` in :mod:`.step_progress`, :func:`lean_blas` in
:mod:`.busy_machine`; the public names are importable from here too.
"""

from __future__ import annotations

import numpy as np

from svdstudio.engine.decomposition import SVDResult, frobenius_squared
from svdstudio.engine.image.busy_machine import lean_blas, machine_busy
from svdstudio.engine.image.factor_arrays import _Factors, _finish
from svdstudio.engine.image.gram_eigh import EPS32, _eigh_desc, _top_eigenvalue
from svdstudio.engine.image.gram_levels import _levels, accept_level, refine_tail
from svdstudio.engine.image.projections import _gemm_update
from svdstudio.engine.image.step_progress import (
    _RATE_EIGH,
    _RATE_TOPK,
    StepProgress,
    _gemm_cost,
    estimate_full_cost,
    topk_cost,
)
from svdstudio.engine.signs import convention_signs

__all__ = [
    "SIGMA_TOL",
    "StepProgress",
    "estimate_full_cost",
    "fast_full_svd",
    "lean_blas",
    "machine_busy",
    "refine_tail",
    "topk_cost",
]

# The accuracy stated to users: σ_i to 1e-4 relative (for σ_i ≥ 1e-3 σ₁), vectors to 1e-4.
SIGMA_TOL = 1e-4


def _top_triplets(
    M: np.ndarray, k: int, start: SVDResult | None, seed: int, prog: StepProgress
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U_k, σ_k, V_kᵀ) in float32, largest first, σ_i > 1e-3 σ₁ only: ``start`` or PROPACK."""
    m, n = M.shape
    if start is not None:
        k = min(start.n_components, min(m, n) - 1)
        Uk, sk, Vtk = start.U, start.s, start.Vt
    elif k > 0:
        from scipy.sparse.linalg import svds

        prog.step(f"top {k} singular triplets (PROPACK)", _RATE_TOPK * m * n * k)
        try:
            with lean_blas():
                Uk, sk, Vtk = svds(M, k=k, solver="propack", random_state=seed)
        except np.linalg.LinAlgError:
            # PROPACK stops on an invariant subspace (a matrix of rank < k, e.g. constant):
            # then the Gram step alone is exact enough, there is little tail to protect.
            Uk, sk, Vtk = np.zeros((m, 0)), np.zeros(0), np.zeros((0, n))
        order = np.argsort(sk)[::-1]
        Uk, sk, Vtk = Uk[:, order], sk[order], Vtk[order]
        prog.finish_step()
    else:
        Uk, sk, Vtk = np.zeros((m, 0)), np.zeros(0), np.zeros((0, n))
    # Triplets of (numerically) zero σ from a rank-deficient matrix are left to the Gram
    # step, which handles them; PROPACK's vectors for them are arbitrary.
    keep = int(np.count_nonzero(sk[:k] > sk[0] * 1e-3)) if k and sk.size and sk[0] > 0 else 0
    return (
        np.ascontiguousarray(Uk[:, :keep], dtype=np.float32),
        np.array(sk[:keep], dtype=np.float32),
        np.ascontiguousarray(Vtk[:keep], dtype=np.float32),
    )


def fast_full_svd(
    A: np.ndarray,
    *,
    top: int = 64,
    vector_tol: float = 1e-5,
    max_levels: int = 6,
    refine: bool = True,
    start: SVDResult | None = None,
    seed: int = 0,
    progress: StepProgress | None = None,
    overwrite: bool = False,
) -> SVDResult:
    """Full thin SVD of a finite float32 matrix by the steps in the module docstring.

    ``top``: triplets found first by PROPACK and deflated; ``vector_tol``: the largest error
    estimate eps₃₂·λ_max/λ_i whose v_i = Rᵀw_i/σ_i is kept (measured errors reach about 5×
    the estimate: a margin below the stated 1e-4); the others go to the next level (each
    much smaller than the last); ``max_levels``: levels before the rest is orthonormalised
    by QR and marked approximate.  ``refine=False`` stops after the first level (about 40 %
    less work): the tail past ``approx_from`` then keeps v_i = Rᵀw_i/σ_i, not orthonormal
    to 1e-4, but every rank rebuilds as exactly; :func:`refine_tail` finishes it later.
    ``start``: the exact top triplets of A already known (a top-k result): PROPACK is skipped.
    ``progress`` receives each step and is where cancellation is checked.  ``overwrite``:
    A (a C-ordered float32 array the caller made for this call) becomes the residual, so
    the one m×n work array is A itself.

    Memory: the residual R is the one m×n work array (deflated in place, by bands), the
    Gram matrix is overwritten by its eigenvectors, and the long side's vectors come out of
    one GEMM straight into the result (Vᵀ = diag(1/σ) Zᵀ R for a wide matrix, U = R Z
    diag(1/σ) for a tall one), so nothing of the input's size is transposed or gathered.
    """
    prog = progress if progress is not None else StepProgress()
    M = np.asarray(A, dtype=np.float32)
    m, n = M.shape
    wide = m <= n
    p = min(m, n)
    k = int(min(max(top, 0), p - 1))
    total_energy = frobenius_squared(M)
    if progress is None:
        prog.plan(estimate_full_cost(m, n, k))

    # 1. the top k: exact to working precision, and cheap next to the rest.
    Uk, sk, Vtk = _top_triplets(M, k if total_energy > 0 else 0, start, seed, prog)
    k = int(sk.size)

    # 2. deflate both sides, so the residual's Gram matrix has the top k directions exactly
    # (to rounding) in its null space and the rest of the spectrum is untouched.
    prog.step(f"deflating the top {k}", _gemm_cost(4 * m, n, k))
    own = overwrite and M is A and M.flags.c_contiguous and M.flags.writeable
    R = M if own else np.array(M, dtype=np.float32, order="C")
    del M
    # Twice per side: one pass leaves components of size eps₃₂·σ₁ along U and V, which
    # would tilt the tail's vectors once σ_i is small next to σ₁.
    for _ in range(2 if k else 0):
        _gemm_update(R, Uk, Uk.T @ R)
        _gemm_update(R, R @ Vtk.T, Vtk)
    prog.finish_step()

    # Below this a σ is rounding noise of the float32 data (deflation rounds each entry to
    # about eps₃₂·|a_ij|); the usual rank tolerance σ₁·max(m, n)·eps would call a photo's
    # real tail (σ of a few grey levels) zero.
    s_top = float(sk[0]) if k else float(np.sqrt(max(total_energy, 0.0)))
    tiny = s_top * np.sqrt(max(m, n)) * EPS32
    # 3. Gram matrix of the residual on the short side (p×p; numpy uses syrk for B Bᵀ), the
    # deflated directions shifted below zero.
    B = R if wide else R.T
    prog.step(f"Gram matrix {p}×{p}", _gemm_cost(p, p, max(m, n)))
    G = B @ B.T
    if k:
        Us = Uk if wide else Vtk.T
        # The shift must be about ‖G‖₂ = σ_{k+1}²: subtracting it rounds G's entries by
        # eps₃₂·μ, so a larger μ (σ_k², say, for a rank-deficient A) would drown the tail.
        mu = np.float32(2.0 * _top_eigenvalue(G) + tiny * tiny)
        _gemm_update(G, Us * mu, Us.T)
    prog.finish_step()

    q = p - k
    prog.step(f"eigen-decomposition {p}×{p} (level 1)", _RATE_EIGH * p**3)
    lam, Zt = _eigh_desc(G)
    del G
    lam, Zt = lam[:q], Zt[:q]  # the k shifted ones sort last
    prog.finish_step()
    # Refined, the triplets the estimate cannot vouch for go on to more levels; unrefined,
    # they keep v_i = Rᵀw_i/σ_i (the image rebuilds exactly) and are marked approximate.
    go_on = refine and max_levels > 1
    sigma, bound, good, more = accept_level(lam, tiny, vector_tol, go_on=go_on)

    out = _Factors(m, n)
    top_signs = convention_signs(Vtk)
    np.multiply(Uk, top_signs, out=out.U[:, :k])
    np.multiply(Vtk, top_signs[:, None], out=out.Vt[:k])
    out.s[:k] = sk
    prog.step("singular vectors (level 1)", _gemm_cost(max(m, n), p, good))
    seg = slice(k, k + good)
    out.put(seg, Zt[:good], None, B)
    # Unrefined, a vector the estimate cannot vouch for is still Rᵀw/σ (refined, QR makes
    # what is left orthonormal); a σ of rounding noise has no direction worth keeping (any
    # orthonormal completion is valid).
    keep = sigma[:good] > tiny
    if refine:
        keep &= bound[:good] <= vector_tol
    out.normalise(seg, sigma[:good], keep, tiny, seed)
    out.s[seg], out.bound[k : k + q] = sigma[:good], bound
    prog.finish_step()
    if more:
        prog.step("tail for the next level", _gemm_cost(max(m, n), p, q - good))
        block = Zt[good:] @ B  # σ-weighted rows of the tail, in the basis Zt[good:]
        prog.finish_step()
        del R, B  # the residual (48 MB at 12 MP) is not needed by the later levels
        _levels(out, k + good, Zt[good:].T, block, tiny, vector_tol, max_levels - 1, prog, seed)
    else:
        del R, B
    return _finish(out, (m, n), total_energy, "propack+gram", vector_tol)
