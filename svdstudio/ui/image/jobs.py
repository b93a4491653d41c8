"""Qt-free helpers of the Image session: its jobs (preview, codecs), sweep ranks, SVD progress."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image import (
    ImageFactors,
    ImageMetrics,
    decompose_preview,
    display_grid,
    effective_mode,
    mode_reference,
    rank_sweep,
    reconstruct_image,
)
from svdstudio.engine.jobs import JobControl
from svdstudio.io.image_codecs import CodecReport, codec_report
from svdstudio.io.images import to_uint8

__all__ = [
    "GALLERY_RANKS",
    "Preview",
    "ProgressTracker",
    "SvdProgress",
    "Sweep",
    "codec_job",
    "estimate_svd_seconds",
    "gallery_ranks",
    "preview_job",
    "sweep_job",
    "sweep_ranks",
]

GALLERY_RANKS = (8, 16, 32)  # plus "full"
# Seconds per m·n·min(m, n) of one float32 gesdd channel (4000×3000 ≈ 5.3 s on an idle
# core here); used until the preview or the first reported step gives a measured rate.
SECONDS_PER_FLOP = 1.5e-10
# The full SVD's time over the preview's, per m·n·min(m, n).  The preview is a Gram-matrix
# eigensolve of a pane-sized copy (plus its block averaging and thread start): at 12 MP the
# preview took about 0.48 s from submit to result and the whole full SVD (refined) 13.5 s,
# idle, against 216× the preview's m·n·min(m, n); 0.25 (tuned for the old 571×428 numpy
# preview) said "about 26 s left".  The measured rate replaces this once progress comes.
FULL_VS_PREVIEW_SPEED = 0.13


def estimate_svd_seconds(
    height: int,
    width: int,
    n_channels: int,
    preview_seconds: float | None = None,
    preview_shape: tuple[int, int] | None = None,
) -> float:
    """Rough seconds for the full SVD of an image, scaled from the preview's time if known."""
    work = float(height) * width * min(height, width)
    if preview_seconds and preview_shape:
        ph, pw = preview_shape
        small = float(ph) * pw * min(ph, pw)
        return preview_seconds * work / small * FULL_VS_PREVIEW_SPEED
    return n_channels * work * SECONDS_PER_FLOP


def sweep_ranks(max_rank: int, full_rank: int) -> list[int]:
    """Ranks measured for the gallery and the quality-vs-size plot."""
    ranks = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}
    ranks = {r for r in ranks if r <= max_rank} | {max_rank}
    if max_rank == full_rank:
        ranks.add(full_rank)
    return sorted(ranks | {r for r in GALLERY_RANKS if r <= max_rank})


def gallery_ranks(max_rank: int) -> list[int]:
    """Ranks of the gallery's cards: :data:`GALLERY_RANKS` that fit, then the largest."""
    return [r for r in GALLERY_RANKS if r <= max_rank] + [max_rank]


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep:
    """The quality sweep's metrics and the gallery's pictures (rank → uint8 thumbnail)."""

    metrics: list[ImageMetrics]
    pictures: dict[int, np.ndarray]


def sweep_job(
    original: np.ndarray,
    factors: ImageFactors,
    ranks: list[int],
    chroma_k: int | None,
    *,
    step: int,
    thumb_side: int,
    job: JobControl | None = None,
) -> Sweep:
    """:func:`rank_sweep` plus the gallery's thumbnails (at most ``thumb_side`` pixels a side).

    The thumbnails were rebuilt in the GUI thread when the sweep arrived (about 80 ms of
    blocked window per sweep at 12 MP, busy machine); here they cost the job a few ms.
    """
    metrics = rank_sweep(original, factors, ranks, chroma_k, step=step, job=job)
    rows, cols = display_grid(factors.height, factors.width, thumb_side)
    pictures = {}
    for k in gallery_ranks(factors.max_rank):
        if job is not None and job.cancelled():
            raise Cancelled()
        if k == factors.full_rank and factors.mode != "ycbcr":
            # A at full rank is the image itself (YCbCr keeps its chroma rank).
            pic = mode_reference(np.asarray(original)[rows, cols], factors.mode)
        else:
            pic = reconstruct_image(factors, k, None, rows=rows, cols=cols)
        pictures[k] = to_uint8(pic)
    return Sweep(metrics, pictures)


def codec_job(pixels: np.ndarray, mode: str, job: JobControl | None = None) -> CodecReport:
    """PNG and JPEG figures of the image ``mode``'s reconstructions are compared with (a codec
    that cannot store it is in ``cannot_store``, not raised).

    The reference is made here, in the job's thread: :func:`mode_reference` copies a colour
    image (137 MiB at 12 MP), which held the GUI thread; float32 RGB pixels need no copy.
    """
    if effective_mode(pixels, mode) != "gray" and pixels.dtype == np.float32:
        reference = pixels  # codec_report only reads it
    else:
        reference = mode_reference(pixels, mode)
    return codec_report(reference, job=job)


@dataclasses.dataclass(frozen=True, eq=False)
class Preview:
    """A big image's quick preview: its factors and the downsampled pixels they approximate."""

    factors: ImageFactors
    original: np.ndarray  # float32, the copy the metrics of the preview compare with
    # That copy as the error map compares with it (mode_reference, rounded to uint8), made
    # here: rounding it on the GUI thread was the longest pause of a mode change on a busy
    # machine (113 ms).  None: the error map makes its own.
    reference_u8: np.ndarray | None = None


def preview_job(
    pixels: np.ndarray, mode: str, factor: int, job: JobControl | None = None
) -> Preview:
    """The preview SVD of ``pixels`` block-averaged by ``factor`` (:func:`decompose_preview`:
    Gram matrix and symmetric eigensolver per channel, in calls that release the GIL), plus
    the downsampled copy itself: the session's metrics compare with it, and block-averaging
    12 MP again in the GUI thread when the preview arrived blocked the window for tens of
    milliseconds.
    """
    factors, small = decompose_preview(pixels, mode, factor, job=job)
    return Preview(factors, small, to_uint8(mode_reference(small, factors.mode)))


@dataclasses.dataclass(frozen=True)
class SvdProgress:
    """Where the full-resolution SVD is: a fraction, the step, seconds gone and left."""

    fraction: float
    step: str
    elapsed: float
    expected: float | None  # estimated seconds for the whole SVD (None: no estimate yet)

    @property
    def left(self) -> float | None:
        """Estimated seconds left (0 once the estimate is overrun), or None."""
        return None if self.expected is None else max(self.expected - self.elapsed, 0.0)

    def sentence(self) -> str:
        """ "Full-resolution SVD: decomposing channel G — 45 %, 12 s so far, about 15 s left"."""
        if self.left is None:
            left = "estimating the time left"
        elif self.left < 1:
            left = f"taking longer than the estimated {_duration(self.expected or 0.0)}"
        else:
            left = f"about {_duration(self.left)} left"
        step = f"{self.step} — " if self.step else ""
        return (
            f"Full-resolution SVD: {step}{self.fraction:.0%}, "
            f"{_duration(self.elapsed)} so far, {left}"
        )


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s} s" if s < 90 else f"{s // 60} min {s % 60:02d} s"


class ProgressTracker:
    """Turns a job's sparse progress reports into a fraction and a time left at any moment.

    Between reports the fraction advances with the elapsed time against the expected total
    (an estimate at first, then the rate measured from the reports), never past 99 %.
    """

    def __init__(self) -> None:
        self.start(0.0)

    def start(self, expected: float | None, step: str = "starting the worker") -> None:
        """A new job, expected to take ``expected`` seconds (None: no estimate)."""
        self._t0 = time.monotonic()
        self._fraction = 0.0
        self._step = step
        self._expected = expected or None

    def report(self, fraction: float, message: str = "") -> None:
        """What the job said: the measured rate replaces the estimate."""
        if fraction > self._fraction:
            self._expected = (time.monotonic() - self._t0) / fraction
            self._fraction = fraction
        if message:
            self._step = message

    def snapshot(self) -> SvdProgress:
        """Where the job is now."""
        elapsed = time.monotonic() - self._t0
        fraction = self._fraction
        if self._expected:
            fraction = max(fraction, min(0.99, elapsed / self._expected))
        return SvdProgress(fraction, self._step, elapsed, self._expected)
