"""pyqtgraph pieces of :class:`.spectrum_plot.SpectrumPlot`: axes that tick whole
indices and readable decades, the snapping cutoff line, view boxes that route mouse drags, and the
kept/dropped bar or stem series."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from svdstudio.ui.widgets.spectrum_data import column_extremes

__all__ = [
    "CutoffLine",
    "CutoffViewBox",
    "EnergyOverlay",
    "IntegerAxis",
    "OverlayViewBox",
    "SpectrumSeries",
    "StepFill",
    "ValueAxis",
    "changed_span",
]


class IntegerAxis(pg.AxisItem):
    """A bottom axis that only ticks whole indices (no "1.5" between σ_1 and σ_2)."""

    def tickValues(self, lo: float, hi: float, size: float) -> list:
        levels = []
        seen: set[int] = set()
        for spacing, values in super().tickValues(lo, hi, size):
            whole = [v for v in values if abs(v - round(v)) < 1e-9 and round(v) >= 1]
            whole = [v for v in whole if round(v) not in seen]
            seen.update(round(v) for v in whole)
            if whole:
                levels.append((max(spacing, 1.0), whole))
        return levels

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [str(round(v * scale)) for v in values]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_text(v: float) -> str:
    """10**v as plain text: "0.01", "500", or "2×10⁻⁵" outside [0.001, 1e4)."""
    e = math.floor(v + 1e-9)
    m = round(10 ** (v - e))
    if -3 <= e <= 3:
        return f"{m * 10.0**e:g}"
    power = "10" + str(e).translate(_SUPERSCRIPT)
    return power if m == 1 else f"{m}×{power}"


class ValueAxis(pg.AxisItem):
    """The σ axis.  In log mode (data in log10 units) it labels whole decades, plus 2 and 5
    multiples when the range is short, instead of pyqtgraph's crowded 2..9 labels."""

    def tickValues(self, lo: float, hi: float, size: float) -> list:
        if not self.logMode:
            return super().tickValues(lo, hi, size)
        decades = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
        room = max(1, int(size // 26))  # labelled ticks that fit, at ~26 px each
        step = max(1, math.ceil(len(decades) / room))
        major = [float(d) for d in decades if d % step == 0]
        if step > 1:
            return [(float(step), major)]
        span = hi - lo
        factors = (2, 5) if span <= 2.5 * room / 8 else (2, 3, 4, 5, 6, 7, 8, 9)
        minor = [
            d + math.log10(f)
            for d in range(math.floor(lo) - 1, math.ceil(hi) + 1)
            for f in factors
            if lo <= d + math.log10(f) <= hi
        ]
        self._labelled_minor = factors == (2, 5)
        return [(1.0, major), (0.1, minor)]

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        if not self.logMode:
            big = max((abs(v) for v in values), default=0.0)
            if big and not 1e-3 <= big < 1e5:  # no SI prefix: short scientific labels instead
                return [f"{v:.3g}" for v in values]
            return super().tickStrings(values, scale, spacing)
        if spacing < 1 and not getattr(self, "_labelled_minor", False):
            return ["" for _ in values]
        return [_power_text(v) for v in values]


class CutoffLine(pg.InfiniteLine):
    """Vertical cutoff line that only ever rests between bars, at k + 0.5 for k in 1..r."""

    def __init__(self, **kwargs) -> None:
        self.max_rank = 1
        super().__init__(angle=90, movable=True, **kwargs)

    def rank_at(self, x: float) -> int:
        """The rank whose gap (k + 0.5) is nearest to x, clamped to 1..max_rank."""
        return int(min(max(math.floor(x), 1), self.max_rank))

    def setPos(self, pos) -> None:
        if isinstance(pos, QtCore.QPointF):
            x = pos.x()
        elif isinstance(pos, list | tuple | np.ndarray) and np.ndim(pos) > 0:
            x = float(pos[0])
        else:
            x = float(pos)
        super().setPos(self.rank_at(x) + 0.5)

    def rank(self) -> int:
        """The rank the line currently marks."""
        return self.rank_at(self.value())


class CutoffViewBox(pg.ViewBox):
    """The main view box: a left-drag anywhere moves the cutoff line (no pan, zoom or menu)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enableMenu=False, **kwargs)
        self.setMouseEnabled(x=False, y=False)
        # Called with (x in data coordinates, finished); set by the owner.
        self.on_drag: Callable[[float, bool], None] | None = None

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or self.on_drag is None:
            ev.ignore()
            return
        ev.accept()
        self.on_drag(self.mapToView(ev.pos()).x(), ev.isFinish())

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()


class OverlayViewBox(pg.ViewBox):
    """The right-axis (energy %) view box drawn over the main one; it never takes the mouse."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enableMenu=False, **kwargs)
        self.setMouseEnabled(x=False, y=False)

    def mouseDragEvent(self, ev, axis=None) -> None:
        ev.ignore()

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()


class SpectrumSeries:
    """The σ_i drawn as bars or stems: kept ones (i ≤ k) in one colour, dropped ones greyed,
    and an optional highlighted σ_i on top."""

    def __init__(
        self, plot_item: pg.PlotItem, *, kept: str, dropped: str, edge: str, selected: str
    ) -> None:
        w = self.BAR_WIDTH
        ring = pg.mkPen(selected, width=3)  # an outline, so kept/dropped colour still shows
        self.kept_bars = pg.BarGraphItem(x=[], height=[], width=w, brush=kept, pen=None)
        self.dropped_bars = pg.BarGraphItem(
            x=[], height=[], width=w, brush=dropped, pen=pg.mkPen(edge)
        )
        self.kept_stems = pg.PlotDataItem([], [], connect="pairs", pen=pg.mkPen(kept, width=2))
        self.dropped_stems = pg.PlotDataItem([], [], connect="pairs", pen=pg.mkPen(edge, width=2))
        self.kept_heads = pg.ScatterPlotItem(size=7, brush=kept, pen=None)
        self.dropped_heads = pg.ScatterPlotItem(size=7, brush=dropped, pen=pg.mkPen(edge))
        # Many bars: one filled step shape each for kept and dropped, touching, so that no
        # sub-pixel gaps alias into white stripes that look like missing values.
        self.kept_fill = StepFill(kept)
        self.dropped_fill = StepFill(dropped)
        self.selected_bar = pg.BarGraphItem(x=[], height=[], width=w, brush=None, pen=ring)
        self.selected_head = pg.ScatterPlotItem(size=14, brush=None, pen=ring)
        for item in (
            self.kept_fill,
            self.dropped_fill,
            self.kept_bars,
            self.dropped_bars,
            self.kept_stems,
            self.dropped_stems,
            self.kept_heads,
            self.dropped_heads,
            self.selected_bar,
            self.selected_head,
        ):
            plot_item.addItem(item)

    BAR_WIDTH = 0.8
    #: Below this many pixels per bar, bars are drawn as one touching filled shape.
    DENSE_PITCH_PX = 5.0

    def draw(
        self, y: np.ndarray, base: float, k: int, stems: bool, dense: bool = False, size: int = 1
    ) -> None:
        """Draw heights ``y`` (plot units, bars standing on ``base``) with the first k kept;
        ``dense``: bars as one filled shape per colour (hundreds of values); ``size``: values
        per pixel column (filled bars and stems draw each column's extremes, exact values)."""
        n = int(y.size)
        head = 7 if n <= 40 else 4 if n <= 120 else 2
        fills = dense and not stems
        segments = ((0, min(k, n)), (min(k, n), n))
        # Both fills claim the whole spectrum as their bounds: moving the cutoff repaints the
        # bins that changed, not the plot (see StepFill).
        top = float(np.nanmax(y)) if n else base
        bounds = QtCore.QRectF(0.5, min(base, top), max(n, 1), abs(top - base))
        for fill, (a, b) in zip((self.kept_fill, self.dropped_fill), segments, strict=True):
            fill.setVisible(fills and b > a)
            if fills and b > a:
                ex = column_extremes(y, a, b, size)
                fill.setData(ex.edges, y[ex.i_max], base, bounds)
        parts = (
            (self.kept_bars, self.kept_stems, self.kept_heads),
            (self.dropped_bars, self.dropped_stems, self.dropped_heads),
        )
        for (bars, stem_lines, heads), (a, b) in zip(parts, segments, strict=True):
            if fills:
                b = a
            bars.setVisible(not stems and not fills)
            stem_lines.setVisible(stems)
            heads.setVisible(stems)
            if stems:
                ex = column_extremes(y, a, b, size)
                # One stem per column, to its tallest value; heads at the column's extremes.
                xs = ex.i_max + 1.0
                sy = np.empty(2 * xs.size)
                sy[0::2] = base
                sy[1::2] = y[ex.i_max]
                stem_lines.setData(np.repeat(xs, 2), sy)
                dots = ex.extremes()
                heads.setData(dots + 1.0, y[dots], size=head)
                _clear_bars(bars)
            else:
                if fills:  # the filled shapes show the values: no bars to draw
                    _clear_bars(bars)
                else:
                    xs = np.arange(a + 1, b + 1, dtype=float)
                    bars.setOpts(x=xs, height=y[a:b] - base, y0=base)
                _clear_curve(stem_lines)
                _clear_scatter(heads)

    def shown(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What is drawn now, in plot units, per visible part: "kept"/"dropped" (bars: x and
        heights above the base; filled shapes: bin edges and heights; stems: stem x and tops)
        and "kept heads"/"dropped heads" (stems' dots)."""
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, fill, bars, stems, heads in (
            ("kept", self.kept_fill, self.kept_bars, self.kept_stems, self.kept_heads),
            (
                "dropped",
                self.dropped_fill,
                self.dropped_bars,
                self.dropped_stems,
                self.dropped_heads,
            ),
        ):
            if fill.isVisible():
                out[name] = fill.getData()
            elif stems.isVisible():
                x, y = stems.getData()
                out[name] = (x[1::2], y[1::2])
                hx, hy = heads.getData()
                out[f"{name} heads"] = (hx, hy)
            elif bars.isVisible():
                opts = bars.opts
                out[name] = (np.asarray(opts["x"], float), np.asarray(opts["height"], float))
        return out

    def highlight(self, i: int | None, y: float, base: float, stems: bool) -> None:
        """Highlight σ_i (1-based) at height y; None removes the highlight."""
        if i is None:  # cleared once: each redundant clear repainted a strip of the plot
            _clear_bars(self.selected_bar)
            _clear_scatter(self.selected_head)
            return
        self.selected_bar.setVisible(not stems)
        self.selected_head.setVisible(stems)
        self.selected_bar.setOpts(x=[float(i)], height=[y - base], y0=base)
        self.selected_head.setData([float(i)], [y])


class StepFill(pg.GraphicsObject):
    """Bars of one colour drawn as a single filled step outline: bin ``edges`` (n + 1), the
    ``heights`` of the n bins, standing on ``base``.

    What pyqtgraph's ``PlotDataItem(stepMode="center", fillLevel=…)`` draws, without its
    per-update bookkeeping (data bounds, the fill path rebuilt at each paint, signals to the
    view box): the outline is one path, built once per :meth:`setData`.  A rank drag sets new
    data on every frame, and only the bins that changed (those between the old and the new
    cutoff) are repainted: the item's bounds are what :meth:`setData` is told (the whole
    spectrum), not its bins, so that moving the cutoff does not repaint the whole plot.  The
    plot's ranges are set by the plot, never from this item.
    """

    def __init__(self, brush: str) -> None:
        super().__init__()
        self._brush = pg.mkBrush(brush)
        self._edges = np.zeros(1)
        self._heights = np.zeros(0)
        self._path = QtGui.QPainterPath()
        self._rect = QtCore.QRectF()

    def setData(
        self,
        edges: np.ndarray,
        heights: np.ndarray,
        base: float,
        bounds: QtCore.QRectF | None = None,
    ) -> None:
        """Show bins ``edges[i] … edges[i + 1]`` at ``heights[i]`` above ``base``, inside
        ``bounds`` (plot units; by default the bins' own)."""
        edges = np.asarray(edges, dtype=np.float64)
        heights = np.asarray(heights, dtype=np.float64)
        if edges.size != heights.size + 1:
            raise ValueError(f"{edges.size} edges for {heights.size} bins: need one more")
        tops = np.where(np.isfinite(heights), heights, base)
        if bounds is None:
            bounds = QtCore.QRectF()
            if heights.size:
                lo, hi = min(base, float(tops.min())), max(base, float(tops.max()))
                bounds = QtCore.QRectF(edges[0], lo, edges[-1] - edges[0], hi - lo)
        old_edges, old_heights = self._edges, self._heights
        self._edges, self._heights = edges, heights
        self._path = QtGui.QPainterPath()
        if heights.size:
            # (e₀, base) → (e₀, h₀) → (e₁, h₀) → (e₁, h₁) → … → (eₙ, hₙ₋₁) → (eₙ, base)
            xs = np.repeat(edges, 2)
            ys = np.empty_like(xs)
            ys[0] = ys[-1] = base
            ys[1:-1] = np.repeat(tops, 2)
            self._path = pg.arrayToQPath(xs, ys, connect="all")
        if bounds != self._rect:
            self.prepareGeometryChange()  # repaints the old bounds, and the new ones
            self._rect = QtCore.QRectF(bounds)
            self.update()
            return
        span = changed_span(old_edges, old_heights, edges, heights)
        if span is not None:
            r = self._rect
            self.update(QtCore.QRectF(span[0], r.top(), span[1] - span[0], r.height()))

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        """The bin edges and heights on show."""
        return self._edges, self._heights

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, painter: QtGui.QPainter, *_args) -> None:
        if not self._path.isEmpty():
            painter.fillPath(self._path, self._brush)


def changed_span(
    old_edges: np.ndarray, old_heights: np.ndarray, edges: np.ndarray, heights: np.ndarray
) -> tuple[float, float] | None:
    """The x range (plot units) where two step outlines differ, or None if they are the same:
    from the first bin that differs to the last, in either outline (bins alike at both ends
    are left out)."""
    n0, n1 = old_heights.size, heights.size
    if n0 == 0 or n1 == 0:
        xs = [e[i] for e, n in ((old_edges, n0), (edges, n1)) if n for i in (0, -1)]
        return (min(xs), max(xs)) if xs else None
    m = min(n0, n1)

    def alike(e0: np.ndarray, h0: np.ndarray, e1: np.ndarray, h1: np.ndarray) -> int:
        """How many bins from the start are the same in both."""
        same = (e0[:m] == e1[:m]) & (e0[1 : m + 1] == e1[1 : m + 1]) & (h0[:m] == h1[:m])
        return m if same.all() else int(np.argmin(same))

    p = alike(old_edges, old_heights, edges, heights)
    q = alike(old_edges[::-1], old_heights[::-1], edges[::-1], heights[::-1])
    if p == m and n0 == n1:
        return None
    lo = min(old_edges[min(p, n0 - q)], edges[min(p, n1 - q)])
    hi = max(old_edges[max(p, n0 - q)], edges[max(p, n1 - q)])
    return float(lo), float(hi)


def _clear_bars(bars: pg.BarGraphItem) -> None:
    """Empty ``bars`` unless already empty: each redundant clear redrew an unseen item, and
    a rank drag cleared the parts of the other style on every frame."""
    x = bars.opts.get("x")
    if x is not None and len(x):
        bars.setOpts(x=[], height=[])


def _clear_curve(curve: pg.PlotDataItem) -> None:
    """Empty ``curve`` unless already empty (see :func:`_clear_bars`)."""
    if curve.xData is not None and len(curve.xData):
        curve.setData([], [])


def _clear_scatter(dots: pg.ScatterPlotItem) -> None:
    """Empty ``dots`` unless already empty (see :func:`_clear_bars`)."""
    if len(dots.data):
        dots.setData([], [])


class EnergyOverlay:
    """Cumulative energy (%) in its own view box over the main one, on the right-hand axis,
    with dashed reference marks at 90 % and 99 % that the axis labels."""

    def __init__(self, plot_item: pg.PlotItem, main_vb: pg.ViewBox, colour: str) -> None:
        self._main_vb = main_vb
        self.view = OverlayViewBox()
        self.view.setZValue(plot_item.zValue() + 10)  # the curve is drawn over the bars
        plot_item.scene().addItem(self.view)
        plot_item.showAxis("right")
        axis = plot_item.getAxis("right")
        axis.linkToView(self.view)
        axis.setPen(pg.mkColor(colour))
        axis.setTextPen(pg.mkColor(colour))
        axis.setLabel("cumulative energy (%)", color=colour)
        self._axis = axis
        self._ticks: tuple[int, ...] = ()
        self._shown: tuple[np.ndarray, int] | None = None  # the percentages and bin size drawn
        self.view.setXLink(main_vb)
        self.view.setYRange(0, 102, padding=0)
        self.view.disableAutoRange()
        pen = pg.mkPen(colour, width=2)
        self.curve = pg.PlotDataItem(
            [], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=colour, symbolPen=None
        )
        self.view.addItem(self.curve)
        # The curve stays put while the cutoff is dragged, but the bars under it change every
        # frame: redraw it from a pixmap, not as a 2-px polyline of thousands of points (plot
        # exports draw it afresh: plot_export turns item caches off while it draws).
        self.curve.curve.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        dash = pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine)
        self.marks = [pg.InfiniteLine(pos=level, angle=0, pen=dash) for level in (90, 99)]
        for mark in self.marks:
            self.view.addItem(mark, ignoreBounds=True)
        main_vb.sigResized.connect(self.sync)
        self.sync()

    def set_percent(self, pct: np.ndarray, size: int = 1) -> None:
        """Energy retained (%) at ranks 1..r; dots only while they do not crowd.  ``size``:
        values per pixel column; the curve keeps each column's lowest and highest point.
        Nothing is redone for the same array and bin size."""
        if self._shown is not None and self._shown[0] is pct and self._shown[1] == size:
            return
        self._shown = (pct, size)
        if pct.size > 60:
            self.curve.setSymbol(None)  # 5 px dots would merge; and a symbol per value is slow
        elif self.curve.opts["symbol"] is None:
            self.curve.setSymbol("o")
        keep = column_extremes(pct, 0, pct.size, size).extremes()
        self.curve.setData(keep + 1.0, pct[keep])

    def sync(self) -> None:
        """Keep the overlay exactly over the main view box."""
        rect = self._main_vb.sceneBoundingRect()
        self.view.setGeometry(rect)
        self.view.linkedViewChanged(self._main_vb, self.view.XAxis)
        # Label the 90 % mark only when it does not collide with the 99 % label.
        ticks = (0, 25, 50, 75, 90, 99) if rect.height() * 9 / 102 >= 13 else (0, 25, 50, 75, 99)
        if ticks != self._ticks:
            self._ticks = ticks
            self._axis.setTicks([[(v, str(v)) for v in ticks], []])
