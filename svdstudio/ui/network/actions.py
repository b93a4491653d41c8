"""What the Network lab's controls do: open a network or data, choose ranks, method and cost.

A mixin of :class:`~svdstudio.ui.network.tab.NetworkTab`: the slots the tab connects to its
controls and to the spectrum's cutoff, turning them into session calls and status sentences.
Dragging the cutoff previews a rank (live accuracy on a fixed subset); releasing it commits the
rank, and a release where the drag started ends the preview (the tab's event filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svdstudio.engine.network import METHODS
from svdstudio.io.networks import BUNDLED_NETWORKS
from svdstudio.ui.network import text
from svdstudio.ui.network.spec import TAB_SPEC
from svdstudio.ui.widgets import file_dialogs

if TYPE_CHECKING:
    from svdstudio.ui.network.tab import NetworkTab

    _Base = NetworkTab
else:
    _Base = object

__all__ = ["DATA_FILTER", "FILE_FILTER", "TabActions"]

FILE_FILTER = TAB_SPEC.file_filter  # one text: File › Open lists it before the tab is built
DATA_FILTER = "Labelled data (*.npz)"


class TabActions(_Base):
    """The tab's answers to its controls (see the module docstring)."""

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
