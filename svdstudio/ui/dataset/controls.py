"""The Dataset lab's control row: dataset, label column, method, axes, arrows, export.

The widgets only; the tab connects their signals.  Each control keeps its objectName, tooltip
and accessible name here, in one place.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.engine.projection import Projection
from svdstudio.io.datasets import BUNDLED
from svdstudio.ui.dataset.columns import ColumnChooser
from svdstudio.ui.dataset.text import (
    NO_LABEL,
    component_prefix,
    method_description,
    method_keys,
    method_title,
)

__all__ = ["OPEN_ITEM", "DatasetControls"]

OPEN_ITEM = "Open file…"
EXPORT_KINDS = (
    ("csv", "Projected coordinates (CSV)…"),
    ("png", "Plot as PNG…"),
    ("svg", "Plot as SVG…"),
)


def _describe(w: QtWidgets.QWidget, name: str, text: str) -> None:
    w.setAccessibleName(name)
    w.setToolTip(text)


class DatasetControls(QtWidgets.QWidget):
    """One row of controls above the Dataset lab's plots."""

    export_requested = Signal(str)  # "csv", "png" or "svg"

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetControls")
        self._user_files: list[str] = []
        self.dataset_combo = QtWidgets.QComboBox()
        self.dataset_combo.setObjectName("datasetChooser")
        tip = "Choose a bundled dataset, or open your own CSV/TSV"
        _describe(self.dataset_combo, "Dataset", tip)
        for key, (_, _, title) in BUNDLED.items():
            self.dataset_combo.addItem(title, key)
        self.dataset_combo.insertSeparator(self.dataset_combo.count())
        self.dataset_combo.addItem(OPEN_ITEM, "open")
        # Combos size to a minimum length, not to their longest entry, so the row fits
        # a 1024-pixel-wide screen; longer entries show in full in the drop-down.
        self.dataset_combo.setMinimumContentsLength(8)
        self.dataset_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )

        self.label_combo = QtWidgets.QComboBox()
        self.label_combo.setObjectName("datasetLabelColumn")
        _describe(
            self.label_combo,
            "Label column",
            "The column that holds each row's class; it colours the points and is not projected",
        )
        self.label_combo.setMinimumContentsLength(8)
        self.label_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )

        self.method_combo = QtWidgets.QComboBox()
        self.method_combo.setObjectName("datasetMethodCombo")
        _describe(self.method_combo, "Method", "How the table is prepared before its SVD")
        self.method_combo.setMinimumContentsLength(13)
        self.method_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        for i, m in enumerate(method_keys()):
            self.method_combo.addItem(method_title(m), m)
            self.method_combo.setItemData(i, method_description(m), Qt.ItemDataRole.ToolTipRole)
        # Placed by the tab beside the notices (which say what was left out), not in this row.
        self.columns_button = ColumnChooser()

        self.x_spin = _component_spin("datasetXComponent", "X axis component", 1)
        self.y_spin = _component_spin("datasetYComponent", "Y axis component", 2)
        self.swap_button = QtWidgets.QToolButton()
        self.swap_button.setObjectName("datasetSwapAxes")
        self.swap_button.setText("⇄")
        _describe(self.swap_button, "Swap axes", "Swap the x and y components")

        self.arrows_check = QtWidgets.QCheckBox("Feature arrows")
        self.arrows_check.setObjectName("datasetArrows")
        _describe(
            self.arrows_check,
            "Feature arrows",
            "Biplot: draw each feature's loading (component · √explained variance) as an arrow "
            "from the origin, scaled to the points; the 12 longest are shown",
        )

        # A push button reserves room for its menu arrow; a tool button draws it over the text.
        self.export_button = QtWidgets.QPushButton("Export")
        self.export_button.setObjectName("datasetExport")
        _describe(self.export_button, "Export", "Save the projected coordinates (CSV) or the plot")
        menu = QtWidgets.QMenu(self.export_button)
        for kind, text in EXPORT_KINDS:
            menu.addAction(text, lambda _checked=False, k=kind: self.export_requested.emit(k))
        self.export_button.setMenu(menu)

        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)

        def labelled(text: str, w: QtWidgets.QWidget, stretch: int = 0) -> None:
            lab = QtWidgets.QLabel(text)
            lab.setBuddy(w)
            row.addWidget(lab)
            row.addWidget(w, stretch)

        labelled("&Dataset:", self.dataset_combo)
        labelled("&Label:", self.label_combo)
        row.addSpacing(6)
        # The method combo takes spare width up to its longest title; narrower, it elides.
        titles = [self.method_combo.itemText(i) for i in range(self.method_combo.count())]
        longest = max(titles, key=len)
        self.method_combo.setMaximumWidth(self.fontMetrics().horizontalAdvance(longest) + 48)
        labelled("&Method:", self.method_combo, 1)
        row.addSpacing(6)
        labelled("&X:", self.x_spin)
        labelled("&Y:", self.y_spin)
        row.addWidget(self.swap_button)
        row.addSpacing(6)
        row.addWidget(self.arrows_check)
        row.addStretch(1)
        row.addWidget(self.export_button)

    def set_view_enabled(self, on: bool) -> None:
        """Axes, arrows and export only make sense while a projection is on show."""
        for w in (
            self.x_spin,
            self.y_spin,
            self.swap_button,
            self.arrows_check,
            self.export_button,
        ):
            w.setEnabled(on)

    def select_source(self, data: str, path: str) -> None:
        """Show the chooser entry whose data is ``data`` (a bundled key or a path)."""
        idx = self.dataset_combo.findData(data)
        if idx >= 0:
            self.dataset_combo.setCurrentIndex(idx)
        self.dataset_combo.setToolTip(f"Dataset: {path}\nChoose another, or open your own CSV/TSV")

    def add_user_file(self, path: str) -> None:
        """List a file the user opened (once), just above "Open file…"."""
        if path not in self._user_files:
            self._user_files.append(path)
            self.dataset_combo.insertItem(self.dataset_combo.count() - 1, Path(path).name, path)

    def set_label_columns(self, columns: list[str], current: str | None) -> None:
        """Offer "(no label)" and ``columns``; choose ``current`` (no signal emitted)."""
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItem(NO_LABEL)
        self.label_combo.addItems(columns)
        self.label_combo.setCurrentText(current or NO_LABEL)
        self.label_combo.blockSignals(False)

    def show_components(self, res: Projection, x: int, y: int) -> None:
        """Let the axes choose among the projection's components; show ``x`` and ``y`` (1-based,
        clamped into range).  Emits no signals (this shows the model, it does not edit it)."""
        count = res.n_components
        for spin in (self.x_spin, self.y_spin):
            spin.blockSignals(True)
            spin.setRange(1, count)
            spin.setPrefix(component_prefix(res.method))
            spin.blockSignals(False)
        self.show_axes(x, y)

    def show_axes(self, x: int, y: int) -> None:
        """Put ``x`` and ``y`` (1-based) in the spin boxes without emitting signals."""
        for spin, v in ((self.x_spin, x), (self.y_spin, y)):
            spin.blockSignals(True)
            spin.setValue(v)
            spin.blockSignals(False)

    def show_method(self, key: str) -> None:
        """Select method ``key`` in the list without emitting signals."""
        i = self.method_combo.findData(key)
        if i >= 0 and i != self.method_combo.currentIndex():
            self.method_combo.blockSignals(True)
            self.method_combo.setCurrentIndex(i)
            self.method_combo.blockSignals(False)

    def show_arrows(self, on: bool) -> None:
        """Tick the arrows box without emitting signals."""
        self.arrows_check.blockSignals(True)
        self.arrows_check.setChecked(on)
        self.arrows_check.blockSignals(False)

    def axes(self) -> tuple[int, int]:
        """The components in the spin boxes (1-based)."""
        return self.x_spin.value(), self.y_spin.value()


def _component_spin(name: str, title: str, value: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setObjectName(name)
    spin.setAccessibleName(title)
    spin.setToolTip(f"{title}: any component, not only the first two")
    spin.setRange(1, 2)
    spin.setValue(value)
    spin.setKeyboardTracking(False)
    spin.setMinimumWidth(70)
    return spin
