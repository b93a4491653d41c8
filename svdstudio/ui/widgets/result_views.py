"""Read-only grids for numpy results (U, Σ, Vᵀ, A_k, residual …) with adjustable decimals.

Model-based (no per-cell items), so a 500×500 result costs nothing until cells are painted.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QTableView,
)

__all__ = [
    "NEGATIVE_RGB",
    "POSITIVE_RGB",
    "ArrayTableModel",
    "ArrayView",
    "label_corner_button",
    "sign_legend_html",
]

#: Full-strength shades of the sign colouring (positive red, negative blue); weaker values
#: blend towards white in 10 steps of |value| / max |value|.
POSITIVE_RGB = (214, 96, 77)
NEGATIVE_RGB = (67, 147, 195)


def _shade(rgb: tuple[int, int, int], level: int) -> QColor:
    t = level / 10
    return QColor(*(round(255 + (c - 255) * t) for c in rgb))


def sign_legend_html(vmax: float, what: str = "value") -> str:
    """Rich text legend of the sign colouring: the two colours, and what full strength means."""

    def swatch(rgb: tuple[int, int, int]) -> str:
        return f"<span style='background:rgb{rgb}; color:rgb{rgb}'>&nbsp;■■&nbsp;</span>"

    return (
        f"{swatch(POSITIVE_RGB)} {what} &gt; 0 &nbsp; {swatch(NEGATIVE_RGB)} {what} &lt; 0"
        f" &nbsp;·&nbsp; white = 0, full colour = ±{vmax:.3g} (the largest |{what}|)"
    )


Index = QModelIndex | QPersistentModelIndex


def label_corner_button(view: QTableView) -> None:
    """Give the table's top-left "select all" button a tooltip and accessible name."""
    button = view.findChild(QAbstractButton, "qt_tableview_cornerbutton")
    if button is not None:
        button.setToolTip("Select all cells")
        button.setAccessibleName("Select all cells")


class ArrayTableModel(QAbstractTableModel):
    """A 2-D (or 1-D, shown as a column) float array with fixed-point display.

    ``kept_rows`` / ``kept_cols``: rows / columns past these counts are drawn grey (the
    singular triplets a rank-k approximation drops).  ``magnitude_colours`` shades each cell
    by |value| / max |value| (the residual view).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._a = np.zeros((0, 0))
        self._decimals = 4
        self._row_labels: list[str] | None = None
        self._col_labels: list[str] | None = None
        self._kept_rows: int | None = None
        self._kept_cols: int | None = None
        self._magnitude = False
        self._signed = False
        self._vmax = 0.0
        self._grey = QBrush(QColor(150, 150, 150))
        self._brushes = [QBrush(QColor(255, 255 - 12 * i, 255 - 20 * i)) for i in range(11)]
        self._pos_brushes = [QBrush(_shade(POSITIVE_RGB, i)) for i in range(11)]
        self._neg_brushes = [QBrush(_shade(NEGATIVE_RGB, i)) for i in range(11)]

    # ---- configuration --------------------------------------------------------------------
    def set_array(
        self,
        a: np.ndarray | None,
        row_labels: list[str] | None = None,
        col_labels: list[str] | None = None,
    ) -> None:
        arr = np.zeros((0, 0)) if a is None else np.asarray(a, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        self.beginResetModel()
        self._a = arr
        self._row_labels = row_labels
        self._col_labels = col_labels
        # max and min, not abs: no temporary the size of the array (200 MB for a 5000²).
        self._vmax = max(float(arr.max()), -float(arr.min())) if arr.size else 0.0
        self.endResetModel()

    def array(self) -> np.ndarray:
        return self._a

    def set_decimals(self, decimals: int) -> None:
        self._decimals = int(decimals)
        self._refresh()

    def decimals(self) -> int:
        return self._decimals

    def set_kept(self, rows: int | None = None, cols: int | None = None) -> None:
        self._kept_rows, self._kept_cols = rows, cols
        self._refresh()

    def set_magnitude_colours(self, on: bool) -> None:
        self._magnitude = bool(on)
        self._refresh()

    def set_sign_colours(self, on: bool) -> None:
        """Shade cells red (> 0) or blue (< 0), stronger with |value| / max |value|."""
        self._signed = bool(on)
        self._refresh()

    def max_abs(self) -> float:
        """The largest |value| (the colouring's full strength)."""
        return self._vmax

    def cell_colour(self, r: int, c: int) -> QColor | None:
        """The background the cell is drawn with (None: the view's own)."""
        brush = self.data(self.index(r, c), Qt.ItemDataRole.BackgroundRole)
        return brush.color() if isinstance(brush, QBrush) else None

    def _refresh(self) -> None:
        if self._a.size:
            self.dataChanged.emit(
                self.index(0, 0), self.index(self._a.shape[0] - 1, self._a.shape[1] - 1)
            )

    # ---- Qt model interface ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._a.shape[0])

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._a.shape[1])

    def text(self, r: int, c: int) -> str:
        t = f"{self._a[r, c]:.{self._decimals}f}"
        # "-0.0000" for a rounding-level residual reads like a real negative number.
        return t[1:] if t.startswith("-") and not t.strip("-0.") else t

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, c)
        if role == Qt.ItemDataRole.UserRole:
            return float(self._a[r, c])
        if role == Qt.ItemDataRole.ToolTipRole:
            return repr(float(self._a[r, c]))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and (
            (self._kept_rows is not None and r >= self._kept_rows)
            or (self._kept_cols is not None and c >= self._kept_cols)
        ):
            return self._grey
        if role == Qt.ItemDataRole.BackgroundRole and self._vmax > 0:
            v = float(self._a[r, c])
            level = round(10 * abs(v) / self._vmax)
            if self._signed:
                if level == 0:
                    return None
                return (self._pos_brushes if v > 0 else self._neg_brushes)[level]
            if self._magnitude:
                return self._brushes[level]
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        labels = self._col_labels if orientation == Qt.Orientation.Horizontal else self._row_labels
        if labels is not None and section < len(labels):
            return labels[section]
        return str(section + 1)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ArrayView(QTableView):
    """A read-only ``QTableView`` over an :class:`ArrayTableModel`, fixed section sizes."""

    def __init__(self, name: str, tooltip: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setToolTip(tooltip)
        self.setAccessibleName(tooltip.split(":")[0])
        self.setModel(ArrayTableModel(self))
        label_corner_button(self)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(QFontMetrics(self.font()).height() + 6)
        self._fit_columns()

    def array_model(self) -> ArrayTableModel:
        return self.model()  # type: ignore[return-value]

    def set_array(self, a, row_labels=None, col_labels=None) -> None:
        self.array_model().set_array(a, row_labels, col_labels)
        self._fit_columns()

    def set_decimals(self, decimals: int) -> None:
        self.array_model().set_decimals(decimals)
        self._fit_columns()

    def _fit_columns(self) -> None:
        # Width for the widest value at the current decimals, computed once, not per cell.
        m = self.array_model()
        vmax = m.max_abs() if m.array().size else 1.0
        sample = f"-{vmax:.{m.decimals()}f}"
        metrics = QFontMetrics(self.font())
        width = metrics.horizontalAdvance(sample) + 16
        labels = m._col_labels or []
        label_width = max((metrics.horizontalAdvance(t) + 20 for t in labels), default=0)
        self.horizontalHeader().setDefaultSectionSize(max(56, label_width, min(width, 220)))

    def selection_text(self) -> str:
        """The selected block as tab-separated text at the displayed decimals."""
        idx = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        if not idx:
            return ""
        rows = range(min(i.row() for i in idx), max(i.row() for i in idx) + 1)
        cols = range(min(i.column() for i in idx), max(i.column() for i in idx) + 1)
        m = self.array_model()
        return "\n".join("\t".join(m.text(r, c) for c in cols) for r in rows) + "\n"

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            QApplication.clipboard().setText(self.selection_text())
            return
        super().keyPressEvent(event)
