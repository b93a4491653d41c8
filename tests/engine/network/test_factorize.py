"""Factorised layers against the dense product W_k x; Eckart–Young; exact MAC/param counts."""

import numpy as np
import pytest

from svdstudio.engine.network import (
    Conv2d,
    Dense,
    Network,
    analyse,
    compress,
    factor_layer,
    forward,
    layer_macs,
    layer_matrix,
)
from svdstudio.engine.network.inference import apply_layer

from .conftest import make_cnn


def _conv_from_matrix(m, shape, scheme):
    o, c, kh, kw = shape
    if scheme == "channel":
        return m.reshape(o, c, kh, kw)
    return m.reshape(o, kw, c, kh).transpose(0, 2, 3, 1)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_dense_rank_k_equals_wk_x(k):
    rng = np.random.default_rng(k)
    layer = Dense(rng.normal(size=(9, 13)), rng.normal(size=9), "0")
    f = factor_layer(layer)
    first, second = f.layers_at(k)
    x = rng.normal(size=(4, 13)).astype(np.float32)
    u, s, vt = np.linalg.svd(layer.weight.astype(np.float64))
    wk = (u[:, :k] * s[:k]) @ vt[:k]
    want = x @ wk.T + layer.bias
    got = apply_layer(second, apply_layer(first, x))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert first.weight.shape == (k, 13) and second.weight.shape == (9, k)
    assert first.bias is None and second.bias is not None
    assert f.params_at(k) == first.n_params + second.n_params == k * (9 + 13) + 9
    assert f.macs_at(k) == k * 22


@pytest.mark.parametrize("scheme", ["spatial", "channel"])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding"),
    [((3, 3), (1, 1), (1, 1)), ((3, 2), (2, 1), (0, 1)), ((5, 3), (1, 2), (2, 0))],
)
@pytest.mark.parametrize("k", [1, 2, 5])
def test_conv_rank_k_equals_the_truncated_matrix(scheme, kernel, stride, padding, k):
    rng = np.random.default_rng(7)
    c, o = 3, 4
    layer = Conv2d(rng.normal(size=(o, c, *kernel)), rng.normal(size=o), stride, padding, "3")
    x = rng.normal(size=(2, c, 9, 8)).astype(np.float32)
    f = factor_layer(layer, scheme, in_hw=(9, 8))
    k = min(k, f.max_rank)
    m = layer_matrix(layer, scheme)
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    mk = (u[:, :k] * s[:k]) @ vt[:k]
    ref = Conv2d(_conv_from_matrix(mk, layer.weight.shape, scheme), layer.bias, stride, padding)
    first, second = f.layers_at(k)
    got = apply_layer(second, apply_layer(first, x))
    want = apply_layer(ref, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-4)
    if scheme == "spatial":
        assert first.weight.shape == (k, c, kernel[0], 1)
        assert second.weight.shape == (o, k, 1, kernel[1])
    else:
        assert first.weight.shape == (k, c, *kernel)
        assert second.weight.shape == (o, k, 1, 1)
    # Exact MACs: the engine's count of the two layers equals the formula.
    net = Network((first, second), (c, 9, 8))
    assert sum(layer_macs(net)) == f.macs_at(k)
    assert layer_macs(Network((layer,), (c, 9, 8)))[0] == f.macs


def test_matrix_shapes_of_both_schemes():
    layer = Conv2d(np.ones((32, 16, 3, 3)), None, name="2")
    assert layer_matrix(layer, "spatial").shape == (32 * 3, 16 * 3)
    assert layer_matrix(layer, "channel").shape == (32, 16 * 9)
    with pytest.raises(ValueError, match="unknown convolution scheme"):
        layer_matrix(layer, "tucker")


@pytest.mark.parametrize("scheme", ["spatial", "channel"])
def test_eckart_young_identities(scheme):
    rng = np.random.default_rng(11)
    layer = Conv2d(rng.normal(size=(6, 4, 3, 3)), None, name="0")
    f = factor_layer(layer, scheme, in_hw=(5, 5))
    m = f.matrix
    total = np.sum(m**2)
    for k in (0, 1, 4, f.max_rank):
        e = f.errors(k)
        if k:
            diff = m - f.approximation(k)
            assert e.frobenius_error == pytest.approx(np.linalg.norm(diff), rel=1e-9, abs=1e-9)
            assert e.spectral_error == pytest.approx(np.linalg.norm(diff, 2), rel=1e-9, abs=1e-9)
        assert e.frobenius_error_squared == pytest.approx(np.sum(f.singular_values[k:] ** 2))
        assert e.frobenius_error == pytest.approx(np.sqrt(e.frobenius_error_squared))
        assert e.energy_retained == pytest.approx(1 - e.frobenius_error_squared / total)
    assert f.errors(f.max_rank).spectral_error == 0.0
    with pytest.raises(ValueError, match="rank 99 is out of range"):
        f.errors(99)


def test_break_even_and_saves():
    f = factor_layer(Dense(np.random.default_rng(0).normal(size=(10, 128)), np.zeros(10), "4"))
    # k(in + out) + out >= in·out + out  ⇔  k >= 1280 / 138 = 9.3
    assert f.break_even_rank() == 10
    assert f.saves(9) and not f.saves(10)
    assert f.rank_for_energy(1.0) == f.max_rank
    assert f.rank_for_energy(1e-9) == 1


@pytest.mark.parametrize("scheme", ["spatial", "channel"])
def test_full_rank_network_reproduces_original(scheme):
    net = make_cnn(seed=2, stride=(2, 1), padding=(1, 0))
    x = np.random.default_rng(5).normal(size=(4, 2, 8, 8))
    factors = analyse(net, conv_scheme=scheme)
    full = compress(net, factors, {n: f.max_rank for n, f in factors.items()})
    np.testing.assert_allclose(forward(full, x), forward(net, x), rtol=1e-4, atol=1e-4)
    assert [layer.name for layer in full.layers if layer.n_params][:2] == ["0.0", "0.1"]


def test_data_aware_full_rank_and_bias_fix():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(8, 6))
    layer = Dense(w, rng.normal(size=8), "0")
    w, b0 = layer.weight.astype(np.float64), layer.bias.astype(np.float64)
    # Inputs with a large mean and strongly unequal variances.
    x = rng.normal(size=(500, 6)) * np.array([5, 1, 0.1, 3, 0.5, 2]) + 4
    f = factor_layer(layer, method="data-aware", inputs=x.astype(np.float32))
    a, b, bias = f.factors(f.max_rank)
    np.testing.assert_allclose(a @ b, w, rtol=1e-8, atol=1e-8)
    # At rank k the output on the calibration mean is exactly the original's (b′ fixes it).
    mu = x.mean(axis=0)
    for k in (1, 3):
        a, b, bias = f.factors(k)
        np.testing.assert_allclose(a @ b @ mu + bias, w @ mu + b0, rtol=1e-8, atol=1e-8)
    # And data-aware is the better rank-2 fit on the data it saw.
    plain = factor_layer(layer)
    xc = x - mu

    def out_err(ff):
        a, b, bias = ff.factors(2)
        return np.linalg.norm(x @ (a @ b).T + bias - (x @ w.T + b0))

    assert out_err(f) < out_err(plain)
    assert np.linalg.norm(xc) > 0


def test_data_aware_warns_with_few_samples_and_needs_inputs():
    layer = Dense(np.ones((4, 10)), None, "1")
    f = factor_layer(
        layer, method="data-aware", inputs=np.random.default_rng(0).normal(size=(6, 10))
    )
    assert "6 calibration vectors for 10 inputs" in f.warning
    with pytest.raises(ValueError, match="needs calibration inputs"):
        factor_layer(layer, method="data-aware")
    with pytest.raises(ValueError, match="unknown method"):
        factor_layer(layer, method="magic")


@pytest.mark.parametrize("scheme", ["spatial", "channel"])
def test_data_aware_conv_network(scheme):
    net = make_cnn(seed=4)
    rng = np.random.default_rng(8)
    cal = rng.normal(size=(40, 2, 8, 8))
    factors = analyse(net, conv_scheme=scheme, method="data-aware", calibration=cal)
    full = compress(net, factors, {n: f.max_rank for n, f in factors.items()})
    x = rng.normal(size=(3, 2, 8, 8))
    np.testing.assert_allclose(forward(full, x), forward(net, x), rtol=1e-3, atol=1e-3)
    assert all(f.method == "data-aware" and f.calibration_samples == 40 for f in factors.values())


def test_layer_inputs_and_names():
    from svdstudio.engine.network import factorisable_names, layer_inputs, resolve_layer_name

    net = make_cnn()
    x = np.random.default_rng(0).normal(size=(3, 2, 8, 8))
    inputs = layer_inputs(net, x)
    assert list(inputs) == factorisable_names(net) == ["0", "2", "6"]
    assert inputs["0"].shape == (3, 2, 8, 8)
    assert inputs["2"].shape == (3, 4, 8, 8)
    assert inputs["6"].shape == (3, 96)
    assert np.all(inputs["2"] >= 0)  # after the ReLU
    assert resolve_layer_name(net, "2") == "2"
    assert resolve_layer_name(net, "conv 2") == "2"
    assert resolve_layer_name(net, "#3") == "6"
    with pytest.raises(ValueError, match="the dense and convolution layers are 0, 2, 6"):
        resolve_layer_name(net, "5")
