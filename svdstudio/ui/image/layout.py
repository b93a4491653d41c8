"""The Image lab's widgets and their layout: toolbar, image views, spectrum, metrics, targets.

A mixin of :class:`~svdstudio.ui.image.tab.ImageTab`; it only builds widgets and connects
their signals to the tab's handlers.
"""

from __future__ import annotations

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.image.views import ImagePane, MetricsTable, QualityPlot, ThumbnailCard, link_panes
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

__all__ = ["GALLERY_RANKS", "MODES", "SAMPLES", "ImageTabLayout"]

SAMPLES = (
    ("camera.png", "Camera (grayscale, 512×512)"),
    ("astronaut.png", "Astronaut (colour, 512×512)"),
    ("coffee.png", "Coffee (colour, 600×400)"),
)
MODES = (("gray", "Grayscale"), ("rgb", "RGB, per channel"), ("ycbcr", "YCbCr, luma + chroma"))
GALLERY_RANKS = (8, 16, 32)  # plus "full"


class ImageTabLayout:
    """Builds the Image tab's widgets (mixed into ImageTab, a QWidget)."""

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
        # A push button with a menu leaves room for its arrow (a tool button draws it on the text).
        self.export_button = QtWidgets.QPushButton("Export")
        self._control(
            self.export_button,
            "imageExportButton",
            "Save the full-resolution reconstruction (PNG), the metrics (CSV) or the "
            "quantized factors (a file SVD Studio reopens)",
            "Export",
        )
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
