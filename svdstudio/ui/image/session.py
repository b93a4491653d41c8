"""The Image lab's state and jobs: the image, colour mode, factors, k, metrics, sweep, codecs.

No widgets.  The tab's widgets write through this object's methods and redraw from its
signals; every ``runner.submit`` of the tab is made here.  Each image or colour mode gets a
new *generation*; a result of an older generation is dropped.  Big images get a quick
downsampled preview SVD on a thread first and the full-resolution SVD in a killable worker
process, whose progress is reported every second with an estimate of the time left.  Its
stages (the exact top triplets, then every rank with the tail marked approximate) are shown
as they arrive, but the costly measurements (full-resolution metrics, the quality sweep, the
PNG/JPEG sizes) wait for the final factors: run beside the SVD they took the cores it needs.
Final factors are kept per colour mode (:class:`FactorCache`, while memory allows), so
switching the mode back shows them again at once.  A job the user cancels is remembered so
that :meth:`resume` can compute the rest; a failed job is reported by the main window
(``runner.failed``), here it only changes the state.  The measurement scheduling lives in
:mod:`.session_measure` and the job bookkeeping in :mod:`.session_jobs` (mixins of this
class).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore
from PySide6.QtCore import Signal

from svdstudio.engine.image import (
    DEFAULT_CHROMA_RANK,
    PREVIEW_ABOVE_PIXELS,
    PREVIEW_MAX_SIDE,
    PREVIEW_SIDE,
    FactorCache,
    ImageFactors,
    ImageMetrics,
    decompose_image,
    downsample,
    effective_mode,
    preview_factor,
    rank_for_byte_budget,
    rank_for_energy_target,
    rank_for_psnr_target,
    reconstruct_image,
)
from svdstudio.engine.image.cache import full_factor_bytes
from svdstudio.engine.image.fast_svd import machine_busy
from svdstudio.io.image_codecs import CodecReport
from svdstudio.io.images import LoadedImage
from svdstudio.ui.image.jobs import (
    GALLERY_RANKS,
    Preview,
    ProgressTracker,
    SvdProgress,
    codec_job,
    estimate_svd_seconds,
    preview_job,
    sweep_ranks,
)
from svdstudio.ui.image.session_jobs import JobBookkeeping
from svdstudio.ui.image.session_measure import MeasurementScheduling
from svdstudio.workers import JobRunner

__all__ = [
    "CHANNELS",
    "GALLERY_RANKS",
    "ImageSession",
    "SvdProgress",
    "codec_job",
    "sweep_ranks",
]

CHANNELS = (
    "image.preview",
    "image.svd",
    "image.metrics",
    "image.sweep",
    "image.codecs",
    "image.target",
    "image.crop",
)
# A big image's full SVD runs in a killable worker process (tests may use a thread).
FULL_IN_PROCESS = True
# Factors of other colour modes are kept while they take at most this share of the machine's
# memory and half of what is still free (checked whenever factors are kept) ...
CACHE_SHARE_OF_MEMORY = 0.25
# ... and while they and the factors a running SVD will bring (its quick stage and its final
# factors, both held at the hand-over) take at most this many sets of the image's factors:
# with the image and the set on show, that is what issue 11's memory goal (peak ≤ 3 × (image
# + its factors)) leaves.  At 12 MP the RGB factors kept through a YCbCr SVD took the GUI
# past it.  Below CACHE_FLOOR bytes memory is no concern: small images keep every mode.
CACHE_SETS_OF_FACTORS = 2
CACHE_FLOOR = 256 << 20


def factor_cache_budget() -> int:
    """Bytes the factors kept per colour mode may take now ("while memory allows")."""
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        free = os.sysconf("SC_AVPHYS_PAGES") * page
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows): a modest fixed budget
        return 1 << 30
    return int(max(0, min(total * CACHE_SHARE_OF_MEMORY, free / 2)))


class ImageSession(QtCore.QObject, MeasurementScheduling, JobBookkeeping):
    """The Image lab's state (read its properties) and the only place that submits its jobs."""

    image_changed = Signal()  # a new image (or factor file) is on show; factors follow
    mode_changed = Signal(str)  # the colour mode of the image on show
    factors_changed = Signal()  # ``factors`` replaced (None, preview or full)
    rank_changed = Signal(bool)  # k or chroma k changed; True while dragging (preview)
    metrics_stale = Signal()  # ``metrics`` no longer match k: new ones are on their way
    metrics_ready = Signal()  # ``metrics`` hold the current k
    sweep_ready = Signal()  # ``sweep`` holds the gallery's and the plot's ranks
    codecs_ready = Signal()  # ``codecs`` holds the PNG/JPEG figures
    progress = Signal(object)  # SvdProgress of the full-resolution SVD, about every second
    jobs_changed = Signal()  # something started, finished, failed or was cancelled
    status = Signal(str)  # a sentence for the status bar

    def __init__(self, runner: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._image: LoadedImage | None = None
        self._name = ""
        self._color_mode = "rgb"  # the user's choice for colour images
        self._mode = "rgb"
        self._factors: ImageFactors | None = None
        self._full = False
        self._stage = False  # factors on show are a stage of the running full SVD
        self._codecs_wait = False  # the PNG/JPEG job waits for the metrics and the sweep
        self._cache = FactorCache(factor_cache_budget())  # final factors per colour mode
        self._codec_cache: dict[str, CodecReport] = {}  # PNG/JPEG figures per colour mode
        self._from_factor_file = False
        self._metric_original: np.ndarray | None = None
        self._k = 32
        self._chroma_k = DEFAULT_CHROMA_RANK  # the engine's default, as the CLI's
        self._generation = 0
        self._metrics: ImageMetrics | None = None
        self._sweep: list[ImageMetrics] = []
        self._gallery: dict[int, np.ndarray] = {}  # rank → the gallery's uint8 picture
        self._codecs: CodecReport | None = None
        self._jobs: dict[str, int] = {}  # channel -> id of the job this session waits for
        self._cancelled: set[str] = set()  # channels the user cancelled (see resume)
        self._failed: dict[str, str] = {}  # channel -> why it failed
        self._svd = ProgressTracker()
        self._preview_seconds: float | None = None
        self._view_px: tuple[tuple[float, float], ...] = ()  # the panes' device pixels
        self._ticker = QtCore.QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        runner.progress.connect(self._on_progress)
        runner.cancelled.connect(self._on_cancelled)

    # ================================================================== state
    @property
    def image(self) -> LoadedImage | None:
        """The image on show (a factor file's stored image counts as one)."""
        return self._image

    @property
    def pixels(self) -> np.ndarray | None:
        """Its source pixels (float32 [0, 255], read-only), or None."""
        return None if self._image is None else self._image.pixels

    @property
    def name(self) -> str:
        return self._name

    @property
    def mode(self) -> str:
        """The colour mode in use: "gray", "rgb" or "ycbcr"."""
        return self._mode

    @property
    def color_mode(self) -> str:
        """The colour mode chosen for colour images (a grayscale image keeps the choice)."""
        return self._color_mode

    @property
    def factors(self) -> ImageFactors | None:
        """The best factors so far (a preview while ``full`` is False), or None."""
        return self._factors

    @property
    def full(self) -> bool:
        """True when ``factors`` are of the full-resolution image."""
        return self._full

    @property
    def is_preview(self) -> bool:
        """True when the factors on show belong to a downsampled copy."""
        return self._factors is not None and self._factors.downsample_factor > 1

    @property
    def from_factor_file(self) -> bool:
        return self._from_factor_file

    @property
    def metric_original(self) -> np.ndarray | None:
        """The pixels the factors on show approximate (the preview copy for a preview)."""
        return self._metric_original

    @property
    def k(self) -> int:
        """The rank (the luma rank in YCbCr mode).  The one owner of k."""
        return self._k

    @property
    def chroma_k(self) -> int:
        """The chroma rank (used in YCbCr mode)."""
        return self._chroma_k

    @property
    def generation(self) -> int:
        """Increases with every new image or colour mode."""
        return self._generation

    @property
    def metrics(self) -> ImageMetrics | None:
        """The metrics of the current k (None until measured)."""
        return self._metrics

    @property
    def metrics_current(self) -> bool:
        """True when ``metrics`` are for the current k and chroma rank."""
        m = self._metrics
        return m is not None and m.rank == self._k and m.chroma_rank == self.chroma_arg()

    @property
    def sweep(self) -> list[ImageMetrics]:
        return list(self._sweep)

    def gallery_picture(self, k: int) -> np.ndarray | None:
        """The gallery's uint8 thumbnail of rank ``k`` (made with the sweep), or None."""
        return self._gallery.get(k)

    @property
    def codecs(self) -> CodecReport | None:
        return self._codecs

    def codec_notes(self) -> dict[str, str]:
        """Codec ("PNG", "JPEG") → why it cannot store this image."""
        return dict(self._codecs.cannot_store) if self._codecs is not None else {}

    def chroma_arg(self) -> int | None:
        """The chroma rank to pass to the engine (None outside YCbCr mode)."""
        f = self._factors
        return self._chroma_k if f is not None and f.mode == "ycbcr" else None

    def computing(self) -> list[str]:
        """Channels whose job this session is waiting for."""
        return sorted(self._jobs)

    def cancelled(self) -> list[str]:
        """Channels the user cancelled (what :meth:`resume` would compute)."""
        return sorted(self._cancelled)

    def failures(self) -> dict[str, str]:
        """Channel → the sentence of its failure (already reported by the main window)."""
        return dict(self._failed)

    def svd_progress(self) -> SvdProgress | None:
        """The full-resolution SVD's progress, or None when it is not running."""
        if "image.svd" not in self._jobs:
            return None
        return self._svd.snapshot()

    def set_view_pixels(self, panes_px: list[tuple[float, float]]) -> None:
        """The (width, height) in device pixels of each pane that shows the image (the view
        tells it as it is laid out): the next preview is made as fine as the finest of them.
        Nothing is recomputed now (a window resize does not restart a preview)."""
        self._view_px = tuple((float(w), float(h)) for w, h in panes_px)

    def preview_factor(self) -> int:
        """The block-averaging factor the image on show gets for its preview (1: none)."""
        pixels = self.pixels
        if pixels is None:
            return 1
        h, w = pixels.shape[:2]
        return preview_factor(h, w, self._view_px, min_side=PREVIEW_SIDE, max_side=PREVIEW_MAX_SIDE)

    def reconstruction(self) -> np.ndarray | None:
        """The full-resolution rank-k image (float32 [0, 255]) or None."""
        if self._factors is None:
            return None
        return reconstruct_image(self._factors, self._k, self.chroma_arg())

    # ================================================================== image and mode
    def set_image(
        self,
        img: LoadedImage,
        name: str = "",
        *,
        factors: ImageFactors | None = None,
    ) -> None:
        """Show ``img`` (with ``factors`` already known, e.g. from a factor file) and decompose."""
        self._image = img
        self._name = name or Path(img.path).name
        self._from_factor_file = factors is not None
        self._cache.drop()  # factors and codec figures of the previous image are of no use
        self._codec_cache.clear()
        if factors is not None:
            ranks = [c.n_components for c in factors.channels]
            self._mode = factors.mode
            self._k = ranks[0]
            if factors.mode == "ycbcr":
                self._chroma_k = ranks[1]
        else:
            self._mode = self._color_mode if img.is_color else "gray"
        self._codecs = None
        self.image_changed.emit()
        self.mode_changed.emit(self._mode)
        self._start(factors)

    def set_mode(self, mode: str) -> None:
        """Use colour ``mode`` ("gray", "rgb", "ycbcr") and decompose again if it changed."""
        if mode not in ("gray", "rgb", "ycbcr"):
            raise ValueError(f"unknown colour mode {mode!r}")
        img = self._image
        if img is None or img.is_color:
            self._color_mode = mode
        if img is None or (not img.is_color and mode != "gray") or mode == self._mode:
            return
        self._mode = mode
        self._from_factor_file = False
        self._codecs = self._codec_cache.get(mode)
        self.mode_changed.emit(mode)
        # Factors kept from an earlier visit to this mode are shown again without an SVD.
        self._start(self._cache.get("image", mode))

    def restore_options(self, mode: str, k: int, chroma_k: int) -> None:
        """Remembered options, before an image is opened."""
        if mode in ("gray", "rgb", "ycbcr"):
            self._color_mode = mode
            if self._image is None:
                self._mode = mode
        self._k = max(1, int(k))
        self._chroma_k = max(0, int(chroma_k))

    # ================================================================== rank
    def set_rank(self, k: int, *, preview: bool = False) -> None:
        """Set k (clamped to the factors); ``preview``: mid-drag, metrics wait for the release."""
        f = self._factors
        k = max(1, int(k))
        if f is not None:
            k = min(k, f.max_rank)
        self._k = k
        self._rank_moved(preview)

    def set_chroma_rank(self, kc: int, *, preview: bool = False) -> None:
        """Set the chroma rank (YCbCr mode), clamped to the factors."""
        f = self._factors
        kc = max(0, int(kc))
        if f is not None:
            kc = min(kc, f.max_chroma_rank)
        self._chroma_k = kc
        self._rank_moved(preview)

    def _rank_moved(self, preview: bool) -> None:
        if self._factors is None:
            return
        self.rank_changed.emit(preview)
        if not self.metrics_current:
            self.metrics_stale.emit()
        if not preview:
            self._request_metrics()

    def target_rank(self, kind: str, value: float, dtype: str = "float32") -> None:
        """Set k from a target: "energy" (%), "psnr" (dB, measured in a job) or "bytes" (KiB).

        Raises ValueError (with the reason) when the target cannot be met.
        """
        f = self._factors
        if f is None:
            return
        if kind == "energy":
            self.set_rank(rank_for_energy_target(f, min(value / 100.0, 1.0)))
        elif kind == "bytes":
            self.set_rank(rank_for_byte_budget(f, int(value * 1024), dtype, self.chroma_arg()))
        elif kind == "psnr":
            gen = self._generation
            step = max(1, int(np.ceil(max(f.height, f.width) / 1000)))
            self._submit(
                "image.target",
                rank_for_psnr_target,
                self._metric_original,
                f,
                value,
                self.chroma_arg(),
                step=step,
                description="Image: rank for a PSNR target",
                in_process=False,
                on_result=lambda k: gen == self._generation and self.set_rank(k),
            )
        else:
            raise ValueError(f"unknown target kind {kind!r}")

    # ================================================================== decomposition
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
        self._metric_original = None
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
            self._set_factors(p.factors, gen, full=False, original=p.original)
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
        # Its factors count against the cache's budget now: what they would push out goes
        # before they arrive (the GUI held both, and the RGB factors, through a YCbCr SVD).
        mode = effective_mode(pixels, self._mode)
        self._cache.max_bytes = self._cache_budget()
        self._cache.reserve("image", mode, CACHE_SETS_OF_FACTORS * self._set_bytes(mode))

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

    def _set_bytes(self, mode: str) -> int:
        """Bytes of one colour mode's full factors of the image on show."""
        pixels = self.pixels
        if pixels is None:
            return 0
        return full_factor_bytes(pixels.shape[0], pixels.shape[1], 1 if mode == "gray" else 3)

    def _cache_budget(self) -> int:
        """The cache's budget now: memory allows, and the memory goal (see CACHE_SETS_...)."""
        mode = "gray" if self.pixels is not None and self.pixels.ndim == 2 else "rgb"
        goal = max(CACHE_FLOOR, CACHE_SETS_OF_FACTORS * self._set_bytes(mode))
        return min(factor_cache_budget(), goal)

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
    ) -> None:
        """Show ``factors``; a ``stage`` of the running full SVD is not measured yet.

        ``original``: the downsampled pixels a preview's factors approximate (made by the
        preview job; made here only when missing).
        """
        if gen != self._generation or (self._full and not full):
            return
        pixels = self.pixels
        assert pixels is not None
        self._factors = factors
        self._full = full
        self._stage = stage
        if full and not self._from_factor_file:
            self._cache.max_bytes = self._cache_budget()
            self._cache.put("image", factors.mode, factors)
        if factors.downsample_factor == 1:
            self._metric_original = pixels
        elif original is not None and original.shape[:2] == (factors.height, factors.width):
            self._metric_original = original
        else:
            self._metric_original = downsample(pixels, factors.downsample_factor)
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
        if full:
            # The PNG/JPEG sizes are shown beside full-resolution figures only; encoding a
            # 12-MP photo at 7 qualities took as long as the SVD when run beside it.
            self._codecs_after_measurements(want=True)
        self.jobs_changed.emit()

    # ================================================================== resume
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
