"""Small random networks for the engine tests."""

import itertools

import numpy as np
import pytest

from svdstudio.engine.network import Conv2d, Dense, Flatten, MaxPool, Network, ReLU


def make_mlp(seed: int = 0, sizes=(12, 9, 7, 4)) -> Network:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        if i:
            layers.append(ReLU())
        layers.append(Dense(rng.normal(size=(b, a)), rng.normal(size=b), str(2 * i)))
    return Network(tuple(layers), (sizes[0],), tuple("abcd"[: sizes[-1]]))


def make_cnn(seed: int = 0, stride=(1, 1), padding=(1, 1)) -> Network:
    rng = np.random.default_rng(seed)
    c1 = Conv2d(rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4), (1, 1), (1, 1), "0")
    c2 = Conv2d(rng.normal(size=(6, 4, 3, 3)) * 0.3, rng.normal(size=6), stride, padding, "2")
    net = Network((c1, ReLU(), c2, ReLU(), MaxPool(), Flatten()), (2, 8, 8))
    from svdstudio.engine.network import layer_shapes

    n_flat = layer_shapes(net)[-1][1][0]
    dense = Dense(rng.normal(size=(3, n_flat)) * 0.2, rng.normal(size=3), "6")
    return net.replace((*net.layers, dense))


@pytest.fixture
def mlp() -> Network:
    return make_mlp()


@pytest.fixture
def cnn() -> Network:
    return make_cnn()
