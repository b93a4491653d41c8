"""Quality and storage figures of a rank choice: PSNR, SSIM, relative error, bytes, ratios.

Storage of a rank-k channel of an m×n image keeps k(m + n + 1) numbers; byte counts: float32
4k(m+n+1); float16 2k(m+n) + 4k (σ stays float32, it overflows float16); 8-bit quantized
k(m+n) + 20k (uint8 entries plus float32 σ, scale and offset per vector).  Raw pixels count
1 byte per sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image.color import (
    PEAK,
    _check_pixels,
    effective_mode,
    luminance,
    mode_reference,
)
from svdstudio.engine.image.factors import ImageFactors, channel_ranks, reconstruct_image
from svdstudio.engine.jobs import JobControl

__all__ = [
    "ImageMetrics",
    "MetricsReference",
    "StorageCost",
    "energy_retained",
    "image_metrics",
    "metrics_reference",
    "psnr",
    "rank_sweep",
    "relative_error",
    "ssim",
    "storage_cost",
]


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a)
    y = np.asarray(b)
    if x.ndim == 0:  # scalars are compared as 1×1 images
        x, y = x.reshape(1, 1), y.reshape(1, 1)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {x.shape} vs {y.shape}")
    return x, y


_BLOCK_ROWS = 256


def _sum_sq(d: np.ndarray) -> float:
    """Σ d² of a contiguous array, squaring in place (``d`` is scratch), summed in float64.

    A float32 square of a pixel value or difference is within eps₃₂ of the exact one (exact
    for 8-bit values), far below the printed digits of PSNR or the relative error.
    """
    flat = d.reshape(-1)
    np.multiply(flat, flat, out=flat)
    return float(flat.sum(dtype=np.float64))


def _work(x: np.ndarray, y: np.ndarray) -> type[np.floating]:
    return np.float32 if x.dtype == y.dtype == np.float32 else np.float64


def _sum_squares(x: np.ndarray) -> float:
    """Σ x², a band of rows at a time (float32 squared in float32, see :func:`_sums`)."""
    work = _work(x, x)
    return sum(
        _sum_sq(np.array(x[a : a + _BLOCK_ROWS], dtype=work))
        for a in range(0, x.shape[0], _BLOCK_ROWS)
    )


def _sums(x: np.ndarray, y: np.ndarray, *, with_ref: bool = True) -> tuple[float, float, int]:
    """(Σ (x − y)², Σ x², count) a band of rows at a time (Σ x² is 0 unless ``with_ref``).

    float32 images are subtracted and squared in float32 (no float64 copies: half the bytes
    to move) and summed in float64; anything else works in float64.  Bands keep the scratch
    memory at a few MB.
    """
    work = _work(x, y)
    diff2 = ref2 = 0.0
    for a in range(0, x.shape[0], _BLOCK_ROWS):
        xb = np.asarray(x[a : a + _BLOCK_ROWS], dtype=work)
        diff2 += _sum_sq(np.subtract(xb, np.asarray(y[a : a + _BLOCK_ROWS], dtype=work)))
        if with_ref:
            ref2 += _sum_sq(np.array(xb, dtype=work))
    return diff2, ref2, int(x.size)


def psnr(original: np.ndarray, approx: np.ndarray, peak: float = PEAK) -> float:
    """Peak signal-to-noise ratio in dB, 10·log10(peak² / MSE) over all samples (inf if equal)."""
    x, y = _pair(original, approx)
    diff2, _, count = _sums(x, y)
    mse = diff2 / count
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def relative_error(original: np.ndarray, approx: np.ndarray) -> float:
    """‖A − A_k‖_F / ‖A‖_F over all samples (0 for an all-black original that is matched)."""
    x, y = _pair(original, approx)
    diff2, ref2, _ = _sums(x, y)
    norm, diff = math.sqrt(ref2), math.sqrt(diff2)
    return diff / norm if norm > 0 else (0.0 if diff == 0 else math.inf)


_SIGMA = 1.5
_TRUNCATE = 3.5  # radius int(3.5·1.5 + 0.5) = 5: Wang's 11×11 window
_SSIM_BAND = 256  # rows per band at most
# ... and at most about this many pixels per band: scipy.ndimage holds the GIL through each
# blur, and a 256-row band of a 4000-wide image (1 M pixels) held it for tens of
# milliseconds per call, long enough to stall the GUI thread of the window measuring it.
_BAND_PIXELS = 1 << 19
_MIN_BAND = 32


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    # Imported here: scipy.ndimage costs a noticeable part of the app's launch, which needs
    # no SSIM until an image is measured.
    import scipy.ndimage

    return scipy.ndimage.gaussian_filter(a, sigma, mode="reflect", truncate=_TRUNCATE)


@dataclass(frozen=True, eq=False)
class _LumaStats:
    """The reference side of SSIM, computed once for many comparisons (H×W maps)."""

    luma: np.ndarray
    mean: np.ndarray  # Gaussian-weighted local mean μx
    var: np.ndarray  # local variance blur(x²) − μx²
    sigma: float


def _bands(h: int, r: int, w: int = 0) -> list[tuple[int, int, int, int]]:
    """(a, b, lo, hi): output rows a:b of a band computed on rows lo:hi (an r-row margin).

    Bands with an r-row margin give exactly the whole-image Gaussian, and keep each C call
    short (scipy.ndimage holds the GIL; a GUI thread gets a turn between bands): at most
    :data:`_SSIM_BAND` rows and, for a ``w``-wide image, about :data:`_BAND_PIXELS` pixels.
    """
    rows = _SSIM_BAND
    if w > 0:
        rows = min(rows, max(_MIN_BAND, _BAND_PIXELS // w))
    out = []
    for a in range(0, h, rows):
        b = min(h, a + rows)
        out.append((a, b, max(0, a - r), min(h, b + r)))
    return out


def _radius(sigma: float) -> int:
    return int(_TRUNCATE * sigma + 0.5)


def _luma_stats(luma: np.ndarray, sigma: float = _SIGMA) -> _LumaStats:
    x = np.asarray(luma)
    x = x.reshape(1, 1) if x.ndim == 0 else x
    work = np.result_type(x.dtype, np.float32)
    mean = np.empty(x.shape, work)
    var = np.empty(x.shape, work)
    for a, b, lo, hi in _bands(x.shape[0], _radius(sigma), x.shape[1]):
        xb = np.asarray(x[lo:hi], dtype=work)
        mx = _blur(xb, sigma)[a - lo : b - lo]
        mean[a:b] = mx
        var[a:b] = _blur(xb * xb, sigma)[a - lo : b - lo] - mx * mx
    return _LumaStats(x, mean, var, sigma)


def ssim(
    original: np.ndarray,
    approx: np.ndarray,
    *,
    peak: float = PEAK,
    sigma: float = _SIGMA,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean structural similarity (Wang et al. 2004) on luminance.

    Gaussian window σ = 1.5 truncated at radius 5 (11×11), weighted (population) statistics,
    C1 = (k1·peak)², C2 = (k2·peak)²; the mean is taken over pixels whose window lies
    inside the image (Wang's "valid" windows; the whole map for images smaller than 11 px).
    """
    x, y = _pair(luminance(original), luminance(approx))
    return _ssim(x, y, None, peak=peak, sigma=sigma, k1=k1, k2=k2)


def _ssim(
    x: np.ndarray,
    y: np.ndarray,
    ref: _LumaStats | None,
    *,
    peak: float = PEAK,
    sigma: float = _SIGMA,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """SSIM of luma ``y`` against luma ``x``; ``ref``: x's statistics, if already computed."""
    # float32 images are blurred in float32 (half the bytes to move; SSIM differs by ~1e-7),
    # float64 input keeps float64.  The sums stay in float64.
    work = np.result_type(x.dtype, y.dtype, np.float32)
    h, w = x.shape
    r = _radius(sigma)
    total, count = 0.0, 0
    for a, b, lo, hi in _bands(h, r, w):
        part, n = _ssim_band(
            np.asarray(x[lo:hi], dtype=work),
            np.asarray(y[lo:hi], dtype=work),
            (a, b, lo, h),
            ref,
            peak=peak,
            sigma=sigma,
            k1=k1,
            k2=k2,
        )
        total += part
        count += n
    return total / count


def _ssim_band(
    xb: np.ndarray,
    yb: np.ndarray,
    where: tuple[int, int, int, int],
    ref: _LumaStats | None,
    *,
    peak: float,
    sigma: float,
    k1: float,
    k2: float,
) -> tuple[float, int]:
    """(Σ SSIM map, count) over output rows a:b of an image ``h`` rows high, from luma bands
    ``xb``, ``yb`` of its rows lo:lo+len (``where`` = (a, b, lo, h)); ``ref``: x's stats."""
    a, b, lo, h = where
    w = xb.shape[1]
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    r = _radius(sigma)
    crop = h > 2 * r and w > 2 * r
    r0, r1 = (max(a, r), min(b, h - r)) if crop else (a, b)
    if r1 <= r0:
        return 0.0, 0
    if ref is None:
        mx = _blur(xb, sigma)[a - lo : b - lo]
        sxx = _blur(xb * xb, sigma)[a - lo : b - lo] - mx * mx
    else:
        mx, sxx = ref.mean[a:b], ref.var[a:b]
    my = _blur(yb, sigma)[a - lo : b - lo]
    syy = _blur(yb * yb, sigma)[a - lo : b - lo] - my * my
    sxy = _blur(xb * yb, sigma)[a - lo : b - lo] - mx * my
    smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    part = smap[r0 - a : r1 - a]
    if crop:
        part = part[:, r:-r]
    return float(part.sum(dtype=np.float64)), int(part.size)


@dataclass(frozen=True, eq=False)
class MetricsReference:
    """What every rank of one image is compared with, computed once (:func:`metrics_reference`).

    ``pixels`` is the mode's reference image, ``sum_squares`` = Σ x² (for the relative error)
    and ``ssim_stats`` the luma statistics of SSIM's reference side (None: left to each rank).
    """

    mode: str
    pixels: np.ndarray
    sum_squares: float
    ssim_stats: _LumaStats | None


def metrics_reference(
    original: np.ndarray, mode: str, *, with_ssim: bool = True
) -> MetricsReference:
    """The reference side of :func:`image_metrics` for ``original`` in colour ``mode``.

    Reused for every rank, it saves a pass over the image and two of SSIM's five blurs per
    rank; the figures are the same as without it.
    """
    ref = mode_reference(original, mode)
    mode = "gray" if ref.ndim == 2 else mode
    ref2 = _sum_squares(ref) if ref.ndim else float(ref) ** 2
    stats = _luma_stats(luminance(ref)) if with_ssim else None
    return MetricsReference(mode, ref, ref2, stats)


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
    reference: MetricsReference | None = None,
    job: JobControl | None = None,
) -> ImageMetrics:
    """Every figure for rank k; ``original`` is the source pixels (gray mode: its luma is used).

    PNG/JPEG sizes are inputs (the engine does not encode files; see ``svdstudio.io.images``).
    ``reference``: :func:`metrics_reference` of ``original`` in the factors' mode, to reuse
    across ranks (then ``original`` is not read again).  ``job``: checked for cancel between
    bands of rows (raises :class:`Cancelled`): at 12 MP one rank's figures are seconds of a
    core, which went on after the user's Esc.
    """
    if reference is not None and reference.mode != factors.mode:
        raise ValueError(
            f"the metrics reference is for mode {reference.mode} but the factors are {factors.mode}"
        )
    source = np.asarray(original) if reference is None else reference.pixels
    _check_pixels(source)
    if source.shape[:2] != (factors.height, factors.width):
        raise ValueError(
            f"original is {source.shape[1]}×{source.shape[0]} but the factors are for "
            f"{factors.width}×{factors.height}"
        )
    gray = effective_mode(source, factors.mode) == "gray"
    codecs = {"png_bytes": png_bytes, "jpeg_bytes": jpeg_bytes, "jpeg_quality": jpeg_quality}
    if reconstruction is not None:
        ref = mode_reference(source, factors.mode) if reference is None else reference.pixels
        return _measure(
            ref,
            reconstruction,
            factors,
            k,
            chroma_k,
            raw_bytes=int(ref.size),
            reference=reference,
            **codecs,
        )
    raw = factors.height * factors.width * (1 if gray else 3)
    return _measure_in_bands(source, factors, k, chroma_k, raw, reference, codecs, job)


def _measure_in_bands(
    source: np.ndarray,
    factors: ImageFactors,
    k: int,
    chroma_k: int | None,
    raw_bytes: int,
    reference: MetricsReference | None,
    codecs: dict[str, int | None],
    job: JobControl | None = None,
) -> ImageMetrics:
    """:func:`_measure` of the rank-k rebuild, made and compared a band of rows at a time.

    No full-resolution rebuild, reference copy or luma is ever held: at 12 MP the metrics of
    one rank took about 400 MiB that way (rebuild, float32 copy of the original, two lumas),
    now a few bands of a few MB.  The rebuild of a band is exactly those rows of A_k, the
    sums and SSIM's blurs are those of the whole image (SSIM's bands keep their margin), so
    the figures are the whole-image ones up to float32 rounding.
    """
    h, w = factors.height, factors.width
    mode = factors.mode
    stats = None if reference is None else reference.ssim_stats
    r = _radius(_SIGMA)
    diff2 = ref2 = total = 0.0
    count = 0
    for a, b, lo, hi in _bands(h, r, w):
        if job is not None and job.cancelled():
            raise Cancelled()
        x = mode_reference(source[lo:hi], mode)  # float32 band (luma in gray mode)
        y = reconstruct_image(factors, k, chroma_k, rows=slice(lo, hi))
        xa, ya = x[a - lo : b - lo], y[a - lo : b - lo]
        diff2 += _sum_sq(np.subtract(xa, ya))
        if reference is None:
            ref2 += _sum_sq(np.array(xa))
        part, n = _ssim_band(
            luminance(x),
            luminance(y),
            (a, b, lo, h),
            stats,
            peak=PEAK,
            sigma=_SIGMA,
            k1=0.01,
            k2=0.03,
        )
        total += part
        count += n
    if reference is not None:
        ref2 = reference.sum_squares
    return _figures(
        factors,
        k,
        chroma_k,
        diff2=diff2,
        ref2=ref2,
        count=raw_bytes,  # one sample per raw byte: H·W (gray) or H·W·3
        quality=total / count,
        raw_bytes=raw_bytes,
        **codecs,
    )


def _measure(
    ref: np.ndarray,
    rec: np.ndarray,
    factors: ImageFactors,
    k: int,
    chroma_k: int | None,
    *,
    raw_bytes: int,
    png_bytes: int | None = None,
    jpeg_bytes: int | None = None,
    jpeg_quality: int | None = None,
    reference: MetricsReference | None = None,
) -> ImageMetrics:
    """The metrics of ``rec`` against ``ref`` (same pixels) and the storage of rank k."""
    x, y = _pair(ref, rec)
    # One pass for PSNR and the relative error (Σ x² once per image when it is known).
    diff2, ref2, count = _sums(x, y, with_ref=reference is None)
    if reference is not None:
        ref2 = reference.sum_squares
    stats = None if reference is None else reference.ssim_stats
    if stats is None:
        quality = ssim(ref, rec)
    else:
        luma, _ = _pair(luminance(rec), stats.luma)
        quality = _ssim(stats.luma, luma, stats, sigma=stats.sigma)
    return _figures(
        factors,
        k,
        chroma_k,
        diff2=diff2,
        ref2=ref2,
        count=count,
        quality=quality,
        raw_bytes=raw_bytes,
        png_bytes=png_bytes,
        jpeg_bytes=jpeg_bytes,
        jpeg_quality=jpeg_quality,
    )


def _figures(
    factors: ImageFactors,
    k: int,
    chroma_k: int | None,
    *,
    diff2: float,
    ref2: float,
    count: int,
    quality: float,
    raw_bytes: int,
    png_bytes: int | None = None,
    jpeg_bytes: int | None = None,
    jpeg_quality: int | None = None,
) -> ImageMetrics:
    """ImageMetrics from the sums (Σ (x − y)², Σ x², count), SSIM and the storage of rank k."""
    ranks = channel_ranks(factors, k, chroma_k)
    cost = storage_cost(factors.height, factors.width, ranks)
    mse = diff2 / count
    if ref2 > 0:
        rel = math.sqrt(diff2 / ref2)
    else:
        rel = 0.0 if diff2 == 0 else math.inf
    return ImageMetrics(
        rank=int(k),
        chroma_rank=ranks[1] if factors.mode == "ycbcr" else None,
        psnr_db=math.inf if mse == 0 else 10.0 * math.log10(PEAK * PEAK / mse),
        ssim=quality,
        relative_error=rel,
        energy_retained=energy_retained(factors, ranks),
        stored_values=cost.stored_values,
        bytes_float32=cost.bytes_float32,
        bytes_float16=cost.bytes_float16,
        bytes_uint8=cost.bytes_uint8,
        raw_bytes=raw_bytes,
        png_bytes=png_bytes,
        jpeg_bytes=jpeg_bytes,
        jpeg_quality=jpeg_quality,
        compression_ratio=raw_bytes / cost.bytes_float32 if cost.bytes_float32 else math.inf,
    )


def rank_sweep(
    original: np.ndarray,
    factors: ImageFactors,
    ranks: Sequence[int],
    chroma_k: int | None = None,
    *,
    step: int = 1,
    job: JobControl | None = None,
) -> list[ImageMetrics]:
    """Metrics for several ranks (for the gallery and the quality-vs-bytes plot).

    ``step`` > 1 measures PSNR/SSIM/error on every step-th row and column (approximate, for
    big images); storage figures are exact.  PNG/JPEG fields are left empty.
    """
    # Subsampled first: a float32 copy of the whole image (137 MiB at 12 MP) only to keep
    # every step-th pixel of it was the sweep's largest allocation.
    ref = mode_reference(np.asarray(original)[::step, ::step], factors.mode)
    rows, cols = slice(0, factors.height, step), slice(0, factors.width, step)
    raw = factors.height * factors.width * (1 if factors.mode == "gray" else 3)
    out = []
    for n, k in enumerate(ranks):
        if job is not None and job.cancelled():
            raise Cancelled()
        rec = reconstruct_image(factors, int(k), chroma_k, rows=rows, cols=cols)
        out.append(_measure(ref, rec, factors, int(k), chroma_k, raw_bytes=raw))
        if job is not None:
            job.report((n + 1) / len(ranks), f"rank {k}")
    return out
