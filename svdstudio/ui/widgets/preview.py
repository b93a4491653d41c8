"""Show one tab alone, for ``python -m svdstudio.ui.<tab>.tab`` (each tab's preview)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtWidgets import QApplication, QWidget

from svdstudio.workers import JobRunner

__all__ = ["preview_tab"]


def preview_tab(
    build: Callable[[JobRunner], QWidget],
    *,
    path: str | None = None,
    size: tuple[int, int] = (1280, 800),
) -> int:
    """Build the tab on its own job runner, open ``path`` if given (else its defaults), show
    it and run the event loop; returns the exit status."""
    app = QApplication.instance() or QApplication(sys.argv)
    runner = JobRunner()
    tab = build(runner)
    tab.resize(*size)
    if path:
        tab.open_file(path)  # type: ignore[attr-defined]  # a Tab
    else:
        tab.load_defaults()  # type: ignore[attr-defined]
    tab.show()
    code = app.exec()
    runner.shutdown()
    return code
