"""How the same image fares as PNG and JPEG: byte counts and quality, for honest comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from svdstudio.engine.image import psnr, ssim
from svdstudio.engine.jobs import JobControl
from svdstudio.io.images import encode_jpeg, encode_png, jpeg_round_trip, to_uint8

__all__ = [
    "DEFAULT_JPEG_QUALITIES",
    "JPEG_MAX_SIDE",
    "CodecPoint",
    "CodecReport",
    "FileSizes",
    "codec_cannot_store",
    "codec_report",
    "file_sizes",
]

DEFAULT_JPEG_QUALITIES = (10, 20, 30, 50, 75, 90, 95)
REFERENCE_JPEG_QUALITY = 75
#: libjpeg's largest width or height; PNG's limit (2³¹ − 1) is never reached by an image we open.
JPEG_MAX_SIDE = 65500
_LIMITS = {"JPEG": JPEG_MAX_SIDE, "PNG": 2**31 - 1}


@dataclass(frozen=True)
class CodecPoint:
    """One JPEG encoding: quality setting, file bytes, PSNR (dB) and SSIM (None if skipped)."""

    quality: int
    nbytes: int
    psnr_db: float
    ssim: float | None


@dataclass(frozen=True)
class CodecReport:
    """PNG bytes (lossless) and JPEG points; ``jpeg_reference`` is the quality-75 point.

    ``cannot_store`` maps a codec ("PNG", "JPEG") that cannot hold this image to a sentence
    saying why ("JPEG cannot store this size: …"); such a codec has no points (``png_bytes``
    None, ``jpeg`` empty) and the comparison shows the sentence instead.
    """

    png_bytes: int | None
    jpeg: tuple[CodecPoint, ...]
    cannot_store: dict[str, str] = field(default_factory=dict)

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
    # The 8-bit image every encoder is given, made once (not once per quality).
    u8 = to_uint8(pixels)
    cannot: dict[str, str] = {}
    png = None
    reason = codec_cannot_store("PNG", pixels.shape)
    if reason is None:
        try:
            png = len(encode_png(u8))
        except (OSError, ValueError) as exc:
            reason = f"PNG cannot store this image ({exc})"
    if reason is not None:
        cannot["PNG"] = reason
    points: list[CodecPoint] = []
    reason = codec_cannot_store("JPEG", pixels.shape)
    for n, q in enumerate(qualities if reason is None else ()):
        if job is not None and job.cancelled():
            from svdstudio.engine import Cancelled

            raise Cancelled()
        try:
            nbytes, decoded = jpeg_round_trip(u8, q)
        except (OSError, ValueError) as exc:  # a limit libjpeg knows and we did not
            reason = f"JPEG cannot store this image ({exc})"
            points = []
            break
        quality_ssim = ssim(pixels, decoded) if with_ssim else None
        points.append(CodecPoint(int(q), nbytes, psnr(pixels, decoded), quality_ssim))
        if job is not None:
            job.report((n + 1) / len(qualities), f"JPEG quality {q}")
    if reason is not None:
        cannot["JPEG"] = reason
    return CodecReport(png, tuple(points), cannot)


@dataclass(frozen=True)
class FileSizes:
    """Bytes of the image saved as PNG and as JPEG at ``jpeg_quality`` (None: cannot store).

    ``notes`` holds the sentence for each codec that cannot store the image.
    """

    png_bytes: int | None
    jpeg_bytes: int | None
    jpeg_quality: int
    notes: tuple[str, ...] = ()


def file_sizes(pixels: np.ndarray, jpeg_quality: int = REFERENCE_JPEG_QUALITY) -> FileSizes:
    """What the image costs as a PNG and as a JPEG file: the encoders' own byte counts.

    Only the sizes (no decode, no quality figures), so it is cheap enough to run beside an
    SVD: Pillow's encoders release the GIL.
    """
    sizes: dict[str, int | None] = {}
    notes = []
    for codec, encode in (
        ("PNG", encode_png),
        ("JPEG", lambda px: encode_jpeg(px, jpeg_quality)),
    ):
        reason = codec_cannot_store(codec, pixels.shape)
        if reason is None:
            try:
                sizes[codec] = len(encode(pixels))
            except (OSError, ValueError) as exc:  # a limit the encoder knows and we did not
                reason = f"{codec} cannot store this image ({exc})"
        if reason is not None:
            sizes[codec] = None
            notes.append(reason)
    return FileSizes(sizes["PNG"], sizes["JPEG"], int(jpeg_quality), tuple(notes))


def codec_cannot_store(codec: str, shape: tuple[int, ...]) -> str | None:
    """Why ``codec`` ("PNG" or "JPEG") cannot store an image of ``shape`` (H, W[, C]), or None."""
    height, width = int(shape[0]), int(shape[1])
    limit = _LIMITS[codec]
    if max(height, width) > limit:
        return (
            f"{codec} cannot store this size: {width}×{height} pixels, and {codec} allows at "
            f"most {limit:,} pixels a side"
        )
    return None
