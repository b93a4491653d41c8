"""The Matrix tab's long jobs: which one the progress row shows, its progress, Cancel and Esc.

A mixin of :class:`~svdstudio.ui.matrix.tab.MatrixTab` (its runner, progress row and
signals are the tab's).  A long job is a big file being read or a step-wise SVD; the tab
remembers it as ``_long_job`` (channel, id), and a cancel says what the results on show are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from svdstudio.ui.matrix.tab import MatrixTab

    _Base = MatrixTab
else:
    _Base = object

__all__ = ["OPEN_CHANNEL", "SVD_CHANNEL", "LongJobs"]

SVD_CHANNEL = "matrix.svd"
OPEN_CHANNEL = "matrix.open"


class LongJobs(_Base):
    """The long job on show in the progress row (see the module docstring)."""

    def cancel_job(self) -> None:
        """Stop the long job on show (Esc, Cancel): the grid and the results on show stay."""
        if self._runner is not None and self._long_job is not None:
            self._runner.cancel(self._long_job[0])

    def job_running(self) -> bool:
        """Whether a long job (opening a big file, a step-wise SVD) is running."""
        return self._long_job is not None and self.progress.is_running()

    def _forget_long_job(self, channel: str) -> bool:
        """Stop showing the long job on ``channel`` (no "Cancelled" row); whether one was."""
        if self._long_job is not None and self._long_job[0] == channel:
            self._long_job = None
            return True
        return False

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
