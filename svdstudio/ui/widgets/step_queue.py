"""Putting a result on show over several turns of the event loop (Matrix, Image).

Each view of a big result costs tens of milliseconds of GUI-thread work; run together they
freeze the window.  A :class:`StepQueue` runs the first step at once (what the user sees
soonest) and each of the others on a later turn; a newer result cancels the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

__all__ = ["StepQueue"]


class StepQueue:
    """Steps still to run, one per event-loop turn (the timer is a child of ``parent``)."""

    def __init__(self, parent: QObject) -> None:
        self._steps: list[Callable[[], None]] = []
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_step)

    def run(self, steps: list[Callable[[], None]], spread: bool) -> None:
        """Run ``steps`` now, or with ``spread`` one per event-loop turn."""
        if not spread:
            for step in steps:
                step()
            return
        self._steps = list(steps)
        self._run_step()  # the first at once: what the user sees soonest

    def pending(self) -> bool:
        """Whether steps are still waiting for their turn."""
        return bool(self._steps)

    def cancel(self) -> None:
        self._steps = []
        self._timer.stop()

    def _run_step(self) -> None:
        if self._steps:
            self._steps.pop(0)()
        if self._steps:
            self._timer.start()
