"""What the Dataset lab shows about the hovered row: a panel, its tooltip, and for pixel tables
(Digits) the sample drawn as its small image."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import Qt

from svdstudio.io.datasets import Dataset

__all__ = ["DigitView", "HoverPanel", "RowDescription", "describe_row"]

MAX_VALUES = 20


@dataclass(frozen=True)
class RowDescription:
    """Everything said about one hovered row, as plain text lines."""

    title: str  # "Row 61 · species = versicolor"
    coords: str  # "SVD1 = 6.479, SVD2 = 0.3096"
    lines: list[str]  # original values, or the pixel grid as text rows
    grid: np.ndarray | None  # the pixel values as an image, for pixel tables

    def plain(self) -> str:
        """Title, coordinates and values, one per line."""
        return "\n".join([self.title, self.coords, *self.lines])

    def rich(self) -> str:
        """Tooltip rich text (a fixed-width block so pixel rows line up)."""
        body = html.escape("\n".join([self.coords, *self.lines]))
        return f"<b>{html.escape(self.title)}</b><pre>{body}</pre>"


def describe_row(
    ds: Dataset,
    i: int,
    coords: str,
    grid_shape: tuple[int, int] | None,
) -> RowDescription:
    """Describe kept row ``i`` of ``ds``: number in the file, label, original values."""
    label = f" · {ds.label_name} = {ds.labels[i]}" if ds.labels is not None else ""
    title = f"Row {int(ds.row_numbers[i])}{label}"
    values = ds.original_values(i)
    grid = None
    if grid_shape is not None:
        h, w = grid_shape
        grid = np.array([[values.get(f"pixel_r{r}_c{c}", 0.0) for c in range(w)] for r in range(h)])
        # The pixel values as the image they are: one line per pixel row.
        lines = [f"{h}×{w} pixel values:"]
        lines += [" ".join(f"{v:>2.0f}" for v in pixel_row) for pixel_row in grid]
    else:
        ordered = [c for c in ds.all_columns if c in values]
        shown = ordered[:MAX_VALUES]
        lines = [f"{c} = {values[c]:.6g}" for c in shown]
        if len(ordered) > len(shown):
            lines.append(f"… and {len(ordered) - len(shown)} more values")
    return RowDescription(title, coords, lines, grid)


def _two_column_table(lines: list[str]) -> str:
    """Rich text: short lists as lines, longer ones in two columns (fills a narrow panel)."""
    cells = [html.escape(t) for t in lines]
    if len(cells) <= 6:
        return "<br>".join(cells)
    half = (len(cells) + 1) // 2
    rows = [
        f"<tr><td style='padding-right:14px'>{a}</td><td>{b}</td></tr>"
        for a, b in zip(cells[:half], [*cells[half:], ""], strict=True)
    ]
    return f"<table cellspacing='0' cellpadding='0'>{''.join(rows)}</table>"


class DigitView(QtWidgets.QLabel):
    """A small grid image (e.g. an 8×8 digit), dark ink on white, drawn with square pixels."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, side: int = 128) -> None:
        super().__init__(parent)
        self.setObjectName("datasetDigitImage")
        self.setAccessibleName("Image of the hovered sample")
        self.setToolTip("The hovered sample drawn as its 8×8 image (darker = larger value)")
        self._side = side
        self.setFixedSize(side + 2, side + 2)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("QLabel { border: 1px solid #c8c8c8; background: white; }")
        self._grid: np.ndarray | None = None

    def set_grid(self, grid: np.ndarray | None, vmax: float = 16.0) -> None:
        """Show a 2-D array of values in [0, vmax] (None clears)."""
        self._grid = None if grid is None else np.asarray(grid, dtype=np.float64)
        if self._grid is None:
            self.clear()
            return
        g = np.clip(self._grid / (vmax or 1.0), 0.0, 1.0)
        pixels = np.ascontiguousarray((255 * (1.0 - g)).round().astype(np.uint8))
        h, w = pixels.shape
        img = QtGui.QImage(pixels.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8).copy()
        self.setPixmap(
            QtGui.QPixmap.fromImage(img).scaled(
                self._side,
                self._side,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )

    def grid(self) -> np.ndarray | None:
        """The values on show."""
        return self._grid


class HoverPanel(QtWidgets.QFrame):
    """Title, coordinates and values of the hovered row; the digit image for pixel tables."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetHoverPanel")
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setMinimumHeight(170)
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("datasetHoverTitle")
        self.title.setAccessibleName("Hovered row")
        self.title.setStyleSheet("font-weight: 600;")
        self.info = QtWidgets.QLabel()
        self.info.setObjectName("datasetHoverInfo")
        self.info.setAccessibleName("Hovered row values")
        self.info.setToolTip("The original values of the hovered row")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.digit_view = DigitView()
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.info, 1, 0)
        grid.addWidget(self.digit_view, 1, 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(0, 1)
        grid.setRowStretch(1, 1)
        self.set_pixel_mode(False)
        self.show_row(None)

    def set_pixel_mode(self, on: bool) -> None:
        """Show the image panel (pixel tables) and a fixed-width font so pixel rows line up."""
        self.digit_view.setVisible(on)
        self.digit_view.set_grid(None)
        font = (
            QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
            if on
            else self.font()
        )
        self.info.setFont(font)

    def show_row(self, desc: RowDescription | None) -> None:
        """Describe a row, or invite the user to hover one (None)."""
        if desc is None:
            self.title.setText("Hover a point to see its row")
            self.info.setText("")
            self.digit_view.set_grid(None)
            return
        self.title.setText(desc.title)
        if desc.grid is not None:
            body = f"<pre>{html.escape(chr(10).join(desc.lines))}</pre>"
            self.digit_view.set_grid(desc.grid, vmax=max(16.0, float(desc.grid.max())))
        else:
            body = _two_column_table(desc.lines)
        self.info.setText(f"{html.escape(desc.coords)}<br>{body}")
