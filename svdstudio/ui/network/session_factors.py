"""The Network session's factorisations: the layers' SVD for each method and scheme.

A mixin of :class:`~svdstudio.ui.network.session.NetworkSession` (its state and signals are the
session's).  Opening a network (or changing the scheme) prepares it in a worker process: the
plain factors, the scorers and the original's accuracy; the data-aware factors follow on
request.  The rank curves show plain and data-aware SVD, so asking for them first gets the
factors they lack.  A result is applied only while its generation is still on show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from svdstudio.ui.network import jobs

if TYPE_CHECKING:
    from svdstudio.ui.network.session import NetworkSession

    _Base = NetworkSession
else:
    _Base = object

__all__ = ["Factorisation"]


class Factorisation(_Base):
    """Preparing the network and computing its factors (see the module docstring)."""

    def _prepare(self) -> None:
        gen, net, plan = self._generation, self.network, self.plan
        x = plan.test.x if plan and plan.test else None
        y = plan.test.y if plan and plan.test else None
        self.status.emit(f"Factorising the layers of {self.title}…")
        self._runner.submit(
            "network.prepare",
            jobs.prepare_job,
            net,
            self.scheme,
            x,
            y,
            in_process=False,
            description=f"Factorising {self.title}",
            on_result=lambda res, g=gen, s=self.scheme: self._on_prepared(g, s, res),
        )

    def _on_prepared(self, gen: int, scheme: str, res: jobs.Prepared) -> None:
        if gen != self._generation:
            return
        self._factors[("plain", scheme)] = res.factors
        self._scorer, self._preview_scorer = res.scorer, res.preview
        self.baseline = res.baseline
        self.preview_baseline = res.preview_baseline
        if self.selected is None or self.selected not in res.factors:
            self.selected = next(iter(res.factors), None)
        self.ranks = {
            n: (None if k is None or k >= res.factors[n].max_rank else max(1, int(k)))
            for n, k in self.ranks.items()
            if n in res.factors
        }
        self.status.emit(f"{self.title}: {len(res.factors)} layers factorised.")
        if self.factors() is None:
            self._compute_factors(self.method)
        else:
            self.factors_ready.emit()
            self.selection_changed.emit(self.selected or "")
            self._rescore()
        self._curves_or_their_factors()

    def _curves_or_their_factors(self) -> None:
        # The rank curves show plain and data-aware SVD: get the missing factors first.
        if not ((self.auto_curves and self.active) or self._curves_wanted):
            return
        if self.has_calibration() and ("data-aware", self.scheme) not in self._factors:
            if not self._runner.is_running("network.factors"):
                self._compute_factors("data-aware")
            return
        self.compute_curves()

    def _compute_factors(self, method: str) -> None:
        gen, scheme = self._generation, self.scheme
        calib = self.plan.calibration.x if method == "data-aware" else None
        self._runner.submit(
            "network.factors",
            jobs.analyse_job,
            self.network,
            scheme,
            method,
            calib,
            in_process=False,
            description=f"{method} SVD of {self.title}",
            on_result=lambda res, g=gen, m=method, s=scheme: self._on_factors(g, m, s, res),
        )

    def _on_factors(self, gen: int, method: str, scheme: str, res: dict) -> None:
        if gen != self._generation:
            return
        self._factors[(method, scheme)] = res
        if method == self.method and scheme == self.scheme:
            self.factors_ready.emit()
            self.selection_changed.emit(self.selected or "")
            self._rescore()
        self._curves_or_their_factors()
