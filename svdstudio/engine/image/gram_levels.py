"""Levels 2 and on of the step-wise SVD: accuracy for the triplets the level before could not
vouch for (see the steps in :mod:`.fast_svd`).

:func:`_levels` repeats Gram + eigh on ever smaller blocks: each level accepts the triplets
whose error estimate eps₃₂·λ_max/λ_i is within ``vector_tol`` and hands the rest, with every
accepted vector projected out, to the next.  :func:`refine_tail` runs them later on the
approximate tail of an unrefined result (from its factors alone, no image).
"""

from __future__ import annotations

import numpy as np

from svdstudio.engine.decomposition import SVDResult
from svdstudio.engine.image.factor_arrays import _Factors, _finish
from svdstudio.engine.image.gram_eigh import EPS32, _eigh_desc
from svdstudio.engine.image.projections import _project_rows
from svdstudio.engine.image.step_progress import _RATE_EIGH, StepProgress, _gemm_cost

__all__ = ["accept_level", "refine_tail"]


def accept_level(
    lam: np.ndarray, tiny: float, vector_tol: float, *, go_on: bool
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """What one level of the Gram path keeps of its eigenvalues ``lam`` (descending).

    Returns σ (float32), each vector's error estimate ``bound`` = eps₃₂·λ_max/λ_i, how many
    leading triplets the level keeps, and whether the rest goes on to another level: only
    with ``go_on``, while some vector of σ above ``tiny`` is not vouched for (bound above
    ``vector_tol``) and the block is not numerically zero.  A level that would keep none
    or all keeps all and ends the descent.
    """
    size = len(lam)
    sigma = np.sqrt(lam).astype(np.float32)
    lam_max = float(lam[0]) if size else 0.0
    with np.errstate(divide="ignore"):
        bound = np.where(lam > 0, EPS32 * lam_max / np.where(lam > 0, lam, 1.0), np.inf)
    more = go_on and lam_max > tiny * tiny and bool(np.any((bound > vector_tol) & (sigma > tiny)))
    good = int(np.count_nonzero(bound <= vector_tol)) if more else size
    if good in (0, size):
        good, more = size, False
    return sigma, bound, good, more


def _levels(
    out: _Factors,
    pos: int,
    Q: np.ndarray,
    block: np.ndarray,
    tiny: float,
    vector_tol: float,
    max_levels: int,
    prog: StepProgress,
    seed: int,
    first_level: int = 2,
) -> None:
    """Gram + eigh levels on ``block`` (b×L, rows σ-weighted in the short basis ``Q``), into
    ``out`` from index ``pos``; ``out.long[:pos]`` are the accepted long vectors.

    Each level accepts the triplets whose estimate eps₃₂·λ_max/λ_i is within ``vector_tol``
    and hands the rest (with everything accepted projected out) to the next, much smaller
    level; after ``max_levels`` the rest is orthonormalised by QR and marked approximate.
    """
    _project_rows(block, out.long[:pos])
    for level in range(first_level, first_level + max_levels):
        size = block.shape[0]
        prog.step(
            f"Gram matrix {size}×{size} (level {level})", _gemm_cost(size, size, block.shape[1])
        )
        G = block @ block.T
        prog.finish_step()
        prog.step(f"eigen-decomposition {size}×{size} (level {level})", _RATE_EIGH * size**3)
        lam, Zt = _eigh_desc(G)
        del G
        prog.finish_step()
        # Another level while some vector is not vouched for: orthonormalising such v_i by QR
        # instead would move A_k by up to ~10 grey levels at high ranks (the f32 eigenvalues
        # of the deep tail are too small).
        last = level == first_level + max_levels - 1
        sigma, bound, good, more = accept_level(lam, tiny, vector_tol, go_on=not last)
        prog.step(f"singular vectors (level {level})", _gemm_cost(block.shape[1], size, size))
        seg = slice(pos, pos + good)
        out.put(seg, Zt[:good], Q, block)
        keep = (sigma[:good] > tiny) & (bound[:good] <= vector_tol)
        out.normalise(seg, sigma[:good], keep, tiny, seed)
        out.s[seg], out.bound[seg] = sigma[:good], bound[:good]
        prog.finish_step()
        if not more:
            break
        # Next level: the rest of this block, with everything accepted projected out
        # (against every accepted v, not just this level's: rounding left components of the
        # size of *earlier* levels' σ, which would tilt this level's far smaller ones).
        pos += good
        Q = Q @ Zt[good:].T
        block = Zt[good:] @ block
        _project_rows(block, out.long[:pos])


def refine_tail(
    res: SVDResult,
    *,
    vector_tol: float = 1e-5,
    max_levels: int = 5,
    seed: int = 0,
    progress: StepProgress | None = None,
) -> SVDResult:
    """Finish an unrefined :func:`.fast_full_svd` result: Gram levels on its approximate tail.

    The tail's block diag(σ) Vᵀ in the basis of its u's is all the next levels need, so this
    runs on the factors alone (no image).  Returns ``res`` itself when nothing is approximate;
    ``res`` is never modified (its factors may be on screen already).
    """
    j = res.approx_from
    if j is None:
        return res
    prog = progress if progress is not None else StepProgress()
    m, n = res.shape
    b = res.n_components - j
    prog.plan(prog.done + _RATE_EIGH * b**3 * 1.2 + _gemm_cost(max(m, n), b, b) * 3)
    prog.step(f"refining the last {b} singular vectors", _gemm_cost(b, b, max(m, n)) * 2)
    out = _Factors(m, n)
    # The orthonormal side of the first level is the shorter one (its eigenvectors).
    np.copyto(out.U[:, :j], res.U[:, :j])
    np.copyto(out.Vt[:j], res.Vt[:j])
    out.s[:j] = res.s[:j]
    # Q is a view: a GEMM reads the column range (or the transpose) in place through BLAS's
    # leading dimension, where a contiguous copy was another p×b array (33 MB at 12 MP) at
    # the worker's peak.
    if out.wide:
        Q = res.U[:, j:]
        block = res.s[j:, None] * res.Vt[j:]
    else:
        Q = res.Vt[j:].T
        block = np.empty((b, m), np.float32)
        np.multiply(res.U[:, j:].T, res.s[j:, None], out=block)
    prog.finish_step()
    tiny = float(res.s[0]) * np.sqrt(max(m, n)) * EPS32
    _levels(out, j, Q, block, tiny, vector_tol, max_levels, prog, seed)
    return _finish(out, (m, n), res.total_energy, res.driver, vector_tol)
