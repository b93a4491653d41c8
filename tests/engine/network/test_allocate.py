"""Rank choice: energy threshold and the four budget rules meet the budget and differ."""

import numpy as np
import pytest

from svdstudio.engine.network import (
    RULES,
    AccuracyTable,
    Dense,
    allocate,
    analyse,
    budget_cost,
    factor_layer,
    ranks_for_energy,
)
from svdstudio.engine.network.allocate import _rank_for_level

from .conftest import make_mlp


def _factors(seed=0):
    rng = np.random.default_rng(seed)
    # Layers with very different spectra, so the rules disagree.
    a = rng.normal(size=(60, 40)) @ np.diag(0.7 ** np.arange(40))
    b = rng.normal(size=(50, 30))
    c = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 20)) + 0.01 * rng.normal(size=(40, 20))
    layers = [Dense(w, np.zeros(w.shape[0]), str(i)) for i, w in enumerate((a, b, c))]
    return {layer.name: factor_layer(layer) for layer in layers}


@pytest.mark.parametrize("rule", ["energy", "uniform", "global"])
@pytest.mark.parametrize("budget", [0.1, 0.25, 0.5])
@pytest.mark.parametrize("cost", ["params", "macs"])
def test_rules_meet_the_budget(rule, budget, cost):
    factors = _factors()
    a = allocate(factors, budget, rule, cost=cost)
    assert a.fits
    assert a.cost == budget_cost(factors, a.ranks, cost)
    assert a.cost <= budget * a.cost_whole
    assert a.fraction == pytest.approx(a.cost / a.cost_whole)
    for name, k in a.ranks.items():
        assert k is None or 1 <= k <= factors[name].max_rank


def test_rules_spread_ranks_differently():
    factors = _factors()
    ranks = {rule: allocate(factors, 0.25, rule).ranks for rule in ("energy", "uniform", "global")}
    assert len({tuple(r.values()) for r in ranks.values()}) == 3
    # The near-rank-2 layer needs only a few ranks for nearly all its energy.
    assert ranks["energy"]["2"] <= 3
    # Same fraction: each layer's own cost is within budget.
    f = factors["1"]
    assert f.params_at(ranks["uniform"]["1"]) <= 0.25 * f.params


def test_energy_rule_is_one_common_threshold():
    factors = _factors()
    a = allocate(factors, 0.3, "energy")
    for name, k in a.ranks.items():
        if k is not None:
            assert k == factors[name].rank_for_energy(a.level)


def test_global_threshold_rule():
    factors = _factors()
    a = allocate(factors, 0.3, "global")
    for name, k in a.ranks.items():
        s = factors[name].singular_values
        assert k == max(1, int(np.count_nonzero(s >= a.level * s[0])))


def test_greedy_uses_the_tables():
    factors = _factors()
    tables = [
        AccuracyTable("0", (1, 5, 10, 20), (0.2, 0.6, 0.9, 0.95)),
        AccuracyTable("1", (1, 5, 10, 15), (0.5, 0.7, 0.8, 0.9)),
        AccuracyTable("2", (1, 2, 3, 4), (0.3, 0.95, 0.95, 0.96)),
    ]
    a = allocate(factors, 0.3, "greedy", tables=tables)
    assert a.fits and a.cost <= 0.3 * a.cost_whole
    assert a.ranks["2"] >= 2 or a.level < 0.95
    for t in tables:
        k = a.ranks[t.name]
        if k is not None:
            # Between the last tabulated rank below the common level and the first at or above it.
            ok = [r for r, acc in zip(t.ranks, t.accuracy, strict=True) if acc >= a.level]
            below = [r for r in t.ranks if r < min(ok)]
            assert (max(below) if below else 0) < k <= min(ok)
    with pytest.raises(ValueError, match="needs per-layer accuracy tables"):
        allocate(factors, 0.3, "greedy")


def test_greedy_interpolates_between_tabulated_ranks():
    t = AccuracyTable("x", (1, 5, 10, 20), (0.2, 0.6, 0.5, 0.9))
    assert _rank_for_level(t, 0.1) == 1
    assert _rank_for_level(t, 0.4) == 3  # halfway from 0.2 at rank 1 to 0.6 at rank 5
    assert _rank_for_level(t, 0.6) == 5
    assert _rank_for_level(t, 0.7) == 14  # 0.5 at rank 10 counts as 0.6: 10 + 10·(0.1/0.3)
    assert _rank_for_level(t, 0.95) is None


def test_a_budget_too_small_says_so():
    factors = _factors()
    a = allocate(factors, 0.001, "global")
    assert not a.fits
    assert "exceeds the budget" in a.notes[0]
    assert all(k == 1 for k in a.ranks.values())


def test_bad_budget_and_rule():
    factors = _factors()
    with pytest.raises(ValueError, match="at most 1"):
        allocate(factors, 1.5, "energy")
    with pytest.raises(ValueError, match="unknown allocation rule"):
        allocate(factors, 0.5, "random")
    assert set(RULES) == {"energy", "uniform", "global", "greedy"}


def test_ranks_for_energy_and_whole_layers():
    net = make_mlp(sizes=(12, 9, 7, 4))
    factors = analyse(net)
    ranks = ranks_for_energy(factors, 0.999999)
    # Full energy needs full rank, which saves nothing in these tiny layers: kept whole.
    assert all(k is None for k in ranks.values())
    ranks = ranks_for_energy(factors, 0.05)
    assert ranks["0"] == 1
    with pytest.raises(ValueError, match="energy threshold"):
        ranks_for_energy(factors, 0)
