"""How the same image fares as PNG and JPEG: byte counts and quality, for honest comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.image import psnr, ssim
from svdstudio.engine.jobs import JobControl
from svdstudio.io.images import encode_png, jpeg_round_trip

__all__ = ["DEFAULT_JPEG_QUALITIES", "CodecPoint", "CodecReport", "codec_report"]

DEFAULT_JPEG_QUALITIES = (10, 20, 30, 50, 75, 90, 95)
REFERENCE_JPEG_QUALITY = 75


@dataclass(frozen=True)
class CodecPoint:
    """One JPEG encoding: quality setting, file bytes, PSNR (dB) and SSIM (None if skipped)."""

    quality: int
    nbytes: int
    psnr_db: float
    ssim: float | None


@dataclass(frozen=True)
class CodecReport:
    """PNG bytes (lossless) and JPEG points; ``jpeg_reference`` is the quality-75 point."""

    png_bytes: int
    jpeg: tuple[CodecPoint, ...]

    @property
    def jpeg_reference(self) -> CodecPoint | None:
        for p in self.jpeg:
            if p.quality == REFERENCE_JPEG_QUALITY:
                return p
        return self.jpeg[len(self.jpeg) // 2] if self.jpeg else None


def codec_report(
    pixels: np.ndarray,
    qualities: Sequence[int] = DEFAULT_JPEG_QUALITIES,
    job: JobControl | None = None,
    *,
    ssim_max_pixels: int = 2_000_000,
) -> CodecReport:
    """Encode ``pixels`` ([0, 255] float, H×W or H×W×3) as PNG and as JPEG at each quality.

    Byte counts are always for the full image; SSIM is skipped (None) above
    ``ssim_max_pixels`` pixels, where it would cost seconds per quality.
    """
    with_ssim = pixels.shape[0] * pixels.shape[1] <= ssim_max_pixels
    png = len(encode_png(pixels))
    points = []
    for n, q in enumerate(qualities):
        if job is not None and job.cancelled():
            from svdstudio.engine import Cancelled

            raise Cancelled()
        nbytes, decoded = jpeg_round_trip(pixels, q)
        quality_ssim = ssim(pixels, decoded) if with_ssim else None
        points.append(CodecPoint(int(q), nbytes, psnr(pixels, decoded), quality_ssim))
        if job is not None:
            job.report((n + 1) / len(qualities), f"JPEG quality {q}")
    return CodecReport(png, tuple(points))
