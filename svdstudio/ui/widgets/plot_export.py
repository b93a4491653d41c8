"""Save a pyqtgraph plot as PNG or SVG, atomically (a failed export never leaves half a file)."""

from __future__ import annotations

import os
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from svdstudio.io.atomic import atomic_path

__all__ = ["export_plot"]


def export_plot(plot: pg.PlotWidget, path: str | os.PathLike[str], *, scale: float = 2.0) -> None:
    """Write ``plot`` to ``path``: SVG for ``.svg``, else PNG at ``scale`` × its on-screen size.

    Raises OSError or RuntimeError; the target is only replaced once the file is complete.
    """
    with atomic_path(path) as tmp:
        if Path(path).suffix.lower() == ".svg":
            _export_svg(plot, str(tmp))
        else:
            _export_png(plot, str(tmp), scale)


def _export_png(plot: pg.PlotWidget, path: str, scale: float) -> None:
    import pyqtgraph.exporters as exporters

    item = plot.getPlotItem()
    exp = exporters.ImageExporter(item)
    exp.parameters()["width"] = max(int(item.sceneBoundingRect().width() * scale), 800)
    exp.parameters()["antialias"] = True
    exp.export(path)
    if os.path.getsize(path) == 0:
        raise RuntimeError("the image came out empty")


def _export_svg(plot: pg.PlotWidget, path: str) -> None:
    import pyqtgraph.exporters as exporters

    item = plot.getPlotItem()
    try:
        exporters.SVGExporter(item).export(path)
        return
    except (ValueError, IndexError):
        # pyqtgraph 0.14's SVG exporter cannot parse the closed paths ("… Z") that Qt ≥ 6.10
        # writes (pyqtgraph issue #3495): draw the scene with Qt's own SVG generator instead.
        pass
    from PySide6.QtSvg import QSvgGenerator

    rect = item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(QtCore.QSize(int(rect.width()), int(rect.height())))
    gen.setViewBox(QtCore.QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle("SVD Studio plot")
    gen.setResolution(plot.logicalDpiX())  # else text and data disagree on the scale
    painter = QtGui.QPainter(gen)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        plot.scene().render(painter, QtCore.QRectF(0, 0, rect.width(), rect.height()), rect)
    finally:
        painter.end()
