"""The Matrix workbench tab: edit a matrix on the left, see its SVD on the right.

Every valid edit submits one decomposition on the "matrix.svd" channel; rank changes only
slice the cached result (see :mod:`svdstudio.ui.matrix_results`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QSettings,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from svdstudio.engine import decompose
from svdstudio.io.matrix import (
    MATRIX_FILE_FILTER,
    parse_matrix_text,
    read_matrix,
    write_matrix,
)
from svdstudio.ui.matrix_model import MatrixModel, parse_cell
from svdstudio.ui.matrix_presets import ARTICLE_MATRIX, PRESETS, make_preset
from svdstudio.ui.matrix_results import ResultsPanel
from svdstudio.ui.result_views import label_corner_button

__all__ = ["MatrixTab", "split_cells"]

# scipy's SVD holds the GIL in a thread: measured here, a 500×500 froze the GUI for its whole
# run (≈ 1.2 s under load), a worker process for ≈ 66 ms.  From about 300×300 up, pay the
# process start (≈ 0.8 s) instead, and wait for a pause in typing before starting it.
PROCESS_ELEMENTS = 90_000
BIG_EDIT_DELAY_MS = 300
INLINE_STATE_CELLS = 20_000  # larger matrices are autosaved to an .npy, not into QSettings
MATRIX_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")
HINT = "Type numbers (invalid cells turn red); paste a spreadsheet block with Ctrl+V."


def split_cells(text: str) -> tuple[np.ndarray, dict[tuple[int, int], str], list[int]]:
    """Tolerant split of pasted/saved text: (values, invalid cells, padded 1-based rows).

    Cells that are not numbers are kept as text (shown red) so nothing typed is lost.
    """
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if "\t" in text:
        rows = [ln.split("\t") for ln in lines]
    elif "," in text:
        rows = [ln.split(",") for ln in lines]
    else:
        rows = [ln.split() for ln in lines]
    width = max((len(r) for r in rows), default=0)
    values = np.zeros((len(rows), max(width, 1)))
    bad: dict[tuple[int, int], str] = {}
    padded = []
    for i, row in enumerate(rows):
        if len(row) < width:
            padded.append(i + 1)
        for j, cell in enumerate(row):
            v, _ = parse_cell(cell)
            if v is None:
                bad[(i, j)] = cell.strip()
            else:
                values[i, j] = v
    return values, bad, padded


def _tag(widget: QWidget, name: str, tip: str, accessible: str) -> QWidget:
    widget.setObjectName(name)
    widget.setToolTip(tip)
    widget.setAccessibleName(accessible)
    return widget


def _to_int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


class _MatrixTable(QTableView):
    """The editable grid; routes copy / paste / delete to the tab."""

    def __init__(self, tab: MatrixTab):
        super().__init__(tab)
        self._tab = tab

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self._tab.copy()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self._tab.paste()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.state() != (
            QAbstractItemView.State.EditingState
        ):
            self._tab.clear_selection()
        else:
            super().keyPressEvent(event)


class MatrixTab(QWidget):
    """Matrix workbench (Tab API: see CONTRACTS.md)."""

    status_message = Signal(str)
    file_opened = Signal(str)

    def __init__(self, runner=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("matrixTab")
        self._runner = runner
        self._path: str | None = None
        self.setAcceptDrops(True)

        self._model = MatrixModel(ARTICLE_MATRIX, self)
        self._stack = self._model.undo_stack()
        self._model.matrix_changed.connect(self._schedule)
        self._model.shape_changed.connect(self._sync_size_spins)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Coalesce a burst of edits (one paste, one undo) into one decomposition.
        self._timer.timeout.connect(self._compute)

        self.results = ResultsPanel(self)
        self.results.status_message.connect(self.status_message)
        self.results_updated = self.results.results_updated
        self._build_left()

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("matrixSplitter")
        self.splitter.addWidget(self._left)
        self.splitter.addWidget(self.results)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([400, 860])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        self.results.set_rank(2)
        self._stack.setClean()
        self._schedule()

    # ---- construction ---------------------------------------------------------------------
    def _button(self, name: str, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        _tag(b, name, tip, tip.split(":")[0].split("(")[0].strip())
        b.clicked.connect(slot)
        return b

    def _spin(self, name: str, lo: int, hi: int, value: int, tip: str, label: str) -> QSpinBox:
        s = QSpinBox(self)
        s.setRange(lo, hi)
        s.setValue(value)
        s.setKeyboardTracking(False)  # typing "12" is one resize, not two
        s.setPrefix(label)
        _tag(s, name, tip, label.strip(" :"))
        return s

    def _build_left(self) -> None:
        self._left = QWidget(self)
        m, n = self._model.matrix_shape()
        self.rows_spin = self._spin("rowsSpin", 1, 1000, m, "Number of rows (m)", "rows: ")
        self.cols_spin = self._spin("colsSpin", 1, 1000, n, "Number of columns (n)", "cols: ")
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
        _tag(
            self.preset_combo,
            "presetCombo",
            "Load an example matrix of the size set by rows × cols",
            "Presets",
        )
        for key, (label, tip) in PRESETS.items():
            self.preset_combo.addItem(label, key)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.setPlaceholderText("Load a preset…")
        self.preset_combo.setCurrentIndex(-1)
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

        file_row = QHBoxLayout()
        file_row.addWidget(
            self._button(
                "openMatrixButton", "Open…", "Open a matrix from CSV, TSV or NPY", self.open_dialog
            )
        )
        file_row.addWidget(
            self._button(
                "saveMatrixButton", "Save as…", "Save the matrix as CSV, TSV or NPY", self.save_as
            )
        )
        undo = self._button("undoButton", "Undo", "Undo the last edit", self._stack.undo)
        redo = self._button("redoButton", "Redo", "Redo the edit just undone", self._stack.redo)
        self._stack.canUndoChanged.connect(undo.setEnabled)
        self._stack.canRedoChanged.connect(redo.setEnabled)
        undo.setEnabled(False)
        redo.setEnabled(False)
        file_row.addWidget(undo)
        file_row.addWidget(redo)
        file_row.addStretch(1)

        self.table = _MatrixTable(self)
        _tag(
            self.table,
            "matrixTable",
            "The matrix A: type numbers, paste a block from a spreadsheet (Ctrl+V), drop a "
            "CSV/TSV/NPY file here",
            "Matrix A",
        )
        self.table.setModel(self._model)
        label_corner_button(self.table)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        sample_width = self.fontMetrics().horizontalAdvance("-0.0000000")
        self.table.horizontalHeader().setDefaultSectionSize(sample_width + 12)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

        self.hint = QLabel(HINT, self)
        self._hint_index = -1
        self._stack.indexChanged.connect(self._reset_hint)
        _tag(self.hint, "matrixHint", "What the grid accepts", "Matrix hint")
        self.hint.setWordWrap(True)

        col = QVBoxLayout(self._left)
        col.setContentsMargins(0, 0, 4, 0)
        col.addLayout(file_row)
        col.addLayout(size_row)
        col.addLayout(preset_row)
        col.addWidget(self.table, 1)
        col.addWidget(self.hint)

    # ---- Tab API --------------------------------------------------------------------------
    def model(self) -> MatrixModel:
        return self._model

    def undo_stack(self) -> QUndoStack:
        return self._stack

    def file_filter(self) -> str:
        return MATRIX_FILE_FILTER

    def result(self):
        """The current SVDResult (None until the first decomposition arrives)."""
        return self.results.result()

    def rank(self) -> int:
        return self.results.rank()

    def has_unsaved_changes(self) -> bool:
        return not self._stack.isClean()

    def maybe_save(self) -> bool:
        """Ask Save / Discard / Cancel if there are unsaved edits; False means cancelled."""
        if not self.has_unsaved_changes():
            return True
        answer = self._ask_save_changes()
        if answer == "save":
            return self.save_as()
        return answer == "discard"

    def _ask_save_changes(self) -> str:
        buttons = (
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        answer = QMessageBox.question(
            self,
            "Unsaved matrix",
            "The matrix has edits that are not saved to a file. Save them first?",
            buttons,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return "save"
        return "discard" if answer == QMessageBox.StandardButton.Discard else "cancel"

    def _show_error(self, title: str, message: str) -> None:
        self.status_message.emit(message)
        QMessageBox.warning(self, title, message)

    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self, "Open matrix", self._dir(), MATRIX_FILE_FILTER)
        return self.open_file(path) if path else False

    def open_file(self, path: str) -> bool:
        """Load a CSV/TSV/NPY matrix (one undo step); asks first if edits are unsaved."""
        if not self.maybe_save():
            return False
        try:
            loaded = read_matrix(path)
        except (ValueError, OSError) as exc:
            self._show_error("Could not open matrix", str(exc))
            return False
        full = os.path.abspath(path)
        self._model.load_matrix(loaded, text=f"Open {Path(path).name}")
        self._stack.setClean()
        self._path = full
        self.file_opened.emit(full)
        m, n = loaded.shape
        self.status_message.emit(f"Opened {Path(path).name}: {m}×{n} matrix.")
        return True

    def save_as(self) -> bool:
        start = self._path or os.path.join(self._dir(), "matrix.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Save matrix as", start, MATRIX_FILE_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".csv"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        """Write the matrix to ``path`` (format by extension); refuses while cells are invalid."""
        bad = self._model.first_invalid()
        if bad is not None:
            r, c, why = bad
            self._show_error("Cannot save yet", f"Cell ({r + 1}, {c + 1}): {why}. Fix it first.")
            return False
        try:
            write_matrix(path, np.array(self._model.values()))
        except (ValueError, OSError) as exc:
            self._show_error("Could not save matrix", str(exc))
            return False
        self._path = os.path.abspath(path)
        self._stack.setClean()
        self.status_message.emit(f"Saved the matrix to {Path(path).name}.")
        return True

    def export(self) -> bool:
        """Save the result grid on show (U, Σ, A_k, …) as CSV/TSV/NPY."""
        current = self.results.current_array()
        if current is None:
            self.status_message.emit("No result to export yet.")
            return False
        title, array = current
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {title} as", os.path.join(self._dir(), "result.csv"), MATRIX_FILE_FILTER
        )
        if not path:
            return False
        try:
            write_matrix(path, array)
        except (ValueError, OSError) as exc:
            self._show_error("Could not export", str(exc))
            return False
        self.status_message.emit(f"Exported {title} to {Path(path).name}.")
        return True

    def _dir(self) -> str:
        return os.path.dirname(self._path) if self._path else os.path.expanduser("~")

    def copy(self) -> None:
        """Copy the selection as TSV (from a result grid if one has focus)."""
        focus = QApplication.focusWidget()
        for view in self.results.views.values():
            if focus is view and view.selectionModel().hasSelection():
                QApplication.clipboard().setText(view.selection_text())
                return
        idx = self.table.selectionModel().selectedIndexes()
        if not idx and self.table.currentIndex().isValid():
            idx = [self.table.currentIndex()]
        if not idx:
            return
        rows = range(min(i.row() for i in idx), max(i.row() for i in idx) + 1)
        cols = range(min(i.column() for i in idx), max(i.column() for i in idx) + 1)
        keep = {(i.row(), i.column()) for i in idx}
        QApplication.clipboard().setText(self._model.block_text(rows, cols, keep))
        self.status_message.emit(f"Copied a {len(rows)}×{len(cols)} block as tab-separated text.")

    def paste(self) -> bool:
        return self.paste_text(QApplication.clipboard().text())

    def paste_text(self, text: str) -> bool:
        """Paste a spreadsheet block at the current cell, growing the matrix if needed."""
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
            values, bad, padded = split_cells(text)
        values = np.where(np.isfinite(values), values, 0.0)
        cur = self.table.currentIndex()
        r0, c0 = (cur.row(), cur.column()) if cur.isValid() else (0, 0)
        h, w = values.shape
        self._model.paste_block(r0, c0, values, bad, text=f"Paste {h}×{w} block")
        top, bottom = self._model.index(r0, c0), self._model.index(r0 + h - 1, c0 + w - 1)
        self.table.selectionModel().select(
            QItemSelection(top, bottom), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        if padded:
            notes.append(
                f"row{'s' if len(padded) > 1 else ''} {', '.join(map(str, padded))} "
                f"{'were' if len(padded) > 1 else 'was'} short and padded with zeros"
            )
        if bad:
            notes.append(f"{len(bad)} cell{'s are' if len(bad) > 1 else ' is'} not a number (red)")
        msg = f"Pasted a {h}×{w} block at ({r0 + 1}, {c0 + 1})"
        self.status_message.emit(msg + (": " + "; ".join(notes) if notes else "") + ".")
        if notes:
            self.hint.setText("Warning: " + "; ".join(notes) + ".")
            self.hint.setStyleSheet("color:#8a5a00; font-weight:bold;")
            self._hint_index = self._stack.index()
        return True

    def _reset_hint(self, index: int) -> None:
        # A paste warning stays until the next edit (or undo) moves the history on.
        if self._hint_index >= 0 and index != self._hint_index:
            self._hint_index = -1
            self.hint.setText(HINT)
            self.hint.setStyleSheet("")

    def select_all(self) -> None:
        self.table.selectAll()

    def clear_selection(self) -> None:
        """Set the selected cells to 0 (one undo step)."""
        idx = self.table.selectionModel().selectedIndexes()
        if not idx:
            return
        r0, c0 = min(i.row() for i in idx), min(i.column() for i in idx)
        r1, c1 = max(i.row() for i in idx), max(i.column() for i in idx)
        block = np.array(self._model.values()[r0 : r1 + 1, c0 : c1 + 1])
        keep = {
            (r - r0, c - c0): t
            for (r, c), t in self._model.invalid_cells().items()
            if r0 <= r <= r1 and c0 <= c <= c1
        }
        for i in idx:
            block[i.row() - r0, i.column() - c0] = 0.0
            keep.pop((i.row() - r0, i.column() - c0), None)
        self._model.paste_block(r0, c0, block, keep, text="Clear cells")

    # ---- edits ----------------------------------------------------------------------------
    def load_preset(self, key: str) -> None:
        preset = make_preset(
            key,
            self.rows_spin.value(),
            self.cols_spin.value(),
            rank=self.preset_rank.value(),
            seed=self.preset_seed.value(),
        )
        label = PRESETS[key][0]
        self._model.load_matrix(preset, text=f"Load preset {label}")
        self.preset_combo.setCurrentIndex(-1)
        self.status_message.emit(f"Loaded the preset {label}: {preset.shape[0]}×{preset.shape[1]}.")

    def _current(self) -> tuple[int, int]:
        cur = self.table.currentIndex()
        return (cur.row(), cur.column()) if cur.isValid() else (-1, -1)

    def _selected(self, axis: int) -> list[int]:
        sel = self.table.selectionModel().selectedIndexes()
        items = sorted({i.row() if axis == 0 else i.column() for i in sel})
        if not items:
            cur = self._current()[axis]
            items = [cur] if cur >= 0 else [self._model.matrix_shape()[axis] - 1]
        return items

    def add_row(self) -> None:
        r = self._current()[0]
        self._model.insert_rows(r + 1 if r >= 0 else self._model.matrix_shape()[0])

    def add_column(self) -> None:
        c = self._current()[1]
        self._model.insert_columns(c + 1 if c >= 0 else self._model.matrix_shape()[1])

    def remove_rows(self) -> None:
        rows = self._selected(0)
        self._model.remove_rows(rows[0], rows[-1] - rows[0] + 1)

    def remove_columns(self) -> None:
        cols = self._selected(1)
        self._model.remove_columns(cols[0], cols[-1] - cols[0] + 1)

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
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
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _on_size_spin(self) -> None:
        self._model.resize_matrix(self.rows_spin.value(), self.cols_spin.value())
        self._sync_size_spins(*self._model.matrix_shape())

    def _sync_size_spins(self, m: int, n: int) -> None:
        for spin, v in ((self.rows_spin, m), (self.cols_spin, n)):
            spin.blockSignals(True)
            spin.setValue(v)
            spin.blockSignals(False)

    # ---- computation ----------------------------------------------------------------------
    def _schedule(self) -> None:
        m, n = self._model.matrix_shape()
        self._timer.start(BIG_EDIT_DELAY_MS if m * n >= PROCESS_ELEMENTS else 0)

    def _compute(self) -> None:
        bad = self._model.first_invalid()
        if bad is not None:
            if self._runner is not None:
                self._runner.cancel("matrix.svd")
            r, c, why = bad
            n_bad = len(self._model.invalid_cells())
            more = f" ({n_bad} invalid cells)" if n_bad > 1 else ""
            msg = f"Results wait: cell ({r + 1}, {c + 1}) is not a number{more} — {why}."
            self.results.set_waiting(msg)
            self.status_message.emit(msg)
            return
        a = np.array(self._model.values(), dtype=np.float64)  # the job gets its own copy
        m, n = a.shape
        if self._runner is None:
            try:
                res = decompose(a)
            except ValueError as exc:
                self._on_error(str(exc), "")
                return
            self._on_result(res, a)
            return
        if a.size >= PROCESS_ELEMENTS:
            self.results.set_banner(f"Computing the SVD of the {m}×{n} matrix…")
        self._runner.submit(
            "matrix.svd",
            decompose,
            a,
            description=f"SVD of the {m}×{n} matrix",
            in_process=a.size >= PROCESS_ELEMENTS,
            on_result=lambda res, a=a: self._on_result(res, a),
            on_error=self._on_error,
        )

    def _on_result(self, res, matrix: np.ndarray) -> None:
        self.results.set_result(res, matrix)

    def _on_error(self, message: str, details: str = "") -> None:
        self.results.set_waiting(f"Could not decompose the matrix: {message}")
        self.status_message.emit(f"Could not decompose the matrix: {message}")

    # ---- drag and drop --------------------------------------------------------------------
    def _dropped_path(self, event) -> str | None:
        md = event.mimeData()
        if not md.hasUrls():
            return None
        for url in md.urls():
            p = url.toLocalFile()
            if p and p.lower().endswith(MATRIX_SUFFIXES):
                return p
        return None

    def dragEnterEvent(self, event) -> None:
        if self._dropped_path(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        path = self._dropped_path(event)
        if path:
            event.acceptProposedAction()
            self.open_file(path)

    # ---- session state --------------------------------------------------------------------
    def load_defaults(self) -> None:
        """The article's 4×3 example at k = 2."""
        self._model.reset_matrix(ARTICLE_MATRIX)
        self._path = None
        self.results.set_rank(2)
        self._stack.setClean()
        self._schedule()

    def save_state(self, settings: QSettings) -> None:
        s, model = settings, self._model
        s.setValue("matrix/splitter", self.splitter.saveState())
        s.setValue("matrix/results_splitter", self.results.splitter.saveState())
        s.setValue("matrix/rank", self.results.rank())
        s.setValue("matrix/decimals", self.results.decimals.value())
        s.setValue("matrix/result_tab", self.results.tabs.currentIndex())
        s.setValue("matrix/preset_rank", self.preset_rank.value())
        s.setValue("matrix/preset_seed", self.preset_seed.value())
        s.setValue("matrix/path", self._path or "")
        s.setValue("matrix/unsaved", int(self.has_unsaved_changes()))
        m, n = model.matrix_shape()
        if m * n <= INLINE_STATE_CELLS:
            s.setValue("matrix/cells", model.block_text(range(m), range(n)))
            s.remove("matrix/cells_file")
            return
        # Large: values to an .npy in the app data dir, the few invalid texts inline.
        where = QStandardPaths.StandardLocation.AppDataLocation
        folder = Path(QStandardPaths.writableLocation(where))
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "matrix-autosave.npy"
        write_matrix(str(target), np.nan_to_num(np.array(model.values()), nan=0.0))
        s.setValue("matrix/cells_file", str(target))
        s.setValue(
            "matrix/invalid",
            "\n".join(f"{r}\t{c}\t{t}" for (r, c), t in model.invalid_cells().items()),
        )
        s.remove("matrix/cells")

    def restore_state(self, settings: QSettings) -> None:
        s = settings
        for key, widget in (
            ("matrix/splitter", self.splitter),
            ("matrix/results_splitter", self.results.splitter),
        ):
            state = s.value(key)
            if state is not None:
                widget.restoreState(state)
        self.results.decimals.setValue(_to_int(s.value("matrix/decimals"), 4))
        self.preset_rank.setValue(_to_int(s.value("matrix/preset_rank"), 2))
        self.preset_seed.setValue(_to_int(s.value("matrix/preset_seed"), 0))
        restored = self._restore_matrix(s)
        self._path = str(s.value("matrix/path") or "") or None
        if restored:
            self._stack.setClean()
            if _to_int(s.value("matrix/unsaved"), 0):
                self._stack.resetClean()  # edits from last time are still unsaved
        self.results.set_rank(_to_int(s.value("matrix/rank"), 2))
        self.results.tabs.setCurrentIndex(_to_int(s.value("matrix/result_tab"), 0))
        self._schedule()

    def _restore_matrix(self, s: QSettings) -> bool:
        cells = s.value("matrix/cells")
        if cells:
            values, bad, _ = split_cells(str(cells))
            self._model.reset_matrix(values, bad)
            return True
        path = s.value("matrix/cells_file")
        if path and Path(str(path)).is_file():
            try:
                values = read_matrix(str(path))
            except (ValueError, OSError) as exc:
                self.status_message.emit(f"Could not restore the last matrix: {exc}")
                return False
            bad = {}
            for line in str(s.value("matrix/invalid") or "").splitlines():
                parts = line.split("\t", 2)
                if len(parts) == 3:
                    bad[(int(parts[0]), int(parts[1]))] = parts[2]
            self._model.reset_matrix(values, bad)
            return True
        return False


def main() -> int:
    """Preview: ``python -m svdstudio.ui.matrix_tab``."""
    import sys

    app = QApplication.instance() or QApplication(sys.argv)
    try:
        from svdstudio.workers import JobRunner

        runner = JobRunner()
    except ImportError:
        runner = None  # compute synchronously
    tab = MatrixTab(runner)
    tab.status_message.connect(lambda m: tab.setWindowTitle(f"Matrix workbench — {m}"))
    tab.resize(1280, 760)
    tab.load_defaults()
    tab.show()
    code = app.exec()
    if runner is not None:
        runner.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
