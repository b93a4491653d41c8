"""The Dataset lab's 2-D scatter: points coloured by class, a legend, hover, biplot arrows.

Hovering finds the nearest point in screen pixels through a grid index of the shown points
(:class:`.hover_index.HoverIndex`, built in steps with the points): a mouse move measures only
the points in the cells the hover radius reaches, not all of them (a plain pass over 1,000,000
cost about 20 ms per move).

The legend sits in the top-right corner in room kept free for it: fitting the view leaves a
margin as wide as the legend (or as tall, whichever costs the data less), so it never covers a
point or an arrow label; it can also be dragged, and is semi-transparent.  No axis rescales its
ticks with an SI prefix: the components have no unit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.ui.dataset.biplot import BiplotArrows, leader_end, place_labels
from svdstudio.ui.dataset.hover_index import HoverIndex
from svdstudio.ui.dataset.points import FastPoints, PointCloud
from svdstudio.ui.dataset.slices import Step

__all__ = ["PALETTE", "DatasetScatter", "FastPoints", "PointCloud", "class_colours"]

# Tableau 10, then lighter companions (tab20): distinct, print-safe, colour-blind friendlier.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#a0cbe8",
    "#ffbe7d",
    "#ff9d9a",
    "#86bcb6",
    "#8cd17d",
    "#f1ce63",
    "#d4a6c8",
    "#fabfd2",
    "#d7b5a6",
    "#79706e",
)
UNLABELLED = "#4e79a7"
MAX_CLASSES = len(PALETTE)
MAX_ARROWS = 12
HOVER_RADIUS_PX = 10.0
LEGEND_MARGIN_PX = 10  # between the legend and the plot's edge, and past it before the data


# From this many points on, dots are drawn by one PointCloud (numpy raster of the view) instead
# of pyqtgraph's per-spot ScatterPlotItem (0.4 s to build for 50 000 points).
FAST_POINTS_FROM = 5000
# Rows handled per drawing step of a big table (a few ms each for 200,000 rows).
BLOCK_ROWS = 200_000


class GridAxis(pg.AxisItem):
    """An axis whose grid lines are drawn opaque, in the colour they had blended over the
    white plot, and beneath the points (not over them).

    Translucent lines are slow to draw here: 22 grid lines over a 760 × 700 plot took 7 ms
    with a translucent pen and 0.25 ms with an opaque one, for each axis at every repaint of
    the plot.  On white the colours are the same; under the points, none is dimmed by a line.
    """

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self._pens: dict[int, QtGui.QPen] = {}

    def generateDrawSpecs(self, p: QtGui.QPainter):
        """pyqtgraph's specs with every translucent tick pen made opaque over white."""
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis_spec, tick_specs, text_specs = specs
        return axis_spec, [(self._opaque(pen), a, b) for pen, a, b in tick_specs], text_specs

    def _opaque(self, pen: QtGui.QPen) -> QtGui.QPen:
        colour = pen.color()
        if colour.alpha() == 255:
            return pen
        key = colour.rgba()
        if key not in self._pens:
            a = colour.alphaF()
            mixed = QtGui.QColor(
                *(
                    round(255 * (1 - a) + c * a)
                    for c in (colour.red(), colour.green(), colour.blue())
                )
            )
            opaque = QtGui.QPen(pen)
            opaque.setColor(mixed)
            self._pens[key] = opaque
        return self._pens[key]


def _settle() -> None:
    """A drawing step that does nothing: one more pass of the event loop (for a layout)."""


def class_colours(classes: list[str]) -> dict[str, str]:
    """One palette colour per class, in order (classes beyond the palette share grey)."""
    return {c: (PALETTE[i] if i < len(PALETTE) else "#999999") for i, c in enumerate(classes)}


class DatasetScatter(pg.PlotWidget):
    """Projected points (x = one component, y = another), coloured by class."""

    point_hovered = Signal(int)  # index into the shown points, -1 when the cursor leaves them

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(
            parent,
            background="w",
            axisItems={"left": GridAxis("left"), "bottom": GridAxis("bottom")},
        )
        self.setObjectName("datasetScatter")
        self.setAccessibleName("Projected data scatter plot")
        self.setToolTip("")
        self.setMinimumSize(320, 260)
        self._xy = np.zeros((0, 2))
        self._index = HoverIndex(np.zeros(0), np.zeros(0))
        self._has_bounds = False
        self._hovered = -1
        self.point_tip: Callable[[int], str] | None = None  # rich text for a hovered point
        pi = self.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.showGrid(x=True, y=True, alpha=0.15)
        pi.layout.setContentsMargins(4, 8, 12, 4)
        fg = pg.mkColor("#333333")
        for name in ("left", "bottom"):
            axis = pi.getAxis(name)
            axis.setPen(fg)
            axis.setTextPen(fg)
            axis.enableAutoSIPrefix(False)  # a score of 0.0008 is labelled 0.0008, not 0.8 (×1e-3)
            # Two levels of grid lines, not three: the third (at 4 % opacity, barely seen)
            # tripled the cost of drawing the axes, about 12 ms of every full repaint.
            axis.setStyle(maxTickLevel=1)
            axis.setZValue(-200)  # below the view box (z -100): the grid goes under the points
        self._legend = pi.addLegend(
            offset=(-LEGEND_MARGIN_PX, LEGEND_MARGIN_PX),
            brush=pg.mkBrush(255, 255, 255, 190),
            pen=pg.mkPen("#c8c8c8"),
            labelTextColor="#222222",
            labelTextSize=_axis_title_size(pi),
            verSpacing=-4,
        )
        self._legend.setToolTip("Drag the legend to move it")
        for angle in (0, 90):
            zero = pg.InfiniteLine(
                pos=0, angle=angle, pen=pg.mkPen("#b0b0b0", width=1, style=Qt.PenStyle.DashLine)
            )
            zero.setZValue(-10)
            pi.addItem(zero, ignoreBounds=True)
        self._class_items: list[pg.GraphicsObject | FastPoints] = []
        self._cloud: PointCloud | None = None  # draws the FastPoints of big tables
        self._legend_entries: list[tuple[str, int]] = []
        self._arrows = BiplotArrows()
        self._arrows.setZValue(15)
        pi.addItem(self._arrows, ignoreBounds=True)
        self._arrow_labels: list[pg.TextItem] = []
        self._auto_fit = True  # refit on resize until the user pans or zooms
        pi.vb.sigRangeChangedManually.connect(self._on_manual_range)
        pi.vb.sigResized.connect(self._on_view_resized)
        pi.vb.sigTransformChanged.connect(lambda _vb: self._place_arrow_labels())
        self._highlight = pg.ScatterPlotItem(
            size=14, brush=pg.mkBrush(0, 0, 0, 0), pen=pg.mkPen("#111111", width=2)
        )
        self._highlight.setZValue(20)
        pi.addItem(self._highlight, ignoreBounds=True)
        self._proxy = pg.SignalProxy(
            self.scene().sigMouseMoved, delay=0.0, rateLimit=60, slot=self._moved
        )

    # ---------------------------------------------------------------- data
    def set_points(
        self,
        xy: np.ndarray,
        labels: np.ndarray | None,
        classes: list[str],
        x_title: str,
        y_title: str,
        codes: np.ndarray | None = None,
    ) -> None:
        """Show ``xy`` (n × 2); one coloured item (and legend entry) per class.  ``codes``
        (optional) gives each row's class as an index into ``classes``."""
        for step in self.point_steps(xy, labels, classes, x_title, y_title, codes):
            step()

    def point_steps(
        self,
        xy: np.ndarray,
        labels: np.ndarray | None,
        classes: list[str],
        x_title: str,
        y_title: str,
        codes: np.ndarray | None = None,
        columns: tuple[int, int] = (0, 1),
    ) -> list[Step]:
        """The work of :meth:`set_points` as short steps to run in order (one per event-loop
        pass for a big table): the coordinates and classes of each block of
        :data:`BLOCK_ROWS` rows, each class's points joined, each legend entry, the axis
        titles, and last the items and the fit.  ``xy`` may have more columns than two:
        ``columns`` picks x and y (no copy of the rest is made).  The plot shows the old
        points until the last step runs."""
        table = np.asarray(xy)
        n = table.shape[0]
        cx, cy = columns
        if labels is None or not classes or len(classes) > MAX_CLASSES:
            names = ["all rows" if labels is None else f"{len(classes)} classes"]
            split = False
        else:
            names = list(classes)
            split = True
        colours = class_colours(names)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        pieces: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in names]
        joined: dict[str, np.ndarray] = {}
        picked: list[tuple[str, np.ndarray, np.ndarray, str]] = []  # name, x, y, colour

        def block(lo: int, hi: int) -> Step:
            def step() -> None:
                x = np.ascontiguousarray(table[lo:hi, cx], dtype=np.float64)
                y = np.ascontiguousarray(table[lo:hi, cy], dtype=np.float64)
                xs.append(x)
                ys.append(y)
                if not split:
                    return
                # Integer class codes: far cheaper than comparing 100 000 strings 10 times.
                which = codes[lo:hi] if codes is not None else labels[lo:hi]
                for i, name in enumerate(names):
                    mask = which == (i if codes is not None else name)
                    pieces[i].append((x[mask], y[mask]))

            return step

        def join_all() -> None:
            joined["x"] = np.concatenate(xs) if xs else np.zeros(0)
            joined["y"] = np.concatenate(ys) if ys else np.zeros(0)
            joined["xy"] = np.column_stack((joined["x"], joined["y"]))
            if not split:
                picked.append((names[0], joined["x"], joined["y"], UNLABELLED))
            index = HoverIndex(joined["x"], joined["y"])
            joined["index"] = index
            index_steps.extend(index.build_steps())

        index_steps: list[Step] = []

        def join(i: int, name: str) -> Step:
            def step() -> None:
                parts = pieces[i]
                px = np.concatenate([a for a, _ in parts]) if parts else np.zeros(0)
                py = np.concatenate([b for _, b in parts]) if parts else np.zeros(0)
                picked.append((name, px, py, colours[name]))

            return step

        steps: list[Step] = [block(lo, min(lo + BLOCK_ROWS, n)) for lo in range(0, n, BLOCK_ROWS)]
        steps.append(join_all)
        # The hover index of the new points, a block of rows per step.
        steps.extend(lambda i=i: index_steps[i]() for i in range(HoverIndex.step_count(n)))
        if split:
            steps.extend(join(i, name) for i, name in enumerate(names))
        legend_steps: list[Step] = []
        fast = n >= FAST_POINTS_FROM

        def legend() -> None:
            # The legend is rebuilt only when its entries change (not when the axes do): each
            # entry is a text item laid out from HTML, a slow step on a table of 100 000 rows.
            entries = [(name, int(px.shape[0])) for name, px, _, _ in picked]
            if entries == self._legend_entries and fast:
                return
            self._legend.clear()
            self._legend_entries = entries
            if not fast:
                return  # the ScatterPlotItems bring their own entries
            for name, px, _, colour in picked:
                legend_steps.append(
                    lambda name=name, count=px.shape[0], colour=colour: self._legend.addItem(
                        pg.ScatterPlotItem(size=8, brush=pg.mkBrush(colour), pen=None),
                        f"{name} ({count})",
                    )
                )

        steps.append(legend)
        # One step per legend entry (filled in by the step above, when it runs).
        steps.extend(
            lambda i=i: legend_steps[i]() if i < len(legend_steps) else None
            for i in range(len(names))
        )
        # The axis titles and the new range a few passes before the points: the layout they
        # change (an axis widens for its new tick labels, the view box shrinks, the view is
        # fitted again) settles first, and the points are rasterised once, not twice.
        steps.append(lambda: self._set_titles(x_title, y_title))
        steps.append(lambda: self._fit_early(joined["xy"], labels is not None and bool(picked)))
        steps.extend([_settle, _settle])
        steps.append(
            lambda: self._install(joined["xy"], picked, labels is not None, joined["index"])
        )
        return steps

    def _fit_early(self, xy: np.ndarray, legend: bool) -> None:
        """Fit the view to the points about to be shown (with the legend as it will be: its
        corner is kept free); the old points are hidden meanwhile (drawing them at the new
        range would cost a raster for nothing)."""
        if self._cloud is not None:
            self._cloud.setVisible(False)
        self._legend.setVisible(legend)
        self._set_bounds(xy)
        self.fit_view()

    def _install(
        self,
        xy: np.ndarray,
        picked: list[tuple[str, np.ndarray, np.ndarray, str]],
        labelled: bool,
        index: HoverIndex,
    ) -> None:
        """Put the picked points on show (the last step of :meth:`point_steps`)."""
        pi = self.getPlotItem()
        self._remove_points()
        self._set_xy(xy, index)
        n = xy.shape[0]
        size = 8 if n <= 1000 else 6 if n <= FAST_POINTS_FROM else 4 if n <= 20000 else 3
        edge = pg.mkPen(255, 255, 255, 200, width=0.8) if n <= 5000 else None
        fast = n >= FAST_POINTS_FROM
        for name, px, py, colour in picked:
            if fast:
                self._class_items.append(FastPoints(px, py, colour, size))
                continue
            item = pg.ScatterPlotItem(
                px,
                py,
                size=size,
                brush=pg.mkBrush(colour),
                pen=edge,
                symbol="o",
                name=f"{name} ({px.shape[0]})",
            )
            item.setZValue(5)
            pi.addItem(item)
            self._class_items.append(item)
        if fast:
            self._cloud = PointCloud(list(self._class_items))
            self._cloud.setZValue(5)
            pi.addItem(self._cloud)
        self._legend.setVisible(labelled and len(picked) > 0)
        self._set_hovered(-1)
        self.fit_view()

    def _set_xy(self, xy: np.ndarray, index: HoverIndex | None = None) -> None:
        self._xy = xy
        self._index = index if index is not None else HoverIndex(xy[:, 0], xy[:, 1]).build()
        self._set_bounds(xy)

    def _set_bounds(self, xy: np.ndarray) -> None:
        # The data's bounds, once: fit_view runs again on every resize, and numpy's min over
        # axis 0 of an n × 2 array took 70 ms at 1,000,000 rows (one column at a time: 2 ms).
        self._has_bounds = xy.shape[0] > 0
        if xy.shape[0]:
            self._lo = np.array([xy[:, 0].min(), xy[:, 1].min()])
            self._hi = np.array([xy[:, 0].max(), xy[:, 1].max()])

    def _set_titles(self, x_title: str, y_title: str) -> None:
        pi = self.getPlotItem()
        pi.setLabel("bottom", x_title, color="#333333")
        pi.setLabel("left", y_title, color="#333333")

    def _remove_points(self) -> None:
        pi = self.getPlotItem()
        for item in [*self._class_items, self._cloud]:
            if isinstance(item, pg.GraphicsObject):
                pi.removeItem(item)
        self._class_items = []
        self._cloud = None

    def clear_points(self, message: str = "") -> None:
        """Remove points, arrows and legend; show ``message`` as the title."""
        pi = self.getPlotItem()
        self._remove_points()
        self._legend.clear()
        self._legend_entries = []
        self._legend.setVisible(False)
        self._set_xy(np.zeros((0, 2)))
        self.set_arrows(None)
        self._set_hovered(-1)
        pi.setTitle(message, color="#555555", size="11pt")

    def fit_view(self) -> None:
        """Fit the view to the points and arrows, leaving the legend's corner free."""
        self._auto_fit = True
        if not self._has_bounds:
            return
        lo, hi = self._lo.copy(), self._hi.copy()
        tips = self._arrows.tips()
        if tips.shape[0]:
            lo = np.minimum(lo, np.minimum(tips.min(axis=0), 0.0))
            hi = np.maximum(hi, np.maximum(tips.max(axis=0), 0.0))
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        # Room for the arrow labels and the dots' radius on every side.
        pad = (0.09 if tips.shape[0] else 0.06) * span
        lo, hi = lo - pad, hi + pad
        vb = self.getPlotItem().vb
        width, height = vb.width(), vb.height()
        if self._legend.isVisible() and width > 0 and height > 0:
            # Lay the legend out now: its size is otherwise only right after the next event.
            self._legend.layout.activate()
            self._legend.updateSize()
            lw = self._legend.boundingRect().width() + 2 * LEGEND_MARGIN_PX
            lh = self._legend.boundingRect().height() + 2 * LEGEND_MARGIN_PX
            # Keep a strip free on the right or at the top, whichever costs the data less.
            if lw / width <= lh / height and lw < 0.6 * width:
                hi[0] = lo[0] + (hi[0] - lo[0]) * width / (width - lw)
            elif lh < 0.6 * height:
                hi[1] = lo[1] + (hi[1] - lo[1]) * height / (height - lh)
        vb.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0)
        self._auto_fit = True
        self._place_arrow_labels()

    def _on_manual_range(self, *_args: object) -> None:
        self._auto_fit = False

    def _on_view_resized(self, *_args: object) -> None:
        # The view box changes size with the widget and with its axes' labels.
        if self._auto_fit:
            self.fit_view()

    def set_arrows(self, vectors: np.ndarray | None, names: list[str] | None = None) -> None:
        """Biplot arrows from the origin (p × 2 in data units), the longest MAX_ARROWS labelled."""
        pi = self.getPlotItem()
        for item in self._arrow_labels:
            pi.removeItem(item)
        self._arrow_labels = []
        if vectors is None or len(vectors) == 0:
            had = self._arrows.tips().shape[0] > 0
            self._arrows.set_tips(np.zeros((0, 2)))
            if had:
                self.fit_view()
            return
        v = np.asarray(vectors, dtype=np.float64)
        length = np.hypot(v[:, 0], v[:, 1])
        order = np.argsort(-length)[:MAX_ARROWS]
        # Arrows much shorter than the longest are noise in this plane: leave them out.
        order = order[length[order] >= 0.08 * length[order[0]]]
        self._arrows.set_tips(v[order])
        for j in order:
            label = pg.TextItem(
                names[j] if names else f"x{j + 1}",
                color="#222222",
                anchor=(0.0, 0.0),
                fill=pg.mkBrush(255, 255, 255, 170),
            )
            label.setZValue(17)
            pi.addItem(label, ignoreBounds=True)
            self._arrow_labels.append(label)
        self.fit_view()

    def _place_arrow_labels(self) -> None:
        """Put each arrow's label near its tip where it overlaps no other label nor the
        legend (screen space: redone whenever the view moves)."""
        if not self._arrow_labels:
            return
        vb = self.getPlotItem().vb
        tips = [
            vb.mapViewToScene(QtCore.QPointF(float(x), float(y))) for x, y in self._arrows.tips()
        ]
        origin = vb.mapViewToScene(QtCore.QPointF(0.0, 0.0))
        sizes = [
            (lab.boundingRect().width(), lab.boundingRect().height()) for lab in self._arrow_labels
        ]
        avoid = [self._legend.sceneBoundingRect()] if self._legend.isVisible() else []
        rects = place_labels(tips, origin, sizes, avoid, vb.sceneBoundingRect())
        leaders = []
        for label, tip, rect in zip(self._arrow_labels, tips, rects, strict=True):
            label.setPos(vb.mapSceneToView(rect.topLeft()))
            # The text sits 4 px inside its item: aim the leader at the text, not the margin.
            end = leader_end(tip, rect.adjusted(4, 4, -4, -4), far=10.0)
            if end is not None:
                a, b = vb.mapSceneToView(tip), vb.mapSceneToView(end)
                leaders.append((a.x(), a.y(), b.x(), b.y()))
        self._arrows.set_leaders(np.array(leaders).reshape(-1, 4))

    def arrow_labels(self) -> list[pg.TextItem]:
        """The feature arrows' name labels."""
        return list(self._arrow_labels)

    def arrow_count(self) -> int:
        """How many feature arrows are drawn."""
        return int(self._arrows.tips().shape[0])

    def legend(self) -> pg.LegendItem:
        """The class legend (for tests and screenshots)."""
        return self._legend

    def point_count(self) -> int:
        """Number of points shown."""
        return int(self._xy.shape[0])

    def class_items(self) -> list[pg.GraphicsObject | FastPoints]:
        """The points, one group per class (ScatterPlotItems, or FastPoints drawn by one
        PointCloud for big tables); each has ``getData() -> (x, y)``."""
        return list(self._class_items)

    # ---------------------------------------------------------------- hover
    def scene_pos_of(self, i: int) -> QtCore.QPointF:
        """Scene position of point ``i`` (to aim the mouse at it)."""
        vb = self.getPlotItem().vb
        return vb.mapViewToScene(QtCore.QPointF(float(self._xy[i, 0]), float(self._xy[i, 1])))

    def nearest_point(self, scene_pos: QtCore.QPointF) -> int:
        """Index of the point within HOVER_RADIUS_PX of ``scene_pos``, or -1."""
        if self._xy.shape[0] == 0:
            return -1
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return -1
        origin = vb.mapViewToScene(QtCore.QPointF(0.0, 0.0))
        unit = vb.mapViewToScene(QtCore.QPointF(1.0, 1.0))
        sx, sy = unit.x() - origin.x(), unit.y() - origin.y()
        target = vb.mapSceneToView(scene_pos)
        return self._index.nearest(target.x(), target.y(), sx, sy, HOVER_RADIUS_PX)

    def _moved(self, args: tuple) -> None:
        self.hover_scene_pos(args[0])

    def hover_scene_pos(self, scene_pos: QtCore.QPointF) -> int:
        """Treat ``scene_pos`` as the cursor position; returns the hovered index (or -1)."""
        i = self.nearest_point(scene_pos)
        self._set_hovered(i)
        return i

    def _set_hovered(self, i: int) -> None:
        if i == self._hovered:
            return
        self._hovered = i
        if i >= 0:
            self._highlight.setData([self._xy[i, 0]], [self._xy[i, 1]])
        else:
            self._highlight.setData([], [])
        self.point_hovered.emit(i)

    def hovered(self) -> int:
        """Index of the hovered point, or -1."""
        return self._hovered

    def event(self, ev: QtCore.QEvent) -> bool:
        # A resting cursor asks for the tooltip: over a point it is the point's, not the help.
        if ev.type() == QtCore.QEvent.Type.ToolTip and self._hovered >= 0 and self.point_tip:
            QtWidgets.QToolTip.showText(ev.globalPos(), self.point_tip(self._hovered), self)
            return True
        return super().event(ev)

    def mouseDoubleClickEvent(self, ev: QtGui.QMouseEvent) -> None:
        # After panning and zooming, a double-click brings every point back into view.
        self.fit_view()
        ev.accept()

    def leaveEvent(self, ev: QtCore.QEvent) -> None:
        self._set_hovered(-1)
        super().leaveEvent(ev)


def _axis_title_size(pi: pg.PlotItem) -> str:
    """The axis titles' font size as a CSS size, for the legend to match."""
    font = pi.getAxis("bottom").label.font()
    pt = font.pointSizeF()
    return f"{pt:g}pt" if pt > 0 else f"{font.pixelSize()}px"
