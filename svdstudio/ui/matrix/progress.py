"""The Matrix tab's progress row for long jobs (opening a big file, a step-wise SVD).

A bar with the fraction the job reports, a line saying what it does, how long it has run and
about how long is left, a Cancel button and, once a job was cancelled, a Compute button.
The time left is the job's pace so far (elapsed / fraction) once a step has finished, before
that the job's own estimate; it counts down between reports instead of freezing.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

__all__ = ["JobProgress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """ "8 s", "1 min 05 s" (whole seconds; a duration a person reads at a glance)."""
    s = max(0, round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


class JobProgress(QWidget):
    """Progress of one long job; hidden while none runs (and none was cancelled)."""

    cancel_requested = Signal()
    compute_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("matrixProgress")
        self.bar = QProgressBar(self)
        self.bar.setObjectName("matrixProgressBar")
        self.bar.setAccessibleName("Progress of the computation")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setMaximumWidth(180)
        self.label = QLabel(self)
        self.label.setObjectName("matrixProgressText")
        self.label.setAccessibleName("What is being computed")
        self.label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelMatrixJobButton")
        self.cancel_button.setToolTip("Stop this computation (Esc); the results on show stay")
        self.cancel_button.setAccessibleName("Cancel the computation")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.compute_button = QPushButton("Compute", self)
        self.compute_button.setObjectName("computeMatrixButton")
        self.compute_button.setToolTip("Start the decomposition of the matrix again")
        self.compute_button.setAccessibleName("Compute the SVD")
        self.compute_button.clicked.connect(self.compute_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar)
        row.addWidget(self.label, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.compute_button)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._refresh)
        self._what = ""
        self._step = ""
        self._t0 = 0.0
        self._fraction = -1.0
        self._total = math.nan  # expected duration (s) of the whole job
        self.hide()

    # ---- public ---------------------------------------------------------------------------
    def start(self, what: str, estimate_s: float = math.nan) -> None:
        """A job started: ``what`` it does, ``estimate_s`` its expected duration (or nan)."""
        self._what, self._step = what, ""
        self._t0 = time.monotonic()
        self._fraction = -1.0
        self._total = float(estimate_s)
        self.cancel_button.show()
        self.compute_button.hide()
        self.bar.show()
        self.bar.setValue(0)
        self._refresh()
        self._timer.start()
        self.show()

    def report(self, fraction: float, message: str) -> None:
        """The job's progress: ``fraction`` done (−1 unknown) and the step it is in."""
        self._step = message
        elapsed = time.monotonic() - self._t0
        if fraction >= 0:
            self._fraction = min(float(fraction), 1.0)
            if self._fraction >= 0.05 and elapsed > 0.2:
                self._total = elapsed / self._fraction  # the job's own pace so far
        self._refresh()

    def stop(self) -> None:
        """The job ended (result or error): hide the row."""
        self._timer.stop()
        self.hide()

    def show_cancelled(self, text: str) -> None:
        """The job was cancelled: say what the results on show are, offer to compute again."""
        self._timer.stop()
        self.bar.hide()
        self.cancel_button.hide()
        self.compute_button.show()
        self.label.setText(text)
        self.show()

    def is_running(self) -> bool:
        return self._timer.isActive()

    def text(self) -> str:
        return self.label.text()

    def seconds_left(self) -> float:
        """The estimate on show (nan when unknown)."""
        if not math.isfinite(self._total):
            return math.nan
        return max(self._total - (time.monotonic() - self._t0), 0.0)

    # ---- internals ------------------------------------------------------------------------
    def _refresh(self) -> None:
        elapsed = time.monotonic() - self._t0
        if self._fraction >= 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * self._fraction))
        else:
            self.bar.setRange(0, 0)  # busy: the job does not know yet
        parts = [self._what]
        if self._step:
            parts.append(self._step)
        timing = f"{format_seconds(elapsed)} so far"
        left = self.seconds_left()
        if left >= 1:
            timing += f", about {format_seconds(left)} left"
        elif math.isfinite(left):
            timing += ", finishing" if self._fraction >= 0.8 else ", longer than estimated"
        parts.append(timing)
        self.label.setText(" — ".join(parts))
