"""SteadyTabWidget: a QTabWidget that repaints nothing when a relayout inside it moves nothing.

Every LayoutRequest a ``QTabWidget`` receives (one follows each ``updateGeometry()`` of any
widget on its pages: a label's new text, a spin box's new range) re-places its tab bar and
page stack and then calls ``update()`` on itself, which repaints everything on the current
page, and ``updateGeometry()``, which sends the request on to the widget above it.  In the
main window, whose central widget is the tab widget, a new line in the Image tab's info label
repainted the whole 1920×1034 window (38 rectangles; 30-130 ms of the GUI thread while an SVD
kept both cores busy: the longest event-loop gaps of opening a 12-MP photo).

Here a LayoutRequest that would put the tab bar and the stack where they already are leaves
the painting to the widgets that changed, and passes the request on only when the tab widget's
own size hints changed.  Anything else (the first layout, a resize, a new tab, a corner widget,
a new style or font) is QTabWidget's own code, as before.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["SteadyTabWidget"]


class SteadyTabWidget(QtWidgets.QTabWidget):
    """A :class:`QTabWidget` whose no-op relayouts repaint nothing (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._hints: tuple[QtCore.QSize, QtCore.QSize] | None = None
        self.steady_requests = 0  # LayoutRequests answered without a relayout (for tests)

    def event(self, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.LayoutRequest and self._in_place():
            self.steady_requests += 1
            hints = (self.sizeHint(), self.minimumSizeHint())
            if hints != self._hints:
                self._hints = hints
                self.updateGeometry()
            return QtWidgets.QWidget.event(self, ev)
        handled = super().event(ev)
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:
            self._hints = (self.sizeHint(), self.minimumSizeHint())
        return handled

    def _in_place(self) -> bool:
        """True when QTabWidget's relayout would leave the tab bar and the stack as they are."""
        if not self.isVisible() or self._hints is None:
            return False
        corners = (QtCore.Qt.Corner.TopLeftCorner, QtCore.Qt.Corner.TopRightCorner)
        corners += (QtCore.Qt.Corner.BottomLeftCorner, QtCore.Qt.Corner.BottomRightCorner)
        if any(self.cornerWidget(c) is not None for c in corners):
            return False
        stack = self.findChild(QtWidgets.QStackedWidget, "qt_tabwidget_stackedwidget")
        if stack is None:
            return False
        option = QtWidgets.QStyleOptionTabWidgetFrame()
        self.initStyleOption(option)
        style = self.style()
        bar = style.subElementRect(QtWidgets.QStyle.SubElement.SE_TabWidgetTabBar, option, self)
        contents = style.subElementRect(
            QtWidgets.QStyle.SubElement.SE_TabWidgetTabContents, option, self
        )
        return bar == self.tabBar().geometry() and contents == stack.geometry()
