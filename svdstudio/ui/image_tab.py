"""The Image lab tab: low-rank image compression with honest byte counts and quality metrics.

Decompose once per image and colour mode (in a worker; big images get a quick downsampled
preview on a thread first and the full-resolution SVD in a worker process), then every rank
change only reuses the cached factors: dragging the cutoff redraws the on-screen pixels from
a :class:`DisplayReconstructor`; metrics are computed on release, in a worker thread.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from ..engine.imaging import (
    PREVIEW_ABOVE_PIXELS,
    PREVIEW_SIDE,
    DisplayReconstructor,
    ImageFactors,
    ImageMetrics,
    decompose_image,
    display_grid,
    downsample,
    effective_mode,
    from_channels,
    image_metrics,
    mode_reference,
    rank_for_byte_budget,
    rank_for_energy_target,
    rank_for_psnr_target,
    rank_one_layer,
    rank_sweep,
    reconstruct_image,
)
from ..io.image_codecs import CodecReport, codec_report
from ..io.image_factors import FACTOR_FILE_FILTER, load_factors, save_factors
from ..io.images import (
    IMAGE_FILE_FILTER,
    ImageFileError,
    ImageTooLargeError,
    LoadedImage,
    atomic_write,
    load_image,
    save_png,
    to_uint8,
)
from ..resources import resource_path
from .image_views import (
    ErrorImage,
    ImagePane,
    MetricsTable,
    QualityPlot,
    ThumbnailCard,
    link_panes,
    signed_to_uint8,
    to_qimage,
)
from .spectrum_plot import SpectrumPlot

__all__ = ["ImageTab"]

SAMPLES = (
    ("camera.png", "Camera (grayscale, 512×512)"),
    ("astronaut.png", "Astronaut (colour, 512×512)"),
    ("coffee.png", "Coffee (colour, 600×400)"),
)
MODES = (("gray", "Grayscale"), ("rgb", "RGB, per channel"), ("ycbcr", "YCbCr, luma + chroma"))
GALLERY_RANKS = (8, 16, 32)  # plus "full"
MAX_DISPLAY_SIDE = 1600
THUMB_SIDE = 320
FACTOR_SUFFIXES = (".svdz", ".npz")
DOWNSCALE_TO = 16_000_000
_ERROR_LUT = pg.colormap.get("inferno").getLookupTable(nPts=256)


def _sweep_ranks(max_rank: int, full_rank: int) -> list[int]:
    ranks = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}
    ranks = {r for r in ranks if r <= max_rank} | {max_rank}
    if max_rank == full_rank:
        ranks.add(full_rank)
    return sorted(ranks | {r for r in GALLERY_RANKS if r <= max_rank})


class ImageTab(QtWidgets.QWidget):
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
        self._chroma_k = 8
        self._metrics: ImageMetrics | None = None
        self._sweep: list[ImageMetrics] = []
        self._codecs: CodecReport | None = None
        self._generation = 0
        self._codecs_gen = -1
        self._color_mode = "rgb"  # the colour mode chosen for colour images
        self._from_factor_file = False
        self._metric_original: np.ndarray | None = None
        self._build()

    # ================================================================== layout
    def _build(self) -> None:
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)
        outer.addLayout(self._build_toolbar())
        self.splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("imageSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._build_views())
        self.splitter.addWidget(self._build_side())
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([760, 480])
        outer.addWidget(self.splitter, 1)

    def _control(self, w: QtWidgets.QWidget, name: str, tip: str, access: str) -> None:
        w.setObjectName(name)
        w.setToolTip(tip)
        w.setAccessibleName(access)

    def _build_toolbar(self) -> QtWidgets.QHBoxLayout:
        bar = QtWidgets.QHBoxLayout()
        bar.setSpacing(8)
        self.open_button = QtWidgets.QPushButton("Open…")
        self._control(
            self.open_button,
            "imageOpenButton",
            "Open an image or a saved factor file (or drop a file here)",
            "Open image",
        )
        self.open_button.clicked.connect(self.open_dialog)
        self.sample_combo = QtWidgets.QComboBox()
        self._control(
            self.sample_combo,
            "imageSampleCombo",
            "Open one of the bundled sample images",
            "Sample images",
        )
        self.sample_combo.addItem("Samples…", "")
        for fname, label in SAMPLES:
            self.sample_combo.addItem(label, fname)
        self.sample_combo.activated.connect(self._on_sample)
        self.sample_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.sample_combo.setMinimumContentsLength(12)
        self.mode_combo = QtWidgets.QComboBox()
        self._control(
            self.mode_combo,
            "imageModeCombo",
            "Colour handling: grayscale (luma), RGB with one rank for all channels, "
            "or YCbCr with a separate, usually lower, chroma rank as codecs do",
            "Colour mode",
        )
        for key, label in MODES:
            self.mode_combo.addItem(label, key)
        self.mode_combo.setCurrentIndex(1)
        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.chroma_spin = QtWidgets.QSpinBox()
        self._control(
            self.chroma_spin,
            "imageChromaSpin",
            "Rank of the two chroma channels (Cb, Cr) in YCbCr mode",
            "Chroma rank",
        )
        self.chroma_spin.setRange(0, 1)
        self.chroma_spin.setKeyboardTracking(False)
        self.chroma_spin.valueChanged.connect(self._on_chroma)
        self.chroma_label = QtWidgets.QLabel("Chroma &rank:")
        self.chroma_label.setBuddy(self.chroma_spin)
        self.export_button = QtWidgets.QToolButton()
        self.export_button.setText("Export")
        self._control(
            self.export_button,
            "imageExportButton",
            "Save the full-resolution reconstruction (PNG), the metrics (CSV) or the "
            "quantized factors (a file SVD Studio reopens)",
            "Export",
        )
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.export_button)
        menu.addAction("Reconstruction as PNG…", lambda: self.export("png"))
        menu.addAction("Metrics as CSV…", lambda: self.export("csv"))
        menu.addAction("Factors (quantized)…", lambda: self.export("factors"))
        self.export_button.setMenu(menu)
        self.info_label = QtWidgets.QLabel("No image")
        self._control(
            self.info_label,
            "imageInfoLabel",
            "The image shown and how it was read",
            "Image information",
        )
        self.info_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        mode_label = QtWidgets.QLabel("&Colour:")
        mode_label.setBuddy(self.mode_combo)
        for w in (
            self.open_button,
            self.sample_combo,
            mode_label,
            self.mode_combo,
            self.chroma_label,
            self.chroma_spin,
            self.export_button,
        ):
            bar.addWidget(w)
        bar.addSpacing(8)
        bar.addWidget(self.info_label, 1)
        self._update_chroma_enabled()
        return bar

    def _build_views(self) -> QtWidgets.QWidget:
        self.view_tabs = QtWidgets.QTabWidget()
        self._control(
            self.view_tabs, "imageViewTabs", "Different views of the rank-k image", "Image views"
        )
        # Compare: original | reconstruction | error, zoom and pan locked together.
        compare = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(compare)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setSpacing(6)
        self.original_pane = ImagePane(
            "Original",
            "imageOriginalView",
            "The original image (scroll to zoom, drag to pan; all views follow)",
        )
        self.recon_pane = ImagePane(
            "Rank k",
            "imageReconstructionView",
            "The rank-k reconstruction, rebuilt from cached factors as you move k",
        )
        self.error_pane = ImagePane(
            "Error |A − A_k|  (black 0 → yellow ≥ 64 levels)",
            "imageErrorView",
            "Absolute error per pixel (largest over channels), 0 (black) to 64 or more "
            "(yellow) grey levels",
        )
        self.compare_group = link_panes(self.original_pane, self.recon_pane, self.error_pane)
        grid.addWidget(self.original_pane, 0, 0)
        grid.addWidget(self.recon_pane, 0, 1)
        grid.addWidget(self.error_pane, 1, 0)
        self.notes_label = QtWidgets.QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._control(self.notes_label, "imageNotes", "Notes about the image and the view", "Notes")
        self.notes_label.setStyleSheet("color: #444; padding: 6px;")
        grid.addWidget(self.notes_label, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        self.view_tabs.addTab(compare, "Compare")

        # Gallery of ranks 8, 16, 32, full.
        gallery = QtWidgets.QWidget()
        gallery.setObjectName("imageGallery")
        gallery.setAccessibleName("Gallery of ranks")
        gallery.setToolTip("The image at several ranks, each with its quality and size")
        g = QtWidgets.QGridLayout(gallery)
        g.setContentsMargins(4, 4, 4, 4)
        self.cards = [ThumbnailCard() for _ in range(len(GALLERY_RANKS) + 1)]
        for i, card in enumerate(self.cards):
            card.clicked.connect(self.set_rank)
            g.addWidget(card, i // 2, i % 2)
        self.gallery = gallery
        self.view_tabs.addTab(gallery, "Gallery")

        # Rank-1 layers and the cumulative build-up.
        layers = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(layers)
        lv.setContentsMargins(4, 4, 4, 4)
        row = QtWidgets.QHBoxLayout()
        lab = QtWidgets.QLabel("&Layer i:")
        self.layer_spin = QtWidgets.QSpinBox()
        self._control(
            self.layer_spin, "imageLayerSpin", "Which rank-1 layer σᵢ uᵢ vᵢᵀ to show", "Layer index"
        )
        self.layer_spin.setRange(1, 1)
        lab.setBuddy(self.layer_spin)
        self.layer_slider = QtWidgets.QSlider(Qt.Orientation.Horizontal)
        self._control(
            self.layer_slider, "imageLayerSlider", "Drag to step through the layers", "Layer slider"
        )
        self.layer_slider.setRange(1, 1)
        self.layer_spin.valueChanged.connect(self.layer_slider.setValue)
        self.layer_slider.valueChanged.connect(self.layer_spin.setValue)
        self.layer_spin.valueChanged.connect(self._render_layers)
        row.addWidget(lab)
        row.addWidget(self.layer_spin)
        row.addWidget(self.layer_slider, 1)
        lv.addLayout(row)
        panes = QtWidgets.QHBoxLayout()
        self.layer_pane = ImagePane(
            "Layer σᵢ uᵢ vᵢᵀ",
            "imageLayerView",
            "One rank-1 layer; mid-grey is 0, brighter/darker are positive/negative",
        )
        self.cumulative_pane = ImagePane(
            "Sum of layers 1…i", "imageCumulativeView", "The image built from the first i layers"
        )
        self.layer_group = link_panes(self.layer_pane, self.cumulative_pane)
        panes.addWidget(self.layer_pane)
        panes.addWidget(self.cumulative_pane)
        lv.addLayout(panes, 1)
        self.view_tabs.addTab(layers, "Layers")

        self.quality_plot = QualityPlot()
        self.view_tabs.addTab(self.quality_plot, "Quality vs size")
        self.view_tabs.currentChanged.connect(lambda _: self._render_layers())
        self.fit_button = QtWidgets.QToolButton()
        self.fit_button.setText("Fit")
        self._control(
            self.fit_button,
            "imageFitButton",
            "Fit the whole image in every view again after zooming or panning "
            "(or double-click a view)",
            "Fit image",
        )
        self.fit_button.clicked.connect(self.fit_views)
        self.view_tabs.setCornerWidget(self.fit_button, Qt.Corner.TopRightCorner)
        return self.view_tabs

    def fit_views(self) -> None:
        """Show the whole image in every pane again (undo zoom and pan)."""
        self.compare_group.fit()
        self.layer_group.fit()

    def _build_side(self) -> QtWidgets.QWidget:
        side = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(side)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(6)
        row = QtWidgets.QHBoxLayout()
        lab = QtWidgets.QLabel("&Spectrum of channel:")
        self.channel_combo = QtWidgets.QComboBox()
        self._control(
            self.channel_combo,
            "imageChannelCombo",
            "Whose singular values the plot shows; in YCbCr mode a chroma channel's "
            "cutoff sets the chroma rank",
            "Spectrum channel",
        )
        lab.setBuddy(self.channel_combo)
        self.channel_combo.currentIndexChanged.connect(self._show_spectrum)
        row.addWidget(lab)
        row.addWidget(self.channel_combo, 1)
        v.addLayout(row)
        self.spectrum = SpectrumPlot()
        self.spectrum.setObjectName("imageSpectrum")
        self.spectrum.setMinimumHeight(190)
        self.spectrum.set_log_scale(True)  # image spectra span several decades
        self.spectrum.rank_spin.setObjectName("imageRankSpin")
        self.spectrum.rank_changed.connect(self._on_rank_committed)
        self.spectrum.rank_previewed.connect(self._on_rank_preview)
        self.spectrum.component_selected.connect(self._on_component)
        inner = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        inner.setObjectName("imageSideSplitter")
        inner.setChildrenCollapsible(False)
        inner.addWidget(self.spectrum)
        self.metrics_table = MetricsTable()
        inner.addWidget(self.metrics_table)
        inner.setSizes([230, 360])
        self.side_splitter = inner
        v.addWidget(inner, 1)
        v.addWidget(self._build_target())
        return side

    def _build_target(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Pick k by target")
        box.setObjectName("imageTargetBox")
        h = QtWidgets.QHBoxLayout(box)
        h.setContentsMargins(6, 4, 6, 6)
        self.target_kind = QtWidgets.QComboBox()
        self._control(self.target_kind, "imageTargetKind", "What the target is", "Target kind")
        self.target_kind.addItem("Energy retained (%)", "energy")
        self.target_kind.addItem("PSNR (dB)", "psnr")
        self.target_kind.addItem("Size budget (KiB)", "bytes")
        self.target_value = QtWidgets.QDoubleSpinBox()
        self._control(self.target_value, "imageTargetValue", "The target value", "Target value")
        self.target_value.setDecimals(1)
        self.target_value.setRange(0.1, 1e7)
        self.target_value.setValue(99.0)
        self.target_dtype = QtWidgets.QComboBox()
        self._control(
            self.target_dtype,
            "imageTargetDtype",
            "Storage type the size budget counts",
            "Storage type",
        )
        self.target_dtype.addItem("float32", "float32")
        self.target_dtype.addItem("float16", "float16")
        self.target_dtype.addItem("8-bit", "uint8")
        self.target_button = QtWidgets.QPushButton("Find k")
        self._control(
            self.target_button,
            "imageTargetButton",
            "Set k to the smallest rank meeting the target (largest within a budget)",
            "Find k",
        )
        self.target_button.clicked.connect(self.apply_target)
        self.target_kind.currentIndexChanged.connect(self._on_target_kind)
        for w in (self.target_kind, self.target_value, self.target_dtype, self.target_button):
            h.addWidget(w)
        self._on_target_kind()
        return box

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
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open image", "", self.file_filter())
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

    # ================================================================== rank handling
    def _chroma_driven(self) -> bool:
        return (
            self._factors is not None
            and self._factors.mode == "ycbcr"
            and self.channel_combo.currentIndex() > 0
        )

    def _show_spectrum(self) -> None:
        f = self._factors
        if f is None:
            return
        c = max(0, self.channel_combo.currentIndex())
        ch = f.channels[c]
        self.spectrum.set_values(ch.s, total_energy=ch.total_energy)
        name = f.channel_names[c]
        s2 = np.cumsum(ch.s.astype(np.float64) ** 2)
        total = ch.total_energy or 1.0

        def label(k: int, s2=s2, total=total, name=name) -> str:
            kept = s2[min(k, len(s2)) - 1] / total if k >= 1 else 0.0
            what = "chroma rank" if self._chroma_driven() else "k"
            return (
                f"{what} = {k} · channel {name} keeps {kept:.2%} of its energy "
                f"· error² {max(total - s2[min(k, len(s2)) - 1], 0.0):.3g}"
            )

        self.spectrum.set_label_formatter(label)
        self.spectrum.set_rank(max(self._chroma_k, 1) if self._chroma_driven() else self._k)

    def rank(self) -> int:
        """The current rank k (luma rank in YCbCr mode)."""
        return self._k

    def set_rank(self, k: int) -> None:
        """Set k (e.g. from the gallery or a target) as if the user had chosen it."""
        if self._factors is None:
            self._k = max(1, int(k))
            return
        self._k = min(max(int(k), 1), self._factors.max_rank)
        if not self._chroma_driven():
            self.spectrum.set_rank(self._k)
        self._render()
        self._request_metrics()

    def _on_rank_preview(self, k: int) -> None:
        if self._chroma_driven():
            self._chroma_k = k
        else:
            self._k = k
        self._render()

    def _on_rank_committed(self, k: int) -> None:
        if self._chroma_driven():
            self._chroma_k = k
            self.chroma_spin.blockSignals(True)
            self.chroma_spin.setValue(k)
            self.chroma_spin.blockSignals(False)
        else:
            self._k = k
        self._render()
        self._request_metrics()

    def _on_chroma(self, value: int) -> None:
        self._chroma_k = int(value)
        if self._chroma_driven() and value >= 1:
            self.spectrum.set_rank(value)
        self._render()
        self._request_metrics()

    def _on_component(self, i: int) -> None:
        self.layer_spin.setValue(i)
        self.view_tabs.setCurrentIndex(2)

    def _on_mode(self, _index: int) -> None:
        if self._image is None or self._image.is_color:
            self._color_mode = self._mode_key()
        self._update_chroma_enabled()
        if self._pixels is not None:
            self._start_decomposition()

    def _update_chroma_enabled(self) -> None:
        on = self._mode_key() == "ycbcr"
        self.chroma_spin.setEnabled(on)
        self.chroma_label.setEnabled(on)

    def _chroma_arg(self) -> int | None:
        return (
            self._chroma_k if self._factors is not None and self._factors.mode == "ycbcr" else None
        )

    # ================================================================== drawing
    def _source_size(self) -> tuple[int, int]:
        assert self._pixels is not None
        return (self._pixels.shape[1], self._pixels.shape[0])

    def _show_original(self) -> None:
        if self._pixels is None:
            return
        h, w = self._pixels.shape[:2]
        rows, cols = display_grid(h, w, MAX_DISPLAY_SIDE)
        ref = mode_reference(self._pixels[rows, cols], self._mode_key())
        self.original_pane.set_pixels(to_uint8(ref), self._source_size())
        self.recon_pane.set_pixels(None)
        self.error_pane.set_pixels(None)

    def _render(self) -> None:
        if self._display is None or self._factors is None:
            return
        chroma = self._chroma_arg()
        u8 = self._display.render(self._k, chroma)
        size = self._source_size()
        self.recon_pane.set_pixels(u8, size)
        err = self._error_image.compute(u8)
        self.error_pane.set_pixels(err, size, levels=(0, 255), lut=_ERROR_LUT)
        label = f"Rank k = {self._k}"
        if chroma is not None:
            label += f", chroma {chroma}"
        if not self._full:
            label += " (preview)"
        self.recon_pane.title.setText(label)

    def _render_layers(self) -> None:
        if self._factors is None or self.view_tabs.currentIndex() != 2:
            return
        f = self._factors
        i = min(self.layer_spin.value(), f.max_rank)
        rows, cols = display_grid(f.height, f.width, 800)
        layer = rank_one_layer(f, i, rows=rows, cols=cols)
        if layer.ndim == 3 and f.mode == "ycbcr":
            layer = from_channels([layer[..., c] for c in range(3)], "ycbcr", clip=False)
        size = self._source_size()
        self.layer_pane.set_pixels(signed_to_uint8(layer), size)
        chroma = min(i, f.max_chroma_rank) if f.mode == "ycbcr" else None
        cum = reconstruct_image(f, i, chroma, rows=rows, cols=cols)
        self.cumulative_pane.set_pixels(to_uint8(cum), size)
        s = f.channels[0].s[i - 1]
        self.layer_pane.title.setText(
            f"Layer {i}: σ{'' if len(f.channels) == 1 else ' of ' + f.channel_names[0]} = {s:,.1f}"
        )
        self.cumulative_pane.title.setText(f"Sum of layers 1…{i}")

    def _update_notes(self) -> None:
        lines = []
        if self._image is not None:
            lines.extend(self._image.notes)
        f = self._factors
        if f is None and self._pixels is not None:
            lines.append("Computing the singular value decomposition…")
        elif f is not None and not self._full:
            lines.append(
                f"Showing a quick preview computed on a {f.width}×{f.height} copy "
                f"(1/{f.downsample_factor} scale); the full-resolution SVD is being computed."
            )
        elif f is not None:
            h, w = f.height, f.width
            lines.append(
                f"{len(f.channels)} channel{'s' if len(f.channels) > 1 else ''} of {w}×{h} "
                "decomposed once "
                f"({f.channels[0].driver}, float32); every rank reuses these factors."
            )
        lines.append(
            "Scroll to zoom and drag to pan; the three views move together. "
            "Double-click or press Fit to see the whole image again."
        )
        self.notes_label.setText("\n\n".join(lines))

    # ================================================================== metrics
    def _with_codecs(self, m: ImageMetrics) -> ImageMetrics:
        if self._codecs is None or self._factors is None or self._factors.downsample_factor > 1:
            return m
        ref = self._codecs.jpeg_reference
        return dataclasses.replace(
            m,
            png_bytes=self._codecs.png_bytes,
            jpeg_bytes=ref.nbytes if ref else None,
            jpeg_quality=ref.quality if ref else None,
        )

    def _request_metrics(self) -> None:
        f = self._factors
        if f is None:
            return
        gen = self._generation
        k, chroma = self._k, self._chroma_arg()
        self.runner.submit(
            "image.metrics",
            image_metrics,
            self._metric_original,
            f,
            k,
            chroma,
            description=f"Image: metrics for k = {k}",
            in_process=False,
            on_result=lambda m: self._on_metrics(m, gen),
            on_error=self._on_job_error,
        )

    def _on_metrics(self, m: ImageMetrics, gen: int) -> None:
        if gen != self._generation:
            return
        self._metrics = self._with_codecs(m)
        self._show_metrics()
        self._update_plot()
        self.metrics_ready.emit()

    def _show_metrics(self) -> None:
        note = "" if self._full else "preview"
        self.metrics_table.show_metrics(self._metrics, note)
        m = self._metrics
        if m is not None:
            self._status(
                f"k = {m.rank}: PSNR {m.psnr_db:.2f} dB, SSIM {m.ssim:.3f}, "
                f"{m.bytes_float32:,} bytes at float32 ({m.compression_ratio:.2f}× vs raw)."
            )

    def _request_sweep(self) -> None:
        f = self._factors
        if f is None:
            return
        gen = self._generation
        step = max(1, int(np.ceil(max(f.height, f.width) / 800)))
        ranks = _sweep_ranks(f.max_rank, f.full_rank)
        self.runner.submit(
            "image.sweep",
            rank_sweep,
            self._metric_original,
            f,
            ranks,
            self._chroma_arg(),
            step=step,
            description="Image: quality at several ranks",
            in_process=False,
            on_result=lambda s: self._on_sweep(s, gen),
            on_error=self._on_job_error,
        )

    def _on_sweep(self, sweep: list[ImageMetrics], gen: int) -> None:
        if gen != self._generation or self._factors is None:
            return
        self._sweep = sweep
        f = self._factors
        by_rank = {m.rank: m for m in sweep}
        ranks = [r for r in GALLERY_RANKS if r <= f.max_rank] + [f.max_rank]
        rows, cols = display_grid(f.height, f.width, THUMB_SIDE)
        for card in self.cards:
            card.set_content(0, None, "")
        for card, k in zip(self.cards, ranks, strict=False):
            m = by_rank.get(k)
            pic = to_uint8(reconstruct_image(f, k, None, rows=rows, cols=cols))
            name = "full" if k == f.full_rank else str(k)
            if m is not None and m.chroma_rank is not None:
                name += f" (chroma {m.chroma_rank})"
            if m is None:
                caption = f"k = {name}"
            else:
                psnr = "lossless" if m.psnr_db > 100 else f"{m.psnr_db:.1f} dB"
                caption = (
                    f"k = {name}: {psnr}, SSIM {m.ssim:.3f}\n"
                    f"{m.bytes_float32 / 1024:,.0f} KiB float32 "
                    f"({m.compression_ratio:.2f}× vs raw)"
                )
            card.set_content(k, pic, caption)
        self._update_plot()

    def _update_plot(self) -> None:
        self.quality_plot.show_data(self._sweep, self._codecs, self._metrics)

    # ================================================================== targets
    def _on_target_kind(self, _index: int = 0) -> None:
        kind = self.target_kind.currentData()
        self.target_dtype.setVisible(kind == "bytes")
        defaults = {
            "energy": (99.0, 0.1, 100.0),
            "psnr": (30.0, 1.0, 150.0),
            "bytes": (64.0, 0.1, 1e7),
        }
        value, lo, hi = defaults[kind]
        self.target_value.setRange(lo, hi)
        self.target_value.setValue(value)

    def apply_target(self) -> None:
        """Pick k from the target controls (PSNR targets run as a job)."""
        f = self._factors
        if f is None:
            return
        kind = self.target_kind.currentData()
        value = self.target_value.value()
        try:
            if kind == "energy":
                self.set_rank(rank_for_energy_target(f, min(value / 100.0, 1.0)))
            elif kind == "bytes":
                dtype = self.target_dtype.currentData()
                self.set_rank(rank_for_byte_budget(f, int(value * 1024), dtype, self._chroma_arg()))
            else:
                gen = self._generation
                step = max(1, int(np.ceil(max(f.height, f.width) / 1000)))
                self.runner.submit(
                    "image.target",
                    rank_for_psnr_target,
                    self._metric_original,
                    f,
                    value,
                    self._chroma_arg(),
                    step=step,
                    description="Image: rank for a PSNR target",
                    in_process=False,
                    on_result=lambda k: gen == self._generation and self.set_rank(k),
                    on_error=self._on_job_error,
                )
        except ValueError as exc:
            self._error(str(exc))

    # ================================================================== export
    def reconstruction(self) -> np.ndarray | None:
        """The full-resolution rank-k image (float32 [0, 255]) or None."""
        if self._factors is None:
            return None
        return reconstruct_image(self._factors, self._k, self._chroma_arg())

    def export(self, what: str | None = None) -> None:
        """Ask where to save the reconstruction (PNG), metrics (CSV) or factors."""
        if self._factors is None:
            self._error("Nothing to export yet: open an image first.")
            return
        stem = Path(self._name).stem or "image"
        filters = {
            "png": "PNG image (*.png)",
            "csv": "Metrics table (*.csv)",
            "factors": FACTOR_FILE_FILTER.replace("*.npz", "*.svdz"),
        }
        names = {
            "png": f"{stem}_k{self._k}.png",
            "csv": f"{stem}_metrics.csv",
            "factors": f"{stem}_k{self._k}.svdz",
        }
        order = [what] if what else ["png", "csv", "factors"]
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export", names[order[0]], ";;".join(filters[o] for o in order)
        )
        if not path:
            return
        kind = next((o for o in order if filters[o] == chosen), order[0])
        suffix = Path(path).suffix.lower()
        kind = {".png": "png", ".csv": "csv", ".svdz": "factors", ".npz": "factors"}.get(
            suffix, kind
        )
        {"png": self.export_png, "csv": self.export_metrics_csv, "factors": self.save_factor_file}[
            kind
        ](path)

    def export_png(self, path: str) -> bool:
        """Save the full-resolution rank-k image as PNG (atomically)."""
        rec = self.reconstruction()
        if rec is None:
            return False
        try:
            save_png(path, rec)
        except OSError as exc:
            self._error(f"{path}: cannot save ({exc.strerror or exc})")
            return False
        self._status(f"Saved the rank-{self._k} image to {path}.")
        return True

    def export_metrics_csv(self, path: str) -> bool:
        """Save the current metrics and the rank sweep as CSV (one row per rank)."""
        if self._metrics is None:
            self._error("The metrics are still being computed; try again in a moment.")
            return False
        fields = [f.name for f in dataclasses.fields(ImageMetrics)]
        rows = [("current", "full" if self._full else "preview", self._metrics)]
        step_note = (
            "sampled"
            if self._factors and max(self._factors.height, self._factors.width) > 800
            else "full"
        )
        rows += [("sweep", step_note, m) for m in self._sweep]
        try:
            with atomic_write(path, "w") as fh:
                w = csv.writer(fh)
                w.writerow(["row", "measured_on", *fields])
                for tag, on, m in rows:
                    d = m.as_dict()
                    w.writerow([tag, on, *["" if d[k] is None else d[k] for k in fields]])
        except OSError as exc:
            self._error(f"{path}: cannot save ({exc.strerror or exc})")
            return False
        self._status(f"Saved the metrics to {path}.")
        return True

    def save_factor_file(self, path: str) -> bool:
        """Save the rank-k factors, 8-bit quantized, in SVD Studio's factor file format."""
        if self._factors is None:
            return False
        if not self._full:
            self._error(
                "The full-resolution factors are still being computed; "
                "try again when they are ready."
            )
            return False
        try:
            save_factors(path, self._factors, self._k, self._chroma_arg(), source=self._name)
        except (OSError, ValueError) as exc:
            self._error(f"{path}: cannot save ({exc})")
            return False
        self._status(f"Saved the rank-{self._k} factors to {path}.")
        return True

    # ================================================================== messages
    def _status(self, text: str) -> None:
        self.status_message.emit(text)

    def _error(self, text: str) -> None:
        self._status(text)
        QtWidgets.QMessageBox.warning(self, "Image", text)


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.image_tab [IMAGE]``."""
    import sys

    from ..workers import JobRunner

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
