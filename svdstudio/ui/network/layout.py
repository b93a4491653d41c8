"""The Network lab's widgets and their layout: controls, layer table, readouts, spectrum, plots.

A mixin of :class:`~svdstudio.ui.network.tab.NetworkTab`: :meth:`NetworkLayout._build` makes the
widget tree inside the tab and keeps the widgets as the tab's attributes (``table``,
``spectrum``, ``accuracy_label``, the plot panels, the splitters, …).  It holds no state and
no behaviour: the tab connects the signals and :mod:`.redraw` fills the widgets in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.network.controls import NetworkControls
from svdstudio.ui.network.plots import AccuracyPlot, BudgetPlot, PlotPanel
from svdstudio.ui.network.table import LayerTable
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

if TYPE_CHECKING:
    from svdstudio.ui.network.tab import NetworkTab

    _Base = NetworkTab
else:
    _Base = object

__all__ = ["NetworkLayout"]


def _selectable(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class NetworkLayout(_Base):
    """Building the tab's widgets (see the module docstring)."""

    def _build(self) -> None:
        self.controls = NetworkControls()
        self.notice_label = _selectable(QtWidgets.QLabel())
        self.notice_label.setObjectName("networkNotice")
        self.notice_label.setStyleSheet("color: #444444;")

        self.table = LayerTable()
        self.accuracy_label = _selectable(QtWidgets.QLabel())
        self.accuracy_label.setObjectName("networkAccuracyLabel")
        self.accuracy_label.setAccessibleName("Accuracy")
        self.accuracy_label.setStyleSheet(
            "QLabel { background: #f3f6fa; border: 1px solid #d5dde8; padding: 4px; }"
        )
        self.totals_label = _selectable(QtWidgets.QLabel())
        self.totals_label.setObjectName("networkTotals")
        self.latency_label = _selectable(QtWidgets.QLabel())
        self.latency_label.setObjectName("networkLatency")
        self.latency_panel = PlotPanel(
            "Counted and measured cost", QtWidgets.QWidget(), "networkLatency", "Measure"
        )
        self.latency_panel.plot.hide()
        self.latency_panel.note.hide()
        self.measure_button = self.latency_panel.compute_button
        self.measure_button.setToolTip(
            "Time both networks: ≥ 30 runs each at batch 1 and a batch, one BLAS thread, in a "
            "separate process"
        )
        self.readout = _selectable(QtWidgets.QLabel())
        self.readout.setObjectName("networkReadout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.readout.setStyleSheet("QLabel { border: 1px solid #dddddd; padding: 4px; }")
        summary = QtWidgets.QWidget()
        sl = QtWidgets.QVBoxLayout(summary)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(6)
        sl.addWidget(self.readout)
        sl.addWidget(self.accuracy_label)
        sl.addWidget(self.latency_panel)
        sl.addWidget(self.totals_label)
        sl.addWidget(self.latency_label)
        sl.addStretch(1)
        self.left = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        self.left.setObjectName("networkLeftSplitter")
        self.left.addWidget(self.table)
        self.left.addWidget(summary)
        self.left.setStretchFactor(0, 1)
        self.left.setStretchFactor(1, 4)
        self.left.setChildrenCollapsible(False)

        self.spectrum = SpectrumPlot()
        self.spectrum.setObjectName("networkSpectrum")
        self.rank_spin = self.spectrum.rank_spin
        # The spectrum's own k box is the layer's rank: one control, the name the issue gives.
        self.rank_spin.setObjectName("networkRankSpin")
        self.rank_spin.setAccessibleName("Rank of the selected layer")
        self.rank_plot = AccuracyPlot()
        self.budget_plot = BudgetPlot()
        self.rank_panel = PlotPanel("Accuracy against rank", self.rank_plot, "networkRankCurves")
        self.budget_panel = PlotPanel(
            "Accuracy against budget", self.budget_plot, "networkBudgetCurves", "Compute"
        )
        bottom = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.rank_panel)
        bottom.addWidget(self.budget_panel)
        bottom.setChildrenCollapsible(False)
        self.right = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        self.right.setObjectName("networkRightSplitter")
        self.right.addWidget(self.spectrum)
        self.right.addWidget(bottom)
        self.right.setStretchFactor(0, 1)
        self.right.setStretchFactor(1, 1)
        self.right.setChildrenCollapsible(False)
        self.splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("networkSplitter")
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.left.setMinimumWidth(340)
        self.splitter.setSizes([610, 650])
        self.left.setSizes([140, 600])  # a few rows of layers; the readouts need the height

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.controls)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.splitter, 1)
