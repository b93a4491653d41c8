"""Outputs at many ranks from one full-rank pass equal the two factor layers at each rank."""

import numpy as np
import pytest

from svdstudio.engine.network import (
    Conv2d,
    Dense,
    Scorer,
    accuracy_tables,
    analyse,
    factor_layer,
    forward,
    rank_sweep,
)
from svdstudio.engine.network.fastsweep import outputs_by_rank
from svdstudio.engine.network.inference import apply_layer

from .conftest import make_cnn, make_mlp


@pytest.mark.parametrize("scheme", ["spatial", "channel"])
@pytest.mark.parametrize("method", ["plain", "data-aware"])
@pytest.mark.parametrize(
    ("stride", "padding"), [((1, 1), (1, 1)), ((2, 1), (0, 1)), ((1, 2), (2, 0))]
)
def test_conv_outputs_by_rank(scheme, method, stride, padding):
    rng = np.random.default_rng(5)
    layer = Conv2d(rng.normal(size=(5, 3, 3, 3)), rng.normal(size=5), stride, padding, "1")
    x = (rng.normal(size=(4, 3, 9, 8)) + 1).astype(np.float32)
    f = factor_layer(
        layer, scheme, method, inputs=x if method == "data-aware" else None, in_hw=(9, 8)
    )
    ranks = list(range(1, f.max_rank + 1))
    seen = []
    for k, out in outputs_by_rank(f, x, ranks):
        first, second = f.layers_at(k)
        np.testing.assert_allclose(
            out, apply_layer(second, apply_layer(first, x)), atol=3e-5, rtol=1e-5
        )
        seen.append(k)
    assert seen == ranks


@pytest.mark.parametrize("method", ["plain", "data-aware"])
def test_dense_outputs_by_rank_sparse_ranks(method):
    rng = np.random.default_rng(6)
    layer = Dense(rng.normal(size=(7, 11)), rng.normal(size=7), "0")
    x = (rng.normal(size=(20, 11)) + 2).astype(np.float32)
    f = factor_layer(layer, method=method, inputs=x)
    got = dict(outputs_by_rank(f, x, [7, 1, 4]))
    assert sorted(got) == [1, 4, 7]
    for k, out in got.items():
        first, second = f.layers_at(k)
        np.testing.assert_allclose(
            out, apply_layer(second, apply_layer(first, x)), atol=2e-5, rtol=1e-5
        )
    with pytest.raises(ValueError, match=r"ranks must lie in 1\.\.7"):
        list(outputs_by_rank(f, x, [8]))


@pytest.mark.parametrize("make", [make_mlp, make_cnn])
def test_sweeps_equal_scoring_each_rank(make):
    net = make()
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1100, *net.input_shape))  # more than one 512-sample chunk
    y = np.argmax(forward(net, x), axis=1)
    scorer = Scorer(net, x, y)
    factors = analyse(net)
    for name, f in factors.items():
        sweep = rank_sweep(scorer, f)
        slow = [scorer.score({name: f.layers_at(k)}).value for k in sweep.ranks]
        np.testing.assert_allclose(sweep.accuracy, slow, atol=2 / scorer.n)
    steps = []
    tables = accuracy_tables(scorer, factors, count=4, progress=lambda d, t: steps.append((d, t)))
    assert steps[-1][0] == steps[-1][1] == sum(len(t.ranks) for t in tables)
