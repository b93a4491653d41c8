"""SpectrumPlot: singular values as bars or stems with a rank cutoff you click, drag or key.

The cutoff line sits between bar k and bar k + 1 (at x = k + 0.5) and snaps to whole ranks.
Clicking picks the bar under the cursor as the last one kept; dragging (the line, or anywhere on
the plot) moves the line to the nearest gap.  While dragging, ``rank_previewed`` fires on every
whole-rank step (for cheap views); ``rank_changed`` fires once per user action, only when k
really changes: on click, drag end, key press, or spin box step.  Programmatic calls
(``set_rank``, ``set_values``, ``clear``) never emit ``rank_changed``: callers already know.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Qt, Signal

from .spectrum_parts import CutoffLine, CutoffViewBox, IntegerAxis, OverlayViewBox, SpectrumData

__all__ = ["SpectrumPlot"]

KEPT = "#3a6fb0"
DROPPED = "#c9ccd1"
SELECTED = "#f0a030"
ENERGY = "#2e8b57"
CUTOFF = "#c0392b"
BAR_WIDTH = 0.8
PLOT_HELP = (
    "Singular values σᵢ: blue bars are kept, grey ones dropped; the green curve is the "
    "cumulative energy (right axis).\nClick a bar to keep up to it, drag the red line, or use "
    "the arrow keys (Home/End, Page Up/Down) to set the rank k. Double-click a bar to select σᵢ."
)


class SpectrumPlot(QtWidgets.QWidget):
    """Singular value spectrum with cumulative energy and an interactive rank cutoff."""

    rank_changed = Signal(int)
    rank_previewed = Signal(int)
    component_selected = Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spectrumPlot")
        self._data: SpectrumData | None = None
        self._k = 0  # committed rank; 0 only while there are no values
        self._pending_k = 0  # a set_rank() that arrived before any values
        self._shown_k = 0  # what the line, bars and label currently show (differs mid-drag)
        self._selected: int | None = None
        self._log = False
        self._stems = False
        self._formatter: Callable[[int], str] | None = None
        self._syncing = False  # we are moving the line/spin ourselves: not a user action
        self._vb_dragging = False
        self._build_plot()
        self._build_controls()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self._plot, 1)
        layout.addLayout(self._controls)
        self.setMinimumSize(360, 220)
        self._refresh_all()
        self._sync_overlay()

    # ---------------------------------------------------------------- construction
    def _build_plot(self) -> None:
        self._vb = CutoffViewBox()
        self._vb.on_drag = self._on_view_drag
        self._plot = pg.PlotWidget(
            background="w", viewBox=self._vb, axisItems={"bottom": IntegerAxis("bottom")}
        )
        self._plot.setObjectName("spectrumView")
        self._plot.setAccessibleName("Singular value spectrum")
        self._plot.setToolTip(PLOT_HELP)
        self._plot.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._plot.setMinimumSize(200, 120)
        self._plot.setStyleSheet(
            "QGraphicsView { border: 1px solid #d0d0d0; }"
            "QGraphicsView:focus { border: 1px solid palette(highlight); }"
        )
        self._plot.installEventFilter(self)
        pi = self._plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.layout.setContentsMargins(4, 6, 4, 4)
        fg = pg.mkColor("#333333")
        for name, text in (("left", "singular value σᵢ"), ("bottom", "index i")):
            axis = pi.getAxis(name)
            axis.setPen(fg)
            axis.setTextPen(fg)
            axis.setLabel(text, color="#333333")
        self._vb.setMouseEnabled(x=False, y=False)
        self._vb.disableAutoRange()

        self._kept_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=KEPT, pen=None)
        self._dropped_bars = pg.BarGraphItem(
            x=[], height=[], width=BAR_WIDTH, brush=DROPPED, pen=pg.mkPen("#a8acb2")
        )
        self._kept_stems = pg.PlotDataItem([], [], connect="pairs", pen=pg.mkPen(KEPT, width=2))
        self._dropped_stems = pg.PlotDataItem(
            [], [], connect="pairs", pen=pg.mkPen("#a8acb2", width=2)
        )
        self._kept_heads = pg.ScatterPlotItem(size=7, brush=KEPT, pen=None)
        self._dropped_heads = pg.ScatterPlotItem(size=7, brush=DROPPED, pen=pg.mkPen("#a8acb2"))
        self._selected_bar = pg.BarGraphItem(
            x=[], height=[], width=BAR_WIDTH, brush=SELECTED, pen=pg.mkPen("#7a4a00", width=2)
        )
        self._selected_head = pg.ScatterPlotItem(
            size=12, brush=SELECTED, pen=pg.mkPen("#7a4a00", width=2)
        )
        for item in (
            self._kept_bars,
            self._dropped_bars,
            self._kept_stems,
            self._dropped_stems,
            self._kept_heads,
            self._dropped_heads,
            self._selected_bar,
            self._selected_head,
        ):
            pi.addItem(item)

        self._cutoff = CutoffLine(
            pen=pg.mkPen(CUTOFF, width=2),
            hoverPen=pg.mkPen(CUTOFF, width=4),
        )
        self._cutoff.setZValue(20)
        self._cutoff.sigPositionChanged.connect(self._on_line_moved)
        self._cutoff.sigPositionChangeFinished.connect(self._on_line_released)
        pi.addItem(self._cutoff, ignoreBounds=True)

        # The energy curve lives in its own view box (0..100 %) with the right axis.
        self._energy_vb = OverlayViewBox()
        self._energy_vb.setZValue(pi.zValue() + 10)  # the curve is drawn over the bars
        pi.scene().addItem(self._energy_vb)
        pi.showAxis("right")
        right = pi.getAxis("right")
        right.linkToView(self._energy_vb)
        right.setPen(pg.mkColor(ENERGY))
        right.setTextPen(pg.mkColor(ENERGY))
        right.setLabel("cumulative energy (%)", color=ENERGY)
        self._energy_vb.setXLink(self._vb)
        self._energy_vb.setYRange(0, 102, padding=0)
        self._energy_vb.disableAutoRange()
        self._energy_curve = pg.PlotDataItem(
            [],
            [],
            pen=pg.mkPen(ENERGY, width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=ENERGY,
            symbolPen=None,
        )
        self._energy_vb.addItem(self._energy_curve)
        # The 90 % and 99 % reference marks: dashed lines labelled by their own axis ticks.
        ticks = [(v, str(v)) for v in (0, 25, 50, 75, 90, 99)]
        right.setTicks([ticks, []])
        for level in (90, 99):
            mark = pg.InfiniteLine(
                pos=level, angle=0, pen=pg.mkPen(ENERGY, width=1, style=Qt.PenStyle.DashLine)
            )
            self._energy_vb.addItem(mark, ignoreBounds=True)
        self._vb.sigResized.connect(self._sync_overlay)
        self._plot.scene().sigMouseClicked.connect(self._on_scene_click)

    def _build_controls(self) -> None:
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 2)
        row.setSpacing(8)
        k_label = QtWidgets.QLabel("&k:")
        self.rank_spin = QtWidgets.QSpinBox()
        self.rank_spin.setObjectName("spectrumRankSpin")
        self.rank_spin.setAccessibleName("Rank k")
        self.rank_spin.setToolTip("Rank k: how many singular values to keep")
        self.rank_spin.setKeyboardTracking(False)  # typing "12" is one change, not "1" then "12"
        self.rank_spin.setSpecialValueText("–")
        self.rank_spin.valueChanged.connect(self._on_spin)
        k_label.setBuddy(self.rank_spin)
        self._log_check = QtWidgets.QCheckBox("Log scale")
        self._log_check.setObjectName("spectrumLogScale")
        self._log_check.setAccessibleName("Log scale")
        self._log_check.setToolTip("Show singular values on a logarithmic axis")
        self._log_check.toggled.connect(self.set_log_scale)
        self._style_combo = QtWidgets.QComboBox()
        self._style_combo.setObjectName("spectrumStyle")
        self._style_combo.addItems(["Bars", "Stems"])
        self._style_combo.setAccessibleName("Plot style")
        self._style_combo.setToolTip("Draw the singular values as bars or as stems")
        self._style_combo.currentIndexChanged.connect(lambda i: self.set_stems(i == 1))
        self._label = QtWidgets.QLabel()
        self._label.setObjectName("spectrumLabel")
        self._label.setAccessibleName("Rank summary")
        self._label.setToolTip(
            "Energy retained by the first k singular values, and the squared error "
            "‖A − A_k‖_F² = Σ_{i>k} σᵢ² of dropping the rest"
        )
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setWordWrap(True)
        self._label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        row.addWidget(k_label)
        row.addWidget(self.rank_spin)
        row.addWidget(self._log_check)
        row.addWidget(self._style_combo)
        row.addWidget(self._label, 1)
        self._controls = row

    # ---------------------------------------------------------------- public API
    def set_values(
        self, s: np.ndarray, total_energy: float | None = None, energy_label: str = "energy"
    ) -> None:
        """Show singular values ``s`` (descending, ≥ 0).  ``total_energy`` defaults to Σσ²; pass
        ‖A‖_F² for a partial (top-k) result.  k is kept if still valid, else clamped to r (no
        ``rank_changed`` is emitted: read :meth:`rank` afterwards).  Clears the selection."""
        data = SpectrumData.from_values(s, total_energy, energy_label)
        if data.r == 0:
            self.clear()
            return
        self._data = data
        self._selected = None
        wanted = self._k or self._pending_k or data.r
        self._k = min(max(wanted, 1), data.r)
        self._pending_k = 0
        self._refresh_all()

    def set_rank(self, k: int) -> None:
        """Move the cutoff to k (clamped to 1..r) and update line, spin box and label.

        Programmatic: never emits ``rank_changed`` (nor ``rank_previewed``)."""
        k = int(k)
        if self._data is None:
            self._pending_k = max(k, 1)
            return
        k = min(max(k, 1), self._data.r)
        if k == self._k and k == self._shown_k:
            return
        self._k = k
        self._show_rank(k)

    def rank(self) -> int:
        """The committed rank k (0 when there are no values)."""
        return self._k

    def set_log_scale(self, on: bool) -> None:
        """Log or linear y axis.  σ = 0 is drawn at a floor half a decade under the smallest
        positive value."""
        on = bool(on)
        if self._log_check.isChecked() != on:
            self._log_check.setChecked(on)  # re-enters through toggled
            return
        if on == self._log:
            return
        self._log = on
        self._plot.getPlotItem().getAxis("left").setLogMode(False, on)
        self._refresh_all()

    def log_scale(self) -> bool:
        """Whether the y axis is logarithmic."""
        return self._log

    def set_stems(self, on: bool) -> None:
        """Draw stems (True) or bars (False)."""
        on = bool(on)
        if self._style_combo.currentIndex() != int(on):
            self._style_combo.setCurrentIndex(int(on))  # re-enters through the signal
            return
        if on == self._stems:
            return
        self._stems = on
        self._refresh_all()

    def set_label_formatter(self, fn: Callable[[int], str] | None) -> None:
        """Use ``fn(k) -> str`` for the live label; None restores the default."""
        self._formatter = fn
        self._update_label(self._shown_k)

    def selected_component(self) -> int | None:
        """The 1-based index of the double-clicked σ_i, or None."""
        return self._selected

    def set_selected_component(self, i: int | None) -> None:
        """Highlight σ_i (1-based) without emitting ``component_selected``; None clears."""
        if i is not None and (self._data is None or not 1 <= int(i) <= self._data.r):
            i = None
        self._selected = None if i is None else int(i)
        self._update_selection()

    def values(self) -> np.ndarray:
        """The singular values shown (read-only; empty when cleared)."""
        return self._data.s if self._data is not None else np.empty(0)

    def clear(self) -> None:
        """Remove all values; rank() becomes 0.  Emits nothing."""
        self._data = None
        self._k = 0
        self._pending_k = 0
        self._selected = None
        self._refresh_all()

    # ---------------------------------------------------------------- drawing
    def _y(self, s: np.ndarray) -> tuple[np.ndarray, float]:
        """Plot coordinates of the values and of the bar base (log10 units in log mode)."""
        if not self._log:
            return s, 0.0
        floor = self._data.log_floor()
        return np.log10(np.maximum(s, floor)), math.log10(floor)

    def _refresh_all(self) -> None:
        data = self._data
        r = data.r if data is not None else 0
        self._syncing = True
        try:
            self.rank_spin.setRange(min(1, r), max(r, 0))
            self.rank_spin.setSpecialValueText("" if r else "–")
            self.rank_spin.setEnabled(r > 0)
            self._cutoff.max_rank = max(r, 1)
        finally:
            self._syncing = False
        self._cutoff.setVisible(r > 0)
        self._plot.setEnabled(True)
        if data is None:
            self._vb.setRange(xRange=(0.5, 3.5), yRange=(0, 1), padding=0)
            self._energy_curve.setData([], [])
        else:
            x = np.arange(1, r + 1, dtype=float)
            self._energy_curve.setData(x, data.cumulative_percent())
            self._energy_curve.setSymbolSize(5 if r <= 60 else 0)
            head = 7 if r <= 40 else 4 if r <= 120 else 2
            self._kept_heads.setSize(head)
            self._dropped_heads.setSize(head)
            top_y, base = self._y(np.array([data.s.max() if r else 0.0]))
            if self._log:
                y_range = (base, max(float(top_y[0]), base + 1) + 0.15)
            else:
                y_range = (0.0, (float(top_y[0]) or 1.0) * 1.08)
            self._vb.setRange(xRange=(0.4, r + 0.6), yRange=y_range, padding=0)
        self._show_rank(self._k)

    def _show_rank(self, k: int) -> None:
        """Redraw everything that depends on the shown k (cheap: fine during a drag)."""
        self._shown_k = k
        data = self._data
        if data is None:
            for item in (self._kept_bars, self._dropped_bars, self._selected_bar):
                item.setOpts(x=[], height=[])
            for item in (self._kept_stems, self._dropped_stems):
                item.setData([], [])
            for item in (self._kept_heads, self._dropped_heads, self._selected_head):
                item.setData([], [])
            self._update_label(0)
            self._sync_spin(0)
            return
        x = np.arange(1, data.r + 1, dtype=float)
        y, base = self._y(data.s)
        parts = ((self._kept_bars, self._kept_stems, self._kept_heads, slice(0, k)),)
        parts += ((self._dropped_bars, self._dropped_stems, self._dropped_heads, slice(k, None)),)
        for bars, stems, heads, sl in parts:
            xs, ys = x[sl], y[sl]
            bars.setVisible(not self._stems)
            stems.setVisible(self._stems)
            heads.setVisible(self._stems)
            if self._stems:
                sx = np.repeat(xs, 2)
                sy = np.empty(2 * xs.size)
                sy[0::2] = base
                sy[1::2] = ys
                stems.setData(sx, sy)
                heads.setData(xs, ys)
            else:
                bars.setOpts(x=xs, height=ys - base, y0=base)
        self._syncing = True
        try:
            self._cutoff.setPos(k + 0.5)
        finally:
            self._syncing = False
        self._update_selection()
        self._update_label(k)
        self._sync_spin(k)

    def _update_selection(self) -> None:
        i = self._selected
        if self._data is None or i is None:
            self._selected_bar.setOpts(x=[], height=[])
            self._selected_head.setData([], [])
            return
        y, base = self._y(self._data.s[i - 1 : i])
        self._selected_bar.setVisible(not self._stems)
        self._selected_head.setVisible(self._stems)
        self._selected_bar.setOpts(x=[float(i)], height=y - base, y0=base)
        self._selected_head.setData([float(i)], y)

    def _update_label(self, k: int) -> None:
        if self._data is None:
            text = "No singular values"
        elif self._formatter is not None:
            text = self._formatter(k)
        else:
            text = self._data.label(k)
        self._label.setText(text)
        self._plot.setAccessibleDescription(text)

    def _sync_spin(self, k: int) -> None:
        self._syncing = True
        try:
            self.rank_spin.setValue(k)
        finally:
            self._syncing = False

    def _sync_overlay(self) -> None:
        self._energy_vb.setGeometry(self._vb.sceneBoundingRect())
        self._energy_vb.linkedViewChanged(self._vb, self._energy_vb.XAxis)

    # ---------------------------------------------------------------- user actions
    def _commit(self, k: int) -> None:
        """A user action ends at k: show it and emit rank_changed once, if k changed."""
        if self._data is None:
            return
        k = min(max(int(k), 1), self._data.r)
        changed = k != self._k
        self._k = k
        if k != self._shown_k:
            self._show_rank(k)
        if changed:
            self.rank_changed.emit(k)

    def _preview(self, k: int) -> None:
        if k != self._shown_k:
            self._show_rank(k)
            self.rank_previewed.emit(k)

    def _on_line_moved(self) -> None:
        if not self._syncing and self._data is not None:
            self._preview(self._cutoff.rank())

    def _on_line_released(self) -> None:
        if self._data is not None:
            self._commit(self._cutoff.rank())

    def _on_view_drag(self, x: float, finished: bool) -> None:
        if self._data is None:
            return
        k = self._cutoff.rank_at(x)
        if finished:
            self._commit(k)
        else:
            self._preview(k)

    def _on_scene_click(self, ev) -> None:
        if self._data is None or ev.button() != Qt.MouseButton.LeftButton:
            return
        pos = ev.scenePos()
        if not self._vb.sceneBoundingRect().contains(pos):
            return
        x = self._vb.mapSceneToView(pos).x()
        i = math.floor(x + 0.5)
        if ev.double():
            if 1 <= i <= self._data.r and abs(x - i) <= BAR_WIDTH / 2:
                self._selected = i
                self._update_selection()
                self.component_selected.emit(i)
            return
        line_px = self._vb.mapViewToScene(QtCore.QPointF(self._shown_k + 0.5, 0)).x()
        if abs(line_px - pos.x()) <= 5:
            return  # a click on the line itself is not a request to move it
        self._commit(i)

    def _on_spin(self, k: int) -> None:
        if not self._syncing and k >= 1:
            self._commit(k)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        is_key = ev.type() == QtCore.QEvent.Type.KeyPress
        if obj is self._plot and is_key and self._data is not None:
            k, r = self._shown_k, self._data.r
            page = max(1, r // 10)
            target = {
                Qt.Key.Key_Left: k - 1,
                Qt.Key.Key_Down: k - 1,
                Qt.Key.Key_Right: k + 1,
                Qt.Key.Key_Up: k + 1,
                Qt.Key.Key_PageDown: k - page,
                Qt.Key.Key_PageUp: k + page,
                Qt.Key.Key_Home: 1,
                Qt.Key.Key_End: r,
            }.get(Qt.Key(ev.key()))
            if target is not None:
                self._commit(target)
                return True
        return super().eventFilter(obj, ev)


def _preview() -> int:
    """Show the widget alone with sample data: ``python -m svdstudio.ui.spectrum_plot``."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    w = SpectrumPlot()
    w.setWindowTitle("SpectrumPlot preview")
    rng = np.random.default_rng(0)
    s = np.sort(10.0 * np.exp(-np.arange(40) / 6.0) * (1 + 0.1 * rng.random(40)))[::-1]
    w.set_values(s)
    w.set_rank(8)
    w.rank_changed.connect(lambda k: print("rank_changed", k))
    w.component_selected.connect(lambda i: print("component_selected", i))
    w.resize(720, 400)
    w.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(_preview())
