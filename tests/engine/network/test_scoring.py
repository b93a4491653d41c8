"""Accuracy, Wilson intervals, the caching scorer, sweeps with progress and cancel, timing."""

import numpy as np
import pytest

from svdstudio.engine.network import (
    Cancelled,
    Scorer,
    accuracy_tables,
    analyse,
    budget_sweep,
    check_labels,
    compress,
    forward,
    measure_latency,
    rank_sweep,
    replacements,
    wilson_interval,
)
from svdstudio.engine.network.timing import busy_warning

from .conftest import make_cnn, make_mlp


@pytest.mark.parametrize(
    ("correct", "n", "lo", "hi"),
    [
        (8, 10, 0.4902, 0.9433),
        (50, 100, 0.4038, 0.5962),
        (0, 20, 0.0, 0.1611),
        (20, 20, 0.8389, 1.0),
    ],
)
def test_wilson_interval_known_values(correct, n, lo, hi):
    a, b = wilson_interval(correct, n)
    assert a == pytest.approx(lo, abs=1e-4)
    assert b == pytest.approx(hi, abs=1e-4)


def _data(net, n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *net.input_shape))
    y = np.argmax(forward(net, x), axis=1)
    y[:5] = (y[:5] + 1) % 3  # five wrong on purpose
    return x, y


@pytest.mark.parametrize("make", [make_mlp, make_cnn])
def test_scorer_swaps_equal_a_compressed_network(make):
    net = make()
    x, y = _data(net)
    y = y % 3 if make is make_cnn else y
    scorer = Scorer(net, x, y)
    base = scorer.score()
    assert base.n == 60
    assert base.correct == int(np.sum(np.argmax(forward(net, x), 1) == y))
    factors = analyse(net)
    for ranks in ({"0": 1}, {n: 2 for n in factors}, {list(factors)[-1]: 1}):
        small = compress(net, factors, ranks)
        want = int(np.sum(np.argmax(forward(small, x), 1) == y))
        assert scorer.score(replacements(factors, ranks)).correct == want
        assert scorer.score_network(small).correct == want
    sub = scorer.subset(20)
    assert sub.n == 20 and sub.score().n == 20


def test_labels_are_checked():
    assert check_labels(np.array([0.0, 2.0]), 3).tolist() == [0, 2]
    with pytest.raises(ValueError, match="label 3 of sample 1 is out of range"):
        check_labels(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="whole numbers"):
        check_labels(np.array([0.5]), 3)
    with pytest.raises(ValueError, match="60 samples but 59 labels"):
        net = make_mlp()
        Scorer(net, np.zeros((60, 12)), np.zeros(59, int))


def test_rank_sweep_reports_progress_and_matches_scores():
    net = make_mlp()
    x, y = _data(net)
    scorer = Scorer(net, x, y)
    f = analyse(net)["2"]
    seen = []
    sweep = rank_sweep(scorer, f, progress=lambda d, t: seen.append((d, t)))
    assert sweep.ranks == tuple(range(1, f.max_rank + 1))
    assert seen[0] == (0, f.max_rank) and seen[-1] == (f.max_rank, f.max_rank)
    assert sweep.accuracy[2] == scorer.score({"2": f.layers_at(3)}).value
    assert sweep.accuracy[-1] == pytest.approx(scorer.score().value)


def test_sweeps_stop_when_cancelled():
    net = make_mlp()
    x, y = _data(net)
    scorer = Scorer(net, x, y)
    factors = analyse(net)
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        rank_sweep(scorer, factors["0"], cancelled=cancelled)
    assert len(calls) == 4
    with pytest.raises(Cancelled):
        accuracy_tables(scorer, factors, cancelled=lambda: True)


def test_budget_sweep_all_rules():
    net = make_mlp(sizes=(40, 30, 20, 4))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 40))
    y = np.argmax(forward(net, x), axis=1)
    val, test = Scorer(net, x[:40], y[:40]), Scorer(net, x[40:], y[40:])
    factors = analyse(net)
    tables = accuracy_tables(val, factors, count=5)
    assert [t.name for t in tables] == list(factors)
    assert all(len(t.ranks) == len(t.accuracy) >= 1 for t in tables)
    sweep = budget_sweep(test, factors, [0.2, 0.5, 0.9], tables=tables)
    assert set(sweep.accuracy) == {"energy", "uniform", "global", "greedy"}
    for rule, accs in sweep.accuracy.items():
        assert len(accs) == 3 and all(0 <= a <= 1 for a in accs)
        for frac, alloc in zip(sweep.fractions, sweep.allocations[rule], strict=True):
            assert alloc.cost <= frac * alloc.cost_whole or not alloc.fits
    # Without tables the greedy rule is left out rather than failing.
    assert "greedy" not in budget_sweep(test, factors, [0.5]).accuracy


def test_measure_latency_statistics():
    ticks = iter(range(1000))
    stats = measure_latency(lambda: next(ticks), runs=31, warmup=2)
    assert stats.runs == 31
    assert 0 <= stats.p10 <= stats.median <= stats.p90
    assert stats.spread == pytest.approx(stats.p90 - stats.p10)
    assert next(ticks) == 33  # 2 warm-up + 31 timed calls
    assert "31 runs" in stats.describe()
    with pytest.raises(Cancelled):
        measure_latency(lambda: None, runs=5, cancelled=lambda: True)


def test_busy_warning_threshold():
    assert busy_warning(1.4, 2) is None
    assert "busy (load average 1.60 on 2 cores)" in busy_warning(1.6, 2)


def test_compare_latency_rows_and_progress():
    from svdstudio.engine.network import compare_latency

    net = make_mlp()
    factors = analyse(net)
    small = compress(net, factors, {"0": 2})
    x = np.random.default_rng(0).normal(size=(40, 12))
    seen = []
    cmp = compare_latency(
        net, small, x, batches=(1, 40, 100), runs=5, progress=lambda d, t: seen.append(d)
    )
    assert [row[0] for row in cmp.rows] == [1, 40, 40]  # clamped to the samples there are
    assert all(o.runs == 5 and c.runs == 5 for _, o, c in cmp.rows)
    assert len(cmp.speedups()) == 3 and all(s > 0 for s in cmp.speedups())
    assert seen == [1, 2, 3, 4, 5, 6]
    with pytest.raises(Cancelled):
        compare_latency(net, small, x, runs=5, cancelled=lambda: True)
