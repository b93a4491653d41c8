"""The Network session's measurements of the ranks on show: accuracy, rank curves, budget, latency.

A mixin of :class:`~svdstudio.ui.network.session.NetworkSession` (its state and signals are the
session's).  Each measurement keeps its request (a job on the runner), its result's arrival and
the query for the result on show together: the test accuracy after each rank change and the live
accuracy on a fixed subset while the cutoff is dragged (one job in flight per channel, the latest
request after it), the selected layer's accuracy at every rank, the accuracy against the budget
under four rules, and the measured latency.  A result is applied only while its generation is on
show, and is current only while its key still is (the ranks, method and scheme; the budget's:
method, scheme and cost; the curves': layer and scheme).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svdstudio.engine.network import Accuracy, BudgetSweep
from svdstudio.ui.network import jobs
from svdstudio.ui.network.latency import LatencyReport, latency_job

if TYPE_CHECKING:
    from svdstudio.ui.network.session import NetworkSession, RankKey

    _Base = NetworkSession
else:
    _Base = object

__all__ = ["Measurements"]


class Measurements(_Base):
    """Scoring the ranks and the long measurements (see the module docstring)."""

    # ================================================================ scoring
    def _rescore(self) -> None:
        f = self.factors()
        if f is None or self._scorer is None:
            return
        gen, key, ranks = self._generation, self.key(), dict(self.ranks)
        self._score.request(
            jobs.score_job,
            (self._scorer, f, ranks),
            lambda acc, g=gen, k=key: self._on_scored(g, k, acc),
            f"Scoring {self.title} on the test split",
        )

    def _on_scored(self, gen: int, key: RankKey, acc: Accuracy) -> None:
        if gen != self._generation:
            return
        self.accuracy = (key, acc)
        if key == self.key():
            self.accuracy_ready.emit()

    def current_accuracy(self) -> Accuracy | None:
        """The test accuracy of the ranks on show, when it has been scored."""
        if self.accuracy is not None and self.accuracy[0] == self.key():
            return self.accuracy[1]
        return None

    def preview_rank(self, k: int) -> None:
        """The selected layer dragged to rank k: score the fixed subset (nothing committed)."""
        f = self.factors()
        if f is None or self._preview_scorer is None or self.selected is None:
            return
        name, gen = self.selected, self._generation
        layer = f[name]
        kk = None if k >= layer.max_rank else max(1, int(k))
        ranks = dict(self.ranks, **{name: kk})
        key = self.key({name: kk})
        self._live.request(
            jobs.score_job,
            (self._preview_scorer, f, ranks),
            lambda acc, g=gen, key=key, k=k: self._on_previewed(g, key, k, acc),
            "Live accuracy on the preview subset",
        )

    def _on_previewed(self, gen: int, key: RankKey, k: int, acc: Accuracy) -> None:
        if gen != self._generation:
            return
        self.preview = (key, acc)
        self.preview_ready.emit(k)

    def preview_samples(self) -> int:
        return self._preview_scorer.n if self._preview_scorer is not None else 0

    # ================================================================ curves, budget, latency
    def compute_curves(self) -> None:
        """Accuracy against every rank of the selected layer, plain and data-aware."""
        name = self.selected
        if name is None or not self.has_data() or (name, self.scheme) in self.curves:
            return
        self._curves_wanted = True  # asked for: follow the data-aware factors if they are due
        by_method = {}
        for method in ("plain", "data-aware"):
            f = self._factors.get((method, self.scheme))
            if f is not None and name in f:
                by_method[method] = f[name]
        if "plain" not in by_method:
            return
        if self.has_calibration() and "data-aware" not in by_method:
            self._curves_or_their_factors()  # the curves follow the data-aware factors
            return
        self._curves_wanted = False
        gen, scheme, test = self._generation, self.scheme, self.plan.test
        self._runner.submit(
            "network.sweep",
            jobs.sweep_job,
            self.network,
            test.x,
            test.y,
            by_method,
            scheme,
            in_process=False,
            description=f"Accuracy at every rank of layer {name}",
            on_result=lambda res, g=gen: self._on_curves(g, res),
        )

    def _on_curves(self, gen: int, res: jobs.RankCurves) -> None:
        if gen != self._generation:
            return
        self.curves[(res.name, res.scheme)] = res
        self.curves_ready.emit(res.name)

    def selected_curves(self) -> jobs.RankCurves | None:
        return self.curves.get((self.selected, self.scheme)) if self.selected else None

    def _budget_key(self) -> tuple:
        return (self.method, self.scheme, self.cost)

    def compute_budget(self) -> bool:
        """Accuracy against the fraction kept for the four rules (greedy on validation data)."""
        f = self.factors()
        if f is None or not self.has_data():
            return False
        plan, gen, key = self.plan, self._generation, self._budget_key()
        val = (plan.validation.x, plan.validation.y) if plan.validation is not None else None
        self._runner.submit(
            "network.budget",
            jobs.budget_job,
            self.network,
            (plan.test.x, plan.test.y),
            val,
            f,
            self.cost,
            in_process=False,
            description=f"Accuracy against the budget, four rules, {self.title}",
            on_result=lambda res, g=gen, k=key: self._on_budget(g, k, res),
        )
        return True

    def _on_budget(self, gen: int, key: tuple, res: tuple) -> None:
        if gen != self._generation:
            return
        sweep, tables = res
        if tables:
            self._tables[key] = tables
        self.budget = (key, sweep)
        self.budget_ready.emit()

    def current_budget(self) -> BudgetSweep | None:
        if self.budget is not None and self.budget[0] == self._budget_key():
            return self.budget[1]
        return None

    def measure_latency(self) -> bool:
        """Time the original and the compressed network (child process, one BLAS thread)."""
        comp = self.compressed()
        if comp is None:
            return False
        if self.has_data():
            x = self.plan.test.x
        else:
            import numpy as np

            x = np.zeros((256, *self.network.input_shape), np.float32)
        gen, key = self._generation, self.key()
        self._runner.submit(
            "network.latency",
            latency_job,
            self.network,
            comp,
            x,
            in_process=False,
            description="Timing the original and the compressed network",
            on_result=lambda res, g=gen, k=key: self._on_latency(g, k, res),
        )
        return True

    def _on_latency(self, gen: int, key: RankKey, res: LatencyReport) -> None:
        if gen != self._generation:
            return
        self.latency = (key, res)
        self.latency_ready.emit()
