"""Left-button clicks and drags on :class:`.spectrum_plot.SpectrumPlot`, read straight from the
viewport's Qt mouse events.

pyqtgraph's scene starts a drag only once the pointer has moved 5 px or 0.5 s has passed
(``minDragTime``), and drops moves closer together than 10 ms (``mouseRateLimit``): the first
moves of a drag were lost and a fast drag skipped ranks.  Here a press on the cutoff line drags
it from the first move, every move is seen, and a press elsewhere becomes a drag after a few
pixels (so that a click that trembles is still a click on the bar under it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui
from PySide6.QtCore import QEvent, Qt

__all__ = ["CutoffGesture"]

_PRESS = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick)


@dataclass
class _Press:
    scene_x: float
    x: float  # in data coordinates
    offset: float  # line x − pointer x when the line was grabbed (it does not jump), else 0
    on_line: bool
    dragging: bool = False


class CutoffGesture:
    """Turns the viewport's left-button events into click, double-click and drag calls.

    ``line_x()`` is the cutoff line's x (data coordinates); ``on_click(x)``, ``on_double(x)``
    and ``on_drag(x, finished)`` get the pointer's x in data coordinates; ``before_press()``
    runs first on every press (the owner brings the drawing up to date).
    """

    #: Pixels a press away from the line must travel before it is a drag rather than a click.
    DRAG_START_PX = 3.0
    #: Half-width (px) of the zone around the line where a press grabs the line.
    LINE_GRIP_PX = 9.0

    def __init__(
        self,
        view: pg.PlotWidget,
        box: pg.ViewBox,
        *,
        line_x: Callable[[], float],
        before_press: Callable[[], None],
        on_click: Callable[[float], None],
        on_double: Callable[[float], None],
        on_drag: Callable[[float, bool], None],
    ) -> None:
        self._view, self._box = view, box
        self._line_x = line_x
        self._before_press = before_press
        self._on_click, self._on_double, self._on_drag = on_click, on_double, on_drag
        self._press: _Press | None = None

    def dragging(self) -> bool:
        """Whether a drag of the cutoff is under way (the button is down and moving)."""
        return self._press is not None and self._press.dragging

    def handle(self, ev: QtCore.QEvent) -> bool:
        """Handle one viewport event; True when it was consumed (pyqtgraph must not see it)."""
        kind = ev.type()
        if kind in _PRESS:
            return self._pressed(ev)  # type: ignore[arg-type]
        if kind == QEvent.Type.MouseMove and self._press is not None:
            return self._moved(ev)  # type: ignore[arg-type]
        if kind == QEvent.Type.MouseButtonRelease and self._press is not None:
            return self._released(ev)  # type: ignore[arg-type]
        return False

    def _scene_point(self, ev: QtGui.QMouseEvent) -> QtCore.QPointF:
        return self._view.mapToScene(ev.position().toPoint())

    def _pressed(self, ev: QtGui.QMouseEvent) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton:
            return False
        scene = self._scene_point(ev)
        if not self._box.sceneBoundingRect().contains(scene):
            return False  # on an axis or the margin: pyqtgraph's own handling
        self._view.setFocus(Qt.FocusReason.MouseFocusReason)
        self._before_press()
        x = self._box.mapSceneToView(scene).x()
        if ev.type() == QEvent.Type.MouseButtonDblClick:
            self._press = None
            self._on_double(x)
            return True
        line_x = self._line_x()
        line_px = self._box.mapViewToScene(QtCore.QPointF(line_x, 0)).x()
        on_line = abs(line_px - scene.x()) <= self.LINE_GRIP_PX
        self._press = _Press(scene.x(), x, line_x - x if on_line else 0.0, on_line)
        return True

    def _moved(self, ev: QtGui.QMouseEvent) -> bool:
        press = self._press
        assert press is not None
        if not ev.buttons() & Qt.MouseButton.LeftButton:
            self._press = None  # the release went elsewhere (a popup, another window)
            return False
        scene = self._scene_point(ev)
        # The line drags from its first move; elsewhere a trembling click stays a click.
        near = abs(scene.x() - press.scene_x) < self.DRAG_START_PX
        if not press.dragging and not press.on_line and near:
            return True
        press.dragging = True
        self._on_drag(self._box.mapSceneToView(scene).x() + press.offset, False)
        return True

    def _released(self, ev: QtGui.QMouseEvent) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton:
            return True  # another button let go mid-gesture: the drag goes on
        press, self._press = self._press, None
        assert press is not None
        if press.dragging:
            x = self._box.mapSceneToView(self._scene_point(ev)).x()
            self._on_drag(x + press.offset, True)
        elif not press.on_line:  # a click on the line itself is not a request to move it
            self._on_click(press.x)
        return True
