"""Per-channel SVD factors of an image: decompose once, rebuild any rank, layer or crop."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import (
    Cancelled,
    SVDResult,
    decompose,
    decompose_topk,
    default_tolerance,
)
from svdstudio.engine.image.color import (
    CHANNEL_NAMES,
    _check_pixels,
    downsample,
    effective_mode,
    from_channels,
    to_channels,
)
from svdstudio.engine.jobs import JobControl
from svdstudio.engine.signs import apply_sign_convention

__all__ = [
    "DEFAULT_CHROMA_RANK",
    "PREVIEW_ABOVE_PIXELS",
    "PREVIEW_SIDE",
    "ImageFactors",
    "channel_ranks",
    "decompose_image",
    "default_chroma_rank",
    "display_grid",
    "rank_one_layer",
    "reconstruct_image",
]

# Longer side of the quick screen preview of a big image (a full SVD of ~640×480 per channel
# takes well under 0.1 s here, so the first picture appears well within 1.5 s).
PREVIEW_SIDE = 640
# Above this many pixels the tab shows a preview first and decomposes full size in a process.
PREVIEW_ABOVE_PIXELS = 1_500_000


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


def decompose_image(
    pixels: np.ndarray,
    mode: str = "rgb",
    *,
    max_rank: int | None = None,
    preview_side: int | None = None,
    release_gil: bool = False,
    job: JobControl | None = None,
) -> ImageFactors:
    """Decompose every channel of ``pixels`` in ``mode`` once (float32).

    ``max_rank``: compute only the top ``max_rank`` triplets per channel (PROPACK, exact to
    float32 precision); None = full thin SVD (scipy gesdd in float32, the fastest full SVD here).
    ``preview_side``: first block-average the image so its longer side is at most this (a fast
    screen preview; ``downsample_factor`` records the factor).
    ``release_gil``: use numpy's SVD (slower, but lets a GUI thread run meanwhile) for full
    decompositions; meant for small previews computed in a worker thread.
    ``job``: optional object with ``cancelled() -> bool`` and ``report(fraction, message)``
    (the JobRunner's JobContext); raises :class:`Cancelled` between channels.
    Module-level and picklable, so a worker process can run it.
    """
    arr = _check_pixels(pixels)
    mode = effective_mode(arr, mode)
    factor = 1
    if preview_side is not None and max(arr.shape[:2]) > preview_side:
        factor = math.ceil(max(arr.shape[:2]) / preview_side)
        arr = downsample(arr, factor)
    chans = to_channels(arr, mode)
    h, w = chans[0].shape
    p = min(h, w)
    results = []
    for c, ch in enumerate(chans):
        if job is not None:
            if job.cancelled():
                raise Cancelled()
            job.report(c / len(chans), f"decomposing channel {CHANNEL_NAMES[mode][c]}")
        if max_rank is None or max_rank >= p - 1:
            res = _decompose_releasing_gil(ch) if release_gil else decompose(ch, allow_float32=True)
        else:
            cancel = job.cancelled if job is not None else None
            res = decompose_topk(
                ch, int(max_rank), method="propack", allow_float32=True, should_cancel=cancel
            )
        results.append(res)
    if job is not None:
        job.report(1.0, "decomposed")
    return ImageFactors(
        mode=mode,
        height=h,
        width=w,
        channel_names=CHANNEL_NAMES[mode],
        channels=tuple(results),
        downsample_factor=factor,
    )


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
