"""Per-channel SVD factors of an image: decompose once, rebuild any rank, layer or crop."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import (
    SVDResult,
    decompose,
    decompose_topk,
    default_tolerance,
)
from svdstudio.engine.image.color import (
    CHANNEL_NAMES,
    _check_pixels,
    channel,
    downsample,
    effective_mode,
    from_channels,
)
from svdstudio.engine.image.fast_svd import (
    StepProgress,
    estimate_full_cost,
    fast_full_svd,
    lean_blas,
    refine_tail,
    topk_cost,
)
from svdstudio.engine.image.pipeline import lanes_available, progressive_lanes
from svdstudio.engine.jobs import JobControl
from svdstudio.engine.signs import apply_sign_convention

__all__ = [
    "DEFAULT_CHROMA_RANK",
    "FULL_SVD_SECONDS",
    "PREVIEW_ABOVE_PIXELS",
    "PREVIEW_MAX_SIDE",
    "PREVIEW_SIDE",
    "PROGRESSIVE_TOP",
    "SMALL_SIDE",
    "TOPK_DEFAULT",
    "ImageFactors",
    "channel_ranks",
    "choose_method",
    "decompose_image",
    "default_chroma_rank",
    "display_grid",
    "estimated_full_seconds",
    "rank_one_layer",
    "reconstruct_image",
]

# The quick preview of a big image is as fine as the pane that shows it (one sample per device
# pixel, see engine/image/preview.py), its longer side at least PREVIEW_SIDE (also the size
# when the pane's is unknown) and at most PREVIEW_MAX_SIDE (a 1600×1200 copy is a 1200×1200
# eigensolver a channel; the screen's display grid is capped at 1600 too).
PREVIEW_SIDE = 640
PREVIEW_MAX_SIDE = 1600
# Above this many pixels the tab shows a preview first and decomposes full size in a process.
PREVIEW_ABOVE_PIXELS = 1_500_000
# Up to this shorter side a float64 LAPACK SVD is both exact and quick (≈ 0.05 s at 384×512).
SMALL_SIDE = 384
# Above this estimated time per channel, only the top triplets are computed at full size
# (a 10000×10000 channel would take about two minutes).
FULL_SVD_SECONDS = 30.0
# How many triplets the top-k path computes when none are asked for.
TOPK_DEFAULT = 256
# The exact top triplets a progressive full SVD hands over first (PROPACK), which also deflate
# the Gram step.  64, not 128: at 12 MP (idle, three channels) the quick full factors landed at
# 9.2-9.7 s against 11.6-12.1 s, with σ within 3.4e-5 of the refined ones and every view within
# 0.08 grey levels (more of the tail is marked approximate until the refined factors land).
PROGRESSIVE_TOP = 64


@dataclass(frozen=True, eq=False)
class ImageFactors:
    """The SVD of every channel of an image, computed once and sliced at any rank.

    ``channels[c]`` is an :class:`SVDResult` (possibly partial: top-k only) of the
    ``height``×``width`` channel ``channel_names[c]``.  ``downsample_factor`` > 1 marks a
    preview computed on a block-averaged copy.
    """

    mode: str
    height: int
    width: int
    channel_names: tuple[str, ...]
    channels: tuple[SVDResult, ...]
    downsample_factor: int = 1

    @property
    def full_rank(self) -> int:
        """min(height, width): the rank that rebuilds the image exactly."""
        return min(self.height, self.width)

    @property
    def max_rank(self) -> int:
        """The largest rank k available (of the luma channel in ycbcr mode, else of all)."""
        if self.mode == "ycbcr":
            return self.channels[0].n_components
        return min(ch.n_components for ch in self.channels)

    @property
    def max_chroma_rank(self) -> int:
        """The largest chroma rank available (ycbcr mode; otherwise equal to max_rank)."""
        if self.mode == "ycbcr":
            return min(ch.n_components for ch in self.channels[1:])
        return self.max_rank

    @property
    def is_partial(self) -> bool:
        return any(ch.is_partial for ch in self.channels)

    @property
    def total_energy(self) -> float:
        return float(sum(ch.total_energy for ch in self.channels))


#: YCbCr's chroma rank when none is chosen, in the GUI and the CLI alike: a fixed, low rank (as
#: codecs keep less colour detail than luma), capped at the channels' rank.
DEFAULT_CHROMA_RANK = 8


def default_chroma_rank(k: int, full_rank: int) -> int:
    """Chroma rank used when none is given: :data:`DEFAULT_CHROMA_RANK`, capped at the
    channels' rank, whatever the luma rank ``k`` (so "k = 8" means the same everywhere)."""
    del k  # one default for every luma rank: the GUI's chroma control does not follow k
    return min(DEFAULT_CHROMA_RANK, int(full_rank))


def channel_ranks(factors: ImageFactors, k: int, chroma_k: int | None = None) -> tuple[int, ...]:
    """Per-channel ranks for luma/colour rank k (and chroma rank in ycbcr mode)."""
    top = factors.max_rank
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= top:
        raise ValueError(f"rank k must be a whole number between 0 and {top}; got {k!r}")
    k = int(k)
    if factors.mode != "ycbcr":
        return (k,) * len(factors.channels)
    ctop = factors.max_chroma_rank
    kc = int(chroma_k) if chroma_k is not None else default_chroma_rank(k, factors.full_rank)
    kc = kc if chroma_k is not None else min(kc, ctop)
    if not 0 <= kc <= ctop:
        raise ValueError(f"chroma rank must be between 0 and {ctop}; got {chroma_k!r}")
    return (k, kc, kc)


def _decompose_releasing_gil(ch: np.ndarray) -> SVDResult:
    """Full thin SVD via numpy (LAPACK in double), which releases the GIL while it runs.

    scipy's float32 gesdd is faster but holds the GIL, freezing a GUI whose worker *thread*
    runs it; for a small preview in a thread, this is the better trade.
    """
    if not np.all(np.isfinite(ch)):
        raise ValueError("image contains NaN or inf")
    # On a busy machine one BLAS thread: three 572×429 channels took 0.46-0.62 s so, and
    # 3.8-7.3 s on two threads, at load 9 (the limit is process-wide, for these 0.5 s).
    with lean_blas():
        U, s, Vt = np.linalg.svd(ch, full_matrices=False)
    U, Vt = apply_sign_convention(U.astype(np.float32), Vt.astype(np.float32))
    s = s.astype(np.float32)
    tol = default_tolerance(s, ch.shape, np.dtype(np.float32))
    smin = float(s[-1])
    return SVDResult(
        U=U,
        s=s,
        Vt=Vt,
        shape=(int(ch.shape[0]), int(ch.shape[1])),
        dtype="float32",
        rank=int(np.count_nonzero(s > tol)),
        tolerance=tol,
        condition_number=float(s[0]) / smin if smin > 0 else float("inf"),
        total_energy=float(np.sum(np.square(s, dtype=np.float64))),
        driver="numpy-gesdd",
    )


def _decompose_small(ch: np.ndarray) -> SVDResult:
    """Full SVD of a small channel in float64 (exact to the stated accuracy), kept as float32."""
    res = decompose(ch.astype(np.float64))
    return SVDResult(
        U=res.U.astype(np.float32),
        s=res.s.astype(np.float32),
        Vt=res.Vt.astype(np.float32),
        shape=res.shape,
        dtype="float32",
        rank=res.rank,
        tolerance=res.tolerance,
        condition_number=res.condition_number,
        total_energy=res.total_energy,
        driver=f"{res.driver}-f64",
    )


def estimated_full_seconds(height: int, width: int, channels: int = 1) -> float:
    """Rough seconds for the full SVD of ``channels`` channels on this class of machine."""
    return channels * estimate_full_cost(height, width)


def choose_method(height: int, width: int, max_rank: int | None = None) -> str:
    """The fastest path that keeps the stated accuracy: "small", "fast" or "topk".

    "small": float64 LAPACK (min side ≤ :data:`SMALL_SIDE`); "fast": PROPACK top-k + Gram
    levels (:mod:`.fast_svd`); "topk": only the top ``max_rank`` (or :data:`TOPK_DEFAULT`)
    triplets, when asked for or when one channel's full SVD would exceed
    :data:`FULL_SVD_SECONDS`.
    """
    p = min(height, width)
    if max_rank is not None and max_rank < p - 1:
        return "topk"
    if p <= SMALL_SIDE:
        return "small"
    if max_rank is None and estimate_full_cost(height, width) > FULL_SVD_SECONDS:
        return "topk"
    return "fast"


def _progressive(
    arr: np.ndarray,
    mode: str,
    factor: int,
    prog: StepProgress,
    hand: Callable[[ImageFactors], None],
) -> list[SVDResult]:
    """Full factors in three handed-over stages: top triplets, quick full SVD, refined."""
    h, w = arr.shape[:2]
    names = CHANNEL_NAMES[mode]
    nc = len(names)

    def hand_over(parts: list[SVDResult]) -> None:
        hand(ImageFactors(mode, h, w, names, tuple(parts), factor))

    if lanes_available(nc) > 1:
        quick = progressive_lanes(arr, mode, prog, hand_over, PROGRESSIVE_TOP)
    else:
        quick = _tops_then_quick(arr, mode, prog, hand_over)
    hand_over(quick)
    final: list[SVDResult] = []
    for c in range(nc):
        prog.label = f"channel {names[c]} ({c + 1} of {nc})"
        final.append(refine_tail(quick[c], progress=prog))
        quick[c] = final[c]  # the quick factors were handed over: one copy per channel, not two
    return final


def _tops_then_quick(
    arr: np.ndarray,
    mode: str,
    prog: StepProgress,
    hand_over: Callable[[list[SVDResult]], None],
) -> list[SVDResult]:
    """One channel at a time: every top, handed over, then every quick full SVD."""
    h, w = arr.shape[:2]
    names = CHANNEL_NAMES[mode]
    nc = len(names)
    tops: list[SVDResult] = []
    for c in range(nc):
        prog.label = f"channel {names[c]} ({c + 1} of {nc})"
        prog.step(
            f"top {PROGRESSIVE_TOP} singular triplets (PROPACK)",
            topk_cost(h, w, PROGRESSIVE_TOP),
        )
        ch = channel(arr, mode, c)
        with lean_blas():
            top = decompose_topk(
                ch,
                PROGRESSIVE_TOP,
                method="propack",
                allow_float32=True,
                should_cancel=prog.check_flag,
            )
        tops.append(top)
        del ch, top
        prog.finish_step()
    hand_over(tops)
    quick: list[SVDResult] = []
    for c in range(nc):
        prog.label = f"channel {names[c]} ({c + 1} of {nc})"
        ch = channel(arr, mode, c)
        # The channel is this call's own copy (a grey float32 image aside): it becomes the
        # residual in place, one 48 MB array less at 12 MP.
        own = not np.may_share_memory(ch, arr)
        quick.append(fast_full_svd(ch, start=tops[c], refine=False, progress=prog, overwrite=own))
        del ch
    return quick


def decompose_image(
    pixels: np.ndarray,
    mode: str = "rgb",
    *,
    max_rank: int | None = None,
    preview_side: int | None = None,
    release_gil: bool = False,
    job: JobControl | None = None,
    method: str = "auto",
    refine: bool = True,
    chroma_max_rank: int | None = None,
) -> ImageFactors:
    """Decompose every channel of ``pixels`` in ``mode`` once (float32 factors).

    ``method="auto"`` picks per image (:func:`choose_method`): a full thin SVD (float64 LAPACK
    for small images, PROPACK + Gram levels otherwise; σ to 1e-4 relative for σ ≥ 1e-3 σ₁,
    vectors orthonormal to 1e-4), or only the top :data:`TOPK_DEFAULT` triplets (PROPACK,
    exact to float32 precision) when the full SVD would take over ~30 s; ``"gesdd"`` forces
    one LAPACK float32 call per channel.  ``max_rank``: compute only that many triplets.
    ``preview_side``: first block-average so the longer side is at most this
    (``downsample_factor`` records the factor).  ``release_gil``: numpy's SVD for a small
    preview in a worker thread (scipy's holds the GIL).  ``job``: optional JobContext; it
    gets every step (channel, step, ETA) and is checked for cancel between steps.  If it
    also has ``partial(value)`` (the JobRunner's does), a full SVD is *progressive*: it hands
    over the exact top :data:`PROGRESSIVE_TOP` triplets of every channel first, then full
    factors whose tail vectors are marked approximate (``approx_from``; every rank already
    rebuilds exactly), and returns the refined factors.  ``refine=False`` stops at those
    quick factors (enough for reconstructions and metrics; see :func:`.fast_svd.refine_tail`).
    ``chroma_max_rank`` (ycbcr): the chroma channels need only that many triplets — their top
    ``chroma_max_rank`` by PROPACK when that is cheaper than what the luma gets.
    Module-level and picklable, so a worker process can run it.
    """
    arr = _check_pixels(pixels)
    mode = effective_mode(arr, mode)
    if method not in ("auto", "gesdd"):
        raise ValueError(f"unknown decomposition method {method!r}; use 'auto' or 'gesdd'")
    factor = 1
    if preview_side is not None and max(arr.shape[:2]) > preview_side:
        factor = math.ceil(max(arr.shape[:2]) / preview_side)
        arr = downsample(arr, factor)
    h, w = arr.shape[:2]
    p = min(h, w)
    names = CHANNEL_NAMES[mode]
    nc = len(names)
    how = "numpy" if release_gil and max_rank is None else choose_method(h, w, max_rank)
    if method == "gesdd" and how != "topk":
        how = "gesdd"
    k_top = min(int(max_rank) if max_rank is not None else TOPK_DEFAULT, p)
    per = estimate_full_cost(h, w) if how in ("fast", "gesdd", "numpy") else topk_cost(h, w, k_top)
    hand = getattr(job, "partial", None)  # the JobRunner's JobContext has it
    progressive = how == "fast" and refine and callable(hand)
    if progressive:
        per += topk_cost(h, w, PROGRESSIVE_TOP)
    k_chroma = _chroma_top(mode, how, k_top, p, chroma_max_rank, progressive)
    cost = [per] + [per if k_chroma is None else topk_cost(h, w, k_chroma)] * (nc - 1)
    prog = StepProgress(job)
    prog.plan(sum(cost))
    prog.check()
    results = []
    for c in range(nc):
        # One channel at a time: a 100-MP image then needs one float32 plane, not three.
        ch = channel(arr, mode, c)
        prog.label = f"channel {names[c]} ({c + 1} of {nc})"
        if how == "fast" and progressive:
            del ch
            assert hand is not None
            results = _progressive(arr, mode, factor, prog, hand)
            break
        if c > 0 and k_chroma is not None:
            prog.step(f"top {k_chroma} of {p} singular triplets (PROPACK)", cost[c])
            with lean_blas():
                res = decompose_topk(
                    ch,
                    k_chroma,
                    method="propack",
                    allow_float32=True,
                    should_cancel=prog.check_flag,
                )
            prog.finish_step()
        elif how == "fast":
            res = fast_full_svd(ch, refine=refine, progress=prog)
        else:
            what = {
                "topk": f"top {k_top} of {p} singular triplets (PROPACK)",
                "small": "SVD (LAPACK, float64)",
                "gesdd": "SVD (LAPACK gesdd, float32)",
                "numpy": "SVD (numpy)",
            }[how]
            prog.step(what, per)
            if how == "numpy":
                res = _decompose_releasing_gil(ch)
            elif how == "small":
                res = _decompose_small(ch)
            elif how == "gesdd":
                res = decompose(ch, allow_float32=True)
            else:
                with lean_blas():
                    res = decompose_topk(
                        ch,
                        k_top,
                        method="propack",
                        allow_float32=True,
                        should_cancel=prog.check_flag,
                    )
            prog.finish_step()
        results.append(res)
        del ch
    prog.check()
    if job is not None:
        job.report(1.0, "decomposed")
    return ImageFactors(
        mode=mode,
        height=h,
        width=w,
        channel_names=names,
        channels=tuple(results),
        downsample_factor=factor,
    )


def _chroma_top(
    mode: str, how: str, k_top: int, p: int, chroma_max_rank: int | None, progressive: bool
) -> int | None:
    """How many triplets the chroma channels get on their own, or None (as the luma)."""
    if mode != "ycbcr" or chroma_max_rank is None or progressive or how not in ("fast", "topk"):
        return None  # small images: the exact float64 SVD costs next to nothing
    # PROPACK's top few are more accurate with a wider Lanczos basis: at 8 triplets a chroma
    # rebuild was 0.0036 grey levels off numpy's float64 one, with 24 (8 kept spare) 0.0002.
    kc = max(int(chroma_max_rank), 1)
    if how == "topk" and kc > k_top:
        raise ValueError(
            f"chroma_max_rank ({kc}) must not exceed max_rank ({k_top}): give the larger one "
            "as max_rank"
        )
    kc = kc + max(kc, 16)
    if kc >= p - 1 or (how == "topk" and kc >= k_top):
        return None  # nothing to save: the luma's own path gives the chroma as many or fewer
    return kc


def _index(sel: slice | np.ndarray | None, n: int) -> slice | np.ndarray:
    return slice(0, n) if sel is None else sel


def reconstruct_image(
    factors: ImageFactors,
    k: int,
    chroma_k: int | None = None,
    *,
    rows: slice | np.ndarray | None = None,
    cols: slice | np.ndarray | None = None,
    clip: bool = True,
) -> np.ndarray:
    """The rank-k image from cached factors (float32 pixels, clipped to [0, 255]).

    ``rows``/``cols`` (slices or index arrays) rebuild only those pixels, e.g. a strided
    subsample for the screen or a crop; the result is exactly A_k at those pixels.
    """
    ranks = channel_ranks(factors, k, chroma_k)
    r = _index(rows, factors.height)
    c = _index(cols, factors.width)
    planes = []
    for res, kc in zip(factors.channels, ranks, strict=True):
        U = res.U[r, :kc]
        Vt = res.Vt[:kc, c]
        if kc == 0:
            planes.append(np.zeros((U.shape[0], Vt.shape[1]), np.float32))
        else:
            planes.append(np.matmul(U * res.s[:kc], Vt).astype(np.float32, copy=False))
    return from_channels(planes, factors.mode, clip=clip)


def display_grid(height: int, width: int, max_side: int) -> tuple[slice, slice]:
    """Strided row/column slices that bring an image within ``max_side`` for the screen."""
    step = max(1, math.ceil(max(height, width) / max(1, int(max_side))))
    return slice(0, height, step), slice(0, width, step)


def rank_one_layer(
    factors: ImageFactors,
    i: int,
    *,
    rows: slice | np.ndarray | None = None,
    cols: slice | np.ndarray | None = None,
) -> np.ndarray:
    """σ_i u_i v_iᵀ of every channel (1-based i), in channel space: H×W or H×W×C, signed."""
    if not 1 <= int(i) <= factors.max_rank:
        raise ValueError(f"layer index must be between 1 and {factors.max_rank}; got {i}")
    j = int(i) - 1
    r = _index(rows, factors.height)
    c = _index(cols, factors.width)
    shape = (len(np.arange(factors.height)[r]), len(np.arange(factors.width)[c]))
    planes = [
        res.s[j] * np.outer(res.U[r, j], res.Vt[j, c])
        if j < res.n_components
        else np.zeros(shape, dtype=np.float32)
        for res in factors.channels
    ]
    if len(planes) == 1:
        return planes[0].astype(np.float32)
    return np.stack(planes, axis=-1).astype(np.float32)
