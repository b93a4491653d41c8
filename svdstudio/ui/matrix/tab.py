"""The Matrix workbench tab: edit a matrix on the left, see its SVD on the right.

Every valid edit submits one decomposition on the "matrix.svd" channel; rank changes only
slice the cached result (see :mod:`svdstudio.ui.matrix.results`).  This module builds the
tab from its parts and keeps its session state; the grid is :mod:`~svdstudio.ui.matrix.editor`,
and the tab's behaviour comes from mixins, one job each: files and drops
(:mod:`~svdstudio.ui.matrix.files`), the decomposition (:mod:`~svdstudio.ui.matrix.compute`),
long jobs (:mod:`~svdstudio.ui.matrix.jobs`) and what the user owns
(:mod:`~svdstudio.ui.matrix.document`).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QSplitter,
    QToolButton,
    QWidget,
)

from svdstudio.io.matrix import MATRIX_FILE_FILTER
from svdstudio.ui.matrix.autosave import Autosave
from svdstudio.ui.matrix.compute import Decomposition
from svdstudio.ui.matrix.document import MatrixDocument
from svdstudio.ui.matrix.editor import MatrixEditor
from svdstudio.ui.matrix.files import MatrixFiles
from svdstudio.ui.matrix.jobs import LongJobs
from svdstudio.ui.matrix.model import MatrixModel
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX
from svdstudio.ui.matrix.recovery import RecoveryBanner
from svdstudio.ui.matrix.results import ResultsPanel
from svdstudio.ui.matrix.state import Cells, forget_cells, load_cells, save_cells, to_int
from svdstudio.ui.widgets.debounce import Debouncer
from svdstudio.ui.widgets.tagging import tag
from svdstudio.workers import JobRunner

__all__ = ["MatrixTab"]


class MatrixTab(MatrixFiles, Decomposition, LongJobs, MatrixDocument, QWidget):
    """Matrix workbench (the Tab contract: :mod:`svdstudio.ui.tab_contract`).

    Data the user owns (the saved matrix, autosaved edits, their recovery after a crash):
    :class:`~svdstudio.ui.matrix.document.MatrixDocument`.
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
