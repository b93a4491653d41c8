"""Accuracy sweeps in short steps: progress is reported and a cancel flag checked between steps.

* :func:`rank_sweep` — accuracy of the network with one layer at each rank (the others whole).
* :func:`accuracy_tables` — the greedy rule's per-layer tables (on validation data).
* :func:`budget_sweep` — accuracy against the fraction kept, for each allocation rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from svdstudio.engine.network.allocate import (
    RULES,
    AccuracyTable,
    Allocation,
    allocate,
    greedy_candidate_ranks,
)
from svdstudio.engine.network.analysis import replacements
from svdstudio.engine.network.factorize import LayerFactors
from svdstudio.engine.network.fastsweep import outputs_by_rank
from svdstudio.engine.network.scoring import Scorer

__all__ = [
    "BudgetSweep",
    "Cancelled",
    "Progress",
    "RankSweep",
    "accuracy_tables",
    "budget_sweep",
    "rank_sweep",
]

Progress = Callable[[int, int], None]  # (steps done, steps in all)


class Cancelled(Exception):  # noqa: N818 - an event name, like the signals
    """Raised between steps when the caller's cancel check returns True."""


def _step(
    done: int, total: int, progress: Progress | None, cancelled: Callable[[], bool] | None
) -> None:
    if progress is not None:
        progress(done, total)
    if cancelled is not None and cancelled():
        raise Cancelled()


@dataclass(frozen=True)
class RankSweep:
    """Accuracy (fraction correct of ``n``) of the network with layer ``name`` at each rank."""

    name: str
    method: str
    ranks: tuple[int, ...]
    accuracy: tuple[float, ...]
    n: int


def rank_sweep(
    scorer: Scorer,
    factors: LayerFactors,
    ranks: Sequence[int] | None = None,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RankSweep:
    """Score every rank in ``ranks`` (default 1..max_rank) of one layer, the others whole."""
    ks = list(ranks) if ranks is not None else list(range(1, factors.max_rank + 1))
    acc = _accuracy_by_rank(scorer, factors, ks, progress, cancelled)
    return RankSweep(factors.name, factors.method, tuple(ks), tuple(acc), scorer.n)


def _accuracy_by_rank(
    scorer: Scorer,
    f: LayerFactors,
    ks: Sequence[int],
    progress: Progress | None,
    cancelled: Callable[[], bool] | None,
    chunk: int = 512,
) -> list[float]:
    """Accuracy with layer ``f`` at each rank in ``ks`` (others whole), in sample chunks so that
    memory stays bounded; one step per (chunk, rank)."""
    order = sorted(set(int(k) for k in ks))
    x = scorer.layer_input(f.name)
    n = x.shape[0]
    chunks = range(0, n, chunk)
    total = len(chunks) * len(order)
    correct = dict.fromkeys(order, 0)
    done = 0
    _step(0, total, progress, cancelled)
    for start in chunks:
        for k, out in outputs_by_rank(f, x[start : start + chunk], order):
            correct[k] += scorer.count_correct_after(f.name, out, start)
            done += 1
            _step(done, total, progress, cancelled)
    return [correct[int(k)] / n for k in ks]


def accuracy_tables(
    scorer: Scorer,
    factors: Mapping[str, LayerFactors],
    *,
    count: int = 16,
    cost: str = "params",
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[AccuracyTable]:
    """Per-layer accuracy at about ``count`` candidate ranks each; score on validation data."""
    plan = {name: greedy_candidate_ranks(f, count, cost) for name, f in factors.items()}
    total = sum(len(r) for r in plan.values())
    done = 0
    tables = []
    _step(0, total, progress, cancelled)
    for name, ks in plan.items():

        def sub(d: int, t: int, base: int = done, steps: int = len(ks)) -> None:
            if progress is not None:
                progress(base + round(d / max(t, 1) * steps), total)

        acc = _accuracy_by_rank(scorer, factors[name], ks, sub, cancelled)
        done += len(ks)
        tables.append(AccuracyTable(name, tuple(ks), tuple(acc)))
    return tables


@dataclass(frozen=True)
class BudgetSweep:
    """For each rule, the allocation and accuracy at each budget fraction."""

    fractions: tuple[float, ...]
    allocations: dict[str, tuple[Allocation, ...]]
    accuracy: dict[str, tuple[float, ...]]
    n: int


def budget_sweep(
    scorer: Scorer,
    factors: Mapping[str, LayerFactors],
    fractions: Sequence[float],
    *,
    rules: Sequence[str] = RULES,
    cost: str = "params",
    tables: Sequence[AccuracyTable] | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BudgetSweep:
    """Allocate every budget in ``fractions`` by every rule in ``rules`` and score each.

    The greedy rule needs ``tables`` computed on validation data; ``scorer`` should hold the
    test split (rank choices never look at it).
    """
    rules = [r for r in rules if r != "greedy" or tables]
    total = len(rules) * len(fractions)
    done = 0
    allocations: dict[str, list[Allocation]] = {r: [] for r in rules}
    accuracy: dict[str, list[float]] = {r: [] for r in rules}
    _step(0, total, progress, cancelled)
    for rule in rules:
        for frac in fractions:
            a = allocate(factors, frac, rule, cost=cost, tables=tables)
            allocations[rule].append(a)
            accuracy[rule].append(scorer.score(replacements(factors, a.ranks)).value)
            done += 1
            _step(done, total, progress, cancelled)
    return BudgetSweep(
        tuple(fractions),
        {r: tuple(v) for r, v in allocations.items()},
        {r: tuple(v) for r, v in accuracy.items()},
        scorer.n,
    )
