"""When the Image session measures: metrics, the sweep, the PNG/JPEG figures, zoom detail.

A mixin of :class:`~svdstudio.ui.image.session.ImageSession` (its state and signals are
the session's): the rules for which measurement runs when, kept apart from the image, mode
and decomposition logic.  A stage of the running full SVD is not measured (the final factors
follow within seconds, and the measurements would take the cores the SVD needs); the codec
job waits for the metrics and the sweep (all three at once took the GUI past its memory
goal); a factor file's relative error comes from its stored energy (Eckart–Young).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from svdstudio.engine.image import PREVIEW_ABOVE_PIXELS, ImageFactors, ImageMetrics, image_metrics
from svdstudio.engine.image.crop import crop_pixels
from svdstudio.io.image_codecs import CodecReport
from svdstudio.ui.image.jobs import Sweep, codec_job, sweep_job, sweep_ranks

if TYPE_CHECKING:
    from svdstudio.ui.image.session import ImageSession

    _Base = ImageSession
else:
    _Base = object

__all__ = ["CODECS_IN_PROCESS", "THUMB_SIDE", "MeasurementScheduling"]

# Longer side of the gallery's thumbnails (made by the sweep job).
THUMB_SIDE = 320
# The PNG/JPEG job of a big image (as big as the ones whose full SVD runs in a worker) runs
# in a worker process: the pixels reach it without a copy (io/shared_arrays), and its
# encoders' copies (+500 MiB at 12 MP: the GUI process's peak, 1075 MiB sampled, while its
# factors were on show) and CPU stay out of the GUI process.
CODECS_IN_PROCESS = True


class MeasurementScheduling(_Base):
    """The session's measurement jobs and their results (see the module docstring)."""

    # ================================================================== measurements
    def _measuring_waits(self) -> bool:
        """True while a stage of the running full SVD is on show (measured when it ends)."""
        return self._stage and "image.svd" in self._jobs

    def _request_metrics(self) -> None:
        f = self._factors
        if f is None or self._measuring_waits():
            return
        gen, k, chroma = self._generation, self._k, self.chroma_arg()
        self._submit(
            "image.metrics",
            image_metrics,
            self._metric_original,
            f,
            k,
            chroma,
            description=f"Image: metrics for k = {k}",
            in_process=False,
            on_result=lambda m, f=f: self._on_metrics(m, gen, f),
            on_error=lambda _m, _d: self._codecs_after_measurements(),
        )

    def _on_metrics(self, m: ImageMetrics, gen: int, factors: ImageFactors) -> None:
        if gen != self._generation or factors is not self._factors:
            self._codecs_after_measurements()
            return
        self._metrics = self._honest(m)
        self.metrics_ready.emit()
        self._codecs_after_measurements()
        self.jobs_changed.emit()

    def _codecs_after_measurements(self, *, want: bool = False) -> None:
        """Start the PNG/JPEG job once the metrics and the sweep are done (not beside them).

        Each holds copies of the image while it runs (at 12 MP: metrics +412 MiB, codecs
        +503 MiB, sweep +137 MiB): all three at once took the GUI process past its memory goal.
        """
        if want:
            self._codecs_wait = True
        busy = {"image.metrics", "image.sweep"} & set(self._jobs)
        if self._codecs_wait and self._full and not busy:
            self._codecs_wait = False
            self._request_codecs(self._generation)

    def _honest(self, m: ImageMetrics) -> ImageMetrics:
        """Add the codec sizes (full image only) and, for a factor file, the true error."""
        if self._from_factor_file:
            # The original is not stored: measured against the stored image the error would
            # be 0 at the stored rank.  Eckart–Young gives it from the stored energy instead.
            m = dataclasses.replace(m, relative_error=math.sqrt(max(0.0, 1.0 - m.energy_retained)))
        codecs = self._codecs
        if codecs is None or self.is_preview:
            return m
        ref = codecs.jpeg_reference
        return dataclasses.replace(
            m,
            png_bytes=codecs.png_bytes,
            jpeg_bytes=ref.nbytes if ref else None,
            jpeg_quality=ref.quality if ref else None,
        )

    def _request_sweep(self) -> None:
        f = self._factors
        if f is None or self._measuring_waits():
            return
        gen = self._generation
        step = max(1, int(np.ceil(max(f.height, f.width) / 800)))
        self._submit(
            "image.sweep",
            sweep_job,
            self._metric_original,
            f,
            sweep_ranks(f.max_rank, f.full_rank),
            self.chroma_arg(),
            step=step,
            thumb_side=THUMB_SIDE,
            description="Image: quality at several ranks",
            in_process=False,
            on_result=lambda s, f=f: self._on_sweep(s, gen, f),
            on_error=lambda _m, _d: self._codecs_after_measurements(),
        )

    def _on_sweep(self, sweep: Sweep, gen: int, factors: ImageFactors) -> None:
        # Measured on other factors (a preview's, replaced by a stage meanwhile): not these.
        if gen != self._generation or factors is not self._factors:
            self._codecs_after_measurements()
            return
        self._sweep = [self._honest(m) for m in sweep.metrics]
        self._gallery = sweep.pictures
        self.sweep_ready.emit()
        self._codecs_after_measurements()
        self.jobs_changed.emit()

    def _request_codecs(self, gen: int) -> None:
        """PNG/JPEG sizes of the image, once per image and mode (after the first picture)."""
        pixels = self.pixels
        if self._codecs is not None or "image.codecs" in self._jobs or pixels is None:
            return
        big = pixels.shape[0] * pixels.shape[1] > PREVIEW_ABOVE_PIXELS
        self._submit(
            "image.codecs",
            codec_job,
            pixels,
            self._mode,
            description="Image: PNG and JPEG sizes",
            in_process=CODECS_IN_PROCESS and big,
            on_result=lambda r: self._on_codecs(r, gen),
        )

    def _on_codecs(self, report: CodecReport, gen: int) -> None:
        if gen != self._generation:
            return
        self._codecs = report
        self._codec_cache[self._mode] = report
        if self._metrics is not None:
            self._metrics = self._honest(self._metrics)
        self.codecs_ready.emit()
        if self._metrics is not None and self.metrics_current:
            self.metrics_ready.emit()  # the same k, now with the PNG/JPEG figures
        self.jobs_changed.emit()

    # ================================================================== zoom detail
    def request_crop(
        self, rows: slice, cols: slice, on_result: Callable[[object], None]
    ) -> tuple | None:
        """Rebuild ``rows`` × ``cols`` at full resolution for the current k (latest wins).

        Returns the request's key (generation, rows, cols, k, chroma k), or None without full
        factors.  ``on_result(CropPixels)`` is called unless a newer request replaced it.
        """
        f, pixels = self._factors, self.pixels
        if f is None or not self._full or f.downsample_factor != 1 or pixels is None:
            return None
        k, chroma = self._k, self.chroma_arg()
        self._submit(
            "image.crop",
            crop_pixels,
            f,
            pixels,
            k,
            chroma,
            rows,
            cols,
            description="Image: full-resolution detail",
            in_process=False,
            on_result=on_result,
        )
        return (self._generation, rows, cols, k, chroma)

    def crop_key(self, rows: slice, cols: slice) -> tuple:
        """The key :meth:`request_crop` would give now."""
        return (self._generation, rows, cols, self._k, self.chroma_arg())

    def cancel_crop(self) -> None:
        """Stop a crop rebuild that is no longer wanted."""
        self._cancel("image.crop")
