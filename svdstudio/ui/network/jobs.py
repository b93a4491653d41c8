"""What the Network tab runs off the GUI thread: plain functions over the engine, no Qt.

Each takes copies of what it needs and returns plain data; the long ones take the runner's
``job`` (a :class:`~svdstudio.worker_process.JobContext`) to report progress and to stop between
steps when cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.network import (
    Accuracy,
    AccuracyTable,
    BudgetSweep,
    Cancelled,
    LayerFactors,
    Network,
    RankSweep,
    Scorer,
    accuracy_tables,
    analyse,
    budget_sweep,
    rank_sweep,
    replacements,
)

__all__ = [
    "BUDGET_FRACTIONS",
    "PREVIEW_SAMPLES",
    "Prepared",
    "RankCurves",
    "analyse_job",
    "budget_job",
    "prepare_job",
    "score_job",
    "sweep_job",
]

# Live accuracy while the cutoff is dragged is scored on this many fixed test samples.
PREVIEW_SAMPLES = 200
# Budgets (fractions of the factorised layers' cost) of the accuracy-vs-budget plot.
BUDGET_FRACTIONS = (0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75)


@dataclass(frozen=True, eq=False)
class Prepared:
    """A network's plain factors, with scorers on the test data and its original accuracy."""

    factors: dict[str, LayerFactors]
    scorer: Scorer | None
    preview: Scorer | None
    baseline: Accuracy | None
    preview_baseline: Accuracy | None


def prepare_job(
    network: Network,
    scheme: str,
    x: np.ndarray | None,
    y: np.ndarray | None,
) -> Prepared:
    """Factorise every layer (plain SVD) and build the test and preview scorers."""
    factors = analyse(network, conv_scheme=scheme)
    if x is None or y is None:
        return Prepared(factors, None, None, None, None)
    scorer = Scorer(network, x, y)
    baseline = scorer.score()
    preview = scorer.subset(PREVIEW_SAMPLES)
    preview_baseline = preview.score()
    # Each scorer is then used by one job at a time (the session's one-in-flight channels), so
    # its cache of layer inputs is never grown by two threads at once.
    return Prepared(factors, scorer, preview, baseline, preview_baseline)


def analyse_job(
    network: Network, scheme: str, method: str, calibration: np.ndarray | None, job=None
) -> dict[str, LayerFactors]:
    """Factorise every layer by ``method`` (data-aware needs ``calibration``)."""

    def progress(done: int, total: int) -> None:
        if job is not None:
            job.report(done / total, f"layer {done} of {total}")
            if job.cancelled():  # stop between layers
                raise Cancelled()

    return analyse(
        network, conv_scheme=scheme, method=method, calibration=calibration, progress=progress
    )


def score_job(
    scorer: Scorer, factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None]
) -> Accuracy:
    """Accuracy of the network with the layers in ``ranks`` cut to their ranks."""
    return scorer.score(replacements(factors, ranks))


@dataclass(frozen=True)
class RankCurves:
    """Accuracy against the rank of one layer (the others whole), by method."""

    name: str
    scheme: str
    curves: dict[str, RankSweep]  # "plain" / "data-aware"


def _reporter(job, start: float, share: float, what: str):
    def progress(done: int, total: int) -> None:
        if job is not None and total:
            job.report(start + share * done / total, f"{what}: {done} of {total}")

    return progress


def _cancelled(job):
    return (lambda: job.cancelled()) if job is not None else None


def sweep_job(
    network: Network,
    x: np.ndarray,
    y: np.ndarray,
    by_method: Mapping[str, LayerFactors],
    scheme: str,
    job=None,
) -> RankCurves:
    """Score every rank of one layer for each method's factors (its own scorer: no sharing)."""
    scorer = Scorer(network, x, y)
    curves = {}
    share = 1.0 / max(1, len(by_method))
    for i, (method, f) in enumerate(by_method.items()):
        curves[method] = rank_sweep(
            scorer,
            f,
            progress=_reporter(job, i * share, share, f"{method} ranks"),
            cancelled=_cancelled(job),
        )
    name = next(iter(by_method.values())).name
    return RankCurves(name, scheme, curves)


def budget_job(
    network: Network,
    test: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    factors: Mapping[str, LayerFactors],
    cost: str,
    fractions: tuple[float, ...] = BUDGET_FRACTIONS,
    job=None,
) -> tuple[BudgetSweep, list[AccuracyTable] | None]:
    """Accuracy against the budget for the four rules, and the greedy rule's per-layer tables
    (kept for applying that rule later).  The tables use ``validation``, never the test split;
    without it the greedy rule is left out."""
    tables = None
    share = 0.0
    if validation is not None:
        share = 0.5
        tables = accuracy_tables(
            Scorer(network, *validation),
            factors,
            cost=cost,
            progress=_reporter(job, 0.0, share, "greedy tables"),
            cancelled=_cancelled(job),
        )
    sweep = budget_sweep(
        Scorer(network, *test),
        factors,
        fractions,
        cost=cost,
        tables=tables,
        progress=_reporter(job, share, 1.0 - share, "budgets"),
        cancelled=_cancelled(job),
    )
    return sweep, tables
