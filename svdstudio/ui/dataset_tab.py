"""The Dataset lab: project a labelled table to 2-D with truncated SVD or PCA.

Files are read by :mod:`svdstudio.io.datasets` (big ones on the job runner), projections are
computed by :func:`svdstudio.engine.projection.project` on the "dataset.project" channel; the
tab only shows results.  A projection keeps every component, so changing the axes or the number
of components kept is instant.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import QSettings, Qt, Signal

from ..engine.projection import (
    METHOD_EXPLANATIONS,
    METHOD_TITLES,
    METHODS,
    Projection,
    component_names,
    project,
)
from ..io.datasets import (
    BUNDLED,
    Dataset,
    DatasetError,
    bundled_path,
    pixel_grid,
    read_dataset,
    read_header,
    write_projection_csv,
)
from ..workers import JobRunner
from .dataset_hover import HoverPanel, describe_row
from .dataset_scatter import DatasetScatter
from .plot_export import export_plot
from .spectrum_plot import SpectrumPlot

__all__ = ["DatasetTab"]

FILE_FILTER = "Data tables (*.csv *.tsv *.tab *.txt)"
# Files up to this size are read at once (well under 0.2 s); bigger ones on the job runner.
SYNC_READ_BYTES = 2 * 1024 * 1024
NO_LABEL = "(no label)"
OPEN_ITEM = "Open file…"


def fmt_percent(fraction: float) -> str:
    """A share as a percentage with enough digits to tell small ones apart from zero."""
    pct = 100.0 * float(fraction)
    if pct == 0:
        return "0"
    if pct < 0.1:
        return f"{pct:.2g}"
    return f"{pct:.1f}"


def _bundled_key(source: str) -> str | None:
    for key in BUNDLED:
        if Path(source) == bundled_path(key):
            return key
    return None


def _read_job(path: str, label: str | None, no_label: bool) -> Dataset:
    return read_dataset(path, label_column=label, no_label=no_label)


class DatasetTab(QtWidgets.QWidget):
    """Dataset lab: table in, 2-D projection and spectrum out (see the module docstring)."""

    status_message = Signal(str)
    file_opened = Signal(str)
    projection_ready = Signal()  # a projection result is on show (tests wait for it)

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetTab")
        self.setAccessibleName("Dataset lab")
        self._runner = runner
        self._dataset: Dataset | None = None
        self._result: Projection | None = None
        self._grid: tuple[int, int] | None = None
        self._path: str | None = None  # the table on show
        self._user_files: list[str] = []
        self._last_dir = str(Path.home())
        self._updating = False
        self._pending_axes: tuple[int, int] | None = None
        self._pending_k: int | None = None
        self._build()

    # ================================================================ construction
    def _build(self) -> None:
        def tip(w: QtWidgets.QWidget, name: str, text: str) -> None:
            w.setAccessibleName(name)
            w.setToolTip(text)

        self.dataset_combo = QtWidgets.QComboBox()
        self.dataset_combo.setObjectName("datasetChooser")
        tip(self.dataset_combo, "Dataset", "Choose a bundled dataset, or open your own CSV/TSV")
        for key, (_, _, title) in BUNDLED.items():
            self.dataset_combo.addItem(title, key)
        self.dataset_combo.insertSeparator(self.dataset_combo.count())
        self.dataset_combo.addItem(OPEN_ITEM, "open")
        self.dataset_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents
        )
        self.dataset_combo.activated.connect(self._on_dataset_activated)

        self.label_combo = QtWidgets.QComboBox()
        self.label_combo.setObjectName("datasetLabelColumn")
        tip(
            self.label_combo,
            "Label column",
            "The column that holds each row's class; it colours the points and is not projected",
        )
        self.label_combo.setMinimumContentsLength(10)
        self.label_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.label_combo.activated.connect(self._on_label_activated)

        self.method_combo = QtWidgets.QComboBox()
        self.method_combo.setObjectName("datasetMethodCombo")
        tip(self.method_combo, "Method", "How the table is prepared before its SVD")
        for i, m in enumerate(METHODS):
            self.method_combo.addItem(METHOD_TITLES[m], m)
            self.method_combo.setItemData(i, METHOD_EXPLANATIONS[m], Qt.ItemDataRole.ToolTipRole)
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)

        self.x_spin = self._component_spin("datasetXComponent", "X axis component", 1)
        self.y_spin = self._component_spin("datasetYComponent", "Y axis component", 2)
        self.swap_button = QtWidgets.QToolButton()
        self.swap_button.setObjectName("datasetSwapAxes")
        self.swap_button.setText("⇄")
        tip(self.swap_button, "Swap axes", "Swap the x and y components")
        self.swap_button.clicked.connect(self._swap_axes)

        self.arrows_check = QtWidgets.QCheckBox("Feature arrows")
        self.arrows_check.setObjectName("datasetArrows")
        tip(
            self.arrows_check,
            "Feature arrows",
            "Biplot: draw each feature's loading (component · √explained variance) as an arrow "
            "from the origin, scaled to the points; the 12 longest are shown",
        )
        self.arrows_check.toggled.connect(self._update_arrows)

        self.export_button = QtWidgets.QToolButton()
        self.export_button.setObjectName("datasetExport")
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        tip(self.export_button, "Export", "Save the projected coordinates (CSV) or the plot")
        menu = QtWidgets.QMenu(self.export_button)
        menu.addAction("Projected coordinates (CSV)…", lambda: self._export_dialog("csv"))
        menu.addAction("Plot as PNG…", lambda: self._export_dialog("png"))
        menu.addAction("Plot as SVG…", lambda: self._export_dialog("svg"))
        self.export_button.setMenu(menu)

        top = QtWidgets.QHBoxLayout()
        top.setSpacing(6)
        for text, w in (("&Dataset:", self.dataset_combo), ("&Label:", self.label_combo)):
            lab = QtWidgets.QLabel(text)
            lab.setBuddy(w)
            top.addWidget(lab)
            top.addWidget(w)
        top.addSpacing(12)
        lab = QtWidgets.QLabel("&Method:")
        lab.setBuddy(self.method_combo)
        top.addWidget(lab)
        top.addWidget(self.method_combo)
        top.addSpacing(12)
        for text, w in (("&X:", self.x_spin), ("&Y:", self.y_spin)):
            lab = QtWidgets.QLabel(text)
            lab.setBuddy(w)
            top.addWidget(lab)
            top.addWidget(w)
        top.addWidget(self.swap_button)
        top.addSpacing(12)
        top.addWidget(self.arrows_check)
        top.addStretch(1)
        top.addWidget(self.export_button)

        self.notice_label = QtWidgets.QLabel()
        self.notice_label.setObjectName("datasetNotices")
        self.notice_label.setAccessibleName("Dataset notices")
        self.notice_label.setToolTip("What was read, and anything left out while reading")
        self.notice_label.setWordWrap(True)
        self.notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.scatter = DatasetScatter()
        self.scatter.setToolTip(
            "Each point is one row, coloured by its label. Hover a point to see its row "
            "number, label and values. Drag to pan, scroll to zoom, double-click to fit."
        )
        self.scatter.point_hovered.connect(self._on_point_hovered)
        self.scatter.point_tip = lambda _i: self._hover_rich

        self.spectrum = SpectrumPlot()
        self.spectrum.setObjectName("datasetSpectrum")
        self.spectrum.rank_spin.setObjectName("datasetComponentsSpin")
        self.spectrum.rank_spin.setAccessibleName("Components kept")
        self.spectrum.rank_spin.setToolTip(
            "Components kept: how many columns the CSV export holds, and the explained "
            "variance they add up to"
        )
        self.spectrum.set_label_formatter(self._spectrum_label)
        self.spectrum.component_selected.connect(self._on_component_selected)

        self.hover_panel = HoverPanel()
        self.hover_title = self.hover_panel.title
        self.hover_info = self.hover_panel.info
        self.digit_view = self.hover_panel.digit_view

        right = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("datasetRightSplitter")
        right.addWidget(self.spectrum)
        right.addWidget(self.hover_panel)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([440, 260])
        right.setChildrenCollapsible(False)

        self.splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("datasetSplitter")
        self.splitter.addWidget(self.scatter)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([760, 480])
        self.right_splitter = right

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.splitter, 1)
        self._set_controls_enabled(False)

    def _component_spin(self, name: str, title: str, value: int) -> QtWidgets.QSpinBox:
        spin = QtWidgets.QSpinBox()
        spin.setObjectName(name)
        spin.setAccessibleName(title)
        spin.setToolTip(f"{title}: any component, not only the first two")
        spin.setRange(1, 2)
        spin.setValue(value)
        spin.setKeyboardTracking(False)
        spin.setMinimumWidth(70)
        spin.valueChanged.connect(self._on_axes_changed)
        return spin

    # ================================================================ Tab API
    def file_filter(self) -> str:
        """Open-dialog filter for tables."""
        return FILE_FILTER

    def undo_stack(self) -> None:
        """Nothing here is edited, so there is nothing to undo."""
        return None

    def has_unsaved_changes(self) -> bool:
        """Views only: nothing to save."""
        return False

    def maybe_save(self) -> bool:
        """Always fine to close."""
        return True

    def copy(self) -> None:
        """Copy the projected coordinates (components kept) as tab-separated text."""
        text = self.coordinates_text()
        if text:
            QtWidgets.QApplication.clipboard().setText(text)
            self.status_message.emit("Projected coordinates copied as tab-separated text.")

    def paste(self) -> None:
        """Tables are opened, not pasted."""

    def select_all(self) -> None:
        """Nothing to select."""

    def load_defaults(self) -> None:
        """Open on Iris, truncated SVD, components 1 and 2 (as in the article)."""
        self.method_combo.setCurrentIndex(METHODS.index("tsvd"))
        self.load_bundled("iris")

    def open_file(self, path: str) -> bool:
        """Read a CSV/TSV table; on failure say why and keep the table on show."""
        return self._load(str(path), None, user=True)

    def export(self) -> None:
        """Ask where to save the coordinates or the plot (type from the chosen filter)."""
        self._export_dialog(None)

    def save_state(self, settings: QSettings) -> None:
        """Remember the table, method, axes, arrows, components kept and splitters."""
        settings.setValue("dataset/method", self.method())
        settings.setValue("dataset/x", self.x_spin.value())
        settings.setValue("dataset/y", self.y_spin.value())
        settings.setValue("dataset/arrows", self.arrows_check.isChecked())
        settings.setValue("dataset/k", self.spectrum.rank())
        settings.setValue("dataset/splitter", self.splitter.saveState())
        settings.setValue("dataset/rightSplitter", self.right_splitter.saveState())
        settings.setValue("dataset/lastDir", self._last_dir)
        key = _bundled_key(self._path) if self._path else None
        settings.setValue("dataset/source", key or self._path or "iris")
        if self._dataset is not None:
            settings.setValue("dataset/label", self._dataset.label_name or NO_LABEL)

    def restore_state(self, settings: QSettings) -> None:
        """Reopen the last table with the last view (falls back to Iris)."""
        method = str(settings.value("dataset/method", "tsvd"))
        if method in METHODS:
            self._updating = True
            self.method_combo.setCurrentIndex(METHODS.index(method))
            self._updating = False
        self.arrows_check.setChecked(settings.value("dataset/arrows", False, type=bool))
        self._pending_axes = (
            settings.value("dataset/x", 1, type=int),
            settings.value("dataset/y", 2, type=int),
        )
        self._pending_k = settings.value("dataset/k", 2, type=int)
        for key, splitter in (("splitter", self.splitter), ("rightSplitter", self.right_splitter)):
            state = settings.value(f"dataset/{key}")
            if isinstance(state, QtCore.QByteArray | bytes):
                splitter.restoreState(state)
        self._last_dir = str(settings.value("dataset/lastDir", self._last_dir))
        source = str(settings.value("dataset/source", "iris"))
        label = settings.value("dataset/label")
        if source in BUNDLED:
            self.load_bundled(source)
            return
        if Path(source).is_file():
            lab = None if label in (None, "") else str(label)
            if self._load(source, lab, user=True, quiet=True):
                return
        self.load_bundled("iris")

    # ================================================================ public helpers
    def dataset(self) -> Dataset | None:
        """The table on show."""
        return self._dataset

    def result(self) -> Projection | None:
        """The projection on show."""
        return self._result

    def method(self) -> str:
        """The chosen method key (tsvd, pca, standardized)."""
        return str(self.method_combo.currentData())

    def set_method(self, method: str) -> None:
        """Choose a method (recomputes)."""
        self.method_combo.setCurrentIndex(METHODS.index(method))

    def set_axes(self, x: int, y: int) -> None:
        """Show components x and y (1-based)."""
        self._updating = True
        self.x_spin.setValue(x)
        self.y_spin.setValue(y)
        self._updating = False
        self._redraw()

    def load_bundled(self, key: str) -> bool:
        """Show a bundled table (iris, wine, digits)."""
        return self._load(str(bundled_path(key)), BUNDLED[key][1], user=False)

    def hover_text(self) -> str:
        """Plain text about the hovered point ('' when none)."""
        return self._hover_plain

    def coordinates_text(self) -> str:
        """Row, label and kept components as tab-separated text."""
        if self._result is None or self._dataset is None:
            return ""
        k = max(self.spectrum.rank(), 1)
        names = component_names(self._result.method, k)
        head = ["row"] + ([self._dataset.label_name or "label"] if self._has_labels() else [])
        lines = ["\t".join(head + names)]
        proj = self._result.projection[:, :k]
        for i in range(proj.shape[0]):
            lead = [str(int(self._dataset.row_numbers[i]))]
            if self._has_labels():
                lead.append(str(self._dataset.labels[i]))
            lines.append("\t".join(lead + [f"{v:.10g}" for v in proj[i]]))
        return "\n".join(lines) + "\n"

    def export_csv(self, path: str) -> bool:
        """Write row, label and the kept components to ``path`` (atomic)."""
        if self._result is None or self._dataset is None:
            return False
        k = max(self.spectrum.rank(), 1)
        try:
            write_projection_csv(
                path,
                self._result.projection[:, :k],
                component_names=component_names(self._result.method, k),
                labels=self._dataset.labels,
                label_name=self._dataset.label_name,
                row_numbers=self._dataset.row_numbers,
            )
        except OSError as exc:
            self._error(f"{path}: cannot write the file ({exc.strerror or exc}).")
            return False
        self.status_message.emit(f"Saved {k} projected components of {self._title()} to {path}.")
        return True

    def export_image(self, path: str) -> bool:
        """Save the scatter plot as PNG (2× the on-screen size) or SVG, by extension (atomic)."""
        if self._result is None:
            return False
        try:
            export_plot(self.scatter, path)
        except (OSError, RuntimeError) as exc:
            self._error(f"{path}: cannot save the plot ({exc}).")
            return False
        self.status_message.emit(f"Saved the plot to {path}.")
        return True

    # ================================================================ loading
    def _load(self, path: str, label: str | None, *, user: bool, quiet: bool = False) -> bool:
        no_label = label == NO_LABEL
        lab = None if no_label else label
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            if not quiet:
                self._error(f"{path}: cannot open the file ({exc.strerror or exc}).")
            return False
        if size > SYNC_READ_BYTES:
            self.status_message.emit(f"Reading {Path(path).name} ({size / 2**20:.1f} MiB)…")
            self._runner.submit(
                "dataset.load",
                _read_job,
                path,
                lab,
                no_label,
                description=f"Reading {Path(path).name}",
                on_result=lambda ds, p=path, u=user: self._set_dataset(ds, p, u),
                on_error=lambda msg, _details: self._error(msg),
            )
            return True
        self._runner.cancel("dataset.load")  # a big table still being read must not win
        try:
            ds = read_dataset(path, label_column=lab, no_label=no_label)
        except DatasetError as exc:
            if not quiet:
                self._error(str(exc))
            return False
        self._set_dataset(ds, path, user)
        return True

    def _set_dataset(self, ds: Dataset, path: str, user: bool) -> None:
        self._dataset = ds
        self._path = path
        self._result = None
        # The old points belong to another table: never show them under the new name.
        self.spectrum.clear()
        self._set_controls_enabled(False)
        self._on_point_hovered(-1)
        self._grid = pixel_grid([c for c in ds.all_columns if c != ds.label_name])
        self.hover_panel.set_pixel_mode(self._grid is not None)
        if user:
            self._last_dir = str(Path(path).parent)
            if path not in self._user_files:
                self._user_files.append(path)
                self.dataset_combo.insertItem(self.dataset_combo.count() - 1, Path(path).name, path)
            self.file_opened.emit(str(Path(path).resolve()))
        self._select_dataset_item(path)
        self._fill_label_combo(path, ds)
        self._update_notices()
        self._compute()

    def _select_dataset_item(self, path: str) -> None:
        key = _bundled_key(path)
        idx = self.dataset_combo.findData(key or path)
        if idx >= 0:
            self.dataset_combo.setCurrentIndex(idx)
        self.dataset_combo.setToolTip(f"Dataset: {path}\nChoose another, or open your own CSV/TSV")

    def _fill_label_combo(self, path: str, ds: Dataset) -> None:
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItem(NO_LABEL)
        try:
            columns = read_header(path) if not ds.all_columns else list(ds.all_columns)
        except DatasetError:
            columns = list(ds.all_columns)
        self.label_combo.addItems(columns)
        self.label_combo.setCurrentText(ds.label_name or NO_LABEL)
        self.label_combo.blockSignals(False)

    def _on_dataset_activated(self, index: int) -> None:
        data = self.dataset_combo.itemData(index)
        if data == "open":
            self._select_dataset_item(self._path or "")
            path, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, "Open a data table", self._last_dir, f"{FILE_FILTER};;All files (*)"
            )
            if path:
                self.open_file(path)
            return
        if data in BUNDLED:
            self.load_bundled(data)
        elif data:
            self._load(str(data), None, user=True)

    def _on_label_activated(self, _index: int) -> None:
        if self._path is None:
            return
        text = self.label_combo.currentText()
        if not self._load(self._path, text, user=False):
            # Keep what was on show: put the combo back.
            self._fill_label_combo(self._path, self._dataset)

    # ================================================================ computing
    def _compute(self) -> None:
        ds = self._dataset
        if ds is None:
            return
        method = self.method()
        busy = f"Computing {METHOD_TITLES[method]} of {self._title()}…"
        self.status_message.emit(busy)
        self._result = None
        self.scatter.clear_points(busy)
        self._set_controls_enabled(False)
        self._runner.submit(
            "dataset.project",
            project,
            ds.X.copy(),
            method,
            description=f"{METHOD_TITLES[method]} of {ds.n_rows}×{ds.n_features} table",
            on_result=self._on_result,
            on_error=self._on_project_error,
        )

    def _on_project_error(self, message: str, _details: str) -> None:
        self.scatter.clear_points("No projection: see the message")
        self._error(message)

    def _on_result(self, res: Projection) -> None:
        if self._dataset is None or res.n_samples != self._dataset.n_rows:
            return
        self._result = res
        r = res.n_components
        self._updating = True
        pending = self._pending_axes
        x, y = pending if pending else (self.x_spin.value(), self.y_spin.value())
        self._pending_axes = None
        for spin in (self.x_spin, self.y_spin):
            spin.setRange(1, r)
            spin.setPrefix("SVD" if res.method == "tsvd" else "PC")
        self.x_spin.setValue(min(max(x, 1), r))
        self.y_spin.setValue(min(max(y, 1), r))
        self._updating = False
        k = self._pending_k or self.spectrum.rank() or 2
        self._pending_k = None
        label = "explained variance" if res.method != "tsvd" else "energy"
        self.spectrum.set_values(res.singular_values, energy_label=label)
        self.spectrum.set_rank(min(max(k, 1), r))
        self._set_controls_enabled(True)
        self._redraw()
        ratio = fmt_percent(float(np.sum(res.explained_variance_ratio[:2])))
        self.status_message.emit(
            f"{self._title()}: {METHOD_TITLES[res.method]} ready; the first two components "
            f"explain {ratio} % of the variance."
        )
        self.projection_ready.emit()

    # ================================================================ drawing
    def _on_method_changed(self, _index: int) -> None:
        if not self._updating:
            self._compute()

    def _on_axes_changed(self, _value: int) -> None:
        if not self._updating:
            self._redraw()

    def _swap_axes(self) -> None:
        self.set_axes(self.y_spin.value(), self.x_spin.value())

    def _on_component_selected(self, i: int) -> None:
        # Double-clicking σ_i puts component i on the y axis (x stays).
        self.y_spin.setValue(i)

    def _axes(self) -> tuple[int, int]:
        return self.x_spin.value() - 1, self.y_spin.value() - 1

    def _axis_title(self, j: int) -> str:
        res = self._result
        name = component_names(res.method, j + 1)[j]
        return f"{name} ({fmt_percent(res.explained_variance_ratio[j])} % of variance)"

    def _redraw(self) -> None:
        res, ds = self._result, self._dataset
        if res is None or ds is None:
            return
        cx, cy = self._axes()
        xy = res.projection[:, [cx, cy]]
        self.scatter.set_points(
            xy,
            ds.labels,
            ds.classes,
            self._axis_title(cx),
            self._axis_title(cy),
        )
        self.scatter.getPlotItem().setTitle(
            f"{self._title()} · {METHOD_TITLES[res.method]}", color="#222222", size="11pt"
        )
        self._update_arrows()
        self._on_point_hovered(-1)

    def _update_arrows(self, *_args: object) -> None:
        res, ds = self._result, self._dataset
        if res is None or ds is None or not self.arrows_check.isChecked():
            self.scatter.set_arrows(None)
            return
        cx, cy = self._axes()
        vec = res.loadings[:, [cx, cy]]
        # One factor for both axes (directions stay true), chosen so every arrow stays inside
        # about 70 % of the points' extent on each axis.
        reach = np.max(np.abs(res.projection[:, [cx, cy]]), axis=0)
        longest = np.max(np.abs(vec), axis=0)
        factors = [0.7 * r / v for r, v in zip(reach, longest, strict=True) if v > 0 and r > 0]
        factor = min(factors) if factors else 1.0
        self.scatter.set_arrows(vec * factor, list(ds.feature_names))

    def _has_labels(self) -> bool:
        return self._dataset is not None and self._dataset.labels is not None

    def _title(self) -> str:
        if self._path is None:
            return "dataset"
        key = _bundled_key(self._path)
        return BUNDLED[key][2] if key else Path(self._path).name

    def _spectrum_label(self, k: int) -> str:
        res = self._result
        if res is None or k < 1:
            return "No projection yet"
        ratio = res.explained_variance_ratio
        parts = " + ".join(fmt_percent(r) for r in ratio[: min(k, 3)])
        more = " + …" if k > 3 else ""
        total = fmt_percent(float(np.sum(ratio[:k])))
        if total == "100.0" and k < res.n_components:
            total = ">99.9"
        plural = "s" if k != 1 else ""
        return f"{k} component{plural} kept · explained variance {parts}{more} = {total} %"

    def _update_notices(self) -> None:
        ds = self._dataset
        if ds is None:
            self.notice_label.setText("")
            return
        classes = len(ds.classes)
        parts = [
            f"<b>{html.escape(self._title())}</b>: {ds.n_rows} rows × {ds.n_features} features"
        ]
        if ds.label_name:
            parts.append(f"{classes} classes in “{html.escape(ds.label_name)}”")
        else:
            parts.append("no label column")
        text = ", ".join(parts) + "."
        if ds.notices:
            text += (
                " <span style='color:#8a5a00'>⚠ "
                + " ".join(html.escape(n) for n in ds.notices)
                + "</span>"
            )
        self.notice_label.setText(text)

    def _set_controls_enabled(self, on: bool) -> None:
        for w in (
            self.x_spin,
            self.y_spin,
            self.swap_button,
            self.arrows_check,
            self.export_button,
        ):
            w.setEnabled(on)

    # ================================================================ hover
    _hover_plain = ""
    _hover_rich = ""

    def _on_point_hovered(self, i: int) -> None:
        ds, res = self._dataset, self._result
        if i < 0 or ds is None or res is None or i >= ds.n_rows:
            self._hover_plain = self._hover_rich = ""
            self.hover_panel.show_row(None)
            QtWidgets.QToolTip.hideText()
            return
        cx, cy = self._axes()
        names = component_names(res.method, max(cx, cy) + 1)
        coords = (
            f"{names[cx]} = {res.projection[i, cx]:.4g}, {names[cy]} = {res.projection[i, cy]:.4g}"
        )
        desc = describe_row(ds, i, coords, self._grid)
        self._hover_plain = desc.plain()
        self._hover_rich = desc.rich()
        self.hover_panel.show_row(desc)
        QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), self._hover_rich, self.scatter)

    # ================================================================ export
    def _export_dialog(self, kind: str | None) -> None:
        if self._result is None:
            self._error("Nothing to export yet: the projection is still being computed.")
            return
        filters = {
            "csv": "Projected coordinates (*.csv)",
            "png": "PNG image (*.png)",
            "svg": "SVG drawing (*.svg)",
        }
        order = [kind] if kind else ["csv", "png", "svg"]
        stem = Path(self._title()).stem.split(" ")[0].lower()
        suggested = str(Path(self._last_dir) / f"{stem}_{self._result.method}.{order[0]}")
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export", suggested, ";;".join(filters[k] for k in order)
        )
        if not path:
            return
        ext = Path(path).suffix.lower().lstrip(".")
        if ext not in filters:
            ext = next((k for k in order if filters[k] == chosen), order[0])
            path = f"{path}.{ext}"
        self._last_dir = str(Path(path).parent)
        if ext == "csv":
            self.export_csv(path)
        else:
            self.export_image(path)

    def _error(self, message: str) -> None:
        self.status_message.emit(message)
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Warning,
            "Dataset",
            message,
            QtWidgets.QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("datasetErrorDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.dataset_tab``."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    runner = JobRunner()
    tab = DatasetTab(runner)
    tab.resize(1280, 800)
    tab.load_defaults()
    tab.show()
    code = app.exec()
    runner.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(_preview())
