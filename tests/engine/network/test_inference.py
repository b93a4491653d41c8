"""The inference engine against direct loops (an independent reference)."""

import re

import numpy as np
import pytest

from svdstudio.engine.network import (
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    MaxPool,
    Network,
    ReLU,
    check_network,
    forward,
    layer_macs,
    layer_shapes,
    predict,
    prepare_input,
)
from svdstudio.engine.network.inference import apply_layer


def conv_loops(x, w, b, stride, padding):
    n, _c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2)).astype(np.float64)
    ho = (h + 2 * padding[0] - kh) // stride[0] + 1
    wo = (wd + 2 * padding[1] - kw) // stride[1] + 1
    y = np.zeros((n, o, ho, wo))
    for s in range(n):
        for oc in range(o):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[
                        s, :, i * stride[0] : i * stride[0] + kh, j * stride[1] : j * stride[1] + kw
                    ]
                    y[s, oc, i, j] = np.sum(patch * w[oc]) + (b[oc] if b is not None else 0)
    return y


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [
        ((2, 3, 7, 6), (3, 3), (1, 1), (1, 1)),
        ((1, 2, 8, 8), (3, 2), (2, 1), (0, 1)),
        ((3, 1, 5, 9), (1, 1), (1, 2), (0, 0)),
        ((2, 4, 6, 6), (5, 5), (2, 2), (2, 2)),
        ((1, 2, 6, 5), (1, 3), (1, 1), (0, 2)),
    ],
)
def test_conv_matches_direct_loops(shape, kernel, stride, padding):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=shape).astype(np.float32)
    w = rng.normal(size=(5, shape[1], *kernel))
    b = rng.normal(size=5)
    layer = Conv2d(w, b, stride, padding)
    y = apply_layer(layer, x)
    ref = conv_loops(x, layer.weight, layer.bias, stride, padding)
    assert y.shape == ref.shape
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("size", "stride"), [((2, 2), (2, 2)), ((3, 3), (2, 2)), ((2, 3), (1, 2))])
def test_maxpool_matches_loops(size, stride):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 7, 8)).astype(np.float32)
    y = apply_layer(MaxPool(size, stride), x)
    ho = (7 - size[0]) // stride[0] + 1
    wo = (8 - size[1]) // stride[1] + 1
    ref = np.empty((2, 3, ho, wo), np.float32)
    for i in range(ho):
        for j in range(wo):
            ref[:, :, i, j] = x[
                :,
                :,
                i * stride[0] : i * stride[0] + size[0],
                j * stride[1] : j * stride[1] + size[1],
            ].max(axis=(2, 3))
    np.testing.assert_array_equal(y, ref)


def test_mlp_forward_is_the_dense_formula(mlp):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 12))
    h = x
    dense = [layer for layer in mlp.layers if isinstance(layer, Dense)]
    for i, d in enumerate(dense):
        h = h @ d.weight.T.astype(np.float64) + d.bias
        if i < len(dense) - 1:
            h = np.maximum(h, 0)
    np.testing.assert_allclose(forward(mlp, x), h, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(predict(mlp, x), np.argmax(h, axis=1))


def test_cnn_shapes_and_macs(cnn):
    shapes = layer_shapes(cnn)
    assert shapes[0] == ((2, 8, 8), (4, 8, 8))
    assert shapes[4] == ((6, 8, 8), (6, 4, 4))
    assert shapes[-1][1] == (3,)
    macs = layer_macs(cnn)
    assert macs[0] == 4 * 2 * 9 * 64
    assert macs[2] == 6 * 4 * 9 * 64
    assert macs[-1] == 3 * 96
    assert macs[1] == macs[4] == 0
    x = np.random.default_rng(0).normal(size=(3, 128))  # flat samples reshape to 2×8×8
    assert forward(cnn, x).shape == (3, 3)


def test_input_scale_and_offset():
    net = Network((Dense(np.eye(2), None, "0"),), (2,), input_scale=0.5, input_offset=-1.0)
    np.testing.assert_allclose(forward(net, np.array([[2.0, 4.0]])), [[0.0, 1.0]])


def test_forward_in_batches_equals_one_batch(cnn):
    x = np.random.default_rng(2).normal(size=(11, 2, 8, 8))
    np.testing.assert_allclose(forward(cnn, x, batch_size=3), forward(cnn, x), rtol=1e-5, atol=1e-5)


def test_batchnorm_layer_is_per_channel_affine():
    bn = BatchNorm(np.array([2.0, -1.0]), np.array([0.5, 1.0]))
    x = np.ones((1, 2, 2, 2), np.float32)
    y = apply_layer(bn, x)
    np.testing.assert_allclose(y[0, 0], 2.5)
    np.testing.assert_allclose(y[0, 1], 0.0)
    np.testing.assert_allclose(apply_layer(bn, np.ones((3, 2), np.float32)), [[2.5, 0.0]] * 3)


@pytest.mark.parametrize(
    ("layers", "shape", "message"),
    [
        ((Dense(np.ones((3, 5)), None, "0"),), (4,), "layer 0 (dense): the weight takes 5 inputs"),
        ((Conv2d(np.ones((2, 3, 3, 3)), None, name="0"),), (1, 8, 8), "takes 3 input channels"),
        (
            (Conv2d(np.ones((2, 1, 3, 3)), None, name="0"), Dense(np.ones((2, 4)), None, "1")),
            (1, 4, 4),
            "add a flatten layer",
        ),
        ((Conv2d(np.ones((2, 1, 5, 5)), None, name="0"),), (1, 3, 3), "does not fit"),
        ((Dense(np.ones((3, 4)), None, "0"), ReLU()), (4,), None),
    ],
)
def test_shapes_that_do_not_chain_name_the_layer(layers, shape, message):
    net = Network(layers, shape)
    if message is None:
        check_network(net)
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        check_network(net)


def test_cnn_output_must_be_a_vector():
    net = Network((Conv2d(np.ones((2, 1, 3, 3)), None, name="0"),), (1, 4, 4))
    with pytest.raises(ValueError, match="one score per class"):
        check_network(net)


def test_prepare_input_names_feature_mismatch(mlp):
    with pytest.raises(ValueError, match="11 features per sample but the network takes 12"):
        prepare_input(mlp, np.zeros((3, 11)))
    with pytest.raises(ValueError, match="no samples"):
        prepare_input(mlp, np.zeros((0, 12)))
    assert prepare_input(mlp, np.zeros((3, 12), np.uint8)).dtype == np.float32
    assert Flatten().kind == "flatten"


def test_layers_copy_their_weights_and_flush_subnormals():
    w = np.array([[1e-40, 1.0], [-3e-39, 2.0]], np.float32)
    assert np.count_nonzero(w) == 4
    layer = Dense(w, None, "0")
    np.testing.assert_array_equal(layer.weight, [[0.0, 1.0], [0.0, 2.0]])
    assert w.flags.writeable and w[0, 0] != 0  # the caller's array is untouched
    assert not layer.weight.flags.writeable
