"""The Matrix workbench tab: edit a matrix on the left, see its SVD on the right.

Every valid edit submits one decomposition on the "matrix.svd" channel; rank changes only
slice the cached result (see :mod:`svdstudio.ui.matrix.results`).  Files, drops, undo and
the session state live here; the grid is :mod:`svdstudio.ui.matrix.editor`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QMessageBox,
    QSplitter,
    QToolButton,
    QWidget,
)

from svdstudio.engine import decompose
from svdstudio.engine.stepwise import (
    STEPWISE_MIN_SIZE,
    decompose_stepwise,
    estimate_seconds,
    values_only_result,
)
from svdstudio.io.matrix import MATRIX_FILE_FILTER, read_matrix, write_matrix
from svdstudio.io.matrix_blocks import check_matrix_size, read_matrix_in_blocks
from svdstudio.ui.matrix.autosave import Autosave
from svdstudio.ui.matrix.editor import MatrixEditor, tag
from svdstudio.ui.matrix.model import MatrixModel
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX
from svdstudio.ui.matrix.recovery import RecoveryBanner
from svdstudio.ui.matrix.results import ResultsPanel
from svdstudio.ui.matrix.state import Cells, forget_cells, load_cells, save_cells, to_int
from svdstudio.ui.widgets import file_dialogs
from svdstudio.ui.widgets.debounce import Debouncer
from svdstudio.workers import JobRunner

__all__ = ["MatrixTab"]

# scipy's SVD holds the GIL in a thread: measured here, a 500×500 froze the GUI for its whole
# run (≈ 1.2 s under load), a worker process for ≈ 66 ms.  From about 300×300 up, pay the
# process start (≈ 0.8 s) instead, and wait for a pause in typing before starting it.
PROCESS_ELEMENTS = 90_000
BIG_EDIT_DELAY_MS = 300
MATRIX_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")
# Files above this size are read off the GUI thread, with progress and Cancel (an 8 MB
# .npy reads in ≈ 10 ms, an 8 MB CSV parses in ≈ 0.3 s).
BACKGROUND_OPEN_BYTES = 8 * 2**20
#: Keyword arguments for read_matrix_in_blocks in the worker process (tests: small blocks).
OPEN_OPTIONS: dict[str, int] = {}
SVD_CHANNEL = "matrix.svd"
OPEN_CHANNEL = "matrix.open"


class MatrixTab(QWidget):
    """Matrix workbench (the Tab contract: :mod:`svdstudio.ui.tab_contract`).

    Data the user owns: ``_saved`` is the last saved or opened matrix (what Discard brings
    back), unsaved edits are autosaved a few seconds after the last edit, and edits left by a
    session that ended abnormally are offered back (:class:`RecoveryBanner`).
    """

    status_message = Signal(str)
    file_opened = Signal(str)
    document_changed = Signal(str, bool)  # file name (or "untitled"), unsaved edits

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("matrixTab")
        self.setAcceptDrops(True)
        self._runner = runner  # None: decompose synchronously (previews, scripts)
        self._path: str | None = None
        self._long_job: tuple[str, int] | None = None  # (channel, id) the progress row shows

        self.editor = MatrixEditor(self)
        self.editor.status_message.connect(self.status_message)
        for name, text, tip, slot in (
            ("openMatrixButton", "Open…", "Open a matrix from CSV, TSV or NPY", self.open_dialog),
            ("saveMatrixButton", "Save as…", "Save the matrix as CSV, TSV or NPY", self.save_as),
        ):
            button = QToolButton(self)
            button.setText(text)
            tag(button, name, tip, text.rstrip("…"))
            button.clicked.connect(slot)
            self.editor.toolbar.insertWidget(self.editor.toolbar.count() - 3, button)
        self.table = self.editor.table
        self.setFocusProxy(self.table)  # focusing the tab puts the cursor in the grid
        self._model = self.editor.model
        self._stack = self.editor.stack
        self._model.matrix_changed.connect(self._schedule)
        self._saved: Cells = self._cells()
        self._waiting = False  # "Results wait: …" is on show
        self._discarded_at: int | None = None  # stack index when the user chose Discard
        self.autosave = Autosave(self._unsaved_snapshot, self, runner)
        self.autosave.failed.connect(self.status_message)
        # indexChanged comes after the undo stack has moved (matrix_changed comes during the
        # command, while the stack still looks clean).
        self._stack.indexChanged.connect(self._on_edit)
        self._stack.cleanChanged.connect(self._on_clean_changed)
        self.recovery = RecoveryBanner(self)
        self.recovery.restore_requested.connect(self._restore_recovered)
        self.editor.column.insertWidget(0, self.recovery)
        # Coalesce a burst of edits (one paste, one undo) into one decomposition.
        self._compute_later = Debouncer(0, self._compute, self)

        self.results = ResultsPanel(self)
        self.results.status_message.connect(self.status_message)
        self.progress = self.results.progress
        self.progress.cancel_requested.connect(self.cancel_job)
        self.progress.compute_requested.connect(self._compute)
        if runner is not None:
            runner.progress.connect(self._on_job_progress)
            runner.cancelled.connect(self._on_job_cancelled)
            runner.finished.connect(self._on_job_finished)
        self.results_updated = self.results.results_updated
        self.editor.column.addWidget(self.results.error_box)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("matrixSplitter")
        self.splitter.addWidget(self.editor)
        self.splitter.addWidget(self.results)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([380, 880])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        self.results.set_rank(2)
        self._stack.setClean()
        self._schedule()

    # ---- shortcuts into the parts (tests, main window) ------------------------------------
    @property
    def hint(self):
        return self.editor.hint

    @property
    def preset_rank(self):
        return self.editor.preset_rank

    def model(self) -> MatrixModel:
        return self._model

    def result(self):
        """The current SVDResult (None until the first decomposition arrives)."""
        return self.results.result()

    def rank(self) -> int:
        return self.results.rank()

    def load_preset(self, key: str) -> None:
        self.editor.load_preset(key)

    def paste_text(self, text: str) -> bool:
        return self.editor.paste_text(text)

    # ---- Tab API --------------------------------------------------------------------------
    def undo_stack(self) -> QUndoStack:
        return self._stack

    def file_filter(self) -> str:
        return MATRIX_FILE_FILTER

    def copy(self) -> None:
        """Copy the selection as TSV (from a result grid if one has focus)."""
        focus = QApplication.focusWidget()
        for view in self.results.views.values():
            if focus is view and view.selectionModel().hasSelection():
                QApplication.clipboard().setText(view.selection_text())
                return
        self.editor.copy()

    def paste(self) -> bool:
        return self.editor.paste()

    def select_all(self) -> None:
        self.table.selectAll()

    def has_unsaved_changes(self) -> bool:
        return not self._stack.isClean()

    def maybe_save(self) -> bool:
        """Ask Save / Discard / Cancel if there are unsaved edits; False means cancelled."""
        if not self.has_unsaved_changes():
            return True
        answer = self._ask_save_changes()
        if answer == "save":
            return self.save_as()
        if answer == "discard":
            # Closing goes on: the session keeps the last saved matrix, not these edits.
            self._discarded_at = self._stack.index()
            self.autosave.remove()
            return True
        return False

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
        if self._long_job is not None and self._long_job[0] == OPEN_CHANNEL:
            self._long_job = None  # replaced by this file, not cancelled
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

    # ---- computation ----------------------------------------------------------------------
    def _schedule(self) -> None:
        m, n = self._model.matrix_shape()
        self._compute_later.trigger(BIG_EDIT_DELAY_MS if m * n >= PROCESS_ELEMENTS else 0)

    def _compute(self) -> None:
        bad = self._model.first_invalid()
        if bad is not None:
            if self._runner is not None:
                if self._long_job is not None and self._long_job[0] == SVD_CHANNEL:
                    self._long_job = None  # the banner says why; no "Cancelled" row
                    self.progress.stop()
                self._runner.cancel(SVD_CHANNEL)
            r, c, why = bad
            n_bad = len(self._model.invalid_cells())
            more = f" ({n_bad} invalid cells)" if n_bad > 1 else ""
            msg = f"Results wait: cell ({r + 1}, {c + 1}) is not a number{more} — {why}."
            self.results.set_waiting(msg)
            self.status_message.emit(msg)
            self._waiting = True
            return
        if self._waiting:  # an edit or an undo fixed the cells: the old sentence is stale
            self._waiting = False
            self.status_message.emit("Every cell is a number again; the results are current.")
        a = self._model.snapshot()  # never written again: the job's own, without a copy
        m, n = a.shape
        if self._runner is None:
            try:
                res = decompose(a)
            except ValueError as exc:
                self._on_error(str(exc))
                return
            self.results.set_result(res, a)
            return
        stepwise = min(m, n) >= STEPWISE_MIN_SIZE
        if a.size >= PROCESS_ELEMENTS and not stepwise:
            self.results.set_banner(f"Computing the SVD of the {m}×{n} matrix…")
        what = f"SVD of the {m}×{n} matrix"
        if self._long_job is not None and self._long_job[0] == SVD_CHANNEL:
            self._long_job = None  # replaced, not cancelled: the new job's row takes over
        try:
            job_id = self._runner.submit(
                SVD_CHANNEL,
                decompose_stepwise if stepwise else decompose,
                a,
                description=what,
                # A process: LAPACK cannot be stopped inside a thread, a process can be killed.
                in_process=a.size >= PROCESS_ELEMENTS,
                on_result=lambda res, a=a: self._on_svd_result(res, a),
                on_partial=(lambda values, a=a: self._on_values(values, a)) if stepwise else None,
                on_error=self._on_error,
            )
        except RuntimeError:
            # The window closed (its runner is shut down) while an edit waited for the
            # typing pause: nothing is left to show the result in.
            return
        if stepwise:
            self._long_job = (SVD_CHANNEL, job_id)
            self.progress.start(what, estimate_seconds((m, n)))
            previous = " The results below are of the previous matrix."
            self.results.set_banner(
                f"Computing the SVD of the {m}×{n} matrix: the singular values come first, "
                "then U and Vᵀ." + (previous if self.results.state() != "none" else "")
            )

    def _on_values(self, values, a: np.ndarray) -> None:
        """The step-wise SVD's σ: spectrum, Σ and errors now; U, Vᵀ, A_k pending."""
        self.results.set_values(values_only_result(values), a)
        m, n = values.shape
        self.status_message.emit(
            f"Singular values of the {m}×{n} matrix ready after "
            f"{values.seconds:.1f} s; U and Vᵀ follow."
        )

    def _on_svd_result(self, res, a: np.ndarray) -> None:
        self.results.set_result(res, a)

    # ---- long jobs: progress, cancel ------------------------------------------------------
    def cancel_job(self) -> None:
        """Stop the long job on show (Esc, Cancel): the grid and the results on show stay."""
        if self._runner is not None and self._long_job is not None:
            self._runner.cancel(self._long_job[0])

    def job_running(self) -> bool:
        """Whether a long job (opening a big file, a step-wise SVD) is running."""
        return self._long_job is not None and self.progress.is_running()

    def _on_job_progress(self, channel: str, job_id: int, fraction: float, message: str) -> None:
        if self._long_job == (channel, job_id):
            self.progress.report(fraction, message)

    def _on_job_cancelled(self, channel: str, job_id: int) -> None:
        if self._long_job != (channel, job_id):
            return
        self._long_job = None
        if channel == OPEN_CHANNEL:
            self.progress.stop()
            self.status_message.emit("Opening cancelled; the matrix is unchanged.")
            return
        if self._runner is not None and self._runner.is_running(SVD_CHANNEL):
            return  # replaced by a newer job (an edit): its own row takes over
        state = self.results.state()
        if state == "values":
            text = (
                "Cancelled: the singular values are those of this matrix; U, Vᵀ and A_k were "
                "not computed."
            )
        elif state == "full":
            text = "Cancelled: the results on show are of the previous matrix."
        else:
            text = "Cancelled: no results yet."
        self.results.set_banner("")
        self.progress.show_cancelled(text)
        self.status_message.emit(text)

    def _on_job_finished(self, channel: str, job_id: int) -> None:
        if self._long_job == (channel, job_id):
            self._long_job = None
            self.progress.stop()

    def keyPressEvent(self, event) -> None:
        # The main window's Esc action cancels every job; alone (a preview) the tab does it.
        if event.key() == Qt.Key.Key_Escape and self.job_running():
            self.cancel_job()
            event.accept()
            return
        super().keyPressEvent(event)

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

    # ---- what the user owns ---------------------------------------------------------------
    def _cells(self) -> Cells:
        return self._model.snapshot(), self._model.invalid_cells()

    def _mark_saved(self) -> None:
        """The grid now equals a file (or the restored session): Discard comes back here."""
        self._stack.setClean()
        self._saved = self._cells()
        self._discarded_at = None
        self.autosave.remove()
        self._emit_document()

    def _unsaved_snapshot(self):
        if not self.has_unsaved_changes():
            return None
        values, invalid = self._cells()
        return values, invalid, self._path

    def _on_edit(self) -> None:
        if self.has_unsaved_changes():
            self.autosave.schedule()

    def _on_clean_changed(self, clean: bool) -> None:
        if clean:  # undone back to the saved matrix: nothing to recover
            self.autosave.remove()
        self._emit_document()

    def document_title(self) -> str:
        """The matrix's file name, or "untitled" before it is saved."""
        return Path(self._path).name if self._path else "untitled"

    def _emit_document(self) -> None:
        self.document_changed.emit(self.document_title(), self.has_unsaved_changes())

    def _offer_recovery(self) -> None:
        self.recovery.check()

    def _restore_recovered(self, rec) -> None:
        self._model.load_matrix(rec.values, text="Restore unsaved edits", invalid=rec.invalid)
        if rec.path:
            self._path = rec.path
        self._emit_document()
        m, n = rec.values.shape
        self.status_message.emit(f"Restored the unsaved {m}×{n} matrix; save it to keep it.")
        self.autosave.write_now()  # this session now owns the edits

    def _read_saved_file(self, fallback: Cells) -> Cells:
        if self._path:
            try:
                return read_matrix(self._path), {}
            except (ValueError, OSError):
                pass
        return fallback

    # ---- session state --------------------------------------------------------------------
    def load_defaults(self) -> None:
        """The article's 4×3 example at k = 2."""
        self._model.reset_matrix(ARTICLE_MATRIX)
        self._path = None
        self.results.set_rank(2)
        self._mark_saved()
        self._schedule()
        self._offer_recovery()

    def save_state(self, settings: QSettings) -> None:
        s = settings
        s.setValue("matrix/splitter", self.splitter.saveState())
        s.setValue("matrix/results_splitter", self.results.splitter.saveState())
        s.setValue("matrix/rank", self.results.rank())
        s.setValue("matrix/decimals", self.results.decimals.value())
        s.setValue("matrix/result_tab", self.results.tabs.currentIndex())
        s.setValue("matrix/preset_rank", self.editor.preset_rank.value())
        s.setValue("matrix/preset_seed", self.editor.preset_seed.value())
        s.setValue("matrix/path", self._path or "")
        discarded = self._discarded_at is not None and self._discarded_at == self._stack.index()
        unsaved = self.has_unsaved_changes() and not discarded
        s.setValue("matrix/unsaved", int(unsaved))
        try:
            save_cells(s, "cells", self._saved if discarded else self._cells())
            if unsaved:
                save_cells(s, "saved", self._saved)
            else:
                forget_cells(s, "saved")
        except (ValueError, OSError) as exc:
            self.status_message.emit(f"Could not keep the matrix for next time: {exc}")
            return
        self.autosave.remove()  # the settings hold the edits now: a clean exit

    def restore_state(self, settings: QSettings) -> None:
        s = settings
        for key, widget in (
            ("matrix/splitter", self.splitter),
            ("matrix/results_splitter", self.results.splitter),
        ):
            state = s.value(key)
            if state is not None:
                widget.restoreState(state)
        self.results.decimals.setValue(to_int(s.value("matrix/decimals"), 4))
        self.editor.preset_rank.setValue(to_int(s.value("matrix/preset_rank"), 2))
        self.editor.preset_seed.setValue(to_int(s.value("matrix/preset_seed"), 0))
        cells = load_cells(s, "cells")
        if isinstance(cells, str):
            if cells:
                self.status_message.emit(cells)
        else:
            self._model.reset_matrix(*cells)
            self._path = str(s.value("matrix/path") or "") or None
            unsaved = bool(to_int(s.value("matrix/unsaved"), 0))
            saved = load_cells(s, "saved") if unsaved else cells
            if isinstance(saved, str):  # settings from before "saved" was kept
                saved = self._read_saved_file(cells)
            self._mark_saved()
            self._saved = saved
            if unsaved:
                self._stack.resetClean()  # last session's edits are still not in a file
                self._emit_document()
        self.results.set_rank(to_int(s.value("matrix/rank"), 2))
        self.results.tabs.setCurrentIndex(to_int(s.value("matrix/result_tab"), 0))
        self._schedule()
        self._offer_recovery()


def main() -> int:
    """Preview: ``python -m svdstudio.ui.matrix.tab``."""
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
