"""Many scatter points, drawn fast: one item rasterises every class's dots with numpy.

Drawing 100,000 antialiased 3-px dots with QPainter took 80–290 ms per frame here (busy 2-core
machine); pyqtgraph's ScatterPlotItem takes 0.4 s just to build for 50 000.  :class:`PointCloud`
instead writes each dot's class (its rank in the drawing order) into a byte image covering the
view, grows the centres into squares of the dots' size with a few shifted maxima of the whole
image, and turns ranks into colours through a table: one scattered write per point instead of
one per pixel of every dot.  The image is kept until the view moves.  Classes are drawn in
order, so a later class lies on top, as separate items would (the largest rank wins).

A view of many points is rasterised in steps of :attr:`PointCloud.chunk_points`: a paint on
screen does what fits in :attr:`PointCloud.slice_seconds` and draws it, and a zero-timer asks
for the next paint, so the event loop runs between steps.  The finished picture is the same as
one step's (a test checks it).  Exports (pyqtgraph's export mode) draw real vector dots
instead, so an SVG holds no bitmap.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt

__all__ = ["FastPoints", "PointCloud"]


class FastPoints:
    """One class's dots: coordinates, colour and size in pixels (drawn by a PointCloud)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, colour: str, size: float) -> None:
        # Views of contiguous float64 input are kept as they are (no copy).
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


def _grow(ranks: np.ndarray, offsets: range) -> np.ndarray:
    """Each pixel takes the largest rank within ``offsets`` of it along both axes (a square
    max-filter, done as one pass per axis): every centre becomes a dot of that size."""
    out = ranks
    for axis in (1, 0):
        grown = out.copy()
        n = out.shape[axis]
        for d in offsets:
            if d == 0 or abs(d) >= n:
                continue
            # A centre at i covers i + d: grown[i + d] = max(grown[i + d], out[i]).
            dst = [slice(None)] * 2
            src = [slice(None)] * 2
            dst[axis] = slice(max(d, 0), n + min(d, 0))
            src[axis] = slice(max(-d, 0), n + min(-d, 0))
            np.maximum(grown[tuple(dst)], out[tuple(src)], out=grown[tuple(dst)])
        out = grown
    return out


class PointCloud(pg.GraphicsObject):
    """The dots of several :class:`FastPoints` groups, painted as one image of the view."""

    chunk_points = 131_072  # points rasterised per step
    slice_seconds = 0.010  # rasterising done in one paint on screen before it draws

    def __init__(self, groups: list[FastPoints]) -> None:
        super().__init__()
        if len(groups) > 254:
            raise ValueError(f"{len(groups)} groups of points: at most 254 can be drawn")
        self._groups = groups
        self._exporting = False
        self._cache_key: tuple | None = None
        self._image: QtGui.QImage | None = None
        self._buffer: np.ndarray | None = None  # the QImage's memory
        # The drawing order as (rank, x, y, size) runs; rank 0 is the empty background.
        self._runs = [(i + 1, *g.getData(), g.size) for i, g in enumerate(groups)]
        self._total = sum(x.size for _, x, _, _ in self._runs)
        self._lut = np.zeros(len(groups) + 1, dtype=np.uint32)
        for i, g in enumerate(groups):
            self._lut[i + 1] = np.uint32(g.colour.rgba())  # opaque: premultiplied is the same
        self._uniform = len({g.size for g in groups}) <= 1
        # Progress of the raster of the current view (see _begin).
        self._ranks: np.ndarray | None = None
        self._frame: tuple | None = None  # (m11, m22, dx, dy, left, top, w, h, pad, ratio)
        self._done = 0  # points rasterised so far, in drawing order
        self._shown = -1  # points in the image last made from the ranks
        self._more = QtCore.QTimer()
        self._more.setSingleShot(True)
        self._more.setInterval(0)
        self._more.timeout.connect(self.update)
        xs = [x for _, x, _, _ in self._runs if x.size]
        ys = [y for _, _, y, _ in self._runs if y.size]
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

    def drawing(self) -> bool:
        """Whether the picture of the view is unfinished: not painted yet, or its raster
        still being built (more paints follow)."""
        return self._ranks is None or self._done < self._total or self._shown != self._done

    def paint(self, painter: QtGui.QPainter, *args: object) -> None:
        """The image of the view (re-rasterised, in steps, when the view moved), or vector
        dots while exporting."""
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
            self._begin(t, left, top, width, height, ratio)
            self._cache_key = key
        if self._done < self._total:
            self.rasterise(self.slice_seconds)
            if self._done < self._total:
                self._more.start()  # the rest on the next paints, after other events
        if self._shown != self._done:
            self._make_image()
        if self._image is None:
            return
        painter.save()
        painter.resetTransform()
        painter.drawImage(QtCore.QRectF(left, top, width, height), self._image)
        painter.restore()

    def _begin(
        self, t: QtGui.QTransform, left: int, top: int, width: int, height: int, ratio: float
    ) -> None:
        w, h = max(round(width * ratio), 1), max(round(height * ratio), 1)
        pad = math.ceil(self._pad_px * ratio) + 1
        # Padded on every side, so a dot near the edge needs no clipping.
        self._ranks = np.zeros((h + 2 * pad, w + 2 * pad), dtype=np.uint8)
        self._frame = (t.m11(), t.m22(), t.dx() - left, t.dy() - top, w, h, pad, ratio)
        self._done = 0
        self._shown = -1

    def rasterise(self, seconds: float | None = None) -> None:
        """Rasterise the current view's points, in steps of :attr:`chunk_points`, until done
        or (when ``seconds`` is given) once that much time has been spent."""
        if self._ranks is None or self._frame is None:
            return
        start = time.perf_counter()
        while self._done < self._total:
            self._step(self.chunk_points)
            if seconds is not None and time.perf_counter() - start >= seconds:
                break

    def _step(self, count: int) -> None:
        """Rasterise the next ``count`` points (in drawing order)."""
        assert self._ranks is not None and self._frame is not None
        m11, m22, dx, dy, w, h, pad, ratio = self._frame
        flat = self._ranks.reshape(-1)
        stride = self._ranks.shape[1]
        begin, end, offset = self._done, min(self._done + count, self._total), 0
        for rank, x, y, size in self._runs:
            lo, hi = max(begin - offset, 0), min(end - offset, x.size)
            offset += x.size
            if lo >= hi:
                continue
            fx = x[lo:hi] * (m11 * ratio) + (dx * ratio)
            fy = y[lo:hi] * (m22 * ratio) + (dy * ratio)
            inside = (fx >= -0.5) & (fx < w - 0.5) & (fy >= -0.5) & (fy < h - 0.5)
            lin = (np.rint(fy[inside]).astype(np.intp) + pad) * stride
            lin += np.rint(fx[inside]).astype(np.intp) + pad
            if self._uniform:
                flat[lin] = rank  # the centres; _make_image grows them into dots
            else:
                # Sizes differ: stamp each dot's square now, in drawing order.
                offsets = _offsets(size * ratio)
                for oy in offsets:
                    for ox in offsets:
                        flat[lin + (oy * stride + ox)] = rank
        self._done = end

    def _make_image(self) -> None:
        assert self._ranks is not None and self._frame is not None
        _m11, _m22, _dx, _dy, w, h, pad, ratio = self._frame
        ranks = self._ranks
        if self._uniform and self._groups:
            ranks = _grow(ranks, _offsets(self._groups[0].size * ratio))
        self._buffer = np.ascontiguousarray(self._lut[ranks[pad : pad + h, pad : pad + w]])
        self._image = QtGui.QImage(
            self._buffer.data, w, h, 4 * w, QtGui.QImage.Format.Format_ARGB32_Premultiplied
        )
        self._image.setDevicePixelRatio(ratio)
        self._shown = self._done

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
