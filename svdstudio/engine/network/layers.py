"""The layers of a sequential classifier, as frozen dataclasses holding float32 arrays.

Layouts follow PyTorch: a dense weight is (out, in), a convolution weight (out, in, kh, kw) and
activations are N × C × H × W. A factorised layer is simply two of these layers in a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "BatchNorm",
    "Conv2d",
    "Dense",
    "Flatten",
    "Layer",
    "MaxPool",
    "Network",
    "ReLU",
    "conv_output_hw",
]


_TINY = np.finfo(np.float32).tiny


def _f32(a: np.ndarray) -> np.ndarray:
    """A read-only float32 copy with subnormal values flushed to zero.

    Subnormals (Adam with weight decay leaves thousands) make a GEMM about 10× slower, so an
    unflushed original would look slower than its compressed copy for the wrong reason.
    """
    out = np.array(a, dtype=np.float32, order="C", copy=True)
    out[(out != 0) & (np.abs(out) < _TINY)] = 0.0
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Dense:
    """y = x Wᵀ + b, with ``weight`` (out × in) and ``bias`` (out) or None."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _f32(self.weight))
        if self.bias is not None:
            object.__setattr__(self, "bias", _f32(self.bias))

    @property
    def kind(self) -> str:
        return "dense"

    @property
    def n_params(self) -> int:
        return int(self.weight.size + (0 if self.bias is None else self.bias.size))


@dataclass(frozen=True, eq=False)
class Conv2d:
    """A 2-D convolution (cross-correlation, as PyTorch) with ``weight`` (out × in × kh × kw)."""

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _f32(self.weight))
        if self.bias is not None:
            object.__setattr__(self, "bias", _f32(self.bias))
        object.__setattr__(self, "stride", tuple(int(s) for s in self.stride))
        object.__setattr__(self, "padding", tuple(int(p) for p in self.padding))

    @property
    def kind(self) -> str:
        return "conv"

    @property
    def n_params(self) -> int:
        return int(self.weight.size + (0 if self.bias is None else self.bias.size))


@dataclass(frozen=True)
class ReLU:
    """max(x, 0)."""

    name: str = ""
    kind: str = field(default="relu", init=False)
    n_params: int = field(default=0, init=False)


@dataclass(frozen=True)
class MaxPool:
    """Max pooling over ``size`` windows moved by ``stride`` (no padding)."""

    size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    name: str = ""
    kind: str = field(default="maxpool", init=False)
    n_params: int = field(default=0, init=False)


@dataclass(frozen=True)
class Flatten:
    """N × C × H × W → N × (C·H·W), in C order (as ``torch.flatten(x, 1)``)."""

    name: str = ""
    kind: str = field(default="flatten", init=False)
    n_params: int = field(default=0, init=False)


@dataclass(frozen=True, eq=False)
class BatchNorm:
    """Inference-time batch norm as a per-channel affine map y = x·scale + shift.

    Loading folds it into the preceding dense or conv layer when there is one; otherwise it
    stays as this layer.
    """

    scale: np.ndarray
    shift: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _f32(self.scale))
        object.__setattr__(self, "shift", _f32(self.shift))

    @property
    def kind(self) -> str:
        return "batchnorm"

    @property
    def n_params(self) -> int:
        return int(self.scale.size + self.shift.size)


Layer = Dense | Conv2d | ReLU | MaxPool | Flatten | BatchNorm


def conv_output_hw(
    hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> tuple[int, int]:
    """Output height and width of a convolution or pooling window (floor division, as PyTorch)."""
    return tuple(  # type: ignore[return-value]
        (hw[i] + 2 * padding[i] - kernel[i]) // stride[i] + 1 for i in range(2)
    )


@dataclass(frozen=True, eq=False)
class Network:
    """A sequential classifier: ``layers`` applied in order to inputs of ``input_shape``.

    ``input_shape`` excludes the batch axis: (features,) for an MLP, (C, H, W) for a CNN. Raw
    inputs are mapped by x·``input_scale`` + ``input_offset`` first (e.g. 1/255 for pixels).
    ``classes`` names the outputs (argmax index i is ``classes[i]``).
    """

    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]
    classes: tuple[str, ...] = ()
    input_scale: float = 1.0
    input_offset: float = 0.0
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))

    @property
    def n_params(self) -> int:
        """Weights and biases of every layer."""
        return sum(layer.n_params for layer in self.layers)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; ``KeyError`` naming the known ones otherwise."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        known = ", ".join(layer.name for layer in self.layers if layer.name)
        raise KeyError(f"no layer named {name!r}; the layers are {known}")

    def replace(self, layers: tuple[Layer, ...]) -> Network:
        """The same network (input, classes) with other layers."""
        return Network(
            layers,
            self.input_shape,
            self.classes,
            self.input_scale,
            self.input_offset,
            self.title,
        )
