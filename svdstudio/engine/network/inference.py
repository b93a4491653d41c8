"""Run a :class:`Network` in float32: Dense and Conv2d are GEMMs (convolution by im2col).

Also traces shapes through the network (``layer_shapes``) and counts exact multiply-accumulates
(``layer_macs``): a dense layer costs in·out MACs per sample, a convolution
out·in·kh·kw·Ho·Wo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from svdstudio.engine.network.layers import (
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool,
    Network,
    ReLU,
    conv_output_hw,
)

__all__ = [
    "accuracy_count",
    "apply_layer",
    "check_network",
    "forward",
    "im2col",
    "layer_macs",
    "layer_shapes",
    "predict",
    "prepare_input",
    "run_layers",
]


def prepare_input(network: Network, x: np.ndarray) -> np.ndarray:
    """Raw samples (N × features, or N × C × H × W) as float32 of the network's input shape.

    Raises ``ValueError`` when the feature count does not fit the first layer.
    """
    x = np.asarray(x)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError("the data holds no samples")
    want = network.input_shape
    size = int(np.prod(want))
    per_sample = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    if per_sample != size:
        shape = "×".join(str(d) for d in want)
        raise ValueError(
            f"the data has {per_sample} features per sample but the network takes {shape} = {size}"
        )
    out = x.reshape((x.shape[0], *want)).astype(np.float32, copy=True)
    if network.input_scale != 1.0:
        out *= np.float32(network.input_scale)
    if network.input_offset != 0.0:
        out += np.float32(network.input_offset)
    return out


def im2col(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> tuple[np.ndarray, int, int]:
    """Patches of N × C × H × W input as a (N·Ho·Wo) × (C·kh·kw) matrix, with Ho and Wo."""
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = kernel
    sh, sw = stride
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    n, c, ho, wo = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    return cols, ho, wo


def _conv(layer: Conv2d, x: np.ndarray) -> np.ndarray:
    o, c, kh, kw = layer.weight.shape
    n = x.shape[0]
    if (kh, kw) == (1, 1) and layer.padding == (0, 0):
        # A 1×1 convolution needs no patch copy: a GEMM over the channel axis.
        xs = x[:, :, :: layer.stride[0], :: layer.stride[1]]
        ho, wo = xs.shape[2:]
        cols = xs.transpose(0, 2, 3, 1).reshape(n * ho * wo, c)
    else:
        cols, ho, wo = im2col(x, (kh, kw), layer.stride, layer.padding)
    y = cols @ layer.weight.reshape(o, -1).T
    if layer.bias is not None:
        y += layer.bias
    return np.ascontiguousarray(y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2))


def _maxpool(layer: MaxPool, x: np.ndarray) -> np.ndarray:
    # The elementwise maximum of the kh·kw strided views: numpy's max over a reshaped window
    # axis was ~20× slower (a reduction over non-contiguous axes).
    (kh, kw), (sh, sw) = layer.size, layer.stride
    h, w = x.shape[2:]
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out: np.ndarray | None = None
    for i in range(kh):
        for j in range(kw):
            view = x[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
            out = view.copy() if out is None else np.maximum(out, view, out=out)
    assert out is not None
    return out


def apply_layer(layer: Layer, x: np.ndarray) -> np.ndarray:
    """One layer on a float32 batch (the batch axis first)."""
    if isinstance(layer, Dense):
        y = x @ layer.weight.T
        if layer.bias is not None:
            y += layer.bias
        return y
    if isinstance(layer, Conv2d):
        return _conv(layer, x)
    if isinstance(layer, ReLU):
        return np.maximum(x, 0, dtype=np.float32)
    if isinstance(layer, MaxPool):
        return _maxpool(layer, x)
    if isinstance(layer, Flatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(layer, BatchNorm):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return x * layer.scale.reshape(shape) + layer.shift.reshape(shape)
    raise TypeError(f"unknown layer type {type(layer).__name__}")


def run_layers(layers: tuple[Layer, ...], x: np.ndarray) -> np.ndarray:
    """Apply ``layers`` in order to an already prepared float32 batch."""
    for layer in layers:
        x = apply_layer(layer, x)
    return x


def forward(
    network: Network,
    x: np.ndarray,
    *,
    batch_size: int = 2048,
    prepared: bool = False,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Logits (N × classes) for raw samples ``x``, computed ``batch_size`` samples at a time.

    ``prepared=True`` skips :func:`prepare_input` (``x`` already float32 of the input shape).
    ``cancelled`` is polled between batches; when it returns True the run stops with
    :class:`~svdstudio.engine.network.sweeps.Cancelled`.
    """
    if not prepared:
        x = prepare_input(network, x)
    outs = []
    for start in range(0, x.shape[0], batch_size):
        if cancelled is not None and cancelled():
            from svdstudio.engine.network.sweeps import Cancelled

            raise Cancelled()
        outs.append(run_layers(network.layers, x[start : start + batch_size]))
    return np.concatenate(outs, axis=0)


def predict(network: Network, x: np.ndarray, **kwargs: Any) -> np.ndarray:
    """The argmax class index of every sample."""
    return np.argmax(forward(network, x, **kwargs), axis=1)


def accuracy_count(logits: np.ndarray, y: np.ndarray) -> int:
    """How many argmax predictions equal the labels ``y``."""
    return int(np.count_nonzero(np.argmax(logits, axis=1) == np.asarray(y)))


def layer_shapes(network: Network) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input shape, output shape) of every layer, per sample; ``ValueError`` naming the
    layer whose shapes do not chain."""
    shapes = []
    shape = network.input_shape
    for i, layer in enumerate(network.layers):
        label = f"layer {layer.name or i} ({layer.kind})"
        out = _out_shape(layer, shape, label)
        shapes.append((shape, out))
        shape = out
    return shapes


def _out_shape(layer: Layer, shape: tuple[int, ...], label: str) -> tuple[int, ...]:
    if isinstance(layer, Dense):
        if len(shape) != 1:
            raise ValueError(
                f"{label} takes a vector but gets a {'×'.join(map(str, shape))} input; "
                "add a flatten layer before it"
            )
        n_out, n_in = layer.weight.shape
        if shape[0] != n_in:
            raise ValueError(
                f"{label}: the weight takes {n_in} inputs but the previous layer gives {shape[0]}"
            )
        return (n_out,)
    if isinstance(layer, Conv2d):
        if len(shape) != 3:
            raise ValueError(
                f"{label} needs a C×H×W input but gets {'×'.join(map(str, shape))}; "
                "give the input shape as [C, H, W] in the architecture"
            )
        o, c, kh, kw = layer.weight.shape
        if shape[0] != c:
            raise ValueError(
                f"{label}: the weight takes {c} input channels but the previous layer gives "
                f"{shape[0]}"
            )
        ho, wo = conv_output_hw(shape[1:], (kh, kw), layer.stride, layer.padding)
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{label}: a {kh}×{kw} kernel does not fit a {shape[1]}×{shape[2]} input"
            )
        return (o, ho, wo)
    if isinstance(layer, MaxPool):
        if len(shape) != 3:
            raise ValueError(f"{label} needs a C×H×W input")
        ho, wo = conv_output_hw(shape[1:], layer.size, layer.stride, (0, 0))
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{label}: the pooling window does not fit a {shape[1]}×{shape[2]} input"
            )
        return (shape[0], ho, wo)
    if isinstance(layer, Flatten):
        return (int(np.prod(shape)),)
    if isinstance(layer, BatchNorm):
        if layer.scale.size != shape[0]:
            raise ValueError(
                f"{label} has {layer.scale.size} channels but its input has {shape[0]}"
            )
        return shape
    return shape


def layer_macs(network: Network) -> list[int]:
    """Exact multiply-accumulates per sample of every layer (0 for ReLU, pooling, flatten)."""
    macs = []
    for layer, (_, out) in zip(network.layers, layer_shapes(network), strict=True):
        if isinstance(layer, Dense):
            macs.append(int(layer.weight.size))
        elif isinstance(layer, Conv2d):
            macs.append(int(layer.weight.size) * out[1] * out[2])
        else:
            macs.append(0)
    return macs


def check_network(network: Network) -> None:
    """Raise ``ValueError`` naming the layer if shapes do not chain or the output is not a
    class-score vector."""
    shapes = layer_shapes(network)
    out = shapes[-1][1] if shapes else network.input_shape
    if len(out) != 1:
        raise ValueError(
            f"the network ends with a {'×'.join(map(str, out))} output; a classifier must end "
            "with one score per class (add flatten and a dense layer)"
        )
    if network.classes and len(network.classes) != out[0]:
        raise ValueError(f"the network has {out[0]} outputs but {len(network.classes)} class names")
