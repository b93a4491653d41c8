"""Many scatter points, drawn fast: one item rasterises every class's dots with numpy.

Drawing 100,000 antialiased 3-px dots with QPainter took 80–290 ms per frame here (busy 2-core
machine); pyqtgraph's ScatterPlotItem takes 0.4 s just to build for 50 000.  :class:`PointCloud`
instead writes square dots of a fixed pixel size straight into an ARGB array covering the view
(about 10 ms for 100 000 points), draws it as one image, and keeps it until the view moves.
Classes are drawn in order, so a later class lies on top, as separate items would.  Exports
(pyqtgraph's export mode) draw real vector dots instead, so an SVG holds no bitmap.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt

__all__ = ["FastPoints", "PointCloud"]


class FastPoints:
    """One class's dots: coordinates, colour and size in pixels (drawn by a PointCloud)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, colour: str, size: float) -> None:
        self._x = np.ascontiguousarray(x, dtype=np.float64)
        self._y = np.ascontiguousarray(y, dtype=np.float64)
        self.colour = QtGui.QColor(colour)
        self.size = float(size)

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        """The x and y coordinates, like ScatterPlotItem.getData()."""
        return self._x, self._y


def _offsets(size: float) -> range:
    s = max(round(size), 1)
    return range(-(s // 2), s - s // 2)


class PointCloud(pg.GraphicsObject):
    """The dots of several :class:`FastPoints` groups, painted as one image of the view."""

    def __init__(self, groups: list[FastPoints]) -> None:
        super().__init__()
        self._groups = groups
        self._exporting = False
        self._cache_key: tuple | None = None
        self._image: QtGui.QImage | None = None
        self._buffer: np.ndarray | None = None  # the QImage's memory
        xs = [g.getData()[0] for g in groups if g.getData()[0].size]
        ys = [g.getData()[1] for g in groups if g.getData()[1].size]
        if xs:
            lo = (min(float(x.min()) for x in xs), min(float(y.min()) for y in ys))
            hi = (max(float(x.max()) for x in xs), max(float(y.max()) for y in ys))
            self._bounds = (lo, hi)
        else:
            self._bounds = ((0.0, 0.0), (0.0, 0.0))
        self._pad_px = max((g.size for g in groups), default=1.0)

    def groups(self) -> list[FastPoints]:
        """The groups drawn, in drawing order."""
        return list(self._groups)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N803
        """Data range along ``ax`` for the view box's auto-range."""
        (x0, y0), (x1, y1) = self._bounds
        return (x0, x1) if ax == 0 else (y0, y1)

    def pixelPadding(self) -> float:
        """Dots reach half their size past their centres."""
        return self._pad_px / 2

    def boundingRect(self) -> QtCore.QRectF:
        """Bounds of the data, padded by a dot in data units."""
        (x0, y0), (x1, y1) = self._bounds
        px = self.pixelVectors()
        pad_x = pad_y = 0.0
        if px[0] is not None:
            pad_x = (abs(px[0].x()) + abs(px[1].x())) * self._pad_px
            pad_y = (abs(px[0].y()) + abs(px[1].y())) * self._pad_px
        return QtCore.QRectF(
            x0 - pad_x, y0 - pad_y, (x1 - x0) or 1e-12, (y1 - y0) or 1e-12
        ).adjusted(0, 0, 2 * pad_x, 2 * pad_y)

    def setExportMode(self, export: bool, opts: dict | None = None) -> bool:
        """pyqtgraph's export hook: while exporting, dots are drawn as vector points."""
        self._exporting = bool(export)
        return False

    def paint(self, painter: QtGui.QPainter, *args: object) -> None:
        """The cached image of the view (re-rendered when the view moved), or vector dots."""
        t = painter.transform()
        if self._exporting or t.m12() != 0 or t.m21() != 0:
            self._paint_vector(painter)
            return
        vb = self.getViewBox()
        if vb is None:
            return
        device = t.mapRect(vb.viewRect())
        dev = painter.device()
        ratio = float(dev.devicePixelRatioF()) if dev is not None else 1.0
        left, top = math.floor(device.left()), math.floor(device.top())
        width = max(math.ceil(device.right()) - left, 1)
        height = max(math.ceil(device.bottom()) - top, 1)
        key = (t.m11(), t.m22(), t.dx(), t.dy(), width, height, ratio)
        if key != self._cache_key:
            self._render(t, left, top, width, height, ratio)
            self._cache_key = key
        painter.save()
        painter.resetTransform()
        painter.drawImage(QtCore.QRectF(left, top, width, height), self._image)
        painter.restore()

    def _render(
        self, t: QtGui.QTransform, left: int, top: int, width: int, height: int, ratio: float
    ) -> None:
        w, h = max(round(width * ratio), 1), max(round(height * ratio), 1)
        pad = math.ceil(self._pad_px * ratio) + 1
        # Padded on every side, so a dot near the edge needs no clipping per offset.
        stride = w + 2 * pad
        img = np.zeros((h + 2 * pad) * stride, dtype=np.uint32)
        for g in self._groups:
            x, y = g.getData()
            fx = (t.m11() * x + (t.dx() - left)) * ratio
            fy = (t.m22() * y + (t.dy() - top)) * ratio
            inside = (fx >= -0.5) & (fx < w - 0.5) & (fy >= -0.5) & (fy < h - 0.5)
            # One flat index per dot, then one shifted write per pixel of the dot's square.
            lin = (np.rint(fy[inside]).astype(np.int32) + pad) * stride
            lin += np.rint(fx[inside]).astype(np.int32) + pad
            argb = np.uint32(g.colour.rgba())  # opaque: premultiplied is the same
            offsets = _offsets(g.size * ratio)
            for dy in offsets:
                for dx in offsets:
                    img[lin + (dy * stride + dx)] = argb
        img = img.reshape(h + 2 * pad, stride)
        self._buffer = np.ascontiguousarray(img[pad : pad + h, pad : pad + w])
        self._image = QtGui.QImage(
            self._buffer.data, w, h, 4 * w, QtGui.QImage.Format.Format_ARGB32_Premultiplied
        )
        self._image.setDevicePixelRatio(ratio)

    def _paint_vector(self, painter: QtGui.QPainter) -> None:
        # Device pixels first: an SVG then holds plain coordinates, and a PNG drawn at twice
        # the size gets dots twice as big (a non-cosmetic pen of the dots' width).
        t = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        for g in self._groups:
            x, y = g.getData()
            xy = pg.functions.transformCoordinates(t, np.vstack([x, y]))
            pen = QtGui.QPen(g.colour)
            pen.setWidthF(g.size)
            pen.setCapStyle(Qt.PenCapStyle.SquareCap)
            painter.setPen(pen)
            painter.drawPoints(pg.functions.arrayToQPolygonF(xy[0], xy[1]))
        painter.restore()
