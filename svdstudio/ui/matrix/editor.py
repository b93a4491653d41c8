"""Left half of the Matrix workbench: the editable grid, its size, presets and clipboard."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from svdstudio.io.matrix import parse_matrix_text
from svdstudio.ui.matrix.model import MatrixModel, split_cells
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX, PRESETS, make_preset
from svdstudio.ui.widgets.result_views import label_corner_button
from svdstudio.ui.widgets.tagging import tag

__all__ = ["HINT", "MatrixEditor", "tag"]

HINT = "Type numbers (invalid ones turn red) or paste a block with Ctrl+V."
#: The grid's size limit (rows and columns each); bigger matrices belong in a file.
MAX_SIZE = 1000
# The size boxes accept more digits than the limit so that typing 2000 is answered with the
# limit instead of being cut to 200 by the spin box's validator.
_SPIN_TYPING_MAX = 999_999


class _MatrixTable(QTableView):
    """The editable grid; routes copy / paste / delete to the editor."""

    def __init__(self, editor: MatrixEditor):
        super().__init__(editor)
        self._editor = editor

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self._editor.copy()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self._editor.paste()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.state() != (
            QAbstractItemView.State.EditingState
        ):
            self._editor.clear_selection()
        else:
            super().keyPressEvent(event)


class MatrixEditor(QWidget):
    """Grid (``matrixTable``), size spin boxes, row/column buttons, presets, undo/redo.

    ``toolbar`` is a layout the tab puts its file buttons into.
    """

    status_message = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = MatrixModel(ARTICLE_MATRIX, self)
        self.stack = self.model.undo_stack()
        self.model.shape_changed.connect(self._sync_size_spins)
        m, n = self.model.matrix_shape()

        self.rows_spin = self._spin(
            "rowsSpin", 1, _SPIN_TYPING_MAX, m, f"Number of rows m (1 to {MAX_SIZE})", "rows: "
        )
        self.cols_spin = self._spin(
            "colsSpin", 1, _SPIN_TYPING_MAX, n, f"Number of columns n (1 to {MAX_SIZE})", "cols: "
        )
        self.rows_spin.valueChanged.connect(self._on_size_spin)
        self.cols_spin.valueChanged.connect(self._on_size_spin)
        size_row = QHBoxLayout()
        size_row.addWidget(self.rows_spin)
        size_row.addWidget(
            self._button(
                "addRowButton", "+ row", "Insert a row below the current cell", self.add_row
            )
        )
        size_row.addWidget(
            self._button(
                "removeRowButton",
                "− row",
                "Remove the selected rows (or the current row)",
                self.remove_rows,
            )
        )
        size_row.addSpacing(8)
        size_row.addWidget(self.cols_spin)
        size_row.addWidget(
            self._button(
                "addColumnButton",
                "+ col",
                "Insert a column right of the current cell",
                self.add_column,
            )
        )
        size_row.addWidget(
            self._button(
                "removeColumnButton",
                "− col",
                "Remove the selected columns (or the current column)",
                self.remove_columns,
            )
        )
        size_row.addStretch(1)

        self.preset_combo = QComboBox(self)
        tag(
            self.preset_combo,
            "presetCombo",
            "Load an example matrix of the size set by rows × cols",
            "Presets",
        )
        for key, (label, tip) in PRESETS.items():
            self.preset_combo.addItem(label, key)
            last = self.preset_combo.count() - 1
            self.preset_combo.setItemData(last, tip, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setPlaceholderText("Load a preset…")
        self.preset_combo.setCurrentIndex(-1)  # acts like a menu: the placeholder shows
        self.preset_combo.activated.connect(
            lambda i: self.load_preset(self.preset_combo.itemData(i))
        )
        self.preset_rank = self._spin(
            "presetRankSpin", 1, 1000, 2, "Rank r of the random preset", "r = "
        )
        self.preset_seed = self._spin(
            "presetSeedSpin",
            0,
            999_999,
            0,
            "Random seed of the random preset (same seed, same matrix)",
            "seed ",
        )
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset_combo, 1)
        preset_row.addWidget(self.preset_rank)
        preset_row.addWidget(self.preset_seed)

        self.toolbar = QHBoxLayout()
        undo = self._button("undoButton", "Undo", "Undo the last edit", self.stack.undo)
        redo = self._button("redoButton", "Redo", "Redo the edit just undone", self.stack.redo)
        self.stack.canUndoChanged.connect(undo.setEnabled)
        self.stack.canRedoChanged.connect(redo.setEnabled)
        undo.setEnabled(False)
        redo.setEnabled(False)
        self.toolbar.addWidget(undo)
        self.toolbar.addWidget(redo)
        self.toolbar.addStretch(1)

        self.table = _MatrixTable(self)
        tag(
            self.table,
            "matrixTable",
            "The matrix A: type numbers, paste a block from a spreadsheet (Ctrl+V), drop a "
            "CSV/TSV/NPY file here",
            "Matrix A",
        )
        self.table.setModel(self.model)
        label_corner_button(self.table)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row sizing
        width = self.fontMetrics().horizontalAdvance("-0.0000000") + 12
        self.table.horizontalHeader().setDefaultSectionSize(width)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

        self.hint = QLabel(HINT, self)
        tag(self.hint, "matrixHint", "What the grid accepts", "Matrix hint")
        self.hint.setWordWrap(True)
        self._hint_index = -1
        self.stack.indexChanged.connect(self._reset_hint)

        col = self.column = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 4, 0)
        col.addLayout(self.toolbar)
        col.addLayout(size_row)
        col.addLayout(preset_row)
        col.addWidget(self.table, 1)
        col.addWidget(self.hint)

    def _button(self, name: str, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        tag(b, name, tip, tip.split("(")[0].strip())
        b.clicked.connect(slot)
        return b

    def _spin(self, name: str, lo: int, hi: int, value: int, tip: str, label: str) -> QSpinBox:
        s = QSpinBox(self)
        s.setRange(lo, hi)
        s.setValue(value)
        s.setKeyboardTracking(False)  # typing "12" is one resize, not two
        s.setPrefix(label)
        tag(s, name, tip, tip)
        return s

    # ---- clipboard ------------------------------------------------------------------------
    def copy(self) -> None:
        """Copy the selected cells (or the current one) as tab-separated text."""
        idx = self.table.selectionModel().selectedIndexes()
        if not idx and self.table.currentIndex().isValid():
            idx = [self.table.currentIndex()]
        if not idx:
            return
        rows = range(min(i.row() for i in idx), max(i.row() for i in idx) + 1)
        cols = range(min(i.column() for i in idx), max(i.column() for i in idx) + 1)
        keep = {(i.row(), i.column()) for i in idx}
        QApplication.clipboard().setText(self.model.block_text(rows, cols, keep))
        self.status_message.emit(f"Copied a {len(rows)}×{len(cols)} block as tab-separated text.")

    def paste(self) -> bool:
        return self.paste_text(QApplication.clipboard().text())

    def paste_text(self, text: str) -> bool:
        """Paste a spreadsheet block at the current cell, growing the matrix if needed.

        Short rows are padded with 0 and said so; cells that are not numbers stay as red text.
        """
        if not text.strip():
            self.status_message.emit("Nothing to paste: the clipboard holds no text.")
            return False
        notes = []
        try:
            parsed = parse_matrix_text(text, ragged="pad")
            values, bad, padded = np.array(parsed.values, dtype=float), {}, parsed.padded_rows
            if parsed.header:
                notes.append("skipped the header row")
        except ValueError:
            values, bad, padded = split_cells(text)  # keep what was typed, shown red
        values = np.where(np.isfinite(values), values, 0.0)
        cur = self.table.currentIndex()
        r0, c0 = (cur.row(), cur.column()) if cur.isValid() else (0, 0)
        h, w = values.shape
        self.model.paste_block(r0, c0, values, bad, text=f"Paste {h}×{w} block")
        top, bottom = self.model.index(r0, c0), self.model.index(r0 + h - 1, c0 + w - 1)
        self.table.selectionModel().select(
            QItemSelection(top, bottom), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        if padded:
            many = len(padded) > 1
            notes.append(
                f"row{'s' if many else ''} {', '.join(map(str, padded))} "
                f"{'were' if many else 'was'} short and padded with zeros"
            )
        if bad:
            notes.append(f"{len(bad)} cell{'s are' if len(bad) > 1 else ' is'} not a number (red)")
        msg = f"Pasted a {h}×{w} block at ({r0 + 1}, {c0 + 1})"
        self.status_message.emit(msg + (": " + "; ".join(notes) if notes else "") + ".")
        if notes:
            self.hint.setText("Warning: " + "; ".join(notes) + ".")
            self.hint.setStyleSheet("color:#8a5a00; font-weight:bold;")
            self._hint_index = self.stack.index()
        return True

    def _reset_hint(self, index: int) -> None:
        # A paste warning stays until the next edit (or undo) moves the history on.
        if self._hint_index >= 0 and index != self._hint_index:
            self._hint_index = -1
            self.hint.setText(HINT)
            self.hint.setStyleSheet("")

    def clear_selection(self) -> None:
        """Set the selected cells to 0 (one undo step)."""
        idx = self.table.selectionModel().selectedIndexes()
        if not idx:
            return
        r0, c0 = min(i.row() for i in idx), min(i.column() for i in idx)
        r1, c1 = max(i.row() for i in idx), max(i.column() for i in idx)
        block = np.array(self.model.values()[r0 : r1 + 1, c0 : c1 + 1])
        keep = {
            (r - r0, c - c0): t
            for (r, c), t in self.model.invalid_cells().items()
            if r0 <= r <= r1 and c0 <= c <= c1
        }
        for i in idx:
            block[i.row() - r0, i.column() - c0] = 0.0
            keep.pop((i.row() - r0, i.column() - c0), None)
        self.model.paste_block(r0, c0, block, keep, text="Clear cells")

    # ---- structure ------------------------------------------------------------------------
    def load_preset(self, key: str) -> None:
        """Replace the matrix by preset ``key`` at the size of the spin boxes (undoable)."""
        preset = make_preset(
            key,
            self.rows_spin.value(),
            self.cols_spin.value(),
            rank=self.preset_rank.value(),
            seed=self.preset_seed.value(),
        )
        label = PRESETS[key][0]
        self.model.load_matrix(preset, text=f"Load preset {label}")
        self.preset_combo.setCurrentIndex(-1)
        m, n = preset.shape
        self.status_message.emit(f"Loaded the preset {label}: {m}×{n}.")

    def _current(self) -> tuple[int, int]:
        cur = self.table.currentIndex()
        return (cur.row(), cur.column()) if cur.isValid() else (-1, -1)

    def _selected(self, axis: int) -> list[int]:
        sel = self.table.selectionModel().selectedIndexes()
        items = sorted({i.row() if axis == 0 else i.column() for i in sel})
        if not items:
            cur = self._current()[axis]
            items = [cur] if cur >= 0 else [self.model.matrix_shape()[axis] - 1]
        return items

    def add_row(self) -> None:
        r = self._current()[0]
        self.model.insert_rows(r + 1 if r >= 0 else self.model.matrix_shape()[0])

    def add_column(self) -> None:
        c = self._current()[1]
        self.model.insert_columns(c + 1 if c >= 0 else self.model.matrix_shape()[1])

    def remove_rows(self) -> None:
        rows = self._selected(0)
        self.model.remove_rows(rows[0], rows[-1] - rows[0] + 1)

    def remove_columns(self) -> None:
        cols = self._selected(1)
        self.model.remove_columns(cols[0], cols[-1] - cols[0] + 1)

    def _context_menu(self, pos) -> None:
        self.context_menu().exec(self.table.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """The grid's right-click menu (clipboard, zeroing, rows and columns)."""
        menu = QMenu(self)
        menu.setObjectName("matrixContextMenu")
        for text, slot in (
            ("Copy as tab-separated text", self.copy),
            ("Paste at this cell", self.paste),
            ("Set selected cells to 0", self.clear_selection),
            (None, None),
            ("Insert row below", self.add_row),
            ("Remove selected rows", self.remove_rows),
            ("Insert column to the right", self.add_column),
            ("Remove selected columns", self.remove_columns),
        ):
            if text is None:
                menu.addSeparator()
            else:
                menu.addAction(text).triggered.connect(slot)
        return menu

    def _on_size_spin(self) -> None:
        rows, cols = self.rows_spin.value(), self.cols_spin.value()
        over = [(what, v) for what, v in (("rows", rows), ("columns", cols)) if v > MAX_SIZE]
        if over:
            what, v = over[0]
            self._sync_size_spins(*self.model.matrix_shape())
            self.warn(
                f"The size boxes go up to {MAX_SIZE} {what}; {v} was not applied "
                "(open a file for a bigger matrix)"
            )
            return
        self.model.resize_matrix(rows, cols)
        self._sync_size_spins(*self.model.matrix_shape())

    def warn(self, text: str) -> None:
        """A warning under the grid (until the next edit) and in the status bar."""
        self.status_message.emit(text + ".")
        self.hint.setText("Warning: " + text + ".")
        self.hint.setStyleSheet("color:#8a5a00; font-weight:bold;")
        self._hint_index = self.stack.index()

    def _sync_size_spins(self, m: int, n: int) -> None:
        for spin, v in ((self.rows_spin, m), (self.cols_spin, n)):
            spin.blockSignals(True)
            spin.setValue(v)
            spin.blockSignals(False)
