"""How the Network lab shows its session: table, spectrum, readouts, plots, job panels.

A mixin of :class:`~svdstudio.ui.network.tab.NetworkTab`: the slots the tab connects to the
session's signals, filling the widgets (built by :mod:`.layout`) from the session's state; the
words come from :mod:`.text`.  Only results that belong to the ranks on show are drawn as
current (a stale latency is marked as such); while the cutoff is dragged the accuracy readout
shows the live preview.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svdstudio.engine.network import METHODS
from svdstudio.ui.network import text

if TYPE_CHECKING:
    from svdstudio.ui.network.tab import NetworkTab

    _Base = NetworkTab
else:
    _Base = object

__all__ = ["TabRedraw"]


class TabRedraw(_Base):
    """Redrawing the tab from the session (see the module docstring)."""

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

    def _job_panel(self, kind: str):
        """The panel that shows a job of ``kind`` (sweep, budget, latency), or None."""
        return {
            "sweep": self.rank_panel,
            "budget": self.budget_panel,
            "latency": self.latency_panel,
        }.get(kind)

    def _on_job_state(self, kind: str, running: bool) -> None:
        panel = self._job_panel(kind)
        if panel is not None:
            panel.set_running(running)
        if not running and kind == "sweep":
            self._refresh_curves()

    def _on_job_progress(self, kind: str, fraction: float) -> None:
        panel = self._job_panel(kind)
        if panel is not None:
            panel.set_progress(fraction)
