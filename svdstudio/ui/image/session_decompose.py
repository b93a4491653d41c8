"""The Image session's decomposition: the preview SVD, the full-resolution SVD and its stages.

A mixin of :class:`~svdstudio.ui.image.session.ImageSession` (its state and signals are the
session's).  Each image or colour mode starts a new *generation* (a result of an older one is
dropped).  A big image gets a quick downsampled preview SVD on a thread first and the
full-resolution SVD in a killable worker process, whose progress is reported every second
with an estimate of the time left; its stages (the exact top triplets, then every rank with
the tail marked approximate) are shown as they arrive but measured only once the final
factors are in.  :meth:`Decomposition.resume` computes what a cancel or a failure left out.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from svdstudio.engine.image import (
    PREVIEW_ABOVE_PIXELS,
    ImageFactors,
    decompose_image,
    downsample,
    effective_mode,
)
from svdstudio.engine.image.busy_machine import machine_busy
from svdstudio.ui.image.jobs import Preview, estimate_svd_seconds, preview_job
from svdstudio.ui.image.session_jobs import CHANNELS

if TYPE_CHECKING:
    from svdstudio.ui.image.session import ImageSession

    _Base = ImageSession
else:
    _Base = object

__all__ = ["FULL_IN_PROCESS", "Decomposition"]

# A big image's full SVD runs in a killable worker process (tests may use a thread).
FULL_IN_PROCESS = True


class Decomposition(_Base):
    """The session's SVD jobs and the factors they bring (see the module docstring)."""

    def _start(self, preset: ImageFactors | None) -> None:
        pixels = self.pixels
        if pixels is None:
            return
        self._generation += 1
        gen = self._generation
        for channel in CHANNELS:  # work for the previous image or mode is of no use now
            self._cancel(channel)
        self._cache.release()  # ... nor are the factors it would have brought
        self._cancelled.clear()
        self._failed.clear()
        self._factors = None
        self._full = False
        self._stage = False
        self._codecs_wait = False
        self._metrics = None
        self._sweep = []
        self._gallery = {}
        self._metric_original = self._metric_reference_u8 = None
        self._preview_seconds = None
        self.factors_changed.emit()
        if preset is not None and preset.mode == effective_mode(pixels, self._mode):
            self._set_factors(preset, gen, full=True)
            return
        if pixels.shape[0] * pixels.shape[1] <= PREVIEW_ABOVE_PIXELS:
            self._submit_full(gen, in_process=False)
        else:
            self._submit_preview(gen)
        self.jobs_changed.emit()

    def _submit_preview(self, gen: int) -> None:
        t0 = time.monotonic()

        def ready(p: Preview) -> None:
            self._preview_seconds = time.monotonic() - t0
            self._set_factors(
                p.factors, gen, full=False, original=p.original, reference_u8=p.reference_u8
            )
            self._submit_full(gen, in_process=FULL_IN_PROCESS)

        if FULL_IN_PROCESS and not machine_busy():
            # The worker process for the full SVD imports numpy and scipy (about 0.8 s of one
            # core) on the other core while the preview runs, instead of after it (a no-op
            # when a spare is already waiting).  On a busy machine it took the preview's CPU
            # instead (12 MP, load 5-8, first frame at pane resolution: median 1.25 s with it,
            # 0.87 s without; top 64 no later): the full SVD's submission starts it then.
            self.runner.warm_up()
        # The preview first, alone, so the first picture does not compete with the big SVD;
        # as fine as the panes that show it (one sample per device pixel).
        self._submit(
            "image.preview",
            preview_job,
            self.pixels,
            self._mode,
            self.preview_factor(),
            description="Image: quick preview SVD",
            in_process=False,
            on_result=ready,
            on_error=lambda _m, _d: self._submit_full(gen, in_process=FULL_IN_PROCESS),
        )

    def _submit_full(self, gen: int, *, in_process: bool) -> None:
        """The full-resolution SVD (a killable worker process for big images)."""
        pixels = self.pixels
        if gen != self._generation or pixels is None:
            return
        self._svd.start(self._estimate_seconds(pixels.shape[0], pixels.shape[1]))
        # Its factors count against the cache's budget now, before they arrive.
        mode = effective_mode(pixels, self._mode)
        self._reserve_factor_room(mode)

        def stage(f: ImageFactors) -> None:
            # A progressive SVD's stages (the exact top triplets, then full factors with the
            # tail marked approximate) replace the preview as soon as they cover k.
            if f.max_rank >= min(self._k, f.full_rank):
                self._set_factors(f, gen, full=False, stage=True)

        def failed(_message: str, _details: str) -> None:
            # No final factors will come: measure the stage on show (nothing competes now).
            if gen == self._generation:
                self._cache.release("image", mode)
            if gen == self._generation and self._stage:
                self._stage = False
                self._request_metrics()
                self._request_sweep()

        self._submit(
            "image.svd",
            decompose_image,
            pixels,
            self._mode,
            description=f"Image: SVD of {self._name}",
            in_process=in_process,
            on_result=lambda f: self._set_factors(f, gen, full=True),
            on_partial=stage,
            on_error=failed,
        )
        self._ticker.start()
        self.jobs_changed.emit()

    def _estimate_seconds(self, h: int, w: int) -> float:
        """Expected seconds of the full SVD, scaled from the preview's time when there is one."""
        f = self._factors
        shape = (f.height, f.width) if f is not None and f.downsample_factor > 1 else None
        n = 1 if self._mode == "gray" else 3
        return estimate_svd_seconds(h, w, n, self._preview_seconds, shape)

    def _on_progress(self, channel: str, job_id: int, fraction: float, message: str) -> None:
        if channel != "image.svd" or self._jobs.get(channel) != job_id:
            return
        self._svd.report(fraction, message)
        self._tick()

    def _tick(self) -> None:
        p = self.svd_progress()
        if p is None:
            self._ticker.stop()
            return
        self.progress.emit(p)

    def _set_factors(
        self,
        factors: ImageFactors,
        gen: int,
        *,
        full: bool,
        stage: bool = False,
        original: np.ndarray | None = None,
        reference_u8: np.ndarray | None = None,
    ) -> None:
        """Show ``factors``; a ``stage`` of the running full SVD is not measured yet.

        ``original``: the downsampled pixels a preview's factors approximate (made by the
        preview job; made here only when missing); ``reference_u8``: the same rounded for the
        error map (:attr:`metric_reference_u8`).
        """
        if gen != self._generation or (self._full and not full):
            return
        pixels = self.pixels
        assert pixels is not None
        self._factors = factors
        self._full = full
        self._stage = stage
        if full and not self._from_factor_file:
            self._keep_factors(factors)
        if factors.downsample_factor == 1:
            self._metric_original = pixels
        elif original is not None and original.shape[:2] == (factors.height, factors.width):
            self._metric_original = original
        else:
            self._metric_original = downsample(pixels, factors.downsample_factor)
        # Only the preview job's copy has one (in these factors' mode).
        self._metric_reference_u8 = reference_u8 if self._metric_original is original else None
        self._k = min(max(self._k, 1), factors.max_rank)
        if factors.mode == "ycbcr":
            self._chroma_k = min(self._chroma_k, factors.max_chroma_rank)
        self._metrics = None
        self._sweep = []
        self._gallery = {}
        self.factors_changed.emit()
        self.metrics_stale.emit()
        if not stage:
            # A stage is replaced within seconds: its full-resolution metrics (2-5.5 s of one
            # core at 12 MP, busy machine) and sweep would only slow the SVD down.  The
            # preview's are cheap.
            self._request_metrics()
            self._request_sweep()
        else:
            # The preview's metrics and sweep, if still running, measure factors that this
            # stage has replaced: their results would be thrown away on arrival.  Stopped, they
            # leave the cores to the SVD (a cancel of our own, not the user's: nothing to
            # resume).
            for channel in ("image.metrics", "image.sweep"):
                if channel in self._jobs:
                    self._cancel(channel)
        if full:
            # The PNG/JPEG sizes are shown beside full-resolution figures only; encoding a
            # 12-MP photo at 7 qualities took as long as the SVD when run beside it.
            self._codecs_after_measurements(want=True)
        self.jobs_changed.emit()

    def resume(self) -> None:
        """Compute what a cancel (or a failure) left out, keeping what is there."""
        if self.pixels is None:
            return
        gen = self._generation
        wanted = self._cancelled | set(self._failed)
        self._cancelled.clear()
        self._failed.clear()
        if not self._full and not {"image.svd", "image.preview"} & set(self._jobs):
            big = self.pixels.shape[0] * self.pixels.shape[1] > PREVIEW_ABOVE_PIXELS
            if self._factors is None and big:
                self._submit_preview(gen)
            else:
                self._submit_full(gen, in_process=big and FULL_IN_PROCESS)
        if self._factors is not None:
            if self._metrics is None or not self.metrics_current or "image.metrics" in wanted:
                self._request_metrics()
            if not self._sweep:
                self._request_sweep()
            self._codecs_after_measurements(want=True)
        self.jobs_changed.emit()
