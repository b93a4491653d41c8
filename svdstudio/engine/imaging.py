"""Low-rank image compression: colour channels, cached factors, fast rebuilds, honest metrics.

Pixels follow the Image lab convention: float32 H×W or H×W×3 in [0, 255] (peak 255 for PSNR).
Colour modes:

- ``gray``: one channel, the BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B of a colour image.
- ``rgb``: R, G and B decomposed separately, all at rank k.
- ``ycbcr``: JPEG's full-range YCbCr; Y at rank k, the two chroma channels at their own rank
  (``chroma_k``).  Chroma is stored centred (Cb − 128, Cr − 128) so chroma rank 0 is gray.

Each channel is decomposed once (float32 LAPACK gesdd, or PROPACK top-k up to ``max_rank``);
every rank change reuses those factors.  Storage of a rank-k channel of an m×n image keeps
k(m + n + 1) numbers; byte counts: float32 4k(m+n+1); float16 2k(m+n) + 4k (σ stays float32,
it overflows float16); 8-bit quantized k(m+n) + 20k (uint8 entries plus float32 σ, scale and
offset per vector, see :func:`quantize_factors`).  Raw pixels count 1 byte per sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.ndimage
from scipy.linalg.blas import sgemm

from .decomposition import (
    Cancelled,
    SVDResult,
    decompose,
    decompose_topk,
    default_tolerance,
)
from .signs import apply_sign_convention

__all__ = [
    "COLOR_MODES",
    "PREVIEW_ABOVE_PIXELS",
    "PREVIEW_SIDE",
    "DisplayReconstructor",
    "ImageFactors",
    "ImageMetrics",
    "QuantizedChannel",
    "StorageCost",
    "channel_ranks",
    "decompose_image",
    "default_chroma_rank",
    "dequantize_factors",
    "display_grid",
    "downsample",
    "from_channels",
    "image_metrics",
    "luminance",
    "mode_reference",
    "psnr",
    "quantize_factors",
    "rank_for_byte_budget",
    "rank_for_energy_target",
    "rank_for_psnr_target",
    "rank_one_layer",
    "rank_sweep",
    "reconstruct_image",
    "relative_error",
    "ssim",
    "storage_cost",
    "to_channels",
]

COLOR_MODES = ("gray", "rgb", "ycbcr")
CHANNEL_NAMES = {"gray": ("Y",), "rgb": ("R", "G", "B"), "ycbcr": ("Y", "Cb", "Cr")}
PEAK = 255.0
# Longer side of the quick screen preview of a big image (a full SVD of ~640×480 per channel
# takes well under 0.1 s here, so the first picture appears well within 1.5 s).
PREVIEW_SIDE = 640
# Above this many pixels the tab shows a preview first and decomposes full size in a process.
PREVIEW_ABOVE_PIXELS = 1_500_000

_RGB_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)
_YCC_TO_RGB = np.array(
    [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]], dtype=np.float32
)


# ----------------------------------------------------------------------------- colour spaces


def _check_pixels(pixels: np.ndarray) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"image must be H×W or H×W×3; got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError("image is empty")
    return arr


def effective_mode(pixels: np.ndarray, mode: str) -> str:
    """The colour mode actually used: a grayscale image is always ``gray``."""
    if mode not in COLOR_MODES:
        raise ValueError(f"unknown colour mode {mode!r}; use one of {', '.join(COLOR_MODES)}")
    return "gray" if np.ndim(pixels) == 2 else mode


def luminance(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB pixels (a grayscale image is returned as float32 unchanged)."""
    arr = np.asarray(pixels, dtype=np.float32)
    if arr.ndim == 2:
        return arr
    return arr @ _RGB_TO_YCC[0]


def mode_reference(pixels: np.ndarray, mode: str) -> np.ndarray:
    """The image a reconstruction in ``mode`` is compared with (gray mode: the luma)."""
    arr = _check_pixels(pixels)
    return luminance(arr) if effective_mode(arr, mode) == "gray" else arr.astype(np.float32)


def to_channels(pixels: np.ndarray, mode: str) -> tuple[np.ndarray, ...]:
    """Split pixels into C-contiguous float32 channels of ``mode`` (chroma centred on 0)."""
    arr = _check_pixels(pixels).astype(np.float32, copy=False)
    mode = effective_mode(arr, mode)
    if mode == "gray":
        return (np.ascontiguousarray(luminance(arr)),)
    if mode == "rgb":
        return tuple(np.ascontiguousarray(arr[..., c]) for c in range(3))
    ycc = arr @ _RGB_TO_YCC.T
    return tuple(np.ascontiguousarray(ycc[..., c]) for c in range(3))


def from_channels(channels: Sequence[np.ndarray], mode: str, *, clip: bool = True) -> np.ndarray:
    """Inverse of :func:`to_channels`: H×W or H×W×3 float32 pixels, clipped to [0, 255]."""
    if mode == "gray" or len(channels) == 1:
        out = np.array(channels[0], dtype=np.float32)
    else:
        stack = np.stack(channels, axis=-1).astype(np.float32, copy=False)
        out = stack @ _YCC_TO_RGB.T if mode == "ycbcr" else stack
        out = np.ascontiguousarray(out, dtype=np.float32)
    if clip:
        np.clip(out, 0.0, PEAK, out=out)
    return out


def downsample(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Block-mean downsample by an integer factor (edges that do not fill a block are cut)."""
    f = int(factor)
    if f <= 1:
        return np.asarray(pixels, dtype=np.float32)
    arr = np.asarray(pixels, dtype=np.float32)
    h, w = (arr.shape[0] // f) * f, (arr.shape[1] // f) * f
    if h == 0 or w == 0:
        raise ValueError(f"image too small to downsample by {f}")
    a = arr[:h, :w]
    rest = a.shape[2:]
    # Two single-axis sums are ~3× faster than one mean over axes (1, 3).
    r = a.reshape(h // f, f, w, *rest).sum(axis=1, dtype=np.float32)
    r = r.reshape(h // f, w // f, f, *rest).sum(axis=2, dtype=np.float32)
    r *= np.float32(1.0 / (f * f))
    return r


# ----------------------------------------------------------------------------- factors


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


def default_chroma_rank(k: int, full_rank: int) -> int:
    """Chroma rank used when none is given: k/4 (at least 1), or full at full luma rank."""
    if k >= full_rank:
        return full_rank
    return max(1, k // 4) if k > 0 else 0


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
    job: object = None,
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
    planes = [
        res.s[j] * np.outer(res.U[r, j], res.Vt[j, c]) if j < res.n_components else None
        for res in factors.channels
    ]
    planes = [np.zeros_like(planes[0]) if p is None else p for p in planes]
    if len(planes) == 1:
        return planes[0].astype(np.float32)
    return np.stack(planes, axis=-1).astype(np.float32)


class DisplayReconstructor:
    """Rebuild a (subsampled or cropped) view of A_k quickly while the rank is dragged.

    The selected rows of UΣ and columns of Vᵀ are copied once; each :meth:`render` adds or
    subtracts only the rank-1 terms between the previous and the new rank when that is
    cheaper than a rebuild (a full rebuild every ``exact_every`` incremental steps, or when
    ``exact=True``, bounds float32 drift).  Channels are kept planar and written straight
    into a reused interleaved uint8 H×W(×3) buffer (no float H×W×3 staging copy).
    """

    def __init__(
        self,
        factors: ImageFactors,
        rows: slice | np.ndarray | None = None,
        cols: slice | np.ndarray | None = None,
        *,
        exact_every: int = 64,
    ) -> None:
        self.factors = factors
        r = _index(rows, factors.height)
        c = _index(cols, factors.width)
        self._us = [
            np.ascontiguousarray(ch.U[r, : ch.n_components] * ch.s) for ch in factors.channels
        ]
        self._vt = [np.ascontiguousarray(ch.Vt[:, c]) for ch in factors.channels]
        h, w = self._us[0].shape[0], self._vt[0].shape[1]
        self.shape = (h, w)
        nc = len(factors.channels)
        # Rounding offset +0.5 lives in the luma/colour accumulators (chroma adds to it with
        # weight 0 in the inverse transform), so rendering only clips and truncates.
        chroma = factors.mode == "ycbcr"
        self._offset = [0.0 if chroma and i > 0 else 0.5 for i in range(nc)]
        self._acc = np.empty((nc, h, w), np.float32)
        for i in range(nc):
            self._acc[i] = self._offset[i]
        self._tmp = np.empty((h, w), np.float32)
        self._plane = np.empty((h, w), np.float32)
        self._u8 = np.empty((h, w, 3) if nc == 3 else (h, w), np.uint8)
        self._ranks = [0] * nc
        self._steps = 0
        self.exact_every = int(exact_every)

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(self._ranks)

    def _set_channel(self, c: int, new: int, exact: bool) -> None:
        cur = self._ranks[c]
        if new == cur and not exact:
            return
        acc, U, Vt = self._acc[c], self._us[c], self._vt[c]
        lo, hi = min(cur, new), max(cur, new)
        if exact or hi - lo >= new:
            if new == 0:
                acc[...] = 0
            else:
                np.matmul(U[:, :new], Vt[:new], out=acc)
            if self._offset[c]:
                acc += self._offset[c]
        else:
            self._add_terms(acc, U[:, lo:hi], Vt[lo:hi], 1.0 if new > cur else -1.0)
        self._ranks[c] = new

    def _add_terms(self, acc: np.ndarray, U: np.ndarray, Vt: np.ndarray, sign: float) -> None:
        """acc += sign · U Vt, in place through BLAS sgemm (β = 1) when possible."""
        if acc.dtype == np.float32 and U.dtype == np.float32 and Vt.dtype == np.float32:
            # Row-major acc is column-major acc.T = Vtᵀ Uᵀ: one pass over acc, no temporary.
            r = sgemm(sign, Vt.T, U.T, beta=1.0, c=acc.T, overwrite_c=1)
            if np.shares_memory(r, acc):
                return
            acc[...] = r.T  # pragma: no cover - f2py made a copy after all
            return
        np.matmul(U, Vt, out=self._tmp)
        acc += sign * self._tmp

    def _emit(self, plane: np.ndarray, target: np.ndarray) -> None:
        # One pass: clip and truncate straight into the (strided) uint8 channel.
        np.clip(plane, 0.0, 255.99, out=target, casting="unsafe")

    def render(self, k: int, chroma_k: int | None = None, *, exact: bool = False) -> np.ndarray:
        """uint8 pixels of the view at rank k (the returned buffer is reused by the next call)."""
        ranks = channel_ranks(self.factors, k, chroma_k)
        self._steps += 1
        if self._steps >= self.exact_every:
            exact, self._steps = True, 0
        for c, kc in enumerate(ranks):
            self._set_channel(c, kc, exact)
        if len(ranks) == 1:
            self._emit(self._acc[0], self._u8)
        elif self.factors.mode == "ycbcr":
            y, cb, cr = self._acc
            t = self._tmp
            for c, (wb, wr) in enumerate(_YCC_TO_RGB[:, 1:]):
                np.add(y, 0.0, out=t)
                if wr:
                    np.multiply(cr, wr, out=self._plane)
                    t += self._plane
                if wb:
                    np.multiply(cb, wb, out=self._plane)
                    t += self._plane
                self._emit(t, self._u8[..., c])
        else:
            for c in range(3):
                self._emit(self._acc[c], self._u8[..., c])
        return self._u8

    def float_pixels(self) -> np.ndarray:
        """The current view as float32 [0, 255] pixels (unrounded, clipped; a new array)."""
        planes = [a - o for a, o in zip(self._acc, self._offset, strict=True)]
        return from_channels(planes, self.factors.mode)


# ----------------------------------------------------------------------------- metrics


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    return x, y


def psnr(original: np.ndarray, approx: np.ndarray, peak: float = PEAK) -> float:
    """Peak signal-to-noise ratio in dB, 10·log10(peak² / MSE) over all samples (inf if equal)."""
    x, y = _pair(original, approx)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def relative_error(original: np.ndarray, approx: np.ndarray) -> float:
    """‖A − A_k‖_F / ‖A‖_F over all samples (0 for an all-black original that is matched)."""
    x, y = _pair(original, approx)
    norm = float(np.linalg.norm(x))
    diff = float(np.linalg.norm(x - y))
    return diff / norm if norm > 0 else (0.0 if diff == 0 else math.inf)


def ssim(
    original: np.ndarray,
    approx: np.ndarray,
    *,
    peak: float = PEAK,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean structural similarity (Wang et al. 2004) on luminance.

    Gaussian window σ = 1.5 truncated at radius 5 (11×11), weighted (population) statistics,
    C1 = (k1·peak)², C2 = (k2·peak)²; the mean is taken over pixels whose window lies
    inside the image (Wang's "valid" windows; the whole map for images smaller than 11 px).
    """
    x, y = _pair(luminance(original), luminance(approx))
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    truncate = 3.5  # radius int(3.5·1.5 + 0.5) = 5
    r = int(truncate * sigma + 0.5)

    def blur(a: np.ndarray) -> np.ndarray:
        return scipy.ndimage.gaussian_filter(a, sigma, mode="reflect", truncate=truncate)

    h, w = x.shape
    crop = h > 2 * r and w > 2 * r
    total, count = 0.0, 0
    # Bands of rows with an r-row margin give exactly the whole-image map, and keep each
    # C call short (scipy.ndimage holds the GIL; a GUI thread gets a turn between bands).
    for a in range(0, h, _SSIM_BAND):
        b = min(h, a + _SSIM_BAND)
        lo, hi = max(0, a - r), min(h, b + r)
        xb, yb = x[lo:hi], y[lo:hi]
        mx, my = blur(xb), blur(yb)
        sxx = blur(xb * xb) - mx * mx
        syy = blur(yb * yb) - my * my
        sxy = blur(xb * yb) - mx * my
        smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        r0, r1 = a, b
        if crop:
            r0, r1 = max(a, r), min(b, h - r)
        if r1 <= r0:
            continue
        part = smap[r0 - lo : r1 - lo]
        if crop:
            part = part[:, r:-r]
        total += float(part.sum())
        count += part.size
    return total / count


_SSIM_BAND = 256


@dataclass(frozen=True)
class StorageCost:
    """What storing the factors at the given per-channel ranks costs."""

    stored_values: int
    bytes_float32: int
    bytes_float16: int
    bytes_uint8: int


def storage_cost(height: int, width: int, ranks: Sequence[int]) -> StorageCost:
    """k(m+n+1) numbers per channel and their bytes (see the module docstring)."""
    mn = int(height) + int(width)
    ks = [int(k) for k in ranks]
    values = sum(k * (mn + 1) for k in ks)
    return StorageCost(
        stored_values=values,
        bytes_float32=4 * values,
        bytes_float16=sum(2 * k * mn + 4 * k for k in ks),
        bytes_uint8=sum(k * (mn + 20) for k in ks),
    )


@dataclass(frozen=True)
class ImageMetrics:
    """Quality and cost of one rank choice.  Ratios are reference bytes / SVD bytes.

    ``relative_error`` is ‖A − A_k‖_F / ‖A‖_F and ``psnr_db``/``ssim`` compare the displayed
    (clipped, colour-converted) reconstruction with the original; ``energy_retained`` is
    Σ kept σ² / Σ σ² over all channels; ``compression_ratio`` = raw bytes / float32 bytes.
    """

    rank: int
    chroma_rank: int | None
    psnr_db: float
    ssim: float
    relative_error: float
    energy_retained: float
    stored_values: int
    bytes_float32: int
    bytes_float16: int
    bytes_uint8: int
    raw_bytes: int
    png_bytes: int | None
    jpeg_bytes: int | None
    jpeg_quality: int | None
    compression_ratio: float

    def ratio(self, reference: str, dtype: str = "float32") -> float | None:
        """Compression ratio vs ``raw``/``png``/``jpeg`` bytes at ``float32/float16/uint8``."""
        ref = {"raw": self.raw_bytes, "png": self.png_bytes, "jpeg": self.jpeg_bytes}[reference]
        size = {
            "float32": self.bytes_float32,
            "float16": self.bytes_float16,
            "uint8": self.bytes_uint8,
        }[dtype]
        if ref is None:
            return None
        return ref / size if size else math.inf

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def energy_retained(factors: ImageFactors, ranks: Sequence[int]) -> float:
    """Σ of kept σ² over all channels / Σ ‖channel‖_F²."""
    kept = sum(
        float(np.sum(ch.s[:k].astype(np.float64) ** 2))
        for ch, k in zip(factors.channels, ranks, strict=True)
    )
    total = factors.total_energy
    return kept / total if total > 0 else 1.0


def image_metrics(
    original: np.ndarray,
    factors: ImageFactors,
    k: int,
    chroma_k: int | None = None,
    *,
    reconstruction: np.ndarray | None = None,
    png_bytes: int | None = None,
    jpeg_bytes: int | None = None,
    jpeg_quality: int | None = None,
) -> ImageMetrics:
    """Every figure for rank k; ``original`` is the source pixels (gray mode: its luma is used).

    PNG/JPEG sizes are inputs (the engine does not encode files; see ``svdstudio.io.images``).
    """
    ref = mode_reference(original, factors.mode)
    if ref.shape[:2] != (factors.height, factors.width):
        raise ValueError(
            f"original is {ref.shape[1]}×{ref.shape[0]} but the factors are for "
            f"{factors.width}×{factors.height}"
        )
    ranks = channel_ranks(factors, k, chroma_k)
    rec = reconstruct_image(factors, k, chroma_k) if reconstruction is None else reconstruction
    cost = storage_cost(factors.height, factors.width, ranks)
    raw = int(ref.size)
    return ImageMetrics(
        rank=int(k),
        chroma_rank=ranks[1] if factors.mode == "ycbcr" else None,
        psnr_db=psnr(ref, rec),
        ssim=ssim(ref, rec),
        relative_error=relative_error(ref, rec),
        energy_retained=energy_retained(factors, ranks),
        stored_values=cost.stored_values,
        bytes_float32=cost.bytes_float32,
        bytes_float16=cost.bytes_float16,
        bytes_uint8=cost.bytes_uint8,
        raw_bytes=raw,
        png_bytes=png_bytes,
        jpeg_bytes=jpeg_bytes,
        jpeg_quality=jpeg_quality,
        compression_ratio=raw / cost.bytes_float32 if cost.bytes_float32 else math.inf,
    )


def rank_sweep(
    original: np.ndarray,
    factors: ImageFactors,
    ranks: Sequence[int],
    chroma_k: int | None = None,
    *,
    step: int = 1,
    job: object = None,
) -> list[ImageMetrics]:
    """Metrics for several ranks (for the gallery and the quality-vs-bytes plot).

    ``step`` > 1 measures PSNR/SSIM/error on every step-th row and column (approximate, for
    big images); storage figures are exact.  PNG/JPEG fields are left empty.
    """
    ref = mode_reference(original, factors.mode)[::step, ::step]
    rows, cols = slice(0, factors.height, step), slice(0, factors.width, step)
    out = []
    for n, k in enumerate(ranks):
        if job is not None and job.cancelled():
            raise Cancelled()
        rk = channel_ranks(factors, int(k), chroma_k)
        rec = reconstruct_image(factors, int(k), chroma_k, rows=rows, cols=cols)
        cost = storage_cost(factors.height, factors.width, rk)
        raw = factors.height * factors.width * (1 if factors.mode == "gray" else 3)
        out.append(
            ImageMetrics(
                rank=int(k),
                chroma_rank=rk[1] if factors.mode == "ycbcr" else None,
                psnr_db=psnr(ref, rec),
                ssim=ssim(ref, rec),
                relative_error=relative_error(ref, rec),
                energy_retained=energy_retained(factors, rk),
                stored_values=cost.stored_values,
                bytes_float32=cost.bytes_float32,
                bytes_float16=cost.bytes_float16,
                bytes_uint8=cost.bytes_uint8,
                raw_bytes=raw,
                png_bytes=None,
                jpeg_bytes=None,
                jpeg_quality=None,
                compression_ratio=raw / cost.bytes_float32 if cost.bytes_float32 else math.inf,
            )
        )
        if job is not None:
            job.report((n + 1) / len(ranks), f"rank {k}")
    return out


# ----------------------------------------------------------------------------- rank by target


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
    hits = np.nonzero(kept / total >= fraction - 1e-12)[0]
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


# ----------------------------------------------------------------------------- quantization


@dataclass(frozen=True, eq=False)
class QuantizedChannel:
    """Rank-k factors of one channel with 8-bit entries.

    u_i ≈ u_offset[i] + u_scale[i]·u_q[:, i] and v_i ≈ vt_offset[i] + vt_scale[i]·vt_q[i];
    σ and the scales/offsets stay float32.  ``total_energy`` is ‖channel‖_F².
    """

    u_q: np.ndarray
    u_scale: np.ndarray
    u_offset: np.ndarray
    s: np.ndarray
    vt_q: np.ndarray
    vt_scale: np.ndarray
    vt_offset: np.ndarray
    total_energy: float


def _quantize(a: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = a.min(axis=axis, keepdims=True)
    hi = a.max(axis=axis, keepdims=True)
    scale = (hi - lo) / 255.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint((a - lo) / scale), 0, 255).astype(np.uint8)
    return q, scale.reshape(-1).astype(np.float32), lo.reshape(-1).astype(np.float32)


def quantize_factors(
    factors: ImageFactors, k: int, chroma_k: int | None = None
) -> tuple[QuantizedChannel, ...]:
    """8-bit affine quantization of each channel's rank-k factors (one scale/offset per vector)."""
    ranks = channel_ranks(factors, k, chroma_k)
    out = []
    for ch, kc in zip(factors.channels, ranks, strict=True):
        U = ch.U[:, :kc].astype(np.float32)
        Vt = ch.Vt[:kc].astype(np.float32)
        uq, us, uo = _quantize(U, axis=0)
        vq, vs, vo = _quantize(Vt, axis=1)
        out.append(
            QuantizedChannel(uq, us, uo, ch.s[:kc].astype(np.float32), vq, vs, vo, ch.total_energy)
        )
    return tuple(out)


def dequantize_factors(
    mode: str, height: int, width: int, channels: Sequence[QuantizedChannel]
) -> ImageFactors:
    """Rebuild (partial) :class:`ImageFactors` from quantized channels."""
    if mode not in COLOR_MODES:
        raise ValueError(f"unknown colour mode {mode!r}")
    results = []
    for q in channels:
        U = q.u_offset[np.newaxis, :] + q.u_scale[np.newaxis, :] * q.u_q.astype(np.float32)
        Vt = q.vt_offset[:, np.newaxis] + q.vt_scale[:, np.newaxis] * q.vt_q.astype(np.float32)
        k = q.s.shape[0]
        results.append(
            SVDResult(
                U=U.astype(np.float32),
                s=q.s.astype(np.float32),
                Vt=Vt.astype(np.float32),
                shape=(int(height), int(width)),
                dtype="float32",
                rank=k,
                tolerance=0.0,
                condition_number=float("nan"),
                total_energy=float(q.total_energy),
                driver="quantized",
                is_partial=k < min(height, width),
            )
        )
    return ImageFactors(
        mode=mode,
        height=int(height),
        width=int(width),
        channel_names=CHANNEL_NAMES[mode],
        channels=tuple(results),
    )
