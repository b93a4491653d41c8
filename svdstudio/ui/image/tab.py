"""The Image lab tab: low-rank image compression with honest byte counts and quality metrics.

Decompose once per image and colour mode (in a worker; big images get a quick downsampled
preview on a thread first and the full-resolution SVD in a worker process), then every rank
change only reuses the cached factors: dragging the cutoff redraws the on-screen pixels from
a :class:`DisplayReconstructor`; metrics are computed on release, in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from svdstudio.engine.image import (
    DEFAULT_CHROMA_RANK,
    PREVIEW_ABOVE_PIXELS,
    PREVIEW_SIDE,
    DisplayReconstructor,
    ImageFactors,
    ImageMetrics,
    decompose_image,
    display_grid,
    downsample,
    effective_mode,
    mode_reference,
    reconstruct_image,
)
from svdstudio.io.image_codecs import CodecReport, codec_report
from svdstudio.io.image_factors import load_factors
from svdstudio.io.images import (
    IMAGE_FILE_FILTER,
    ImageFileError,
    ImageTooLargeError,
    LoadedImage,
    load_image,
    to_uint8,
)
from svdstudio.resources import resource_path
from svdstudio.ui.image.export import ImageExporting
from svdstudio.ui.image.layout import GALLERY_RANKS, MODES, SAMPLES, ImageTabLayout
from svdstudio.ui.image.measure import THUMB_SIDE, ImageMeasuring
from svdstudio.ui.image.render import ERROR_LUT, MAX_DISPLAY_SIDE, ImageRendering
from svdstudio.ui.image.views import ErrorImage, to_qimage
from svdstudio.ui.image.zoom import ZoomDetail
from svdstudio.ui.widgets import file_dialogs

__all__ = ["GALLERY_RANKS", "MAX_DISPLAY_SIDE", "MODES", "SAMPLES", "THUMB_SIDE", "ImageTab"]

FACTOR_SUFFIXES = (".svdz", ".npz")
DOWNSCALE_TO = 16_000_000


class ImageTab(ImageTabLayout, ImageRendering, ImageMeasuring, ImageExporting, QtWidgets.QWidget):
    """Open an image, pick k, compare quality and bytes; export PNG, CSV and factor files."""

    status_message = Signal(str)
    file_opened = Signal(str)
    factors_ready = Signal()  # the best factors so far are in place (preview or full)
    metrics_ready = Signal()  # the metrics table shows the committed rank

    def __init__(self, runner: object, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageTab")
        self.setAccessibleName("Image lab")
        self.setAcceptDrops(True)
        self.runner = runner
        self._image: LoadedImage | None = None
        self._pixels: np.ndarray | None = None  # source pixels (read-only)
        self._name = ""
        self._factors: ImageFactors | None = None
        self._full = False
        self._display: DisplayReconstructor | None = None
        self._ref_display: np.ndarray | None = None
        self._k = 32
        self._chroma_k = DEFAULT_CHROMA_RANK  # the engine's default, as the CLI's
        self._metrics: ImageMetrics | None = None
        self._sweep: list[ImageMetrics] = []
        self._codecs: CodecReport | None = None
        self._generation = 0
        self._codecs_gen = -1
        self._color_mode = "rgb"  # the colour mode chosen for colour images
        self._from_factor_file = False
        self._metric_original: np.ndarray | None = None
        self._build()
        panes = (self.original_pane, self.recon_pane, self.error_pane)
        self.zoom_detail = ZoomDetail(self, panes, ERROR_LUT)
        self.view_tabs.currentChanged.connect(lambda _: self.zoom_detail.schedule())

    # ================================================================== Tab API
    def file_filter(self) -> str:
        return f"{IMAGE_FILE_FILTER};;SVD image factors (*.svdz *.npz)"

    def undo_stack(self) -> None:
        return None

    def copy(self) -> None:
        """Copy the rank-k image (full resolution) to the clipboard."""
        rec = self.reconstruction()
        if rec is not None:
            QtWidgets.QApplication.clipboard().setImage(to_qimage(to_uint8(rec)))
            self._status("Copied the rank-k image to the clipboard.")

    def paste(self) -> None:
        pass

    def select_all(self) -> None:
        pass

    def has_unsaved_changes(self) -> bool:
        return False

    def maybe_save(self) -> bool:
        return True

    def load_defaults(self) -> None:
        self._k = 32
        self.open_file(str(resource_path("images", "camera.png")))

    def save_state(self, settings: QtCore.QSettings) -> None:
        settings.setValue("image/splitter", self.splitter.saveState())
        settings.setValue("image/sideSplitter", self.side_splitter.saveState())
        settings.setValue("image/mode", self._color_mode)
        settings.setValue("image/rank", self._k)
        settings.setValue("image/chromaRank", self._chroma_k)
        settings.setValue("image/viewTab", self.view_tabs.currentIndex())
        settings.setValue("image/targetKind", self.target_kind.currentIndex())
        settings.setValue("image/targetValue", self.target_value.value())
        if self._image is not None:
            settings.setValue("image/lastFile", self._image.path)

    def restore_state(self, settings: QtCore.QSettings) -> None:
        for key, widget in (
            ("image/splitter", self.splitter),
            ("image/sideSplitter", self.side_splitter),
        ):
            state = settings.value(key)
            if isinstance(state, QtCore.QByteArray):
                widget.restoreState(state)
        mode = settings.value("image/mode", "rgb")
        self._color_mode = str(mode) if mode in ("gray", "rgb", "ycbcr") else "rgb"
        idx = self.mode_combo.findData(mode)
        if idx >= 0:
            self.mode_combo.blockSignals(True)
            self.mode_combo.setCurrentIndex(idx)
            self.mode_combo.blockSignals(False)
        self._k = max(1, int(settings.value("image/rank", self._k) or self._k))
        self._chroma_k = max(0, int(settings.value("image/chromaRank", self._chroma_k) or 0))
        self.view_tabs.setCurrentIndex(int(settings.value("image/viewTab", 0) or 0))
        self.target_kind.setCurrentIndex(int(settings.value("image/targetKind", 0) or 0))
        self.target_value.setValue(float(settings.value("image/targetValue", 99.0) or 99.0))
        self._update_chroma_enabled()
        last = settings.value("image/lastFile", "")
        if self._image is None and last and Path(str(last)).is_file():
            self.open_file(str(last))

    # ================================================================== opening
    def open_dialog(self) -> None:
        path = file_dialogs.ask_open_path(self, "Open image", self.file_filter())
        if path:
            self.open_file(path)

    def _on_sample(self, index: int) -> None:
        fname = self.sample_combo.itemData(index)
        self.sample_combo.setCurrentIndex(0)
        if fname:
            self.open_file(str(resource_path("images", fname)))

    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:
        for url in ev.mimeData().urls():
            if url.isLocalFile():
                ev.acceptProposedAction()
                self.open_file(url.toLocalFile())
                return

    def open_file(self, path: str) -> bool:
        """Open an image (or a factor file); on failure explain and keep the current image."""
        path = str(Path(path).expanduser())
        if Path(path).suffix.lower() in FACTOR_SUFFIXES:
            return self.open_factor_file(path)
        try:
            img = load_image(path)
        except ImageTooLargeError as exc:
            if not self._ask_downscale(exc):
                self._status(f"Did not open {Path(path).name}: too large.")
                return False
            try:
                img = load_image(path, max_pixels=exc.pixel_count, downscale_to=DOWNSCALE_TO)
            except (ImageFileError, MemoryError) as exc2:
                self._error(str(exc2))
                return False
        except ImageFileError as exc:
            self._error(str(exc))
            return False
        self._from_factor_file = False
        self._set_image(img)
        self.file_opened.emit(str(Path(path).resolve()))
        return True

    def open_factor_file(self, path: str) -> bool:
        """Open a saved factor file: its stored-rank image becomes the reference image."""
        try:
            factors, header = load_factors(path)
        except (ValueError, OSError) as exc:
            self._error(str(exc))
            return False
        ranks = [c.n_components for c in factors.channels]
        pixels = reconstruct_image(
            factors, ranks[0], ranks[1] if len(ranks) == 3 and factors.mode == "ycbcr" else None
        )
        pixels.setflags(write=False)
        note = (
            f"Factor file (stored ranks {', '.join(map(str, ranks))}, mode "
            f"{factors.mode}): the original is not stored, so metrics compare with the "
            "stored image."
        )
        img = LoadedImage(
            pixels=pixels,
            path=path,
            source_mode="factors",
            format="SVDZ",
            original_size=(factors.width, factors.height),
            notes=(note,),
        )
        self._from_factor_file = True
        idx = self.mode_combo.findData(factors.mode if factors.mode != "gray" else "gray")
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(max(idx, 0))
        self.mode_combo.blockSignals(False)
        self._k = ranks[0]
        if factors.mode == "ycbcr":
            self._chroma_k = ranks[1]
        self._set_image(
            img, header_name=str(header.get("source") or Path(path).name), factors=factors
        )
        self.file_opened.emit(str(Path(path).resolve()))
        return True

    def _ask_downscale(self, exc: ImageTooLargeError) -> bool:
        answer = QtWidgets.QMessageBox.question(
            self,
            "Very large image",
            f"{Path(exc.path).name} is {exc.size[0]:,}×{exc.size[1]:,} = {exc.pixel_count:,} "
            f"pixels, above the safety limit of {exc.limit:,} pixels (it could be a "
            "decompression bomb).\n\nOpen a downscaled copy (about "
            f"{DOWNSCALE_TO // 1_000_000} megapixels) instead?",
        )
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def _set_image(
        self, img: LoadedImage, header_name: str = "", factors: ImageFactors | None = None
    ) -> None:
        self._image = img
        self._pixels = img.pixels
        self._name = header_name or Path(img.path).name
        self.mode_combo.setEnabled(img.is_color)
        # A grayscale image shows "Grayscale"; a colour one gets the user's last colour choice.
        wanted = "gray" if not img.is_color else self._color_mode
        if self._from_factor_file:
            wanted = self._mode_key()
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(wanted)))
        self.mode_combo.blockSignals(False)
        self._update_chroma_enabled()
        h, w = img.pixels.shape[:2]
        kind = "colour" if img.is_color else "grayscale"
        self.info_label.setText(f"{self._name} — {w}×{h} {kind} ({img.source_mode})")
        self.info_label.setToolTip(img.path)
        self._codecs = None
        self._start_decomposition(factors)
        self._status(f"Opened {self._name} ({w}×{h}).")

    # ================================================================== decomposition
    def _mode_key(self) -> str:
        return str(self.mode_combo.currentData())

    def _start_decomposition(self, preset: ImageFactors | None = None) -> None:
        """Decompose the current image in the current mode (``preset``: factors already known)."""
        if self._pixels is None:
            return
        self._generation += 1
        gen = self._generation
        self._factors = None
        self._full = False
        self._display = None
        self._metrics = None
        self._sweep = []
        self.metrics_table.show_metrics(None)
        self.spectrum.clear()
        self.zoom_detail.clear()
        mode = self._mode_key()
        pixels = self._pixels
        self._show_original()
        self._update_notes()
        # A decomposition of the previous image or mode is of no use any more: stop it.
        self.runner.cancel("image.preview")
        self.runner.cancel("image.svd")
        if preset is not None and preset.mode == effective_mode(pixels, mode):
            self._on_factors(preset, gen, full=True)
            return
        big = pixels.shape[0] * pixels.shape[1] > PREVIEW_ABOVE_PIXELS
        if not big:
            self._submit_full_svd(gen, in_process=False)
            return

        def preview_ready(f: ImageFactors) -> None:
            self._on_factors(f, gen, full=False)
            self._submit_full_svd(gen, in_process=True)

        def preview_failed(message: str, details: str = "") -> None:
            self._submit_full_svd(gen, in_process=True)

        # The preview first, alone, so the first picture does not compete with the big SVD.
        self.runner.submit(
            "image.preview",
            decompose_image,
            pixels,
            mode,
            preview_side=PREVIEW_SIDE,
            release_gil=True,
            description="Image: quick preview SVD",
            in_process=False,
            on_result=preview_ready,
            on_error=preview_failed,
        )

    def _submit_full_svd(self, gen: int, *, in_process: bool) -> None:
        """The full-resolution SVD (a killable worker process for big images)."""
        if gen != self._generation or self._pixels is None:
            return
        self.runner.submit(
            "image.svd",
            decompose_image,
            self._pixels,
            self._mode_key(),
            description=f"Image: SVD of {self._name}",
            in_process=in_process,
            on_result=lambda f: self._on_factors(f, gen, full=True),
            on_error=self._on_job_error,
        )

    def _on_job_error(self, message: str, details: str = "") -> None:
        self._error(message)

    def _on_factors(self, factors: ImageFactors, gen: int, full: bool) -> None:
        if gen != self._generation or (self._full and not full):
            return
        self._factors = factors
        self._full = full
        rows, cols = display_grid(factors.height, factors.width, MAX_DISPLAY_SIDE)
        self._display = DisplayReconstructor(factors, rows, cols)
        self._metric_original = (
            self._pixels
            if factors.downsample_factor == 1
            else downsample(self._pixels, factors.downsample_factor)
        )
        ref = mode_reference(self._metric_original[rows, cols], factors.mode)
        self._ref_display = np.ascontiguousarray(ref, dtype=np.float32)
        self._error_image = ErrorImage(self._ref_display)
        self._k = min(max(self._k, 1), factors.max_rank)
        if factors.mode == "ycbcr":
            self._chroma_k = min(self._chroma_k, factors.max_chroma_rank)
        self.chroma_spin.blockSignals(True)
        self.chroma_spin.setRange(0, factors.max_chroma_rank)
        self.chroma_spin.setValue(self._chroma_k)
        self.chroma_spin.blockSignals(False)
        self.layer_spin.setRange(1, factors.max_rank)
        self.layer_slider.setRange(1, factors.max_rank)
        self.channel_combo.blockSignals(True)
        current = self.channel_combo.currentIndex()
        self.channel_combo.clear()
        self.channel_combo.addItems(list(factors.channel_names))
        self.channel_combo.setCurrentIndex(min(max(current, 0), len(factors.channel_names) - 1))
        self.channel_combo.blockSignals(False)
        self._show_spectrum()
        self._render()
        self._render_layers()
        self._update_notes()
        self._request_metrics()
        self._request_sweep()
        self._request_codecs(gen)
        self.factors_ready.emit()

    def _request_codecs(self, gen: int) -> None:
        """PNG/JPEG sizes of the image, once per image and mode (after the first picture)."""
        if self._codecs_gen == gen or self._pixels is None:
            return
        self._codecs_gen = gen
        ref = mode_reference(self._pixels, self._mode_key())
        self.runner.submit(
            "image.codecs",
            codec_report,
            ref,
            description="Image: PNG and JPEG sizes",
            in_process=False,
            on_result=lambda r: self._on_codecs(r, gen),
            on_error=self._on_job_error,
        )

    def _on_codecs(self, report: CodecReport, gen: int) -> None:
        if gen != self._generation:
            return
        self._codecs = report
        if self._metrics is not None:
            self._metrics = self._with_codecs(self._metrics)
            self._show_metrics()
        self._update_plot()

    # ================================================================== messages
    def _status(self, text: str) -> None:
        self.status_message.emit(text)

    def _error(self, text: str) -> None:
        self._status(text)
        QtWidgets.QMessageBox.warning(self, "Image", text)


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.image.tab [IMAGE]``."""
    import sys

    from svdstudio.workers import JobRunner

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    runner = JobRunner()
    tab = ImageTab(runner)
    tab.resize(1280, 800)
    tab.show()
    if len(sys.argv) > 1:
        tab.open_file(sys.argv[1])
    else:
        tab.load_defaults()
    code = app.exec()
    runner.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(_preview())
