"""The Matrix tab's files: open, save, export a result grid, and open a dropped file.

A mixin of :class:`~svdstudio.ui.matrix.tab.MatrixTab` (its model, runner, results panel and
signals are the tab's).  A big file is read in a worker process, with progress and Cancel,
and the grid changes only once it is all read; an error is one sentence and a warning box.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QMessageBox

from svdstudio.io.matrix import MATRIX_FILE_FILTER, read_matrix, write_matrix
from svdstudio.io.matrix_blocks import check_matrix_size, read_matrix_in_blocks
from svdstudio.ui.matrix.jobs import OPEN_CHANNEL
from svdstudio.ui.widgets import file_dialogs

if TYPE_CHECKING:
    from svdstudio.ui.matrix.tab import MatrixTab

    _Base = MatrixTab
else:
    _Base = object

__all__ = ["BACKGROUND_OPEN_BYTES", "MATRIX_SUFFIXES", "OPEN_OPTIONS", "MatrixFiles"]

MATRIX_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")
# Files above this size are read off the GUI thread, with progress and Cancel (an 8 MB
# .npy reads in ≈ 10 ms, an 8 MB CSV parses in ≈ 0.3 s).
BACKGROUND_OPEN_BYTES = 8 * 2**20
#: Keyword arguments for read_matrix_in_blocks in the worker process (tests: small blocks).
OPEN_OPTIONS: dict[str, int] = {}


class MatrixFiles(_Base):
    """Opening, saving and exporting (see the module docstring)."""

    def _show_error(self, title: str, message: str) -> None:
        self.status_message.emit(message)
        QMessageBox.warning(self, title, message)

    def open_dialog(self) -> bool:
        path = file_dialogs.ask_open_path(self, "Open matrix", MATRIX_FILE_FILTER)
        return self.open_file(path) if path else False

    def open_file(self, path: str) -> bool:
        """Load a CSV/TSV/NPY matrix (one undo step); asks first if edits are unsaved."""
        if not self.maybe_save():
            return False
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0  # read_matrix says what is wrong with it
        if self._runner is not None and size > BACKGROUND_OPEN_BYTES:
            try:
                check_matrix_size(path)  # a file too big is refused now, not after a job
            except (ValueError, OSError) as exc:
                self._show_error("Could not open matrix", str(exc))
                return False
            return self._open_in_background(path)
        try:
            loaded = read_matrix(path)
        except (ValueError, OSError) as exc:
            self._show_error("Could not open matrix", str(exc))
            return False
        self._opened(path, loaded)
        return True

    def _open_in_background(self, path: str) -> bool:
        """Read a big file in a worker process; the grid changes only when it is all read."""
        assert self._runner is not None
        name = Path(path).name
        self._forget_long_job(OPEN_CHANNEL)  # replaced by this file, not cancelled
        try:
            job_id = self._runner.submit(
                OPEN_CHANNEL,
                read_matrix_in_blocks,
                path,
                description=f"Opening {name}",
                # A process: numpy's parser holds the GIL, so a thread froze the window for
                # 0.25 s and more per block on a busy machine; the array comes back out of band.
                in_process=True,
                **OPEN_OPTIONS,
                on_result=lambda arr, path=path: self._opened(path, arr),
                on_error=lambda message, _details: self._show_error(
                    "Could not open matrix", message
                ),
            )
        except RuntimeError:
            return False
        self._long_job = (OPEN_CHANNEL, job_id)
        self.progress.start(f"Opening {name}")
        self.status_message.emit(f"Opening {name}…")
        return True

    def _opened(self, path: str, loaded: np.ndarray) -> None:
        full = os.path.abspath(path)
        self._model.load_matrix(loaded, text=f"Open {Path(path).name}", owned=True)
        self._compute_later.flush()  # no typing pause to wait for after a file
        self._path = full
        self._mark_saved()
        self.file_opened.emit(full)
        m, n = loaded.shape
        self.status_message.emit(f"Opened {Path(path).name}: {m}×{n} matrix.")

    def save_as(self) -> bool:
        name = Path(self._path).name if self._path else "matrix.csv"
        asked = file_dialogs.ask_save_path(self, "Save matrix as", name, MATRIX_FILE_FILTER)
        if asked is None:
            return False
        path = asked[0]
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
        self._mark_saved()
        self.status_message.emit(f"Saved the matrix to {Path(path).name}.")
        return True

    def export(self) -> bool:
        """Save the result grid on show (U, Σ, A_k, …) as CSV/TSV/NPY."""
        current = self.results.current_array()
        if current is None:
            self.status_message.emit("No result to export yet.")
            return False
        title, array = current
        asked = file_dialogs.ask_save_path(
            self, f"Export {title} as", "result.csv", MATRIX_FILE_FILTER
        )
        if asked is None:
            return False
        path = asked[0]
        try:
            write_matrix(path, array)
        except (ValueError, OSError) as exc:
            self._show_error("Could not export", str(exc))
            return False
        self.status_message.emit(f"Exported {title} to {Path(path).name}.")
        return True

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
