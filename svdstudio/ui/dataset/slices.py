"""GUI-thread work cut into short steps, one step per pass of the event loop.

Showing a projection of 100,000 rows is a handful of jobs for the GUI thread (the spectrum, the
dots, the legend, the axis titles, the arrows), each followed by a paint.  Done in one slot they
kept the window from answering for a quarter of a second; :class:`Slices` runs them from a
zero-timer instead, so input and paints are handled between any two of them.

Work is queued by name ("spectrum", "scatter", ...): queueing a name again replaces that
name's steps not yet run (a newer draw of the same thing wins) and keeps the others.
``finished`` is emitted once every queue has run empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtCore
from PySide6.QtCore import Signal

__all__ = ["Slices", "Step"]

Step = Callable[[], None]


class Slices(QtCore.QObject):
    """Named queues of short steps, run one step per event-loop pass (see the module doc)."""

    finished = Signal()  # every queue ran empty

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._queues: dict[str, list[Step]] = {}
        self._generation = 0  # counts cancels: a step that cancels ends its round quietly
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_one)

    def queue(self, name: str, steps: Iterable[Step]) -> None:
        """Run ``steps`` in order, one per pass, after the steps queued before under other
        names (under ``name`` itself they replace the steps not yet run)."""
        self._queues.pop(name, None)  # a replaced queue goes to the back, after the others
        self._queues[name] = list(steps)
        self._timer.start()

    def drop(self, name: str) -> None:
        """Drop the steps of ``name`` not yet run."""
        self._queues.pop(name, None)

    def cancel(self) -> None:
        """Drop every step not yet run (``finished`` is not emitted)."""
        self._queues.clear()
        self._generation += 1
        self._timer.stop()

    def flush(self) -> None:
        """Run every step still queued now (for callers that need the end state at once)."""
        self._timer.stop()
        if not self._queues:
            return
        generation = self._generation
        while self._run_step():
            pass
        if generation == self._generation:
            self.finished.emit()

    def busy(self) -> bool:
        """Whether steps are still queued."""
        return bool(self._queues)

    def _run_step(self) -> bool:
        """Run the next step; False when nothing was left."""
        while self._queues:
            name = next(iter(self._queues))
            steps = self._queues[name]
            if not steps:
                del self._queues[name]
                continue
            step = steps.pop(0)
            if not steps:
                del self._queues[name]
            step()
            return True
        return False

    def _run_one(self) -> None:
        generation = self._generation
        try:
            if not self._run_step():
                return
        finally:
            if self._queues:
                self._timer.start()  # a step that raised does not stop the ones after it
        if not self._queues and generation == self._generation:
            self.finished.emit()
