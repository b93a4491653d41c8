"""The editable matrix: a table model over a numpy array, with undoable edits.

Values live in one float64 array; cells whose typed text is not a number are kept in a small
side table (position → raw text) so nothing typed is lost and the cell can be shown red with
the reason.  Every edit is a ``QUndoCommand`` on the model's ``QUndoStack``.
"""

from __future__ import annotations

import math
from operator import itemgetter

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QUndoCommand, QUndoStack

__all__ = ["MatrixModel", "cell_text_of", "parse_cell", "split_cells"]

Index = QModelIndex | QPersistentModelIndex
Invalid = dict[tuple[int, int], str]

_EDITABLE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

#: Each full-matrix undo step keeps two copies; cap the history so 500×500 stays modest.
UNDO_LIMIT = 100


def parse_cell(text: object) -> tuple[float | None, str]:
    """Turn what a user typed into a finite float, or (None, why it is not one).

    Accepts numbers, a leading Unicode minus and simple fractions such as ``1/3``.
    """
    if isinstance(text, int | float | np.integer | np.floating) and not isinstance(text, bool):
        v = float(text)
    else:
        s = str(text).strip().replace("\u2212", "-")
        if not s:
            return None, "the cell is empty; type a number"
        try:
            if "/" in s and s.count("/") == 1:
                num, den = (float(p) for p in s.split("/"))
                if den == 0:
                    return None, f"{s!r} divides by zero"
                v = num / den
            else:
                v = float(s)
        except ValueError:
            if "," in s:
                return None, f"{s!r} is not a number (use a dot for decimals, e.g. 3.5)"
            return None, f"{s!r} is not a number"
    if math.isnan(v):
        return None, "NaN is not allowed: the SVD needs finite numbers"
    if math.isinf(v):
        return None, "infinity is not allowed: the SVD needs finite numbers"
    return v, ""


def cell_text_of(v: float) -> str:
    """Shortest text that reads back as exactly ``v`` (``6`` rather than ``6.0``)."""
    t = repr(float(v))
    return t[:-2] if t.endswith(".0") else t


def split_cells(text: str) -> tuple[np.ndarray, dict[tuple[int, int], str], list[int]]:
    """Tolerant split of pasted/saved text: (values, invalid cells, padded 1-based rows).

    Cells that are not numbers are kept as text (shown red) so nothing typed is lost.  Each
    distinct text is parsed once (numpy maps it back to every cell), so tens of thousands of
    repeated non-numbers ("n/a", "x") cost no Python per cell.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if "\t" in text:
        rows = [ln.split("\t") for ln in lines]
    elif "," in text:
        rows = [ln.split(",") for ln in lines]
    else:
        rows = [ln.split() for ln in lines]
    width = max((len(r) for r in rows), default=0)
    padded = [i + 1 for i, row in enumerate(rows) if len(row) < width]
    m, n = len(rows), max(width, 1)
    if m == 0:
        return np.zeros((0, n)), {}, padded
    present = np.zeros((m, n), dtype=bool)
    flat: list[str] = []
    for i, row in enumerate(rows):
        present[i, : len(row)] = True
        flat.extend(row)
    uniq, inverse = np.unique(np.array(flat, dtype=np.str_), return_inverse=True)
    parsed = np.empty(uniq.size)
    ok = np.ones(uniq.size, dtype=bool)
    try:  # the common case: every distinct text is a plain number
        parsed[:] = uniq.astype(np.float64)
        ok &= np.isfinite(parsed)
    except ValueError:
        for u, t in enumerate(uniq.tolist()):
            v, _ = parse_cell(t)
            ok[u] = v is not None
            parsed[u] = 0.0 if v is None else v
    if not ok.all():  # "nan", "inf" or odd spellings: let parse_cell decide those few
        for u in np.flatnonzero(~ok).tolist():
            v, _ = parse_cell(str(uniq[u]))
            ok[u] = v is not None
            parsed[u] = 0.0 if v is None else v
    values = np.zeros((m, n))
    values[present] = parsed[inverse]
    bad_mask = np.zeros((m, n), dtype=bool)
    bad_mask[present] = ~ok[inverse]
    bad: dict[tuple[int, int], str] = {}
    if bad_mask.any():
        r, c = np.nonzero(bad_mask)
        texts = np.char.strip(uniq[inverse[bad_mask[present]]]).tolist()
        bad = dict(zip(zip(r.tolist(), c.tolist(), strict=True), texts, strict=True))
    return values, bad, padded


def _shifted(cells: Invalid, r: int, c: int) -> Invalid:
    """Block-relative positions moved to (r, c), with C-level loops (map/zip), not Python
    code per cell: a paste of tens of thousands of non-numbers stays quick."""
    if not (r or c):
        return dict(cells)
    rows = map(r.__add__, map(itemgetter(0), cells))
    cols = map(c.__add__, map(itemgetter(1), cells))
    return dict(zip(zip(rows, cols), cells.values()))  # noqa: B905  (same length by design)


class _SnapshotCommand(QUndoCommand):
    """Swap the whole matrix between two states (structure changes, presets, loads)."""

    def __init__(self, model: MatrixModel, after: tuple[np.ndarray, Invalid], text: str):
        super().__init__(text)
        self._model = model
        # No copies (a 5000×5000 matrix is 200 MB): the model copies before it next writes in
        # place (copy on write, see MatrixModel._own).
        self._before = (model._values, dict(model._invalid))
        self._after = after
        model._shared = True

    def redo(self) -> None:
        self._model._apply_state(*self._after)

    def undo(self) -> None:
        self._model._apply_state(*self._before)


class _BlockCommand(QUndoCommand):
    """Overwrite a rectangular block in place (cell edits, pastes that fit)."""

    def __init__(self, model: MatrixModel, r: int, c: int, vals: np.ndarray, bad: Invalid, text):
        super().__init__(text)
        self._model, self._r, self._c = model, r, c
        h, w = vals.shape
        self._new = (vals.copy(), dict(bad))
        old_bad = {
            (i - r, j - c): t
            for (i, j), t in model._invalid.items()
            if r <= i < r + h and c <= j < c + w
        }
        self._old = (model._values[r : r + h, c : c + w].copy(), old_bad)

    def redo(self) -> None:
        self._model._write_block(self._r, self._c, *self._new)

    def undo(self) -> None:
        self._model._write_block(self._r, self._c, *self._old)


class MatrixModel(QAbstractTableModel):
    """An m×n float matrix for a ``QTableView``; ``setData`` accepts numbers or text."""

    matrix_changed = Signal()  # any content or shape change (edit, undo, redo, load)
    shape_changed = Signal(int, int)  # rows, columns

    def __init__(self, values: object = None, parent=None, undo_stack: QUndoStack | None = None):
        super().__init__(parent)
        arr = np.zeros((4, 3)) if values is None else np.array(values, dtype=np.float64)
        self._values: np.ndarray = np.atleast_2d(arr).astype(np.float64)
        # True while an undo step, a snapshot or a job also holds self._values: the next
        # in-place write copies it first (copy on write), so whole-matrix steps copy nothing.
        self._shared = False
        self._invalid: Invalid = {}
        self._stack = undo_stack if undo_stack is not None else QUndoStack(self)
        self._stack.setUndoLimit(UNDO_LIMIT)
        self._bad_bg = QBrush(QColor(255, 200, 200))
        self._bad_fg = QBrush(QColor(150, 0, 0))

    # ---- reading ------------------------------------------------------------------------
    def undo_stack(self) -> QUndoStack:
        return self._stack

    def values(self) -> np.ndarray:
        """The matrix (read-only view; invalid cells hold NaN).  Copy before handing it off."""
        v = self._values.view()
        v.flags.writeable = False
        return v

    def snapshot(self) -> np.ndarray:
        """The matrix as it is now, read-only, without a copy: later edits never change it
        (the model copies before its next in-place write).  For jobs and saved states."""
        self._shared = True
        return self.values()

    def matrix_shape(self) -> tuple[int, int]:
        return int(self._values.shape[0]), int(self._values.shape[1])

    def invalid_cells(self) -> Invalid:
        """0-based (row, column) → the text typed there, for every cell that is not a number."""
        return dict(self._invalid)

    def first_invalid(self) -> tuple[int, int, str] | None:
        """(row, column, reason) of the first invalid cell in reading order, 0-based."""
        if not self._invalid:
            return None
        r, c = min(self._invalid)
        return r, c, parse_cell(self._invalid[(r, c)])[1]

    def is_valid(self) -> bool:
        return not self._invalid

    def cell_text(self, r: int, c: int) -> str:
        """The text a user would type to get this cell back (raw text for invalid cells)."""
        bad = self._invalid.get((r, c)) if self._invalid else None
        return bad if bad is not None else cell_text_of(self._values[r, c])

    def block_text(self, rows: range, cols: range, keep=None) -> str:
        """Tab-separated text of a block; cells not in ``keep`` (a set of (r, c)) are blank."""
        lines = []
        for r in rows:
            cells = [self.cell_text(r, c) if keep is None or (r, c) in keep else "" for c in cols]
            lines.append("\t".join(cells))
        return "\n".join(lines) + "\n"

    # ---- Qt model interface ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._values.shape[0])

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._values.shape[1])

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _EDITABLE

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        r, c = index.row(), index.column()
        bad = self._invalid.get((r, c)) if self._invalid else None
        if role == Qt.ItemDataRole.DisplayRole:
            return bad if bad is not None else f"{self._values[r, c]:.6g}"
        if role == Qt.ItemDataRole.EditRole:
            return bad if bad is not None else cell_text_of(self._values[r, c])
        if role == Qt.ItemDataRole.UserRole:
            return None if bad is not None else float(self._values[r, c])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if bad is not None:
            if role == Qt.ItemDataRole.BackgroundRole:
                return self._bad_bg
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._bad_fg
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Cell ({r + 1}, {c + 1}): {parse_cell(bad)[1]}"
        elif role == Qt.ItemDataRole.ToolTipRole:
            full = cell_text_of(self._values[r, c])
            return full if full != f"{self._values[r, c]:.6g}" else None
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole:
            kind = "Row" if orientation == Qt.Orientation.Vertical else "Column"
            return f"{kind} {section + 1}"
        return None

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        return self.set_cell(index.row(), index.column(), value)

    # ---- edits (each is one undo step) ----------------------------------------------------
    def set_cell(self, r: int, c: int, value: object) -> bool:
        """Type ``value`` (a number or text) into cell (r, c), 0-based."""
        if not (0 <= r < self._values.shape[0] and 0 <= c < self._values.shape[1]):
            return False
        text = value if isinstance(value, str) else None
        if text is not None:
            text = " ".join(text.split())  # tabs/newlines would break TSV copies
        v, _ = parse_cell(value)
        if v is not None and (r, c) not in self._invalid and v == self._values[r, c]:
            return True  # nothing changed: no undo step
        vals = np.array([[np.nan if v is None else v]])
        bad = {} if v is not None else {(0, 0): text if text is not None else str(value)}
        self._stack.push(_BlockCommand(self, r, c, vals, bad, f"Edit cell ({r + 1}, {c + 1})"))
        return True

    def paste_block(
        self, r: int, c: int, values: np.ndarray, invalid: Invalid | None = None, text="Paste"
    ) -> None:
        """Write a block with its top-left at (r, c), growing the matrix to fit it.

        ``invalid`` maps block-relative positions to raw text for cells that are not numbers.
        """
        vals = np.atleast_2d(np.asarray(values, dtype=np.float64))
        bad = dict(invalid or {})
        if bad:
            rc = np.array(list(bad), dtype=np.intp).reshape(-1, 2)
            vals[rc[:, 0], rc[:, 1]] = np.nan
        h, w = vals.shape
        m, n = self.matrix_shape()
        if r + h <= m and c + w <= n:
            self._stack.push(_BlockCommand(self, r, c, vals, bad, text))
            return
        new = np.zeros((max(m, r + h), max(n, c + w)))
        new[:m, :n] = self._values
        new[r : r + h, c : c + w] = vals
        keep = {
            p: t for p, t in self._invalid.items() if not (r <= p[0] < r + h and c <= p[1] < c + w)
        }
        keep.update(_shifted(bad, r, c))
        self._stack.push(_SnapshotCommand(self, (new, keep), text))

    def load_matrix(
        self,
        values: object,
        text: str = "Load matrix",
        invalid: Invalid | None = None,
        *,
        owned: bool = False,
    ) -> None:
        """Replace the whole matrix (preset, file or recovered edits), as one undo step.

        ``owned``: the caller hands ``values`` over (a float64 array just read from a file)
        and never writes to it again, so it is not copied.
        """
        arr = np.asarray(values, dtype=np.float64) if owned else np.array(values, np.float64)
        if arr.ndim != 2 or arr.size == 0:
            raise ValueError(f"a matrix needs rows and columns; got shape {arr.shape}")
        bad = dict(invalid or {})
        for pos in bad:
            arr[pos] = np.nan
        self._stack.push(_SnapshotCommand(self, (arr, bad), text))

    def resize_matrix(self, rows: int, cols: int) -> None:
        """Crop or zero-pad to rows × cols."""
        m, n = self.matrix_shape()
        if (rows, cols) == (m, n) or rows < 1 or cols < 1:
            return
        new = np.zeros((rows, cols))
        new[: min(m, rows), : min(n, cols)] = self._values[:rows, :cols]
        bad = {p: t for p, t in self._invalid.items() if p[0] < rows and p[1] < cols}
        self._stack.push(_SnapshotCommand(self, (new, bad), f"Resize to {rows}×{cols}"))

    def insert_rows(self, at: int, count: int = 1) -> None:
        self._insert(0, at, count)

    def insert_columns(self, at: int, count: int = 1) -> None:
        self._insert(1, at, count)

    def remove_rows(self, at: int, count: int = 1) -> None:
        self._remove(0, at, count)

    def remove_columns(self, at: int, count: int = 1) -> None:
        self._remove(1, at, count)

    def reset_matrix(self, values: object, invalid: Invalid | None = None) -> None:
        """Replace the matrix WITHOUT an undo step and clear the history (restoring a session)."""
        self._stack.clear()
        arr = np.array(values, dtype=np.float64)
        bad = dict(invalid or {})
        for pos in bad:
            arr[pos] = np.nan
        self._apply_state(arr, bad)

    # ---- internals ------------------------------------------------------------------------
    def _insert(self, axis: int, at: int, count: int) -> None:
        size = self._values.shape[axis]
        at = max(0, min(at, size))
        new = np.insert(self._values, [at] * count, 0.0, axis=axis)
        bad = {}
        for (i, j), t in self._invalid.items():
            p = [i, j]
            if p[axis] >= at:
                p[axis] += count
            bad[(p[0], p[1])] = t
        what = "row" if axis == 0 else "column"
        label = f"Insert {count} {what}{'s' if count > 1 else ''} at {what} {at + 1}"
        self._stack.push(_SnapshotCommand(self, (new, bad), label))

    def _remove(self, axis: int, at: int, count: int) -> None:
        size = self._values.shape[axis]
        count = min(count, size - at, size - 1)  # keep at least one row / column
        if at < 0 or count < 1:
            return
        new = np.delete(self._values, np.arange(at, at + count), axis=axis)
        bad = {}
        for (i, j), t in self._invalid.items():
            p = [i, j]
            if at <= p[axis] < at + count:
                continue
            if p[axis] >= at + count:
                p[axis] -= count
            bad[(p[0], p[1])] = t
        what = "row" if axis == 0 else "column"
        label = f"Remove {count} {what}{'s' if count > 1 else ''} at {what} {at + 1}"
        self._stack.push(_SnapshotCommand(self, (new, bad), label))

    def _apply_state(self, values: np.ndarray, invalid: Invalid) -> None:
        # ``values`` stays in its undo command too: shared until the next in-place write.
        if values.shape != self._values.shape:
            self.beginResetModel()
            self._values, self._shared = values, True
            self._invalid = dict(invalid)
            self.endResetModel()
            self.shape_changed.emit(*self.matrix_shape())
        else:
            self._values, self._shared = values, True
            self._invalid = dict(invalid)
            m, n = self.matrix_shape()
            self.dataChanged.emit(self.index(0, 0), self.index(m - 1, n - 1))
        self.matrix_changed.emit()

    def _own(self) -> None:
        """Copy the matrix if an undo step, a snapshot or a job shares it (copy on write)."""
        if self._shared:
            self._values = self._values.copy()
            self._shared = False

    def _write_block(self, r: int, c: int, vals: np.ndarray, bad: Invalid) -> None:
        h, w = vals.shape
        self._own()
        self._values[r : r + h, c : c + w] = vals
        if self._invalid:
            self._invalid = {
                p: t
                for p, t in self._invalid.items()
                if not (r <= p[0] < r + h and c <= p[1] < c + w)
            }
        self._invalid.update(_shifted(bad, r, c))
        self.dataChanged.emit(self.index(r, c), self.index(r + h - 1, c + w - 1))
        self.matrix_changed.emit()
