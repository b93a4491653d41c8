"""A whole network's factorisable layers: decompose each once, then build compressed copies.

``analyse`` returns one :class:`LayerFactors` per dense or convolution layer (the last dense
layer included: its spectrum is shown, and a rank can be chosen for it like any other).
``compress`` swaps the chosen layers for their two-layer factorisations; a rank of None keeps
the layer whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.network.factorize import InputStatistics, LayerFactors, factor_layer
from svdstudio.engine.network.inference import (
    layer_macs,
    layer_shapes,
    prepare_input,
    run_layers,
)
from svdstudio.engine.network.layers import Conv2d, Dense, Layer, Network

__all__ = [
    "Totals",
    "analyse",
    "compress",
    "factorisable_names",
    "layer_inputs",
    "replacements",
    "resolve_layer_name",
    "totals",
]


def factorisable_names(network: Network) -> list[str]:
    """Names of the dense and convolution layers, in order."""
    return [layer.name for layer in network.layers if isinstance(layer, Dense | Conv2d)]


def resolve_layer_name(network: Network, spec: str) -> str:
    """A layer name from a state-dict prefix ("0"), a tab label ("dense 0") or a 1-based
    position among the factorisable layers ("#1"); ``ValueError`` listing the names otherwise."""
    names = factorisable_names(network)
    text = spec.strip()
    if text in names:
        return text
    for layer in network.layers:
        if isinstance(layer, Dense | Conv2d) and text.lower() == f"{layer.kind} {layer.name}":
            return layer.name
    if text.startswith("#") and text[1:].isdigit() and 1 <= int(text[1:]) <= len(names):
        return names[int(text[1:]) - 1]
    raise ValueError(
        f"no factorisable layer {spec!r}; the dense and convolution layers are {', '.join(names)}"
    )


def layer_inputs(
    network: Network, x: np.ndarray, *, prepared: bool = False
) -> dict[str, np.ndarray]:
    """The input batch of every factorisable layer of the original network, by name."""
    if not prepared:
        x = prepare_input(network, x)
    out = {}
    for layer in network.layers:
        if isinstance(layer, Dense | Conv2d):
            out[layer.name] = x
        x = run_layers((layer,), x)
    return out


def analyse(
    network: Network,
    *,
    conv_scheme: str = "spatial",
    method: str = "plain",
    calibration: np.ndarray | None = None,
    layers: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, LayerFactors]:
    """Decompose every factorisable layer (or those in ``layers``), by name, in order.

    ``calibration`` (raw samples, never the test split) is required for ``method="data-aware"``.
    ``progress(done, total)`` is called after each layer.
    """
    names = layers if layers is not None else factorisable_names(network)
    shapes = {layer.name: s for layer, s in zip(network.layers, layer_shapes(network), strict=True)}
    stats: dict[str, InputStatistics] = {}
    if method == "data-aware":
        if calibration is None:
            raise ValueError(
                "data-aware SVD needs calibration data (the training or validation split)"
            )
        stats = _calibration_statistics(network, calibration, names, conv_scheme)
    out: dict[str, LayerFactors] = {}
    for i, name in enumerate(names):
        layer = network.layer(name)
        if not isinstance(layer, Dense | Conv2d):
            raise ValueError(
                f"layer {name} is a {layer.kind} layer; only dense and conv layers factorise"
            )
        in_shape = shapes[name][0]
        in_hw = tuple(in_shape[1:3]) if isinstance(layer, Conv2d) else None
        out[name] = factor_layer(
            layer,
            conv_scheme,
            method,
            statistics=stats.get(name),
            in_hw=in_hw,  # type: ignore[arg-type]
        )
        if progress is not None:
            progress(i + 1, len(names))
    return out


def _calibration_statistics(
    network: Network, calibration: np.ndarray, names: list[str], scheme: str, chunk: int = 256
) -> dict[str, InputStatistics]:
    """Input statistics of the named layers, one calibration chunk at a time through the
    network (memory: one chunk's activations, not the whole set's)."""
    wanted = set(names)
    stats = {
        layer.name: InputStatistics(layer, scheme)
        for layer in network.layers
        if layer.name in wanted and isinstance(layer, Dense | Conv2d)
    }
    last = max(i for i, layer in enumerate(network.layers) if layer.name in stats)
    for start in range(0, calibration.shape[0], chunk):
        x = prepare_input(network, calibration[start : start + chunk])
        for layer in network.layers[: last + 1]:
            if layer.name in stats:
                stats[layer.name].add(x)
            x = run_layers((layer,), x)
    return stats


def replacements(
    factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None]
) -> dict[str, tuple[Layer, ...]]:
    """The layers that replace each layer with a rank (clamped to 1..max_rank); None = whole."""
    out: dict[str, tuple[Layer, ...]] = {}
    for name, k in ranks.items():
        if k is None:
            continue
        if name not in factors:
            raise ValueError(f"no factorised layer {name!r}; known: {', '.join(factors)}")
        f = factors[name]
        out[name] = f.layers_at(max(1, min(int(k), f.max_rank)))
    return out


def compress(
    network: Network, factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None]
) -> Network:
    """A copy of ``network`` with each layer in ``ranks`` (not None) replaced by its rank-k pair."""
    swap = replacements(factors, ranks)
    layers: list[Layer] = []
    for layer in network.layers:
        layers.extend(swap.get(layer.name, (layer,)))
    return network.replace(tuple(layers))


@dataclass(frozen=True)
class Totals:
    """Parameters (weights and biases of every layer) and MACs per sample, before and after."""

    params: int
    params_compressed: int
    macs: int
    macs_compressed: int

    @property
    def compression_ratio(self) -> float:
        return self.params / self.params_compressed if self.params_compressed else float("inf")

    @property
    def mac_ratio(self) -> float:
        return self.macs / self.macs_compressed if self.macs_compressed else float("inf")


def totals(network: Network, compressed: Network) -> Totals:
    """Whole-network parameter and MAC counts of the original and the compressed copy."""
    return Totals(
        params=network.n_params,
        params_compressed=compressed.n_params,
        macs=sum(layer_macs(network)),
        macs_compressed=sum(layer_macs(compressed)),
    )
