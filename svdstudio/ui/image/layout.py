"""The Image lab's widgets and their layout: toolbar, image views, spectrum, metrics, targets.

:class:`ImageLayout` builds the widget tree inside the tab and keeps references to the widgets;
it holds no state and no behaviour (the tab's controllers connect the signals).
"""

from __future__ import annotations

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.image.metrics_table import MetricsTable
from svdstudio.ui.image.session import GALLERY_RANKS
from svdstudio.ui.image.views import (
    ERROR_LUT,
    LAYER_LUT,
    ImagePane,
    LegendBar,
    QualityPlot,
    ThumbnailCard,
    link_panes,
)
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot
from svdstudio.ui.widgets.steady_label import hold_width
from svdstudio.ui.widgets.steady_tabs import SteadyTabWidget
from svdstudio.ui.widgets.tagging import tag

__all__ = ["GALLERY_RANKS", "MODES", "SAMPLES", "VIEW_INDEX", "ImageLayout"]

SAMPLES = (
    ("camera.png", "Camera (grayscale, 512×512)"),
    ("astronaut.png", "Astronaut (colour, 512×512)"),
    ("coffee.png", "Coffee (colour, 600×400)"),
)
MODES = (("gray", "Grayscale"), ("rgb", "RGB, per channel"), ("ycbcr", "YCbCr, luma + chroma"))
VIEW_INDEX = {"compare": 0, "gallery": 1, "layers": 2, "quality": 3}


class ImageLayout:
    """The Image tab's widgets, built inside ``tab`` (a QWidget) and reachable by name."""

    def __init__(self, tab: QtWidgets.QWidget) -> None:
        self.tab = tab
        outer = QtWidgets.QVBoxLayout(tab)
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

    def _build_toolbar(self) -> QtWidgets.QHBoxLayout:
        bar = QtWidgets.QHBoxLayout()
        bar.setSpacing(8)
        self.open_button = QtWidgets.QPushButton("Open…")
        tag(
            self.open_button,
            "imageOpenButton",
            "Open an image or a saved factor file (or drop a file here)",
            "Open image",
        )
        self.sample_combo = QtWidgets.QComboBox()
        tag(
            self.sample_combo,
            "imageSampleCombo",
            "Open one of the bundled sample images",
            "Sample images",
        )
        self.sample_combo.addItem("Samples…", "")
        for fname, label in SAMPLES:
            self.sample_combo.addItem(label, fname)
        self.sample_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.sample_combo.setMinimumContentsLength(12)
        self.mode_combo = QtWidgets.QComboBox()
        tag(
            self.mode_combo,
            "imageModeCombo",
            "Colour handling: grayscale (luma), RGB with one rank for all channels, "
            "or YCbCr with a separate, usually lower, chroma rank as codecs do",
            "Colour mode",
        )
        for key, label in MODES:
            self.mode_combo.addItem(label, key)
        self.mode_combo.setCurrentIndex(1)
        self.chroma_spin = QtWidgets.QSpinBox()
        tag(
            self.chroma_spin,
            "imageChromaSpin",
            "Rank of the two chroma channels (Cb, Cr) in YCbCr mode",
            "Chroma rank",
        )
        self.chroma_spin.setRange(0, 1)
        hold_width(self.chroma_spin)  # its range follows each image's rank
        self.chroma_spin.setKeyboardTracking(False)
        self.chroma_label = QtWidgets.QLabel("Chroma &rank:")
        self.chroma_label.setBuddy(self.chroma_spin)
        # A push button with a menu leaves room for its arrow (a tool button draws it on the text).
        self.export_button = QtWidgets.QPushButton("Export")
        tag(
            self.export_button,
            "imageExportButton",
            "Save the full-resolution reconstruction (PNG), the metrics (CSV) or the "
            "quantized factors (a file SVD Studio reopens)",
            "Export",
        )
        menu = QtWidgets.QMenu(self.export_button)
        self.export_actions = {
            "png": menu.addAction("Reconstruction as PNG…"),
            "csv": menu.addAction("Metrics as CSV…"),
            "factors": menu.addAction("Factors (quantized)…"),
        }
        self.export_button.setMenu(menu)
        self.info_label = QtWidgets.QLabel("No image")
        tag(
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
        return bar

    def _build_views(self) -> QtWidgets.QWidget:
        self.view_tabs = SteadyTabWidget()
        tag(self.view_tabs, "imageViewTabs", "Different views of the rank-k image", "Image views")
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
            "Error A_k − A",
            "imageErrorView",
            "Signed error per pixel (the channel that differs most): blue where the rank-k "
            "image is darker, white where it is exact, red where it is brighter; ±63 grey "
            "levels or more saturate",
        )
        self.error_legend = LegendBar(
            ERROR_LUT, ("darker −63", "0", "+63 brighter"), "imageErrorLegend", "Error colour key"
        )
        self.error_pane.layout().addWidget(self.error_legend)
        self.compare_group = link_panes(self.original_pane, self.recon_pane, self.error_pane)
        grid.addWidget(self.original_pane, 0, 0)
        grid.addWidget(self.recon_pane, 0, 1)
        grid.addWidget(self.error_pane, 1, 0)
        grid.addWidget(self._build_notes(), 1, 1)
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
        tag(
            self.layer_spin, "imageLayerSpin", "Which rank-1 layer σᵢ uᵢ vᵢᵀ to show", "Layer index"
        )
        self.layer_spin.setRange(1, 1)
        hold_width(self.layer_spin)
        lab.setBuddy(self.layer_spin)
        self.layer_slider = QtWidgets.QSlider(Qt.Orientation.Horizontal)
        tag(
            self.layer_slider, "imageLayerSlider", "Drag to step through the layers", "Layer slider"
        )
        self.layer_slider.setRange(1, 1)
        self.layer_spin.valueChanged.connect(self.layer_slider.setValue)
        self.layer_slider.valueChanged.connect(self.layer_spin.setValue)
        row.addWidget(lab)
        row.addWidget(self.layer_spin)
        row.addWidget(self.layer_slider, 1)
        lv.addLayout(row)
        panes = QtWidgets.QHBoxLayout()
        self.layer_pane = ImagePane(
            "Layer σᵢ uᵢ vᵢᵀ",
            "imageLayerView",
            "One rank-1 layer, contrast-stretched: mid-grey is 0, lighter is positive, "
            "darker negative, white and black its largest magnitude",
        )
        self.layer_legend = LegendBar(
            LAYER_LUT, ("−max", "mid-grey = 0", "+max"), "imageLayerLegend", "Layer grey key"
        )
        self.layer_pane.layout().addWidget(self.layer_legend)
        self.cumulative_pane = ImagePane(
            "Sum of layers 1…i",
            "imageCumulativeView",
            "The image built from the first i layers, in the image's own grey levels "
            "(0 black, 255 white), not stretched",
        )
        self.cumulative_legend = LegendBar(None, ("0 black", "not stretched", "255 white"), "", "")
        self.cumulative_pane.layout().addWidget(self.cumulative_legend)
        self.layer_group = link_panes(self.layer_pane, self.cumulative_pane)
        panes.addWidget(self.layer_pane, 1)
        panes.addWidget(self.cumulative_pane, 1)
        lv.addLayout(panes, 1)
        self.view_tabs.addTab(layers, "Layers")

        self.quality_plot = QualityPlot()
        self.view_tabs.addTab(self.quality_plot, "Quality vs size")
        self.fit_button = QtWidgets.QToolButton()
        self.fit_button.setText("Fit")
        tag(
            self.fit_button,
            "imageFitButton",
            "Fit the whole image in every view again after zooming or panning "
            "(or double-click a view)",
            "Fit image",
        )
        self.view_tabs.setCornerWidget(self.fit_button, Qt.Corner.TopRightCorner)
        return self.view_tabs

    def _build_notes(self) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        self.progress_label = QtWidgets.QLabel()
        self.progress_label.setWordWrap(True)
        tag(
            self.progress_label,
            "imageProgressLabel",
            "What the full-resolution SVD is doing, and the time left (estimated)",
            "SVD progress",
        )
        self.progress_label.setStyleSheet("color: #1d4f91; padding: 0 6px;")
        self.progress_label.hide()
        self.resume_button = QtWidgets.QPushButton("Compute the rest")
        tag(
            self.resume_button,
            "imageResumeButton",
            "Compute what was cancelled (the full-resolution SVD, metrics or file sizes), "
            "keeping what is already there",
            "Compute the rest",
        )
        self.resume_button.hide()
        self.notes_label = QtWidgets.QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        tag(self.notes_label, "imageNotes", "Notes about the image and the view", "Notes")
        self.notes_label.setStyleSheet("color: #444; padding: 6px;")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.resume_button)
        row.addStretch(1)
        v.addWidget(self.progress_label)
        v.addLayout(row)
        v.addWidget(self.notes_label, 1)
        return box

    def _build_side(self) -> QtWidgets.QWidget:
        side = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(side)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(6)
        row = QtWidgets.QHBoxLayout()
        lab = QtWidgets.QLabel("&Spectrum of channel:")
        self.channel_combo = QtWidgets.QComboBox()
        tag(
            self.channel_combo,
            "imageChannelCombo",
            "Whose singular values the plot shows; in YCbCr mode a chroma channel's "
            "cutoff sets the chroma rank",
            "Spectrum channel",
        )
        lab.setBuddy(self.channel_combo)
        row.addWidget(lab)
        row.addWidget(self.channel_combo, 1)
        v.addLayout(row)
        self.spectrum = SpectrumPlot()
        self.spectrum.setObjectName("imageSpectrum")
        self.spectrum.setMinimumHeight(190)
        self.spectrum.set_log_scale(True)  # image spectra span several decades
        self.spectrum.rank_spin.setObjectName("imageRankSpin")
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
        tag(self.target_kind, "imageTargetKind", "What the target is", "Target kind")
        self.target_kind.addItem("Energy retained (%)", "energy")
        self.target_kind.addItem("PSNR (dB)", "psnr")
        self.target_kind.addItem("Size budget (KiB)", "bytes")
        self.target_value = QtWidgets.QDoubleSpinBox()
        tag(self.target_value, "imageTargetValue", "The target value", "Target value")
        self.target_value.setDecimals(1)
        self.target_value.setRange(0.1, 1e7)
        self.target_value.setValue(99.0)
        self.target_dtype = QtWidgets.QComboBox()
        tag(
            self.target_dtype,
            "imageTargetDtype",
            "Storage type the size budget counts",
            "Storage type",
        )
        self.target_dtype.addItem("float32", "float32")
        self.target_dtype.addItem("float16", "float16")
        self.target_dtype.addItem("8-bit", "uint8")
        self.target_button = QtWidgets.QPushButton("Find k")
        tag(
            self.target_button,
            "imageTargetButton",
            "Set k to the smallest rank meeting the target (largest within a budget)",
            "Find k",
        )
        for w in (self.target_kind, self.target_value, self.target_dtype, self.target_button):
            h.addWidget(w)
        return box
