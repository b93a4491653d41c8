"""Save a pyqtgraph plot as PNG or SVG, atomically (a failed export never leaves half a file).

PNG: the scene is drawn at ``scale`` × its on-screen size through the image's device pixel
ratio, so that items which ignore transformations (the legend, text labels, arrow heads) grow
with everything else; a plain scaled render leaves them at screen size, tiny beside the axes.

SVG: Qt's SVG generator draws every item in its own coordinates under a ``transform`` and marks
cosmetic (fixed-width) strokes ``vector-effect="non-scaling-stroke"``.  Renderers that ignore
that attribute (librsvg, ImageMagick) then widen a 1-px line by the data-to-pixel scale into a
band hundreds of pixels wide.  After writing, such elements get their coordinates mapped into
the parent's and the transform dropped, so every renderer draws the same picture.  pyqtgraph's
export mode is switched on while drawing, so scatter symbols are vector paths, not bitmaps.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from svdstudio.io.atomic import atomic_path

__all__ = ["export_plot", "flatten_svg_strokes"]

SVG_NS = "http://www.w3.org/2000/svg"


def export_plot(plot: pg.PlotWidget, path: str | os.PathLike[str], *, scale: float = 2.0) -> None:
    """Write ``plot`` to ``path``: SVG for ``.svg``, else PNG at ``scale`` × its on-screen size
    (at least 800 pixels wide).

    Raises OSError or RuntimeError; the target is only replaced once the file is complete.
    """
    with atomic_path(path) as tmp:
        if Path(path).suffix.lower() == ".svg":
            _export_svg(plot, str(tmp))
        else:
            _export_png(plot, str(tmp), scale)


def _export_mode(plot: pg.PlotWidget, on: bool, painter: QtGui.QPainter | None = None) -> None:
    # Items draw for export (scatter symbols as paths rather than from a pixmap atlas), and
    # afresh: an item cached as a screen pixmap would go into the file as that bitmap.
    import pyqtgraph.exporters as exporters

    opts = {"antialias": True, "background": None, "painter": painter, "resolutionScale": 1.0}
    exporters.ImageExporter(plot.getPlotItem()).setExportMode(on, opts if on else None)
    _item_caches(plot, on)


_NO_CACHE = QtWidgets.QGraphicsItem.CacheMode.NoCache
_CACHED = "_svdstudio_item_caches"  # (item, its cache mode) while an export draws


def _item_caches(plot: pg.PlotWidget, off: bool) -> None:
    """Turn every cached item's cache off (``off``), or give each back what it had."""
    if off:
        cached = [(i, i.cacheMode()) for i in plot.scene().items() if i.cacheMode() != _NO_CACHE]
        setattr(plot, _CACHED, cached)
        for item, _mode in cached:
            item.setCacheMode(_NO_CACHE)
        return
    for item, mode in getattr(plot, _CACHED, ()):
        item.setCacheMode(mode)
    setattr(plot, _CACHED, [])


def _source_rect(plot: pg.PlotWidget) -> QtCore.QRectF:
    return plot.getPlotItem().sceneBoundingRect()


def _export_png(plot: pg.PlotWidget, path: str, scale: float) -> None:
    rect = _source_rect(plot)
    if rect.width() < 1 or rect.height() < 1:
        raise RuntimeError("the plot has no size to draw")
    ratio = max(scale, 800.0 / rect.width())
    w, h = round(rect.width() * ratio), round(rect.height() * ratio)
    img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32)
    img.setDevicePixelRatio(ratio)
    img.fill(plot.backgroundBrush().color())
    painter = QtGui.QPainter(img)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        _export_mode(plot, True, painter)
        try:
            target = QtCore.QRectF(0, 0, w / ratio, h / ratio)
            plot.scene().render(painter, target, rect)
        finally:
            _export_mode(plot, False)
    finally:
        painter.end()
    img.setDevicePixelRatio(1.0)
    if not img.save(path, "PNG"):
        raise RuntimeError("the image could not be encoded as PNG")


def _export_svg(plot: pg.PlotWidget, path: str) -> None:
    from PySide6.QtSvg import QSvgGenerator

    rect = _source_rect(plot)
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buffer)
    gen.setSize(QtCore.QSize(int(rect.width()), int(rect.height())))
    gen.setViewBox(QtCore.QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle("SVD Studio plot")
    gen.setResolution(plot.logicalDpiX())  # else text and data disagree on the scale
    painter = QtGui.QPainter(gen)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        _export_mode(plot, True, painter)
        try:
            background = plot.backgroundBrush()
            if background.style() != QtCore.Qt.BrushStyle.NoBrush:
                painter.fillRect(QtCore.QRectF(0, 0, rect.width(), rect.height()), background)
            plot.scene().render(painter, QtCore.QRectF(0, 0, rect.width(), rect.height()), rect)
        finally:
            _export_mode(plot, False)
    finally:
        painter.end()
    buffer.close()
    text = flatten_svg_strokes(bytes(buffer.data()).decode("utf-8"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------- SVG post-processing
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _parse_matrix(text: str | None) -> _Matrix | None:
    if not text:
        return None
    m = _MATRIX.match(text)
    if not m:
        return None
    values = [float(v) for v in _NUMBER.findall(m.group(1))]
    return tuple(values) if len(values) == 6 else None  # type: ignore[return-value]


def _apply(m: _Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _map_points(m: _Matrix, text: str) -> str:
    nums = [float(v) for v in _NUMBER.findall(text)]
    out = []
    for i in range(0, len(nums) - 1, 2):
        x, y = _apply(m, nums[i], nums[i + 1])
        out.append(f"{_fmt(x)},{_fmt(y)}")
    return " ".join(out)


def _map_path(m: _Matrix, d: str) -> str | None:
    """Map an absolute path (M, L, C, Q, Z: what Qt writes) through ``m``; None if the path
    uses anything else (left as it is)."""
    tokens = re.findall(r"[A-Za-z]|" + _NUMBER.pattern, d)
    out: list[str] = []
    pending: list[float] = []
    for tok in tokens:
        if tok.isalpha():
            if tok not in "MLCQZ":
                return None
            out.append(tok)
            continue
        pending.append(float(tok))
        if len(pending) == 2:
            x, y = _apply(m, *pending)
            out.append(f"{_fmt(x)},{_fmt(y)}")
            pending = []
    return " ".join(out) if not pending else None


def _flatten_element(el: ET.Element, m: _Matrix) -> bool:
    """Map ``el``'s coordinates through ``m`` in place; False if it cannot be mapped."""
    tag = el.tag.rsplit("}", 1)[-1]
    if tag in ("polyline", "polygon"):
        el.set("points", _map_points(m, el.get("points", "")))
        return True
    if tag == "path":
        mapped = _map_path(m, el.get("d", ""))
        if mapped is None:
            return False
        el.set("d", mapped)
        return True
    if tag == "line":
        x1, y1 = _apply(m, float(el.get("x1", 0)), float(el.get("y1", 0)))
        x2, y2 = _apply(m, float(el.get("x2", 0)), float(el.get("y2", 0)))
        for k, v in (("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)):
            el.set(k, _fmt(v))
        return True
    if tag == "rect" and m[1] == 0 and m[2] == 0:
        x, y = float(el.get("x", 0)), float(el.get("y", 0))
        w, h = float(el.get("width", 0)), float(el.get("height", 0))
        x0, y0 = _apply(m, x, y)
        x1, y1 = _apply(m, x + w, y + h)
        el.set("x", _fmt(min(x0, x1)))
        el.set("y", _fmt(min(y0, y1)))
        el.set("width", _fmt(abs(x1 - x0)))
        el.set("height", _fmt(abs(y1 - y0)))
        return True
    return False


def _groups(root: ET.Element) -> Iterator[tuple[ET.Element, ET.Element]]:
    for parent in root.iter():
        for child in list(parent):
            if child.tag.rsplit("}", 1)[-1] == "g":
                yield parent, child


def flatten_svg_strokes(svg: str) -> str:
    """Rewrite ``svg`` so that no element with a non-scaling stroke sits under a scaling
    transform: its coordinates are mapped into the parent's instead (the group is split where
    it also holds text or images, which keep the transform).  Returns the new document."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    for parent, group in list(_groups(root)):
        m = _parse_matrix(group.get("transform"))
        if m is None or m[:4] == _IDENTITY[:4]:
            continue  # a translation only: strokes keep their width everywhere
        children = list(group)
        if not any(c.get("vector-effect") == "non-scaling-stroke" for c in children):
            continue
        runs: list[tuple[bool, list[ET.Element]]] = []
        for child in children:
            flat = child.get("vector-effect") == "non-scaling-stroke" and _flatten_element(child, m)
            if runs and runs[-1][0] == flat:
                runs[-1][1].append(child)
            else:
                runs.append((flat, [child]))
        index = list(parent).index(group)
        parent.remove(group)
        for offset, (flat, items) in enumerate(runs):
            g = ET.Element(group.tag, dict(group.attrib))
            if flat:
                g.attrib.pop("transform", None)
            g.extend(items)
            g.tail = "\n"
            parent.insert(index + offset, g)
    return '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(
        root, encoding="unicode"
    )
