"""Python's cyclic garbage collector, run by the GUI thread's event loop instead of at random.

Left automatic, the collector runs inside whatever allocation crosses its threshold: in any
thread, and in the middle of any Qt call that calls back into Python.  Two things went wrong
here because of that:

- a collection that started inside a Qt signal disconnect (``disconnectNotify`` is called with
  one of Qt's internal mutexes held) destroyed a QObject left in a reference cycle, whose
  destructor waited for the same mutex: the GUI thread deadlocked on itself (seen in the test
  suite, where the fixtures now collect at teardown; the app had the same exposure);
- a full (generation 2) collection took 35 ms of the GUI thread in the middle of a drag or an
  arrival, on top of the frame's own work: about the whole event-loop budget (50 ms).

:class:`EventLoopCollector` turns the automatic collector off and checks the generations'
counts on a timer of the GUI thread, collecting the generations that are due, as the
automatic collector would, but between events.  Helper threads then never run a collection,
so a QObject in a cycle is always destroyed on the GUI thread.  Once the window is up,
:meth:`EventLoopCollector.freeze_startup` moves what exists (modules, classes, the window's
widgets) to the permanent generation, so that a full collection no longer walks them: they
live as long as the app anyway.  (pyqtgraph ships the same timer idea as
``pyqtgraph.util.garbage_collector``; this one adds the freeze and gives back the automatic
collector when it stops.)
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["EventLoopCollector"]


class EventLoopCollector(QObject):
    """Collects cyclic garbage from the event loop every ``interval_ms``; see the module."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 50) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()
        # The automatic collector's own thresholds; a third of 0 (Python 3.14's incremental
        # collector) means "no count of its own": every tenth generation-1 pass then, as before.
        t0, t1, t2 = (*gc.get_threshold(), 10, 10)[:3]
        self.thresholds = (max(t0, 1), max(t1, 1), t2 if t2 > 0 else 10)
        self.collections = [0, 0, 0]  # passes run by this collector, per generation
        self._frozen = False

    def start(self) -> None:
        """Turn the automatic collector off and start the timer."""
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer and give back the automatic collector (if it was on at start)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def active(self) -> bool:
        return self._timer.isActive()

    def collect_due(self) -> int:
        """Collect each generation whose count is past its threshold; returns the generation
        collected (-1 for none).  Collecting a generation also collects the younger ones."""
        counts = gc.get_count()
        due = -1
        for generation in range(3):
            if counts[generation] <= self.thresholds[generation]:
                break
            due = generation
        if due >= 0:
            gc.collect(due)
            self.collections[due] += 1
        return due

    def freeze_startup(self) -> bool:
        """Collect everything once, then move what is left to the permanent generation (once
        per collector; the app's start-up objects).  Returns False on the second call."""
        if self._frozen:
            return False
        gc.collect()
        gc.freeze()
        self._frozen = True
        return True
