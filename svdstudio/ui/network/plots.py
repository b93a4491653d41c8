"""The two accuracy plots: against the selected layer's rank, and against the budget kept.

Each sits in a :class:`PlotPanel` with a title, a note, a progress bar and Cancel / Compute
buttons for the background job that fills it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.engine.network import RULES, BudgetSweep
from svdstudio.ui.network.jobs import RankCurves

__all__ = ["AccuracyPlot", "BudgetPlot", "PlotPanel"]

METHOD_COLOURS = {"plain": "#3a6fb0", "data-aware": "#e67e00"}
RULE_COLOURS = {
    "energy": "#2e8b57",
    "uniform": "#c0392b",
    "global": "#3a6fb0",
    "greedy": "#8e44ad",
}
SHORT_RULES = {
    "energy": "same energy",
    "uniform": "same fraction",
    "global": "global σ/σ₁",
    "greedy": "greedy",
}
_FG = "#333333"


def _style(w: pg.PlotWidget, name: str, bottom: str, left: str) -> None:
    """One look for both plots: white, light grid, labelled axes, no mouse zoom."""
    w.setObjectName(name)
    w.setMinimumSize(200, 110)
    pi = w.getPlotItem()
    pi.hideButtons()
    pi.setMenuEnabled(False)
    pi.showGrid(x=True, y=True, alpha=0.15)
    for axis, text in (("bottom", bottom), ("left", left)):
        a = pi.getAxis(axis)
        a.setPen(_FG)
        a.setTextPen(_FG)
        a.setLabel(text, color=_FG)
    w.getViewBox().setMouseEnabled(x=False, y=False)


def _legend(pi: pg.PlotItem, columns: int) -> pg.LegendItem:
    """A legend under the axes, in the plot item's own layout (so it is exported with the plot):
    inside the axes it would hide curves that fill every corner."""
    leg = pg.LegendItem(labelTextColor=_FG, labelTextSize="8pt", colCount=columns)
    pi.layout.addItem(leg, 4, 0, 1, 3)  # the whole width, under the bottom axis
    return leg


class AccuracyPlot(pg.PlotWidget):
    """Test accuracy with one layer at every rank (the others whole), plain and data-aware."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        _style(self, "networkAccuracyPlot", "rank k of the selected layer", "test accuracy (%)")
        self.setAccessibleName("Accuracy against rank")
        pi = self.getPlotItem()
        self._legend = _legend(pi, 1)
        self._curves: dict[str, pg.PlotDataItem] = {}
        for method, colour in METHOD_COLOURS.items():
            c = pi.plot([], [], pen=pg.mkPen(colour, width=2))
            self._legend.addItem(c, f"{method} SVD")
            self._curves[method] = c
        self._baseline = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#777777", width=1, style=Qt.PenStyle.DashLine)
        )
        self._rank = pg.InfiniteLine(angle=90, pen=pg.mkPen("#c0392b", width=2))
        pi.addItem(self._baseline, ignoreBounds=True)
        pi.addItem(self._rank, ignoreBounds=True)
        self._baseline.hide()
        self._rank.hide()

    def show_curves(self, curves: RankCurves | None, baseline: float | None, k: int) -> None:
        """Draw ``curves`` (None clears) with the original accuracy and the current rank."""
        top = 1
        for method, item in self._curves.items():
            sweep = curves.curves.get(method) if curves is not None else None
            if sweep is None:
                item.setData([], [])
                continue
            item.setData(np.asarray(sweep.ranks), 100 * np.asarray(sweep.accuracy))
            top = max(top, max(sweep.ranks))
        if baseline is not None:
            self._baseline.setPos(100 * baseline)
            self._baseline.show()
        else:
            self._baseline.hide()
        self.set_rank(k)
        self.setXRange(0.5, top + 0.5, padding=0.02)
        self.setYRange(0, 100, padding=0.02)

    def set_rank(self, k: int) -> None:
        """Move the red line to rank k (0 hides it)."""
        self._rank.setPos(k)
        self._rank.setVisible(k > 0)

    def curve_data(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """The drawn (ranks, accuracy %) of one method (for tests and export)."""
        x, y = self._curves[method].getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)


class BudgetPlot(pg.PlotWidget):
    """Test accuracy against the fraction of the factorised layers' cost kept, four rules."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        _style(self, "networkBudgetPlot", "% of the layers' parameters kept", "test accuracy (%)")
        self.setAccessibleName("Accuracy against budget")
        pi = self.getPlotItem()
        self._legend = _legend(pi, 2)
        self._curves: dict[str, pg.PlotDataItem] = {}
        for rule in RULES:
            self._curves[rule] = pi.plot(
                [],
                [],
                pen=pg.mkPen(RULE_COLOURS[rule], width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=RULE_COLOURS[rule],
                symbolPen=None,
            )
            self._legend.addItem(self._curves[rule], SHORT_RULES[rule])
        self._baseline = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#777777", width=1, style=Qt.PenStyle.DashLine)
        )
        pi.addItem(self._baseline, ignoreBounds=True)
        self._baseline.hide()
        self._here = pg.ScatterPlotItem(
            size=11, symbol="star", brush=pg.mkBrush("#c0392b"), pen=pg.mkPen("#7a1d12")
        )
        pi.addItem(self._here)

    def set_cost(self, cost: str) -> None:
        what = "parameters" if cost == "params" else "MACs"
        self.getPlotItem().getAxis("bottom").setLabel(f"% of the layers' {what} kept", color=_FG)

    def show_sweep(self, sweep: BudgetSweep | None, baseline: float | None) -> None:
        """Draw each rule's accuracy at each budget (x: the fraction the ranks really keep)."""
        for rule, item in self._curves.items():
            if sweep is None or rule not in sweep.accuracy:
                item.setData([], [])
                continue
            x = [100 * a.fraction for a in sweep.allocations[rule]]
            item.setData(np.asarray(x), 100 * np.asarray(sweep.accuracy[rule]))
        if baseline is not None:
            self._baseline.setPos(100 * baseline)
            self._baseline.show()
        else:
            self._baseline.hide()
        xmax = 100 * max(sweep.fractions) if sweep is not None else 100
        self.setXRange(0, xmax * 1.05, padding=0)
        self.setYRange(0, 100, padding=0.02)

    def set_current(self, fraction: float | None, accuracy: float | None) -> None:
        """Mark the ranks on show (a star), or nothing."""
        if fraction is None or accuracy is None:
            self._here.setData([], [])
        else:
            self._here.setData([100 * fraction], [100 * accuracy])

    def curve_data(self, rule: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._curves[rule].getData()
        return (np.empty(0), np.empty(0)) if x is None else (x, y)


class PlotPanel(QtWidgets.QWidget):
    """A plot with its title, a note, and the controls of the job that computes it."""

    compute_requested = Signal()
    cancel_requested = Signal()

    def __init__(
        self,
        title: str,
        plot: QtWidgets.QWidget,
        name: str,
        compute_text: str | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.plot = plot
        self.title = QtWidgets.QLabel(f"<b>{title}</b>")
        self.note = QtWidgets.QLabel()
        self.note.setObjectName(f"{name}Note")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555555;")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName(f"{name}Progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.setMaximumWidth(140)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName(f"{name}Cancel")
        self.cancel_button.setToolTip("Stop this computation")
        self.cancel_button.setAccessibleName(f"Cancel: {title}")
        self.cancel_button.clicked.connect(self.cancel_requested)
        head = QtWidgets.QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.progress)
        head.addWidget(self.cancel_button)
        self.compute_button = None
        if compute_text:
            self.compute_button = QtWidgets.QPushButton(compute_text)
            self.compute_button.setObjectName(f"{name}Compute")
            self.compute_button.setAccessibleName(f"{compute_text}: {title}")
            self.compute_button.setToolTip(f"{compute_text} ({title.lower()}) in the background")
            self.compute_button.clicked.connect(self.compute_requested)
            head.addWidget(self.compute_button)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(head)
        lay.addWidget(plot, 1)
        lay.addWidget(self.note)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        if running:
            self.progress.setValue(0)
        if self.compute_button is not None:
            self.compute_button.setEnabled(not running)

    def set_progress(self, fraction: float) -> None:
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
