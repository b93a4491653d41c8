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
import scipy.ndimage

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image.color import PEAK, luminance, mode_reference
from svdstudio.engine.image.factors import ImageFactors, channel_ranks, reconstruct_image
from svdstudio.engine.jobs import JobControl

__all__ = [
    "ImageMetrics",
    "StorageCost",
    "energy_retained",
    "image_metrics",
    "psnr",
    "rank_sweep",
    "relative_error",
    "ssim",
    "storage_cost",
]


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
    rec = reconstruct_image(factors, k, chroma_k) if reconstruction is None else reconstruction
    return _measure(
        ref,
        rec,
        factors,
        k,
        chroma_k,
        raw_bytes=int(ref.size),
        png_bytes=png_bytes,
        jpeg_bytes=jpeg_bytes,
        jpeg_quality=jpeg_quality,
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
) -> ImageMetrics:
    """The metrics of ``rec`` against ``ref`` (same pixels) and the storage of rank k."""
    ranks = channel_ranks(factors, k, chroma_k)
    cost = storage_cost(factors.height, factors.width, ranks)
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
    ref = mode_reference(original, factors.mode)[::step, ::step]
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
