"""What the Matrix tab's user owns: the saved matrix, unsaved edits, and their recovery.

A mixin of :class:`~svdstudio.ui.matrix.tab.MatrixTab` (its model, undo stack, autosave,
recovery banner and signals are the tab's).  ``_saved`` is the last saved or opened matrix
(what Discard brings back); unsaved edits are autosaved a few seconds after the last edit,
and edits left by a session that ended abnormally are offered back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from svdstudio.io.matrix import read_matrix
from svdstudio.ui.matrix.state import Cells

if TYPE_CHECKING:
    from svdstudio.ui.matrix.tab import MatrixTab

    _Base = MatrixTab
else:
    _Base = object

__all__ = ["MatrixDocument"]


class MatrixDocument(_Base):
    """The matrix as the user's document (see the module docstring)."""

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

    def document_title(self) -> str:
        """The matrix's file name, or "untitled" before it is saved."""
        return Path(self._path).name if self._path else "untitled"

    def _emit_document(self) -> None:
        self.document_changed.emit(self.document_title(), self.has_unsaved_changes())

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
