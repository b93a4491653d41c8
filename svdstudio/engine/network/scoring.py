"""Accuracy on a fixed labelled set, fast enough to re-score after every rank change.

A :class:`Scorer` caches each layer's input on the original network, so a network with some
layers swapped runs only from the first swapped layer on. :func:`wilson_interval` gives the 95 %
confidence interval of an accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.network.inference import prepare_input, run_layers
from svdstudio.engine.network.layers import Layer, Network

__all__ = ["Accuracy", "Scorer", "check_labels", "wilson_interval"]


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion correct/n (95 % for the default z)."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Accuracy:
    """correct of n, the accuracy and its 95 % Wilson interval."""

    correct: int
    n: int

    @property
    def value(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)


def check_labels(y: np.ndarray, n_classes: int, source: str = "the data") -> np.ndarray:
    """Labels as int64; ``ValueError`` naming ``source`` if not whole numbers in 0..n_classes-1."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{source}: labels y must be one integer per sample (got shape {y.shape})")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{source}: labels y must be whole numbers")
    elif y.dtype.kind not in "iu":
        raise ValueError(f"{source}: labels y must be integers (got {y.dtype})")
    yi = y.astype(np.int64)
    bad = np.flatnonzero((yi < 0) | (yi >= n_classes))
    if bad.size:
        raise ValueError(
            f"{source}: label {yi[bad[0]]} of sample {bad[0]} is out of range; the network has "
            f"{n_classes} classes (0 to {n_classes - 1})"
        )
    return yi


class Scorer:
    """Scores variants of one network on (x, y); caches every layer's input on the original.

    ``x`` is raw (it goes through :func:`prepare_input`); ``y`` integer labels.
    """

    def __init__(self, network: Network, x: np.ndarray, y: np.ndarray) -> None:
        self.network = network
        self._x = prepare_input(network, x)
        n_out = _n_outputs(network)
        self.y = check_labels(y, n_out)
        if self.y.shape[0] != self._x.shape[0]:
            raise ValueError(
                f"the data has {self._x.shape[0]} samples but {self.y.shape[0]} labels"
            )
        self._index = {layer.name: i for i, layer in enumerate(network.layers)}
        self._cache: dict[int, np.ndarray] = {0: self._x}

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    def _input_of(self, index: int) -> np.ndarray:
        if index not in self._cache:
            start = max(i for i in self._cache if i <= index)
            x = self._cache[start]
            for i in range(start, index):
                x = run_layers((self.network.layers[i],), x)
                if self.network.layers[i].kind in ("dense", "conv"):
                    self._cache[i + 1] = x
            self._cache[index] = x
        return self._cache[index]

    def logits(self, swap: Mapping[str, tuple[Layer, ...]] | None = None) -> np.ndarray:
        """Logits with the named layers replaced by ``swap[name]`` (nothing swapped: original)."""
        layers = self.network.layers
        if not swap:
            return self._final()
        unknown = [name for name in swap if name not in self._index]
        if unknown:
            raise ValueError(f"no layer named {unknown[0]!r} in the network")
        start = min(self._index[name] for name in swap)
        x = self._input_of(start)
        for layer in layers[start:]:
            x = run_layers(swap.get(layer.name, (layer,)), x)
        return x

    def layer_input(self, name: str) -> np.ndarray:
        """The cached input batch of layer ``name`` on the original network."""
        return self._input_of(self._index[name])

    def count_correct_after(self, name: str, output: np.ndarray, start: int = 0) -> int:
        """Run the layers after ``name`` on its ``output`` (samples ``start``… of this set) and
        count the correct predictions."""
        x = run_layers(self.network.layers[self._index[name] + 1 :], output)
        y = self.y[start : start + x.shape[0]]
        return int(np.count_nonzero(np.argmax(x, axis=1) == y))

    def _final(self) -> np.ndarray:
        return self._input_of(len(self.network.layers))

    def score(self, swap: Mapping[str, tuple[Layer, ...]] | None = None) -> Accuracy:
        """Accuracy with the named layers swapped."""
        pred = np.argmax(self.logits(swap), axis=1)
        return Accuracy(int(np.count_nonzero(pred == self.y)), self.n)

    def score_network(self, other: Network) -> Accuracy:
        """Accuracy of any network taking the same inputs (no caching)."""
        pred = np.argmax(run_layers(other.layers, self._x), axis=1)
        return Accuracy(int(np.count_nonzero(pred == self.y)), self.n)

    def subset(self, n: int, seed: int = 0) -> Scorer:
        """A scorer on a seeded random subset of n samples (e.g. 200 for a live preview)."""
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(self.n, size=min(n, self.n), replace=False))
        sub = Scorer.__new__(Scorer)
        sub.network = self.network
        sub._x = self._x[idx]
        sub.y = self.y[idx]
        sub._index = self._index
        sub._cache = {0: sub._x}
        return sub


def _n_outputs(network: Network) -> int:
    from svdstudio.engine.network.inference import layer_shapes

    shapes = layer_shapes(network)
    return int(shapes[-1][1][0]) if shapes else int(network.input_shape[0])
