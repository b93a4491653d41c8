"""The Network lab: SVD compression of a trained network's dense and convolution layers.

Open a bundled network or a ``.safetensors`` / ``.npz`` state dict; pick a layer in the table to
see its spectrum and Eckart–Young readout; drag the cutoff (live accuracy on a fixed subset, the
whole test split on release); choose ranks for every layer by energy or by a budget under four
rules; see parameters, MACs and *measured* latency before and after; export.

The parts, one job each: :mod:`.session` (state and jobs), :mod:`.jobs` and :mod:`.latency`
(what runs off the GUI thread), :mod:`.data` (which split is scored), :mod:`.controls`,
:mod:`.table`, :mod:`.plots`, :mod:`.text` (the words) and :mod:`.export` (files); the tab's own
parts are mixins: :mod:`.layout` (its widgets), :mod:`.actions` (what its controls do) and
:mod:`.redraw` (how it shows the session).  This module composes them, connects the signals
and keeps the Tab contract.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import QSettings, Signal

from svdstudio.engine.network import METHODS
from svdstudio.io.networks import BUNDLED_NETWORKS
from svdstudio.ui.network import export as net_export
from svdstudio.ui.network.actions import DATA_FILTER, FILE_FILTER, TabActions
from svdstudio.ui.network.layout import NetworkLayout
from svdstudio.ui.network.redraw import TabRedraw
from svdstudio.ui.network.session import NetworkSession
from svdstudio.ui.widgets.messages import show_warning
from svdstudio.ui.widgets.preview import preview_tab
from svdstudio.workers import JobRunner

__all__ = ["DATA_FILTER", "FILE_FILTER", "NetworkTab"]

DEFAULT_NETWORK = "digits-mlp"


class NetworkTab(QtWidgets.QWidget, NetworkLayout, TabActions, TabRedraw):
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
        self._refresh_all()
        self._connect()

    # ================================================================ wiring
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

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.MouseButtonRelease and self._dragging is not None:
            QtCore.QTimer.singleShot(0, self._end_drag)  # after the spectrum has handled it
        return super().eventFilter(obj, ev)

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
