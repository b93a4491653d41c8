"""The banner that offers back unsaved edits left by a session that ended abnormally.

Non-blocking on purpose: the app opens as usual and the choice waits in the Matrix tab.
"""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from svdstudio.ui.matrix.autosave import Recovered, autosave_folder, find_orphans, read_autosave

__all__ = ["RecoveryBanner"]

STYLE = (
    "QFrame#matrixRecoveryBanner { background:#e8f1fb; border:1px solid #8fb3de; }"
    " QLabel { color:#123a66; }"
)


class RecoveryBanner(QFrame):
    """ "Unsaved edits from an earlier session were kept: Restore / Discard"."""

    restore_requested = Signal(object)  # a Recovered

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("matrixRecoveryBanner")
        self.setStyleSheet(STYLE)
        self.label = QLabel(self)
        self.label.setObjectName("matrixRecoveryText")
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("Restore", self)
        self.restore_button.setObjectName("recoverButton")
        self.restore_button.setToolTip("Put the recovered matrix in the grid (undoable)")
        self.restore_button.setAccessibleName("Restore the recovered matrix")
        self.discard_button = QPushButton("Discard", self)
        self.discard_button.setObjectName("discardRecoveryButton")
        self.discard_button.setToolTip("Delete the recovered edits for good")
        self.discard_button.setAccessibleName("Discard the recovered matrix")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.restore_button)
        lay.addWidget(self.discard_button)
        self.restore_button.clicked.connect(self.restore)
        self.discard_button.clicked.connect(self.discard)
        self._found: list = []
        self._recovered: Recovered | None = None
        self.hide()

    def recovered(self) -> Recovered | None:
        """What is on offer (None when the banner is hidden)."""
        return self._recovered

    def check(self) -> bool:
        """Look for autosaves left by dead processes; show the newest readable one."""
        self._found = find_orphans(autosave_folder())
        self._recovered = None
        for path in self._found:
            try:
                self._recovered = read_autosave(path)
                break
            except (ValueError, OSError, KeyError):
                continue  # damaged: try an older one; all are removed on a choice
        if self._recovered is None:
            self._remove_files()
            self.hide()
            return False
        rec = self._recovered
        m, n = rec.values.shape
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
        name = f" of {rec.path}" if rec.path else ""
        self.label.setText(
            f"<b>Unsaved edits were recovered</b>: a {m}×{n} matrix{name}, saved automatically "
            f"at {when} by a session that did not close normally. Restore them?"
        )
        self.show()
        return True

    def restore(self) -> None:
        """Hand the recovered matrix to the tab and forget the files."""
        rec = self._recovered
        self._remove_files()
        self.hide()
        if rec is not None:
            self.restore_requested.emit(rec)

    def discard(self) -> None:
        """Forget the recovered edits."""
        self._remove_files()
        self.hide()

    def _remove_files(self) -> None:
        for path in self._found:
            with contextlib.suppress(OSError):
                path.unlink()
        self._found = []
        self._recovered = None
