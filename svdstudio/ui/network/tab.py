"""The Network lab: SVD compression of a trained network's dense and convolution layers.

Open a bundled network or a ``.safetensors`` / ``.npz`` state dict; pick a layer in the table to
see its spectrum and Eckart–Young readout; drag the cutoff (live accuracy on a fixed subset, the
whole test split on release); choose ranks for every layer by energy or by a budget under four
rules; see parameters, MACs and *measured* latency before and after; export.

The parts, one job each: :mod:`.session` (state and jobs), :mod:`.jobs` and :mod:`.latency`
(what runs off the GUI thread), :mod:`.data` (which split is scored), :mod:`.controls`,
:mod:`.table`, :mod:`.plots`, :mod:`.text` (the words) and :mod:`.export` (files).  This module
composes them and keeps the Tab contract.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import QSettings, Qt, Signal

from svdstudio.engine.network import METHODS
from svdstudio.io.networks import BUNDLED_NETWORKS
from svdstudio.ui.network import export as net_export
from svdstudio.ui.network import text
from svdstudio.ui.network.controls import NetworkControls
from svdstudio.ui.network.plots import AccuracyPlot, BudgetPlot, PlotPanel
from svdstudio.ui.network.session import NetworkSession
from svdstudio.ui.network.table import LayerTable
from svdstudio.ui.widgets import file_dialogs
from svdstudio.ui.widgets.messages import show_warning
from svdstudio.ui.widgets.preview import preview_tab
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot
from svdstudio.workers import JobRunner

__all__ = ["NetworkTab"]

FILE_FILTER = "Networks (*.safetensors *.npz)"
DATA_FILTER = "Labelled data (*.npz)"
DEFAULT_NETWORK = "digits-mlp"


def _selectable(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class NetworkTab(QtWidgets.QWidget):
    """Network lab (see the module docstring)."""

    status_message = Signal(str)
    file_opened = Signal(str)
    document_changed = Signal(str, bool)  # the network's name; rank choices are not documents

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("networkTab")
        self.setAccessibleName("Network lab")
        self.session = NetworkSession(runner, self)
        self._dragging: int | None = None
        self._build()
        self._connect()

    # ================================================================ building
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
        self._refresh_all()

    def _connect(self) -> None:
        s, c = self.session, self.controls
        s.network_changed.connect(self._on_network_changed)
        s.factors_ready.connect(self._refresh_all)
        s.ranks_changed.connect(self._on_ranks_changed)
        s.selection_changed.connect(self._on_selection_changed)
        s.accuracy_ready.connect(self._refresh_accuracy)
        s.preview_ready.connect(self._on_preview)
        s.curves_ready.connect(self._on_curves)
        s.budget_ready.connect(self._refresh_budget)
        s.latency_ready.connect(self._refresh_latency)
        s.job_state.connect(self._on_job_state)
        s.job_progress.connect(self._on_job_progress)
        s.failed.connect(self._error)
        s.status.connect(self.status_message)
        c.network_combo.activated.connect(self._on_network_activated)
        c.data_button.clicked.connect(self._ask_data)
        c.method_combo.activated.connect(
            lambda _i: self._set_method(str(c.method_combo.currentData()))
        )
        c.scheme_combo.activated.connect(lambda _i: s.set_scheme(str(c.scheme_combo.currentData())))
        c.cost_combo.activated.connect(self._on_cost)
        c.energy_requested.connect(self._apply_energy)
        c.budget_requested.connect(self._apply_budget)
        c.whole_requested.connect(lambda: s.set_ranks({}))
        c.export_requested.connect(self.export_kind)
        self.table.layer_selected.connect(s.select)
        self.spectrum.rank_changed.connect(self._on_rank_committed)
        self.spectrum.rank_previewed.connect(self._on_rank_previewed)
        # A drag released where it started commits nothing: the release ends the preview.
        self.spectrum.plot_widget().viewport().installEventFilter(self)
        self.rank_panel.cancel_requested.connect(lambda: s.cancel("sweep"))
        self.budget_panel.cancel_requested.connect(lambda: s.cancel("budget"))
        self.budget_panel.compute_requested.connect(self.compute_budget)
        self.latency_panel.cancel_requested.connect(lambda: s.cancel("latency"))
        self.latency_panel.compute_requested.connect(self.measure_latency)

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        self.session.set_active(True)

    def hideEvent(self, ev) -> None:
        super().hideEvent(ev)
        self.session.set_active(False)

    # ================================================================ Tab API
    def file_filter(self) -> str:
        """Open-dialog filter for network files."""
        return FILE_FILTER

    def open_file(self, path: str) -> bool:
        """Open a network file; on failure say why once and keep what is on show."""
        if not self.session.open_path(str(path)):
            return False
        resolved = str(Path(path).resolve())
        self.controls.add_user_file(self.session.source, Path(path).name)
        self.controls.select_source(self.session.source)
        self.file_opened.emit(resolved)
        return True

    def open_bundled(self, name: str) -> bool:
        """Show a bundled network (digits-mlp, digits-cnn, mnist-mlp, mnist-cnn)."""
        ok = self.session.open_bundled(name)
        if ok:
            self.controls.select_source(name)
        return ok

    def open_data(self, path: str) -> bool:
        """Score the network on a user's data file (x, y)."""
        return self.session.open_data(str(path))

    def export(self) -> None:
        """Ctrl+E: save the compressed network (the other exports are in the Export menu)."""
        self.export_kind("network")

    def undo_stack(self) -> None:
        """Ranks are choices, not edits: nothing to undo."""
        return None

    def copy(self) -> None:
        """Copy the layer table as CSV text."""
        f = self.session.factors()
        if f:
            QtWidgets.QApplication.clipboard().setText(net_export.table_csv(f, self.session.ranks))
            self.status_message.emit("The layer table was copied as CSV text.")

    def paste(self) -> None:
        """Networks are opened, not pasted."""
        self.status_message.emit("Nothing to paste here: open a network file instead.")

    def select_all(self) -> None:
        """Nothing to select."""

    def document_title(self) -> str:
        """The network on show: its bundled name or file name ("" before one is open)."""
        source = self.session.source
        return Path(source).name if source else ""

    def has_unsaved_changes(self) -> bool:
        """Ranks are remembered in the settings; nothing is lost on closing."""
        return False

    def maybe_save(self) -> bool:
        """Always fine to close."""
        return True

    def load_defaults(self) -> None:
        """Open the bundled Digits MLP, every layer whole."""
        self.open_bundled(DEFAULT_NETWORK)

    def save_state(self, settings: QSettings) -> None:
        """Remember the network, data, method, scheme, cost, ranks, selection and splitters."""
        s = self.session
        settings.setValue("network/source", s.source or DEFAULT_NETWORK)
        settings.setValue("network/data", s.data_source or "")
        settings.setValue("network/method", s.method)
        settings.setValue("network/scheme", s.scheme)
        settings.setValue("network/cost", s.cost)
        settings.setValue("network/ranks", json.dumps(s.ranks))
        settings.setValue("network/selected", s.selected or "")
        for name, sp in self._splitters().items():
            settings.setValue(f"network/{name}", sp.saveState())

    def restore_state(self, settings: QSettings) -> None:
        """Reopen the last network with its choices (falls back to the default network)."""
        s = self.session
        for name, sp in self._splitters().items():
            state = settings.value(f"network/{name}")
            if state is not None:
                sp.restoreState(state)
        scheme = str(settings.value("network/scheme", "spatial"))
        if scheme in ("spatial", "channel"):
            s.scheme = scheme
            self.controls.scheme_combo.setCurrentIndex(["spatial", "channel"].index(scheme))
        cost = str(settings.value("network/cost", "params"))
        if cost in ("params", "macs"):
            s.cost = cost
            self.controls.cost_combo.setCurrentIndex(["params", "macs"].index(cost))
        source = str(settings.value("network/source", DEFAULT_NETWORK))
        if source in BUNDLED_NETWORKS:
            ok = self.open_bundled(source)
        else:
            ok = Path(source).is_file() and self.open_file(source)
        if not ok:
            self.open_bundled(DEFAULT_NETWORK)
            return
        data = str(settings.value("network/data", "") or "")
        if data and Path(data).is_file():
            s.open_data(data)
        try:
            ranks = json.loads(str(settings.value("network/ranks", "{}")))
        except ValueError:
            ranks = {}
        if isinstance(ranks, dict):
            s.ranks = {str(n): (int(k) if isinstance(k, int) else None) for n, k in ranks.items()}
        selected = str(settings.value("network/selected", "") or "")
        s.selected = selected or None
        method = str(settings.value("network/method", "plain"))
        if method in METHODS and method != s.method and s.has_calibration():
            self._set_method(method)

    def _splitters(self) -> dict[str, QtWidgets.QSplitter]:
        return {"splitter": self.splitter, "left": self.left, "right": self.right}

    # ================================================================ actions
    def _on_network_activated(self, index: int) -> None:
        data = self.controls.network_combo.itemData(index)
        if data == "open":
            self.controls.select_source(self.session.source)
            path = file_dialogs.ask_open_path(
                self, "Open a network", f"{FILE_FILTER};;All files (*)"
            )
            if path:
                self.open_file(path)
        elif data in BUNDLED_NETWORKS:
            self.open_bundled(data)
        elif data and not self.open_file(str(data)):
            self.controls.select_source(self.session.source)

    def _ask_data(self) -> None:
        path = file_dialogs.ask_open_path(
            self, "Open labelled data", f"{DATA_FILTER};;All files (*)"
        )
        if path:
            self.open_data(path)

    def _set_method(self, method: str) -> None:
        self.session.set_method(method)
        self.controls.method_combo.setCurrentIndex(METHODS.index(self.session.method))

    def _on_cost(self, _index: int) -> None:
        self.session.set_cost(str(self.controls.cost_combo.currentData()))
        self.budget_plot.set_cost(self.session.cost)
        self._refresh_budget()

    def _apply_energy(self, fraction: float) -> None:
        self.session.apply_energy(fraction)
        self.status_message.emit(f"Every layer keeps at least {text.percent(fraction)} energy.")

    def _apply_budget(self, fraction: float, rule: str) -> None:
        note = self.session.apply_budget(fraction, rule)
        if note:
            self.status_message.emit(f"Budget {text.percent(fraction)}: {note}.")
        else:
            self.status_message.emit(f"Ranks for {text.percent(fraction)} of the layers' cost.")

    def compute_budget(self) -> bool:
        """Start the accuracy-vs-budget sweep (four rules)."""
        return self.session.compute_budget()

    def measure_latency(self) -> bool:
        """Start timing the original and the compressed network."""
        return self.session.measure_latency()

    def _on_rank_committed(self, k: int) -> None:
        self._dragging = None
        if self.session.selected is not None:
            self.session.set_rank(self.session.selected, k)
        self._refresh_accuracy()

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.MouseButtonRelease and self._dragging is not None:
            QtCore.QTimer.singleShot(0, self._end_drag)  # after the spectrum has handled it
        return super().eventFilter(obj, ev)

    def _end_drag(self) -> None:
        if self._dragging is None:
            return
        self._dragging = None
        k = self.session.rank()
        self._refresh_readout(k)
        self.rank_plot.set_rank(k)
        self._refresh_accuracy()

    def _on_rank_previewed(self, k: int) -> None:
        self._dragging = k
        self._refresh_readout(k)
        self.rank_plot.set_rank(k)
        self.session.preview_rank(k)

    # ================================================================ redrawing
    def _on_network_changed(self) -> None:
        self.document_changed.emit(self.document_title(), False)
        s = self.session
        self.controls.select_source(s.source)
        self.controls.method_combo.setCurrentIndex(METHODS.index(s.method))
        has_conv = any(layer.kind == "conv" for layer in s.network.layers)
        self.controls.scheme_combo.setEnabled(has_conv)
        self.controls.method_combo.model().item(1).setEnabled(s.has_calibration())
        note = s.plan.note if s.plan is not None else "no test data: open a data file (Data…)"
        self.notice_label.setText(f"<b>{s.title}</b> · {s.network.n_params:,} parameters · {note}")
        self._refresh_all()

    def _refresh_all(self) -> None:
        s = self.session
        f = s.factors()
        if f is None:
            self.table.setRowCount(0)
            self.spectrum.clear()
            self.readout.setText("Factorising the layers…" if s.network is not None else "")
        else:
            self.table.show_layers(f, s.ranks, s.selected)
            self._show_layer()
        self._refresh_totals()
        self._refresh_accuracy()
        self._refresh_curves()
        self._refresh_budget()
        self._refresh_latency()

    def _on_ranks_changed(self) -> None:
        s = self.session
        f = s.factors()
        if f is not None:
            self.table.show_layers(f, s.ranks, s.selected)
        if s.selected is not None:
            self.spectrum.set_rank(s.rank())
            self.rank_plot.set_rank(s.rank())
            self._refresh_readout(s.rank())
        self._refresh_totals()
        self._refresh_accuracy()
        self._refresh_latency()

    def _on_selection_changed(self, _name: str) -> None:
        self.table.select_layer(self.session.selected)
        self._show_layer()
        self._refresh_curves()

    def _show_layer(self) -> None:
        s = self.session
        f = s.layer()
        if f is None:
            self.spectrum.clear()
            self.readout.setText("")
            return
        self.spectrum.set_values(f.singular_values)
        self.spectrum.set_rank(s.rank())
        self.spectrum.set_label_formatter(
            lambda k, f=f: (
                f"layer {f.name}: k = {k} of {f.max_rank} · energy {text.percent(f.energy(k), 1)}"
            )
        )
        self._refresh_readout(s.rank())

    def _refresh_readout(self, k: int) -> None:
        f = self.session.layer()
        if f is not None and k >= 1:
            self.readout.setText(text.readout_html(f, min(k, f.max_rank)))

    def _refresh_totals(self) -> None:
        t = self.session.totals()
        self.totals_label.setText(
            text.totals_html(t) + "<small>MACs are counted exactly, not timed.</small>"
            if t is not None
            else ""
        )

    def _refresh_accuracy(self) -> None:
        s = self.session
        self.accuracy_label.setText(
            text.accuracy_html(s.baseline, s.current_accuracy(), None, has_data=s.has_data())
        )
        self._refresh_budget_marker()

    def _on_preview(self, k: int) -> None:
        s = self.session
        if self._dragging is None or s.preview is None:
            return
        self.accuracy_label.setText(
            text.accuracy_html(
                s.baseline, None, (k, s.preview[1], s.preview_baseline), has_data=True
            )
        )

    def _on_curves(self, name: str) -> None:
        if name == self.session.selected:
            self._refresh_curves()

    def _refresh_curves(self) -> None:
        s = self.session
        curves = s.selected_curves()
        base = s.baseline.value if s.baseline is not None else None
        self.rank_plot.show_curves(curves, base, s.rank() if s.selected else 0)
        f = s.layer()
        if not s.has_data():
            note = "No test data: open a data file to score the network."
        elif curves is None:
            note = f"Scoring every rank of layer {s.selected}…" if f is not None else ""
        else:
            sweep = next(iter(curves.curves.values()))
            methods = " and ".join(curves.curves)
            note = (
                f"Layer {curves.name} alone at each rank, the others whole; {methods} SVD; "
                f"{sweep.n} test samples. Dashed: the original network."
            )
        self.rank_panel.note.setText(note)

    def _refresh_budget(self) -> None:
        s = self.session
        sweep = s.current_budget()
        base = s.baseline.value if s.baseline is not None else None
        self.budget_plot.set_cost(s.cost)
        self.budget_plot.show_sweep(sweep, base)
        if not s.has_data():
            note = "No test data."
        elif sweep is None:
            note = (
                "Press Compute: each rule spreads a budget over the layers; the greedy rule's "
                "per-layer tables use the validation split, every point is scored on the test "
                "split."
            )
        else:
            note = (
                f"{s.method} SVD; the ranks are chosen without the test split, then scored on "
                f"{sweep.n} test samples. Star: the ranks on show."
            )
        self.budget_panel.note.setText(note)
        self._refresh_budget_marker()

    def _refresh_budget_marker(self) -> None:
        s = self.session
        f, acc = s.factors(), s.current_accuracy()
        if f is None or acc is None or not s.ranks:
            self.budget_plot.set_current(None, None)
            return
        from svdstudio.engine.network import budget_cost

        whole = budget_cost(f, {}, s.cost)
        frac = budget_cost(f, s.ranks, s.cost) / whole if whole else 1.0
        self.budget_plot.set_current(frac, acc.value)

    def _refresh_latency(self) -> None:
        s = self.session
        report = s.latency[1] if s.latency is not None else None
        stale = s.latency is not None and s.latency[0] != s.key()
        self.latency_label.setText(text.latency_html(report, stale))

    def _on_job_state(self, kind: str, running: bool) -> None:
        panel = {
            "sweep": self.rank_panel,
            "budget": self.budget_panel,
            "latency": self.latency_panel,
        }.get(kind)
        if panel is not None:
            panel.set_running(running)
        if not running and kind == "sweep":
            self._refresh_curves()

    def _on_job_progress(self, kind: str, fraction: float) -> None:
        panel = {
            "sweep": self.rank_panel,
            "budget": self.budget_panel,
            "latency": self.latency_panel,
        }.get(kind)
        if panel is not None:
            panel.set_progress(fraction)

    # ================================================================ export, errors
    def export_kind(self, kind: str) -> None:
        """Ask where to save one export (network, table, curves, rank-plot, budget-plot)."""
        s = self.session
        if s.factors() is None:
            self._error("Nothing to export yet: the layers are still being factorised.")
            return
        stem = Path(s.source or "network").stem
        names = {
            "network": f"{stem}-compressed",
            "table": f"{stem}-layers",
            "curves": f"{stem}-curves",
            "rank-plot": f"{stem}-accuracy-vs-rank",
            "budget-plot": f"{stem}-accuracy-vs-budget",
        }
        path = net_export.ask_export_path(self, kind, names[kind])
        if path is not None:
            self.export_to(kind, path)

    def export_to(self, kind: str, path: str) -> bool:
        """Write one export to ``path`` (atomic); says what was saved, or why not."""
        s = self.session
        f = s.factors()
        if f is None:
            return False
        if kind == "network":
            ranks = ", ".join(f"{n}={k}" for n, k in sorted(s.ranks.items()) if k) or "none"
            note = f"{s.title}, {s.method} SVD, {s.scheme} convolutions, ranks {ranks}"
            error = net_export.save_network(path, s.compressed(), note)
        elif kind == "table":
            error = net_export.save_table(path, f, s.ranks)
        elif kind == "curves":
            curves = [c for (_n, sch), c in s.curves.items() if sch == s.scheme]
            error = net_export.save_curves(path, curves, s.current_budget(), s.cost)
        else:
            plot = self.rank_plot if kind == "rank-plot" else self.budget_plot
            error = net_export.save_plot(plot, path)
        if error:
            self._error(error)
            return False
        self.status_message.emit(f"Saved {path}.")
        return True

    def _error(self, message: str) -> None:
        self.status_message.emit(message)
        show_warning(self, "Network", message, "networkErrorDialog")


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.network.tab``."""
    return preview_tab(NetworkTab)


if __name__ == "__main__":
    raise SystemExit(_preview())
