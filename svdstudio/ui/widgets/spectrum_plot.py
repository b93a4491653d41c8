"""SpectrumPlot: singular values as bars or stems with a rank cutoff you click, drag or key.

The cutoff line sits between bar k and bar k + 1 (at x = k + 0.5) and snaps to whole ranks.
Clicking picks the bar under the cursor as the last one kept; dragging (the line, or anywhere on
the plot) moves the line to the nearest gap.  While dragging, ``rank_previewed`` fires on every
whole-rank step (for cheap views); ``rank_changed`` fires once per user action, only when k
really changes: on click, drag end, key press, or spin box step.  Programmatic calls
(``set_rank``, ``set_values``, ``clear``) never emit ``rank_changed``: callers already know.
Double-clicking a bar emits ``component_selected(i)``; its first click, like any click, has
already set k = i.  Label and spin box follow a drag live; the plot itself redraws once per
event-loop turn, so bursts of rank changes stay cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.engine.lowrank import SQUARED_ERROR_WORDS
from svdstudio.ui.widgets.spectrum_data import SpectrumData, bin_size
from svdstudio.ui.widgets.spectrum_gesture import CutoffGesture
from svdstudio.ui.widgets.spectrum_items import (
    CutoffLine,
    CutoffViewBox,
    EnergyOverlay,
    IntegerAxis,
    SpectrumSeries,
    ValueAxis,
)
from svdstudio.ui.widgets.steady_label import SteadyLabel, hold_width
from svdstudio.ui.widgets.tagging import tag

__all__ = ["SpectrumPlot", "use_settings"]

KEPT = "#3a6fb0"
DROPPED = "#c9ccd1"
DROPPED_EDGE = "#a8acb2"
SELECTED = "#e67e00"
ENERGY = "#2e8b57"
CUTOFF = "#c0392b"
BAR_WIDTH = SpectrumSeries.BAR_WIDTH
CUTOFF_HANDLE = 12  # px: the triangles at the ends of the cutoff line
#: Axis titles, whole, and the short form used when the plot is too short for the whole one.
LEFT_TITLES = ("singular value σᵢ", "σᵢ")
RIGHT_TITLES = ("cumulative energy (%)", "energy (%)")
PLOT_HELP = (
    "Singular values σᵢ: blue bars are kept, grey ones dropped; the green curve is the "
    "cumulative energy (right axis).\nClick a bar to keep up to it, drag the red line, or use "
    "the arrow keys (Home/End, Page Up/Down) to set the rank k. Double-click a bar to select σᵢ."
)


_settings: QtCore.QSettings | None = None


def use_settings(settings: QtCore.QSettings | None) -> None:
    """Remember each plot's Bars/Stems and log-scale choice in ``settings`` (the app's), under
    "spectrum/OBJECTNAME/…".  A choice the user makes is written at once; a plot applies the
    remembered one when it is first shown (after its tab set its own default)."""
    global _settings
    _settings = settings


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
        self._drawn: tuple | None = None  # what the bars were last drawn for
        self._pct = np.empty(0)  # cumulative energy (%) of _data
        self._style_applied = False
        self._redraw = QtCore.QTimer(self, singleShot=True, interval=0, timeout=self._flush)
        self._build_plot()
        self._build_controls()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self._plot, 1)
        layout.addLayout(self._controls)
        self.setMinimumSize(360, 220)
        self._refresh_all()

    # ---------------------------------------------------------------- construction
    def _build_plot(self) -> None:
        self._vb = CutoffViewBox()
        self._vb.on_drag = self._on_view_drag
        self._plot = pg.PlotWidget(
            background="w",
            viewBox=self._vb,
            axisItems={"bottom": IntegerAxis("bottom"), "left": ValueAxis("left")},
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
        self._plot.viewport().installEventFilter(self)
        # The white scene background paints every pixel it is asked to: a moved cutoff
        # repaints a strip of the plot, not the widgets under it up to the main window.
        self._plot.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        pi = self._plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.layout.setContentsMargins(4, 6, 4, 4)
        fg = pg.mkColor("#333333")
        for name, text in (("left", LEFT_TITLES[0]), ("bottom", "index i")):
            axis = pi.getAxis(name)
            axis.setPen(fg)
            axis.setTextPen(fg)
            axis.setLabel(text, color="#333333")
        self._vb.setMouseEnabled(x=False, y=False)
        self._vb.disableAutoRange()

        self._series = SpectrumSeries(
            pi, kept=KEPT, dropped=DROPPED, edge=DROPPED_EDGE, selected=SELECTED
        )
        self._cutoff = CutoffLine(
            pen=pg.mkPen(CUTOFF, width=2),
            hoverPen=pg.mkPen(CUTOFF, width=4),
        )
        self._cutoff.setZValue(20)
        # Handles at both ends: visible among thousands of bars, and a wider grip (the hover
        # zone grows with the marker size).
        self._cutoff.addMarker("v", position=0.97, size=CUTOFF_HANDLE)
        self._cutoff.addMarker("^", position=0.03, size=CUTOFF_HANDLE)
        self._cutoff.sigPositionChanged.connect(self._on_line_moved)
        self._cutoff.sigPositionChangeFinished.connect(self._on_line_released)
        pi.addItem(self._cutoff, ignoreBounds=True)

        self._energy = EnergyOverlay(pi, self._vb, ENERGY)
        for name in ("left", "bottom", "right"):
            pi.getAxis(name).enableAutoSIPrefix(False)  # σ has no unit: no "(x0.001)"
        self._gesture = CutoffGesture(
            self._plot,
            self._vb,
            line_x=lambda: self._shown_k + 0.5,
            before_press=self._before_press,
            on_click=lambda x: self._commit(math.floor(x + 0.5)),  # keep up to the bar there
            on_double=self._on_double_click,
            on_drag=self._on_view_drag,
        )
        self._vb.sigResized.connect(self._on_view_resized)
        self._titles: tuple[str, str] | None = None

    def _build_controls(self) -> None:
        row = QtWidgets.QGridLayout()
        row.setContentsMargins(4, 0, 4, 2)
        row.setHorizontalSpacing(8)
        row.setVerticalSpacing(2)
        k_label = QtWidgets.QLabel("&k:")
        k_label.setToolTip("Rank k: how many singular values to keep")
        self.rank_spin = tag(QtWidgets.QSpinBox(), "spectrumRankSpin", k_label.toolTip(), "Rank k")
        self.rank_spin.setKeyboardTracking(False)  # typing "12" is one change, not "1" then "12"
        # Opaque, as the label beside it: k changes on every frame of a drag.
        self.rank_spin.setAutoFillBackground(True)
        self.rank_spin.setSpecialValueText("–")
        hold_width(self.rank_spin)  # not wider with each digit of the rank (moving the caption)
        self.rank_spin.valueChanged.connect(self._on_spin)
        k_label.setBuddy(self.rank_spin)
        self._log_check = QtWidgets.QCheckBox("Log scale")
        self._log_check.setObjectName("spectrumLogScale")
        self._log_check.setAccessibleName("Log scale")
        self._log_check.setToolTip("Show singular values on a logarithmic axis")
        self._log_check.toggled.connect(self.set_log_scale)
        self._log_check.clicked.connect(lambda on: self._remember("log", bool(on)))
        self._style_combo = QtWidgets.QComboBox()
        self._style_combo.setObjectName("spectrumStyle")
        self._style_combo.addItems(["Bars", "Stems"])
        self._style_combo.setAccessibleName("Plot style")
        self._style_combo.setToolTip("Draw the singular values as bars or as stems")
        self._style_combo.currentIndexChanged.connect(lambda i: self.set_stems(i == 1))
        self._style_combo.activated.connect(lambda i: self._remember("stems", i == 1))
        self._label = SteadyLabel("", self)
        self._label.make_opaque()  # a new text on every frame of a drag
        self._label.setObjectName("spectrumLabel")
        self._label.setAccessibleName("Rank summary")
        self._label.setToolTip(
            "Energy retained by the first k singular values, and ‖A − A_k‖_F² = Σ_{i>k} σᵢ², "
            f"the {SQUARED_ERROR_WORDS}, of dropping the rest"
        )
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setWordWrap(True)
        self._label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        # A slot: the label changes on every step of a drag and must not relayout the window.
        self._label_box = self._label.slot()
        self._fixed_controls = (k_label, self.rank_spin, self._log_check, self._style_combo)
        for col, widget in enumerate(self._fixed_controls):
            row.addWidget(widget, 0, col)
        row.setColumnStretch(4, 1)
        self._controls = row
        self._label_row = -1
        self._label_len = 0
        self._place_label()

    def _place_label(self) -> None:
        """Label beside the controls when it fits on one line, else on a line of its own."""
        spacing = self._controls.horizontalSpacing()
        needed = sum(w.sizeHint().width() + spacing for w in self._fixed_controls)
        needed += self._label.fontMetrics().horizontalAdvance(self._label.text()) + 16
        label_row = 0 if self.width() >= needed else 1
        if label_row != self._label_row:
            self._label_row = label_row
            self._controls.removeWidget(self._label_box)
            if label_row == 0:
                self._controls.addWidget(self._label_box, 0, 4)
            else:
                self._controls.addWidget(self._label_box, 1, 0, 1, 5)

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        self._place_label()

    # ---------------------------------------------------------------- remembered style
    def _style_key(self, what: str) -> str:
        return f"spectrum/{self.objectName() or 'spectrumPlot'}/{what}"

    def _remember(self, what: str, on: bool) -> None:
        if _settings is not None:
            _settings.setValue(self._style_key(what), int(on))

    def apply_remembered_style(self) -> None:
        """Bring back the user's last Bars/Stems and log-scale choice for this plot."""
        if _settings is None:
            return
        for what, setter in (("log", self.set_log_scale), ("stems", self.set_stems)):
            value = _settings.value(self._style_key(what))
            if value is not None and str(value) in ("0", "1", "true", "false"):
                setter(str(value) in ("1", "true"))

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        if not self._style_applied:
            self._style_applied = True
            self.apply_remembered_style()
        super().showEvent(ev)

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
        if k == self._k == self._shown_k:
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
        self._redraw.start()

    def values(self) -> np.ndarray:
        """The singular values shown (read-only; empty when cleared)."""
        return self._data.s if self._data is not None else np.empty(0)

    def plot_widget(self) -> pg.PlotWidget:
        """The pyqtgraph PlotWidget (for tests and screenshots; do not restyle it)."""
        return self._plot

    def viewport_point(self, x: float, y: float) -> QtCore.QPoint:
        """Data coordinates (index, σ) → a point on ``plot_widget().viewport()``, for tests
        that click and drag with real mouse events."""
        scene = self._vb.mapViewToScene(QtCore.QPointF(x, y))
        return self._plot.mapFromScene(scene)

    def clear(self) -> None:
        """Remove all values; rank() becomes 0.  Emits nothing."""
        self._data = None
        self._k = 0
        self._pending_k = 0
        self._selected = None
        self._refresh_all()

    # ---------------------------------------------------------------- drawing
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
            self._pct = np.empty(0)
        else:
            self._pct = data.cumulative_percent()
            y, base = data.plot_y(self._log)
            top = float(y.max())
            # Log: from the floor to a little over σ_max (at least a decade); linear: from 0.
            log_range = (base, max(top, base + 1) + 0.15)
            y_range = log_range if self._log else (0.0, (top or 1.0) * 1.08)
            self._vb.setRange(xRange=(0.4, r + 0.6), yRange=y_range, padding=0)
        self._drawn = None
        self._energy.set_percent(self._pct, self.bin_size())
        self._show_rank(self._k)

    def _show_rank(self, k: int) -> None:
        """Show k in the label and spin box now; redraw the plot once control returns to the
        event loop, so a burst of rank changes costs one redraw."""
        self._shown_k = k
        self._update_label(k)
        self._sync_spin(k)
        if not self._redraw.isActive():
            self._redraw.start()

    def _flush(self) -> None:
        """Bring bars, stems, cutoff line and highlight up to date with the shown k."""
        self._redraw.stop()
        k, data = self._shown_k, self._data
        size = self.bin_size()
        key = (id(data), k, self._log, self._stems, self._dense(), size)
        if key != self._drawn:
            self._drawn = key
            self._draw_bars(k, size)
        self._energy.set_percent(self._pct, size)
        self._syncing = True
        try:
            self._cutoff.setPos(k + 0.5)
        finally:
            self._syncing = False
        self._update_selection()

    def _draw_bars(self, k: int, size: int) -> None:
        if self._data is None:
            self._series.draw(np.empty(0), 0.0, 0, self._stems)
        else:
            y, base = self._data.plot_y(self._log)
            self._series.draw(y, base, k, self._stems, self._dense(), size)

    def bin_size(self) -> int:
        """How many values share one pixel column of the plot (1 while each has its own):
        what is drawn is each column's extremes, exact values at their own index."""
        r = self._data.r if self._data is not None else 0
        return bin_size(r, self._vb.width())

    def _dense(self) -> bool:
        """Too many bars for gaps between them: draw them as one shape."""
        r = self._data.r if self._data is not None else 0
        width = max(self._vb.width(), 1.0)
        return r > 0 and width / r < SpectrumSeries.DENSE_PITCH_PX

    def drawn(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What is drawn now, for tests: :meth:`SpectrumSeries.shown` and "energy"."""
        self._flush()
        out = self._series.shown()
        x, y = self._energy.curve.getData()
        out["energy"] = (np.asarray(x, float), np.asarray(y, float))
        return out

    def is_dragging(self) -> bool:
        """Whether the user is dragging the cutoff (button down, pointer moving)."""
        return self._gesture.dragging()

    def is_dense(self) -> bool:
        """Whether the bars are drawn as one filled shape (hundreds of values)."""
        return self._dense()

    def _on_view_resized(self) -> None:
        self._redraw.start()  # the bar pitch may have crossed the dense threshold
        self._fit_titles()

    def _fit_titles(self) -> None:
        """Keep the axis titles whole: the short form when the full one is taller than the
        plot."""
        pi = self._plot.getPlotItem()
        left, right = pi.getAxis("left"), pi.getAxis("right")
        room = self._vb.height()
        metrics = QtGui.QFontMetrics(left.label.font())
        titles = tuple(
            full if metrics.horizontalAdvance(full) + 8 <= room else short
            for full, short in (LEFT_TITLES, RIGHT_TITLES)
        )
        if titles != self._titles:
            self._titles = titles
            left.setLabel(titles[0], color="#333333")
            right.setLabel(titles[1], color=ENERGY)

    def axis_titles(self) -> tuple[str, str]:
        """The left and right axis titles as shown now."""
        pi = self._plot.getPlotItem()
        return pi.getAxis("left").labelText, pi.getAxis("right").labelText

    def _update_selection(self) -> None:
        i, data = self._selected, self._data
        if data is None or i is None:
            self._series.highlight(None, 0.0, 0.0, self._stems)
            return
        y, base = data.plot_y(self._log)
        self._series.highlight(i, float(y[i - 1]), base, self._stems)

    def _update_label(self, k: int) -> None:
        if self._data is None:
            text = "No singular values"
        elif self._formatter is not None:
            text = self._formatter(k)
        else:
            text = self._data.label(k)
        self._label.setText(text)
        self._plot.setAccessibleDescription(text)
        if len(text) != self._label_len:  # a longer text may no longer fit beside the controls
            self._label_len = len(text)
            self._place_label()

    def _sync_spin(self, k: int) -> None:
        self._syncing = True
        try:
            self.rank_spin.setValue(k)
        finally:
            self._syncing = False

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

    def _on_double_click(self, x: float) -> None:
        """A double-click on bar i selects σ_i (its first click has already set k = i)."""
        i = math.floor(x + 0.5)
        if self._data is not None and 1 <= i <= self._data.r and abs(x - i) <= BAR_WIDTH / 2:
            self._selected = i
            self._redraw.start()
            self.component_selected.emit(i)

    def _on_spin(self, k: int) -> None:
        if not self._syncing and k >= 1:
            self._commit(k)

    def _before_press(self) -> None:
        if self._redraw.isActive():
            self._flush()  # a press must meet the line where the label says it is

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if obj is self._plot.viewport() and self._data is not None and self._gesture.handle(ev):
            return True
        if ev.type() == QtCore.QEvent.Type.MouseButtonPress:
            self._before_press()
        is_key = ev.type() == QtCore.QEvent.Type.KeyPress
        if obj is self._plot and is_key and self._data is not None:
            k, r = self._shown_k, self._data.r
            page = max(1, r // 10)
            target = {
                Qt.Key.Key_Left.value: k - 1,
                Qt.Key.Key_Down.value: k - 1,
                Qt.Key.Key_Right.value: k + 1,
                Qt.Key.Key_Up.value: k + 1,
                Qt.Key.Key_PageDown.value: k - page,
                Qt.Key.Key_PageUp.value: k + page,
                Qt.Key.Key_Home.value: 1,
                Qt.Key.Key_End.value: r,
            }.get(int(ev.key()))
            if target is not None:
                self._commit(target)
                return True
        return super().eventFilter(obj, ev)


def _preview() -> int:
    """Show the widget alone with sample data: ``python -m svdstudio.ui.widgets.spectrum_plot``."""
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
