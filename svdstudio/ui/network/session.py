"""The Network lab's state: the network on show, its factors, the chosen ranks, and their jobs.

No widgets: the tab writes through the methods here and redraws from the signals.  Every
computation runs on the job runner ("network.*" channels); a result is applied only if it belongs
to the network, data and choices still on show (a generation counter and a key per result).

This module holds the state, the opening of networks and data, the queries and the choices; the
factorisation jobs are in :mod:`.session_factors` and the measurements (accuracy, rank curves,
budget, latency) in :mod:`.session_measure` (mixins of this class); the channel plumbing (one
job in flight per channel, the long jobs by kind) is composed from :mod:`.session_jobs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6 import QtCore
from PySide6.QtCore import Signal

from svdstudio.engine.network import (
    Accuracy,
    AccuracyTable,
    BudgetSweep,
    LayerFactors,
    Network,
    Totals,
    allocate,
    compress,
    ranks_for_energy,
    totals,
)
from svdstudio.io.network_data import (
    LabelledData,
    load_bundled_network,
    load_network_with_data,
    read_labelled_data,
)
from svdstudio.io.networks import BUNDLED_NETWORKS
from svdstudio.ui.network import jobs
from svdstudio.ui.network.data import DataPlan, plan_for_bundle, plan_for_file
from svdstudio.ui.network.latency import LatencyReport
from svdstudio.ui.network.session_factors import Factorisation
from svdstudio.ui.network.session_jobs import LongJobs, OneInFlight
from svdstudio.ui.network.session_measure import Measurements
from svdstudio.workers import JobRunner

__all__ = ["NetworkSession", "RankKey"]

RankKey = tuple[tuple[str, int | None], ...]  # ranks as a hashable, sorted key


def rank_key(ranks: Mapping[str, int | None]) -> RankKey:
    """Ranks as a hashable key (layers kept whole left out)."""
    return tuple(sorted((n, k) for n, k in ranks.items() if k is not None))


class NetworkSession(QtCore.QObject, Factorisation, Measurements):
    """The network on show (``network``), its data (``plan``), factors and ranks."""

    network_changed = Signal()  # a new network (or data) is on show; factors may follow
    factors_ready = Signal()  # factors for the current method and scheme are in
    ranks_changed = Signal()  # ``ranks`` changed (by hand, energy or budget)
    selection_changed = Signal(str)  # the selected layer
    accuracy_ready = Signal()  # ``accuracy`` holds the test accuracy of the current ranks
    preview_ready = Signal(int)  # ``preview`` holds the subset accuracy at this dragged rank
    curves_ready = Signal(str)  # the accuracy-vs-rank curves of this layer are in
    budget_ready = Signal()  # ``budget`` holds the accuracy-vs-budget sweep
    latency_ready = Signal()  # ``latency`` holds the measured timings
    job_state = Signal(str, bool)  # a long job's kind (sweep/budget/latency/factors), running
    job_progress = Signal(str, float)  # kind, fraction done
    failed = Signal(str)  # a file could not be opened: one plain sentence
    status = Signal(str)  # progress worth a status-bar sentence

    def __init__(self, runner: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.network: Network | None = None
        self.source: str | None = None  # bundled name or absolute path
        self.title = ""
        self.plan: DataPlan | None = None
        self.data_source: str | None = None  # a user's data file, when one is open
        self.scheme = "spatial"
        self.method = "plain"
        self.cost = "params"
        self.ranks: dict[str, int | None] = {}
        self.selected: str | None = None
        self.auto_curves = True  # compute the selected layer's rank curves when needed
        self.active = False  # the tab is on show (a hidden tab starts no background sweeps)
        self._curves_wanted = False  # compute_curves() was asked for while factors were due
        self._factors: dict[tuple[str, str], dict[str, LayerFactors]] = {}
        self._scorer = None
        self._preview_scorer = None
        self.baseline: Accuracy | None = None
        self.preview_baseline: Accuracy | None = None  # the original on the preview subset
        self.accuracy: tuple[RankKey, Accuracy] | None = None
        self.preview: tuple[RankKey, Accuracy] | None = None
        self.curves: dict[tuple[str, str], jobs.RankCurves] = {}
        self.budget: tuple[tuple, BudgetSweep] | None = None
        self._tables: dict[tuple, list[AccuracyTable]] = {}
        self.latency: tuple[RankKey, LatencyReport] | None = None
        self._generation = 0
        self._score = OneInFlight(runner, "network.score")
        self._live = OneInFlight(runner, "network.preview")
        self._long = LongJobs(runner, self.job_state.emit, self.job_progress.emit, self)

    # ================================================================ opening
    def open_bundled(self, name: str) -> bool:
        """Show a bundled network with its own splits."""
        try:
            bundle = load_bundled_network(name)
        except (ValueError, OSError) as exc:
            self.failed.emit(f"{name}: cannot open the bundled network ({exc}).")
            return False
        self._set_network(bundle.network, name, plan_for_bundle(bundle), None)
        return True

    def open_path(self, path: str) -> bool:
        """Open a user's network file; False (and ``failed``) when it cannot be used."""
        try:
            bundle = load_network_with_data(path)
        except ValueError as exc:
            self.failed.emit(str(exc))
            return False
        except OSError as exc:
            self.failed.emit(f"{path}: cannot read the file ({exc.strerror or exc}).")
            return False
        plan = plan_for_bundle(bundle) or self._matching_plan(bundle.network)
        self._set_network(bundle.network, str(path), plan, None)
        return True

    def open_data(self, path: str) -> bool:
        """Score the network on a user's data file (x, y); False when it does not fit."""
        if self.network is None:
            return False
        try:
            data = read_labelled_data(path, self.n_classes())
            self._check_fits(data)
        except ValueError as exc:
            self.failed.emit(str(exc))
            return False
        except OSError as exc:
            self.failed.emit(f"{path}: cannot read the file ({exc.strerror or exc}).")
            return False
        self._set_network(self.network, self.source, plan_for_file(data), str(path))
        return True

    def n_classes(self) -> int | None:
        """How many outputs the network has (None before one is open)."""
        if self.network is None:
            return None
        from svdstudio.engine.network import layer_shapes

        return int(layer_shapes(self.network)[-1][1][0])

    def _check_fits(self, data: LabelledData) -> None:
        from svdstudio.engine.network import prepare_input

        try:
            prepare_input(self.network, data.x[:1])
        except ValueError as exc:
            raise ValueError(f"{data.source}: {exc}") from None

    def _matching_plan(self, network: Network) -> DataPlan | None:
        # A user's network without data of its own: score it on bundled data it takes.
        from svdstudio.engine.network import layer_shapes

        n_out = int(layer_shapes(network)[-1][1][0])
        for name in BUNDLED_NETWORKS:
            other = load_bundled_network(name)
            if other.network.input_shape != network.input_shape:
                continue
            if n_out != len(other.network.classes):
                continue
            plan = plan_for_bundle(other)
            note = f"no data of its own: {plan.note}, of the bundled {name} network's data"
            return DataPlan(plan.test, plan.calibration, plan.validation, note)
        return None

    def _set_network(
        self, network: Network, source: str | None, plan: DataPlan | None, data_source: str | None
    ) -> None:
        same_network = network is self.network
        self._generation += 1
        self._score.reset()
        self._live.reset()
        self._long.cancel_all()
        self._runner.cancel("network.prepare")
        self.network = network
        self.source = source
        self.plan = plan
        self.data_source = data_source
        self.title = network.title or (Path(source).name if source else "network")
        if not same_network:
            self._factors = {}
            self.ranks = {}
            self.selected = None
        self._scorer = self._preview_scorer = None
        self.baseline = self.preview_baseline = None
        self.accuracy = self.preview = self.budget = self.latency = None
        self.curves = {}
        self._tables = {}
        self._curves_wanted = False
        self.network_changed.emit()
        self._prepare()

    def set_active(self, active: bool) -> None:
        """The tab was shown (True) or hidden: shown, it catches up on the automatic curves."""
        self.active = bool(active)
        if self.active and self.network is not None and self.factors("plain") is not None:
            self._curves_or_their_factors()

    # ================================================================ queries
    def factors(self, method: str | None = None) -> dict[str, LayerFactors] | None:
        """Every layer's factors for ``method`` (default: the current one) and scheme."""
        return self._factors.get((method or self.method, self.scheme))

    def layer(self, name: str | None = None) -> LayerFactors | None:
        """The factors of layer ``name`` (default: the selected layer)."""
        f = self.factors()
        name = name if name is not None else self.selected
        return f.get(name) if f and name is not None else None

    def has_data(self) -> bool:
        return self.plan is not None and self.plan.test is not None

    def has_calibration(self) -> bool:
        return self.plan is not None and self.plan.calibration is not None

    def rank(self, name: str | None = None) -> int:
        """The chosen rank of a layer, its maximum when kept whole."""
        name = name if name is not None else self.selected
        f = self.layer(name)
        if f is None:
            return 0
        k = self.ranks.get(name)
        return f.max_rank if k is None else k

    def key(self, extra: Mapping[str, int | None] | None = None) -> RankKey:
        """The current ranks (updated by ``extra``) as a key, with method and scheme."""
        ranks = dict(self.ranks)
        if extra:
            ranks.update(extra)
        return (("~method", self.method), ("~scheme", self.scheme), *rank_key(ranks))

    def compressed(self) -> Network | None:
        """The network with the chosen ranks (the original when every layer is whole)."""
        f = self.factors()
        if self.network is None or f is None:
            return None
        return compress(self.network, f, self.ranks)

    def totals(self) -> Totals | None:
        """Parameters and MACs of the original and the compressed network."""
        comp = self.compressed()
        return None if comp is None else totals(self.network, comp)

    # ================================================================ choices
    def select(self, name: str) -> None:
        """Select a layer: its spectrum, readout and curves are shown."""
        if name == self.selected or self.layer(name) is None:
            return
        self.selected = name
        self.selection_changed.emit(name)
        if self.auto_curves and self.active:
            self.compute_curves()

    def set_rank(self, name: str, k: int | None) -> None:
        """Set a layer's rank (None or its maximum: kept whole) and score the result."""
        f = self.layer(name)
        if f is None:
            return
        k = None if k is None or int(k) >= f.max_rank else max(1, int(k))
        if self.ranks.get(name) == k:
            return
        self.ranks[name] = k
        self._ranks_changed()

    def set_ranks(self, ranks: Mapping[str, int | None]) -> None:
        """Replace every layer's rank (layers left out are kept whole)."""
        f = self.factors() or {}
        self.ranks = {
            n: (None if k is None or k >= f[n].max_rank else int(k))
            for n, k in ranks.items()
            if n in f
        }
        self._ranks_changed()

    def _ranks_changed(self) -> None:
        self.preview = None
        self.ranks_changed.emit()
        self._rescore()

    def apply_energy(self, fraction: float) -> None:
        """One energy threshold (0–1) for every layer."""
        f = self.factors()
        if f:
            self.set_ranks(ranks_for_energy(f, fraction, self.cost))

    def apply_budget(self, fraction: float, rule: str) -> str | None:
        """Ranks for a budget by ``rule``; the note when it does not fit (None otherwise).

        The greedy rule needs the per-layer tables of the budget sweep; without them it starts
        the sweep and says so.
        """
        f = self.factors()
        if not f:
            return None
        tables = self._tables.get(self._budget_key())
        if rule == "greedy" and not tables:
            if not self.has_calibration():
                return "the greedy rule needs calibration data (a validation split)"
            self.compute_budget()
            return "the greedy rule's per-layer tables are being computed; apply it again then"
        a = allocate(f, fraction, rule, cost=self.cost, tables=tables)
        self.set_ranks(a.ranks)
        return a.notes[0] if a.notes else None

    def set_method(self, method: str) -> None:
        """Plain or data-aware SVD for every layer (ranks are kept)."""
        if method == self.method:
            return
        if method == "data-aware" and not self.has_calibration():
            self.failed.emit("Data-aware SVD needs calibration data: open a data file first.")
            return
        self.method = method
        if self.factors() is None:
            self._compute_factors(method)
        else:
            self.factors_ready.emit()
            self.selection_changed.emit(self.selected or "")
            self._rescore()

    def set_scheme(self, scheme: str) -> None:
        """Spatial or channel factorisation of the convolutions (their ranks are reset)."""
        if scheme == self.scheme or self.network is None:
            return
        old = self._factors.get(("plain", self.scheme)) or {}
        self.scheme = scheme
        self.ranks = {n: k for n, k in self.ranks.items() if n in old and old[n].kind != "conv"}
        self.curves = {}
        self.budget = None
        self._generation += 1
        self._long.cancel_all()
        self._prepare()

    def set_cost(self, cost: str) -> None:
        """Budgets count parameters or MACs."""
        self.cost = cost

    # ================================================================ long jobs
    def cancel(self, kind: str) -> None:
        """Stop the long job of ``kind`` (sweep, budget, latency, factors)."""
        self._long.cancel(kind)

    def running(self, kind: str) -> bool:
        return self._long.running(kind)
