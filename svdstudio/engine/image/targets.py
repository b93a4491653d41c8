"""Pick the rank k that meets a target: energy retained, PSNR, or a byte budget."""

from __future__ import annotations

import numpy as np

from svdstudio.engine.image.color import mode_reference
from svdstudio.engine.image.factors import ImageFactors, channel_ranks, reconstruct_image
from svdstudio.engine.image.metrics import psnr, storage_cost

__all__ = ["rank_for_byte_budget", "rank_for_energy_target", "rank_for_psnr_target"]


def rank_for_energy_target(factors: ImageFactors, fraction: float) -> int:
    """Smallest k retaining ``fraction`` (0 < f ≤ 1) of the energy.

    gray/rgb: energy over all channels at a common k; ycbcr: of the luma channel (chroma has
    its own rank).  Returns ``max_rank`` if even that falls short (partial factors).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"energy fraction must be in (0, 1]; got {fraction}")
    chans = factors.channels[:1] if factors.mode == "ycbcr" else factors.channels
    kmax = min(ch.n_components for ch in chans)
    kept = sum(np.cumsum(ch.s[:kmax].astype(np.float64) ** 2) for ch in chans)
    total = sum(ch.total_energy for ch in chans)
    if total <= 0:
        return 1
    hits = np.nonzero(np.asarray(kept / total >= fraction - 1e-12))[0]
    return int(hits[0]) + 1 if hits.size else kmax


def rank_for_psnr_target(
    original: np.ndarray,
    factors: ImageFactors,
    target_db: float,
    chroma_k: int | None = None,
    *,
    step: int = 1,
) -> int:
    """Smallest k whose reconstruction reaches ``target_db`` PSNR (bisection on cached factors).

    PSNR grows with k (Eckart–Young; clipping only helps), so about log2(rank) rebuilds are
    needed.  ``step`` > 1 evaluates on every step-th row and column (faster, approximate).
    Returns ``max_rank`` if the target is out of reach.
    """
    ref = mode_reference(original, factors.mode)[::step, ::step]
    rows, cols = slice(0, factors.height, step), slice(0, factors.width, step)

    def ok(k: int) -> bool:
        rec = reconstruct_image(factors, k, chroma_k, rows=rows, cols=cols)
        return psnr(ref, rec) >= target_db

    lo, hi = 1, factors.max_rank
    if not ok(hi):
        return hi
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def rank_for_byte_budget(
    factors: ImageFactors, budget: int, dtype: str = "float32", chroma_k: int | None = None
) -> int:
    """Largest k whose factors fit in ``budget`` bytes at ``dtype`` (float32/float16/uint8).

    Raises ValueError if not even rank 1 fits.
    """
    field = {"float32": "bytes_float32", "float16": "bytes_float16", "uint8": "bytes_uint8"}
    if dtype not in field:
        raise ValueError(f"unknown storage type {dtype!r}; use float32, float16 or uint8")

    def cost(k: int) -> int:
        ranks = channel_ranks(factors, k, chroma_k)
        return getattr(storage_cost(factors.height, factors.width, ranks), field[dtype])

    if cost(1) > budget:
        raise ValueError(f"a budget of {budget:,} bytes is too small: rank 1 needs {cost(1):,}")
    lo, hi = 1, factors.max_rank
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo
