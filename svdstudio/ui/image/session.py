"""The Image lab's state and jobs: the image, colour mode, factors, k, metrics, sweep, codecs.

No widgets.  The tab's widgets write through this object's methods and redraw from its
signals; every ``runner.submit`` of the tab is made here.  This module holds the state (read
its properties) and what the widgets set: the image, the colour mode, k and the chroma rank,
a rank from a target.  The rest are mixins of :class:`ImageSession`, one job each:
:mod:`.session_decompose` (the preview and full-resolution SVDs, a generation per image or
colour mode, resume), :mod:`.session_cache` (final factors kept per colour mode while memory
allows, so switching the mode back shows them again at once), :mod:`.session_measure` (when
the metrics, the sweep, the PNG/JPEG sizes and zoom detail are measured) and
:mod:`.session_jobs` (submitting and cancelling; a job the user cancels is remembered so
that :meth:`resume` can compute the rest; a failed job is reported by the main window,
``runner.failed``, here it only changes the state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore
from PySide6.QtCore import Signal

from svdstudio.engine.image import (
    DEFAULT_CHROMA_RANK,
    PREVIEW_MAX_SIDE,
    PREVIEW_SIDE,
    FactorCache,
    ImageFactors,
    ImageMetrics,
    preview_factor,
    rank_for_byte_budget,
    rank_for_energy_target,
    rank_for_psnr_target,
    reconstruct_image,
)
from svdstudio.io.image_codecs import CodecReport
from svdstudio.io.images import LoadedImage
from svdstudio.ui.image.jobs import (
    GALLERY_RANKS,
    ProgressTracker,
    SvdProgress,
)
from svdstudio.ui.image.session_cache import FactorCaching, factor_cache_budget
from svdstudio.ui.image.session_decompose import Decomposition
from svdstudio.ui.image.session_jobs import CHANNELS, JobBookkeeping
from svdstudio.ui.image.session_measure import MeasurementScheduling
from svdstudio.workers import JobRunner

__all__ = [
    "CHANNELS",
    "GALLERY_RANKS",
    "ImageSession",
    "SvdProgress",
]


class ImageSession(
    QtCore.QObject, Decomposition, FactorCaching, MeasurementScheduling, JobBookkeeping
):
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
        self._metric_reference_u8: np.ndarray | None = None
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
    def metric_reference_u8(self) -> np.ndarray | None:
        """:attr:`metric_original` in the factors' mode, rounded to uint8 (the error map's
        reference), where the job that made the original made it too; else None."""
        return self._metric_reference_u8

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
