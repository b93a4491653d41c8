"""Choosing ranks: by hand, by one energy threshold, or for a global budget by four rules.

The budget is a fraction of the factorised layers' parameters (weights and biases) or of their
MACs. Every rule gives each layer at least rank 1; a layer whose rank would cost as much as the
whole layer is kept whole (rank None). The rules:

* ``energy`` — the same energy fraction Σ_{i≤k} σ_i² / Σ σ_i² in every layer (the largest
  that fits the budget);
* ``uniform`` — the same fraction of its own cost in every layer;
* ``global`` — one threshold on σ_i/σ_1 for all layers (the smallest that fits);
* ``greedy`` — in the manner of AIMET: per-layer accuracy tables on the validation split (one
  layer compressed at a time), then the highest common accuracy level whose ranks fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from svdstudio.engine.network.factorize import LayerFactors

__all__ = [
    "RULES",
    "AccuracyTable",
    "Allocation",
    "allocate",
    "budget_cost",
    "greedy_candidate_ranks",
    "ranks_for_energy",
]

RULES = ("energy", "uniform", "global", "greedy")
RULE_TITLES = {
    "energy": "same energy in every layer",
    "uniform": "same fraction in every layer",
    "global": "one global σ_i/σ_1 threshold",
    "greedy": "greedy per-layer accuracy (AIMET-style)",
}


@dataclass(frozen=True)
class AccuracyTable:
    """Validation accuracy of the network with only layer ``name`` at each rank in ``ranks``."""

    name: str
    ranks: tuple[int, ...]
    accuracy: tuple[float, ...]


@dataclass(frozen=True)
class Allocation:
    """Ranks by layer (None = kept whole), with the cost they reach against the budget."""

    rule: str
    ranks: dict[str, int | None]
    cost: int  # of the factorised layers, at these ranks
    cost_whole: int  # of the same layers kept whole
    budget: float  # the fraction asked for
    cost_kind: str = "params"
    level: float | None = None  # the rule's common energy / threshold / accuracy level
    fits: bool = True  # False when even rank 1 everywhere exceeds the budget
    notes: tuple[str, ...] = field(default=())

    @property
    def fraction(self) -> float:
        return self.cost / self.cost_whole if self.cost_whole else 1.0


def _rank_or_whole(f: LayerFactors, k: int, cost: str) -> int | None:
    k = max(1, min(int(k), f.max_rank))
    return k if f.saves(k, cost) else None


def budget_cost(
    factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None], cost: str = "params"
) -> int:
    """Total cost of the layers in ``factors`` at ``ranks`` (a layer missing or None: whole)."""
    return sum(f.cost_at(ranks.get(name), cost) for name, f in factors.items())


def ranks_for_energy(
    factors: Mapping[str, LayerFactors], fraction: float, cost: str = "params"
) -> dict[str, int | None]:
    """Each layer's smallest rank keeping ``fraction`` (0–1) of its energy; None if it saves
    nothing."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(
            f"the energy threshold must be above 0 % and at most 100 % (got {fraction:.4g})"
        )
    return {
        name: _rank_or_whole(f, f.rank_for_energy(fraction), cost) for name, f in factors.items()
    }


def _fit_monotone(
    factors: Mapping[str, LayerFactors],
    levels: np.ndarray,
    ranks_at: Callable[[float], dict[str, int | None]],
    limit: float,
    cost: str,
) -> tuple[dict[str, int | None], float, bool]:
    """Binary search over ``levels`` (sorted from stingiest to most generous) for the most
    generous level whose ranks cost at most ``limit``."""
    lo, hi = 0, len(levels) - 1
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        r = ranks_at(float(levels[mid]))
        if budget_cost(factors, r, cost) <= limit:
            best = mid
            lo = mid + 1
        else:
            hi = mid - 1
    if best is None:
        return ranks_at(float(levels[0])), float(levels[0]), False
    return ranks_at(float(levels[best])), float(levels[best]), True


def greedy_candidate_ranks(f: LayerFactors, count: int = 16, cost: str = "params") -> list[int]:
    """Ranks to tabulate for the greedy rule: about ``count`` from 1 up to the break-even rank,
    half spaced geometrically (accuracy changes fastest at low ranks), half evenly."""
    top = max(1, min(f.max_rank, f.break_even_rank(cost) - 1))
    n = min(count, top)
    grid = np.concatenate([np.geomspace(1, top, num=n - n // 2), np.linspace(1, top, num=n // 2)])
    return [int(k) for k in np.unique(np.round(grid).astype(int))]


def _rank_for_level(t: AccuracyTable, level: float) -> int | None:
    """The smallest rank whose accuracy, interpolated linearly between the table's ranks (made
    non-decreasing), reaches ``level``; None if no tabulated rank does."""
    acc = np.maximum.accumulate(np.asarray(t.accuracy, dtype=np.float64))
    hit = np.flatnonzero(acc >= level - 1e-12)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0 or acc[i] <= acc[i - 1]:
        return int(t.ranks[i])
    r0, r1 = t.ranks[i - 1], t.ranks[i]
    frac = (level - acc[i - 1]) / (acc[i] - acc[i - 1])
    return int(np.ceil(r0 + frac * (r1 - r0) - 1e-9))


def allocate(
    factors: Mapping[str, LayerFactors],
    budget: float,
    rule: str,
    *,
    cost: str = "params",
    tables: Sequence[AccuracyTable] | None = None,
) -> Allocation:
    """Ranks for ``budget`` (a fraction in (0, 1]) of the factorised layers' ``cost`` by ``rule``.

    The greedy rule needs ``tables`` (see :func:`svdstudio.engine.network.sweeps.accuracy_tables`).
    """
    if rule not in RULES:
        raise ValueError(f"unknown allocation rule {rule!r}; use one of {', '.join(RULES)}")
    if not 0.0 < budget <= 1.0:
        raise ValueError(f"the budget must be a fraction above 0 and at most 1 (got {budget:.4g})")
    whole = budget_cost(factors, {}, cost)
    limit = budget * whole
    level: float | None = None
    fits = True
    if rule == "uniform":
        ranks: dict[str, int | None] = {}
        for name, f in factors.items():
            target = budget * f.cost_at(None, cost)
            k = 1
            while k < f.max_rank and f.cost_at(k + 1, cost) <= target:
                k += 1
            ranks[name] = _rank_or_whole(f, k, cost)
        fits = budget_cost(factors, ranks, cost) <= limit
    elif rule == "energy":
        levels = np.unique(np.concatenate([f._energy_cumulative for f in factors.values()]))
        ranks, level, fits = _fit_monotone(
            factors, levels, lambda e: ranks_for_energy(factors, min(e, 1.0), cost), limit, cost
        )
    elif rule == "global":

        def at_threshold(t: float) -> dict[str, int | None]:
            out = {}
            for name, f in factors.items():
                s = f.singular_values
                k = int(np.count_nonzero(s >= t * s[0])) if s[0] > 0 else 1
                out[name] = _rank_or_whole(f, k, cost)
            return out

        ratios = np.concatenate(
            [f.singular_values / f.singular_values[0] for f in factors.values()]
        )
        levels = np.unique(ratios)[::-1]  # high threshold = stingy first
        ranks, level, fits = _fit_monotone(factors, levels, at_threshold, limit, cost)
    else:
        if not tables:
            raise ValueError("the greedy rule needs per-layer accuracy tables (validation data)")
        by_name = {t.name: t for t in tables}
        missing = [name for name in factors if name not in by_name]
        if missing:
            raise ValueError(f"no accuracy table for layer {missing[0]}")

        def at_level(a: float) -> dict[str, int | None]:
            out = {}
            for name, f in factors.items():
                k = _rank_for_level(by_name[name], a)
                out[name] = None if k is None else _rank_or_whole(f, k, cost)
            return out

        # AIMET interpolates between tabulated ratios: search a fine grid of accuracy levels.
        table_levels = np.concatenate([t.accuracy for t in by_name.values()])
        grid = np.linspace(table_levels.min(), table_levels.max(), 2001)
        levels = np.unique(np.concatenate([table_levels, grid]))
        ranks, level, fits = _fit_monotone(factors, levels, at_level, limit, cost)  # low = stingy
    notes: tuple[str, ...] = ()
    if not fits:
        notes = (f"even the stingiest {rule} choice exceeds the budget of {budget:.1%}",)
    return Allocation(
        rule=rule,
        ranks=ranks,
        cost=budget_cost(factors, ranks, cost),
        cost_whole=whole,
        budget=budget,
        cost_kind=cost,
        level=level,
        fits=fits,
        notes=notes,
    )
