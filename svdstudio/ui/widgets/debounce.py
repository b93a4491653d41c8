"""One debounce helper: run a callback once, a moment after the last of a burst of triggers.

Used instead of hand-made single-shot timers (zoom detail rebuilds, redraws after resizes).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore

__all__ = ["Debouncer"]


class Debouncer(QtCore.QObject):
    """Calls ``callback()`` ``delay_ms`` after the last :meth:`trigger` (each trigger restarts)."""

    def __init__(
        self, delay_ms: int, callback: Callable[[], object], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.delay_ms = int(delay_ms)
        self._callback = callback
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    def trigger(self, delay_ms: int | None = None) -> None:
        """(Re)start the wait: the callback runs ``delay_ms`` (default: the usual) from now."""
        self._timer.start(self.delay_ms if delay_ms is None else int(delay_ms))

    def cancel(self) -> None:
        """Forget a pending call."""
        self._timer.stop()

    def pending(self) -> bool:
        """True while a call is waiting."""
        return self._timer.isActive()

    def flush(self) -> None:
        """Run a pending call now (nothing happens if none is pending)."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    def _fire(self) -> None:
        self._callback()
