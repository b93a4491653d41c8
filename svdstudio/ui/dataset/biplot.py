"""The biplot's feature arrows and their name labels, kept apart from each other and the legend.

The arrows are one item that draws in device pixels (the tips mapped through the painter's
transform, then the transform reset): line widths and heads stay the same at any zoom, and an
SVG export holds plain device coordinates that every renderer draws alike.  Labels are placed
in screen space each time the view changes: next to the tip, pushed outwards along the arrow
or sideways until they overlap no other label and stay clear of the legend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

__all__ = ["ARROW_COLOUR", "BiplotArrows", "leader_end", "place_labels"]

ARROW_COLOUR = "#444444"
LEADER_COLOUR = "#9a9a9a"
HEAD_LEN_PX = 9.0
HEAD_HALF_WIDTH_PX = 4.0
LINE_WIDTH_PX = 1.5


class BiplotArrows(pg.GraphicsObject):
    """Arrows from the origin to ``tips`` (data coordinates), heads and widths in pixels."""

    def __init__(self) -> None:
        super().__init__()
        self._tips = np.zeros((0, 2))
        self._leaders = np.zeros((0, 4))  # x0, y0, x1, y1 in data coordinates

    def set_tips(self, tips: np.ndarray) -> None:
        """Draw one arrow from (0, 0) to each row of ``tips`` (n × 2)."""
        self.prepareGeometryChange()
        self._tips = np.asarray(tips, dtype=np.float64).reshape(-1, 2)
        self.update()

    def set_leaders(self, segments: np.ndarray) -> None:
        """Thin lines (data coordinates, rows x0, y0, x1, y1) from a tip to its moved label."""
        self._leaders = np.asarray(segments, dtype=np.float64).reshape(-1, 4)
        self.update()

    def tips(self) -> np.ndarray:
        """The arrow tips in data coordinates."""
        return self._tips

    def setExportMode(self, export: bool, opts: dict | None = None) -> bool:
        """pyqtgraph's export hook: nothing changes (drawing is already in device pixels)."""
        return False

    def boundingRect(self) -> QtCore.QRectF:
        """The tips and the origin, padded by a head's length in data units."""
        if self._tips.shape[0] == 0:
            return QtCore.QRectF()
        pts = np.vstack([self._tips, [[0.0, 0.0]]])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        px = self.pixelVectors()
        pad_x = pad_y = 0.0
        if px[0] is not None:
            pad_x = (abs(px[0].x()) + abs(px[1].x())) * HEAD_LEN_PX
            pad_y = (abs(px[0].y()) + abs(px[1].y())) * HEAD_LEN_PX
        return QtCore.QRectF(
            lo[0] - pad_x, lo[1] - pad_y, hi[0] - lo[0] + 2 * pad_x, hi[1] - lo[1] + 2 * pad_y
        )

    def paint(self, painter: QtGui.QPainter, *args: object) -> None:
        """Lines and filled heads, in device pixels."""
        if self._tips.shape[0] == 0:
            return
        t = painter.transform()
        origin = t.map(QtCore.QPointF(0.0, 0.0))
        tips = [t.map(QtCore.QPointF(float(x), float(y))) for x, y in self._tips]
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        # Not cosmetic: with the transform reset, the width is in logical pixels, so a PNG
        # drawn at twice the size (device pixel ratio 2) gets lines twice as wide, as it should.
        pen = QtGui.QPen(QtGui.QColor(ARROW_COLOUR))
        pen.setWidthF(LINE_WIDTH_PX)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
        head_len, half = HEAD_LEN_PX, HEAD_HALF_WIDTH_PX
        if self._leaders.shape[0]:
            leader = QtGui.QPen(QtGui.QColor(LEADER_COLOUR))
            leader.setWidthF(0.8)
            painter.setPen(leader)
            for x0, y0, x1, y1 in self._leaders:
                painter.drawLine(
                    t.map(QtCore.QPointF(float(x0), float(y0))),
                    t.map(QtCore.QPointF(float(x1), float(y1))),
                )
        heads = QtGui.QPainterPath()
        painter.setPen(pen)
        for tip in tips:
            dx, dy = tip.x() - origin.x(), tip.y() - origin.y()
            length = float(np.hypot(dx, dy))
            if length < 1e-9:
                continue
            ux, uy = dx / length, dy / length
            back = min(head_len, 0.6 * length)
            base = QtCore.QPointF(tip.x() - ux * back, tip.y() - uy * back)
            painter.drawLine(origin, base)
            w = half * back / head_len
            heads.moveTo(tip)
            heads.lineTo(base.x() - uy * w, base.y() + ux * w)
            heads.lineTo(base.x() + uy * w, base.y() - ux * w)
            heads.closeSubpath()
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QColor(ARROW_COLOUR))
        painter.drawPath(heads)
        painter.restore()


_Box = tuple[float, float, float, float]  # left, top, right, bottom
_ALONG = (*range(0, 9), 10, 12, 14, 16, 19, 22, 26, -1, -2, -3, -4)
_SIDE = (0, 1, -1, 2, -2, 3, -3, 4, -4, 6, -6, 8, -8, 10, -10)


def _inside(box: _Box, bounds: _Box) -> _Box:
    """``box`` moved (not resized) to lie within ``bounds`` as far as it fits."""
    left, top, right, bottom = box
    dx = max(bounds[0] - left, 0.0) - max(right - bounds[2], 0.0)
    dy = max(bounds[1] - top, 0.0) - max(bottom - bounds[3], 0.0)
    return left + dx, top + dy, right + dx, bottom + dy


def _overlap(a: _Box, b: _Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _box(r: QtCore.QRectF) -> _Box:
    return r.left(), r.top(), r.right(), r.bottom()


def place_labels(
    tips: Sequence[QtCore.QPointF],
    origin: QtCore.QPointF,
    sizes: Sequence[tuple[float, float]],
    avoid: Sequence[QtCore.QRectF],
    bounds: QtCore.QRectF,
    gap: float = -2.0,  # the text item has a 4-px margin of its own
) -> list[QtCore.QRectF]:
    """Rectangles (screen pixels) for labels of ``sizes`` next to arrow ``tips``.

    Each label starts just past its tip, on the side the arrow points to, moved inside
    ``bounds``; if it overlaps a label already placed or a rectangle in ``avoid``, it moves
    outwards along the arrow (then back towards the origin) and sideways, in steps of half its
    height; the first free spot wins, else the one with the least overlap.  Labels are placed
    in the order given (longest arrow first).
    """
    taken: list[_Box] = [_box(r) for r in avoid]
    frame = _box(bounds)
    out: list[QtCore.QRectF] = []
    for tip, (w, h) in zip(tips, sizes, strict=True):
        dx, dy = tip.x() - origin.x(), tip.y() - origin.y()
        norm = float(np.hypot(dx, dy)) or 1.0
        ux, uy = dx / norm, dy / norm
        # Start with the label's corner (or edge middle) that faces the origin at the tip.
        cx = tip.x() + (gap + w / 2) * np.sign(ux) if abs(ux) > 0.2 else tip.x()
        cy = tip.y() + (gap + h / 2) * np.sign(uy) if abs(uy) > 0.2 else tip.y()
        if abs(ux) <= 0.2 and abs(uy) <= 0.2:
            cx = tip.x() + gap + w / 2
        step = max(h / 2, 4.0)
        best: tuple[float, _Box] | None = None
        for along in _ALONG:
            for side in _SIDE:
                x = cx + (ux * along - uy * side) * step
                y = cy + (uy * along + ux * side) * step
                box = _inside((x - w / 2, y - h / 2, x + w / 2, y + h / 2), frame)
                cost = sum(_overlap(box, t) for t in taken)
                score = cost + 1e-3 * (abs(along) + abs(side))
                if best is None or score < best[0]:
                    best = (score, box)
                if cost == 0:
                    break
            else:
                continue
            break
        assert best is not None
        taken.append(best[1])
        left, top, right, bottom = best[1]
        out.append(QtCore.QRectF(left, top, right - left, bottom - top))
    return out


def leader_end(tip: QtCore.QPointF, rect: QtCore.QRectF, far: float = 6.0) -> QtCore.QPointF | None:
    """The point of ``rect`` nearest to ``tip`` if it is more than ``far`` pixels away (a
    leader line is drawn to it), else None."""
    x = min(max(tip.x(), rect.left()), rect.right())
    y = min(max(tip.y(), rect.top()), rect.bottom())
    if np.hypot(x - tip.x(), y - tip.y()) <= far:
        return None
    return QtCore.QPointF(x, y)
