"""The one event-loop wait the Qt benchmarks share."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer


def wait(predicate: Callable[[], object], timeout_s: float) -> bool:
    """Run the event loop until ``predicate()`` holds (checked every 5 ms) or time runs out."""
    end = time.monotonic() + timeout_s
    loop = QEventLoop()
    while time.monotonic() < end:
        if predicate():
            return True
        QTimer.singleShot(5, loop.quit)
        loop.exec()
    return bool(predicate())
