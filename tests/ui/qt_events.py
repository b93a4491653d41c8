"""Event counters for UI tests: what a widget was asked to relayout or repaint."""

from __future__ import annotations

from PySide6 import QtCore

__all__ = ["LayoutRequests", "PaintRegions"]


class LayoutRequests(QtCore.QObject):
    """Counts the LayoutRequest events a widget receives (a relayout of all inside it)."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _obj, ev) -> bool:
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:
            self.count += 1
        return False


class PaintRegions(QtCore.QObject):
    """The bounding rectangles of a widget's paint events."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.regions = []
        widget.installEventFilter(self)

    def eventFilter(self, _obj, ev) -> bool:
        if ev.type() == QtCore.QEvent.Type.Paint:
            self.regions.append(ev.region().boundingRect())
        return False
