"""Status-bar widget that shows what the JobRunner is doing, for how long, and a Cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from svdstudio.workers import JobRunner

__all__ = ["JobStatus"]

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's maximum widget size

# A job shows progress and a Cancel control once it has run this long (seconds).
SHOW_AFTER = 0.5
# While jobs run, the label keeps this many average characters' width (longer texts are
# elided in the middle, whole in the tooltip): a label whose size follows its text relaid
# out the whole main window ten times a second (5-7 ms of the GUI thread's CPU each, 15-20
# ms while a decomposition kept both cores busy).
LABEL_CHARS = 52


class JobStatus(QWidget):
    """ "Computing SVD of 500×500… 1.3 s  [■■■□□]  [Cancel]" for the runner's running jobs."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobStatus")
        self._runner = runner
        self._running: dict[str, tuple[int, str, float, float]] = {}  # channel -> id, text, t0, f
        self.label = QLabel(self)
        self.label.setObjectName("jobLabel")
        self.label.setAccessibleName("Running job")
        self.bar = QProgressBar(self)
        self.bar.setObjectName("jobProgress")
        self.bar.setAccessibleName("Job progress")
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("jobCancel")
        self.cancel_button.setToolTip("Stop the running computation (Esc)")
        self.cancel_button.setAccessibleName("Cancel running job")
        self.cancel_button.clicked.connect(self.cancel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        self._hold_height()
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._refresh)
        runner.started.connect(self._on_started)
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        self._refresh()

    def _hold_height(self) -> None:
        """As tall idle as with the progress bar and Cancel shown.

        The status bar takes this widget's height: when Cancel appeared half a second into a
        job (and went with it), the bar grew by 5 px, the central widget shrank, and the
        whole window was relaid out and repainted (every pane and plot: 30-50 ms of the GUI
        thread, the longest event-loop gap of each phase of opening a 12-MP photo).
        """
        parts = (self.label, self.bar, self.cancel_button)
        self.setMinimumHeight(max(w.sizeHint().height() for w in parts))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._hold_height()
        super().changeEvent(event)

    def cancel(self) -> None:
        """Cancel every running job."""
        for channel in list(self._running):
            self._runner.cancel(channel)

    def _on_started(self, channel: str, job_id: int, description: str) -> None:
        self._running[channel] = (job_id, description or "Computing…", time.monotonic(), -1.0)
        if not self._timer.isActive():
            self._timer.start()
        self._refresh()

    def _on_progress(self, channel: str, job_id: int, fraction: float, message: str) -> None:
        entry = self._running.get(channel)
        if entry and entry[0] == job_id:
            text = message or entry[1]
            self._running[channel] = (job_id, text, entry[2], fraction)

    def _on_finished(self, channel: str, job_id: int) -> None:
        entry = self._running.get(channel)
        if entry and entry[0] == job_id:
            del self._running[channel]
        if not self._running:
            self._timer.stop()
        self._refresh()

    def _fix_label(self, on: bool) -> None:
        """A fixed size while jobs run (see :data:`LABEL_CHARS`); free again when idle."""
        fixed = self.label.minimumWidth() == self.label.maximumWidth() > 0
        if on and not fixed:
            metrics = self.label.fontMetrics()
            width = metrics.averageCharWidth() * LABEL_CHARS
            self.label.setFixedSize(width, max(self.label.sizeHint().height(), metrics.height()))
        elif not on and fixed:
            self.label.setMinimumSize(0, 0)
            self.label.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)

    def full_text(self) -> str:
        """What the label says, whole (the label elides a long text)."""
        return self.label.toolTip() or self.label.text()

    def elapsed(self) -> float:
        """Seconds the oldest running job has taken (0 when idle)."""
        if not self._running:
            return 0.0
        return time.monotonic() - min(e[2] for e in self._running.values())

    def _refresh(self) -> None:
        if not self._running:
            self.label.setText("")
            self.label.setToolTip("")
            self._fix_label(False)
            self.bar.hide()
            self.cancel_button.hide()
            return
        _, text, _t0, fraction = max(self._running.values(), key=lambda e: e[2])
        age = self.elapsed()
        more = f" (+{len(self._running) - 1} more)" if len(self._running) > 1 else ""
        self._fix_label(True)
        whole = f"{text} {age:.1f} s{more}"
        metrics = self.label.fontMetrics()
        shown = metrics.elidedText(whole, Qt.TextElideMode.ElideMiddle, self.label.width())
        self.label.setText(shown)
        self.label.setToolTip(whole if shown != whole else "")
        long_running = age >= SHOW_AFTER
        self.bar.setVisible(long_running)
        self.cancel_button.setVisible(long_running)
        if fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        self.label.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight)
