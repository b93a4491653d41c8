"""Read and write networks (safetensors, ``.npz``); no Qt, no pickle.

Their labelled data and the bundled networks are in :mod:`svdstudio.io.network_data`, the
Network lab's CSV exports in :mod:`svdstudio.io.network_exports`.

A file holds a PyTorch-style ``nn.Sequential`` state dict: keys ``N.weight`` / ``N.bias`` in
order of N (2-D weight = Linear, 4-D = Conv2d, 1-D with ``running_mean``/``running_var`` =
BatchNorm). A file of only Linear layers needs no description: it is an MLP with ReLU between
the layers. Anything else is described by architecture JSON, in the safetensors
``__metadata__["svdstudio.architecture"]``, in an ``.npz`` key of that name, or in a sidecar
``MODEL.json`` beside ``MODEL.safetensors`` (see :func:`parse_architecture`, and the README).
``.pt``/``.pth``/``.ckpt`` files are refused: loading them runs pickled code.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.engine.network.inference import check_network
from svdstudio.engine.network.layers import (
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool,
    Network,
    ReLU,
)
from svdstudio.io.safetensors import SafetensorsError, read_safetensors, write_safetensors

__all__ = [
    "ARCHITECTURE_KEY",
    "BUNDLED_NETWORKS",
    "NETWORK_EXTENSIONS",
    "PYTORCH_RECIPE",
    "REFUSED_EXTENSIONS",
    "NetworkFileError",
    "architecture_of",
    "build_network",
    "looks_like_state_dict",
    "parse_architecture",
    "read_network",
    "state_dict_of",
    "write_network",
]

ARCHITECTURE_KEY = "svdstudio.architecture"
DATA_KEY = "svdstudio.data"
NETWORK_EXTENSIONS = frozenset({".safetensors", ".npz"})
REFUSED_EXTENSIONS = frozenset({".pt", ".pth", ".ckpt"})
BUNDLED_NETWORKS = ("digits-mlp", "digits-cnn", "mnist-mlp", "mnist-cnn")
SPLITS = ("train", "val", "test")

PYTORCH_RECIPE = """\
import json; from safetensors.torch import save_file
K = ("stride", "padding", "kernel_size", "eps")  # model: an nn.Sequential, in eval() mode
layers = [dict(type=type(m).__name__, name=n, **{k: getattr(m, k) for k in K if hasattr(m, k)})
          for n, m in model.named_children()]
arch = json.dumps({"input_shape": [1, 28, 28], "input_scale": 1 / 255, "layers": layers})
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, "model.safetensors",
          metadata={"svdstudio.architecture": arch})"""

_MAX_LAYERS = 10_000


class NetworkFileError(ValueError):
    """A network or data file that cannot be used; the message names the file, key or layer."""


def refusal_message(path: Path) -> str:
    """Why a PyTorch pickle is refused, and how to convert it."""
    return (
        f"{path}: SVD Studio does not open {path.suffix} files: they are Python pickles, and "
        "loading one runs whatever code it contains. Convert it once, where PyTorch is "
        "installed and you trust the file: "
        "from safetensors.torch import save_file; "
        "save_file(model.state_dict(), 'model.safetensors') "
        "(add the architecture as metadata for anything but a plain MLP; see the README)"
    )


# ---------------------------------------------------------------------------------------------
# Raw state dicts


def _natural(prefix: str) -> list[tuple[int, object]]:
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", prefix) if t]


MAX_ARRAY_BYTES = 1024**3


def check_npz_headers(p: Path) -> None:
    """Check every member's declared shape against its real size and a cap, before loading:
    numpy allocates what an .npy header declares before reading the data."""
    try:
        with zipfile.ZipFile(p) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                key = info.filename[:-4]
                with zf.open(info) as fh:
                    try:
                        version = np.lib.format.read_magic(fh)
                        if version == (1, 0):
                            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                        else:
                            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    except ValueError as exc:
                        raise NetworkFileError(
                            f"{p}: key {key!r} is not a valid array ({exc})"
                        ) from None
                if dtype.hasobject:
                    raise NetworkFileError(
                        f"{p}: key {key!r} holds Python objects, which are never unpickled"
                    )
                nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if nbytes > MAX_ARRAY_BYTES or nbytes > info.file_size:
                    raise NetworkFileError(
                        f"{p}: key {key!r} declares {nbytes} bytes but its member holds "
                        f"{info.file_size} (limit {MAX_ARRAY_BYTES}); the file is damaged"
                    )
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise NetworkFileError(f"{p}: not a readable .npz archive ({exc})") from None


def _read_npz(p: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    check_npz_headers(p)
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:  # object arrays need pickle: refused
        raise NetworkFileError(
            f"{p}: holds Python objects, which are never unpickled ({exc})"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise NetworkFileError(f"{p}: not a readable .npz archive ({exc})") from None
    meta = {}
    for key in (ARCHITECTURE_KEY, DATA_KEY):
        if key in arrays:
            value = arrays.pop(key)
            if value.dtype.kind not in "US" or value.ndim != 0:
                raise NetworkFileError(f"{p}: key {key!r} must hold one string")
            meta[key] = str(value)
    return arrays, meta


def read_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and string metadata of a ``.safetensors`` or ``.npz`` network file."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in REFUSED_EXTENSIONS:
        raise NetworkFileError(refusal_message(p))
    if suffix not in NETWORK_EXTENSIONS:
        raise NetworkFileError(
            f"{p}: not a network file; SVD Studio reads .safetensors and .npz state dicts"
        )
    if not p.is_file():
        raise NetworkFileError(f"{p}: no such file")
    if suffix == ".npz":
        return _read_npz(p)
    try:
        return read_safetensors(p)
    except SafetensorsError as exc:
        raise NetworkFileError(str(exc)) from None


def looks_like_state_dict(path: str | os.PathLike[str]) -> bool:
    """Whether an ``.npz`` holds keys like ``0.weight`` (a network), by its member names only."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.endswith(".weight") for n in names) and all(
        n.rsplit(".", 1)[-1] in _PARAM_SUFFIXES or n in (ARCHITECTURE_KEY, DATA_KEY) for n in names
    )


_PARAM_SUFFIXES = frozenset(
    {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
)


# ---------------------------------------------------------------------------------------------
# Architecture JSON

_TYPES = {
    "linear": "dense",
    "dense": "dense",
    "conv2d": "conv2d",
    "conv": "conv2d",
    "relu": "relu",
    "maxpool2d": "maxpool",
    "maxpool": "maxpool",
    "flatten": "flatten",
    "batchnorm1d": "batchnorm",
    "batchnorm2d": "batchnorm",
    "batchnorm": "batchnorm",
    "dropout": None,  # identity at inference
    "identity": None,
    "softmax": None,  # monotone: argmax unchanged
    "logsoftmax": None,
}


def _pair(value: object, what: str, where: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (int(value[0]), int(value[1]))
    raise NetworkFileError(
        f"{where}: {what} must be an integer or a pair of integers, not {value!r}"
    )


def parse_architecture(text: str, source: str) -> dict[str, Any]:
    """Parse and validate architecture JSON; returns a plain dict with normalised layers.

    Format: ``{"input_shape": [C, H, W] or [features], "input_scale": 1, "input_offset": 0,
    "classes": [...], "title": "...", "layers": [{"type": "Conv2d", "name": "0", "stride": 1,
    "padding": 1}, {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2}, {"type":
    "Flatten"}, {"type": "Linear", "name": "4"}, ...]}``. Types are PyTorch's class names (any
    case); Dropout, Identity and Softmax are skipped.
    """
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NetworkFileError(f"{source}: the architecture is not valid JSON ({exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise NetworkFileError(f"{source}: the architecture must be an object with a 'layers' list")
    if len(spec["layers"]) > _MAX_LAYERS:
        raise NetworkFileError(f"{source}: more than {_MAX_LAYERS} layers")
    out: dict[str, Any] = {"layers": []}
    shape = spec.get("input_shape")
    if shape is not None:
        if (
            not isinstance(shape, list)
            or len(shape) not in (1, 3)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise NetworkFileError(
                f"{source}: input_shape must be [features] or [channels, height, width] of "
                f"positive integers, not {shape!r}"
            )
        out["input_shape"] = tuple(shape)
    for key in ("input_scale", "input_offset"):
        if key in spec:
            value = spec[key]
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not np.isfinite(value)
            ):
                raise NetworkFileError(f"{source}: {key} must be a finite number, not {value!r}")
            out[key] = float(value)
    if "classes" in spec:
        classes = spec["classes"]
        if not isinstance(classes, list):
            raise NetworkFileError(f"{source}: classes must be a list of names")
        out["classes"] = tuple(str(c) for c in classes)
    out["title"] = str(spec.get("title", ""))
    for i, entry in enumerate(spec["layers"]):
        where = f"{source}: layer {i + 1} of the architecture"
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise NetworkFileError(f"{where} must be an object with a 'type'")
        t = entry["type"].strip().lower()
        if t not in _TYPES:
            raise NetworkFileError(
                f"{where} has type {entry['type']!r}; supported: Linear, Conv2d, ReLU, "
                "MaxPool2d, Flatten, BatchNorm1d/2d, Dropout, Identity, Softmax"
            )
        kind = _TYPES[t]
        if kind is None:
            continue
        layer: dict[str, Any] = {
            "kind": kind,
            "name": None if entry.get("name") is None else str(entry["name"]),
        }
        if kind == "conv2d":
            layer["stride"] = _pair(entry.get("stride", 1), "stride", where)
            layer["padding"] = _pair(entry.get("padding", 0), "padding", where)
            for key in ("dilation", "groups"):
                if entry.get(key, 1) not in (1, [1, 1], (1, 1)):
                    raise NetworkFileError(f"{where}: {key} other than 1 is not supported")
        elif kind == "maxpool":
            size = _pair(entry.get("kernel_size", entry.get("size", 2)), "kernel_size", where)
            stride = entry.get("stride")
            layer["size"] = size
            layer["stride"] = size if stride is None else _pair(stride, "stride", where)
            if _pair(entry.get("padding", 0), "padding", where) != (0, 0):
                raise NetworkFileError(f"{where}: max pooling with padding is not supported")
        elif kind == "batchnorm":
            eps = entry.get("eps", 1e-5)
            if not isinstance(eps, int | float) or eps < 0:
                raise NetworkFileError(f"{where}: eps must be a non-negative number")
            layer["eps"] = float(eps)
        for key in ("stride", "padding", "size"):
            if key in layer and min(layer[key]) < (0 if key == "padding" else 1):
                raise NetworkFileError(f"{where}: {key} {layer[key]} is out of range")
        out["layers"].append(layer)
    return out


def _group(state: dict[str, np.ndarray], source: str) -> dict[str, dict[str, np.ndarray]]:
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        prefix, _, param = key.rpartition(".")
        if not prefix or param not in _PARAM_SUFFIXES:
            raise NetworkFileError(
                f"{source}: key {key!r} is not a state-dict entry (expected N.weight, N.bias, "
                "N.running_mean, N.running_var)"
            )
        if param == "num_batches_tracked":
            continue
        if value.dtype.kind not in "fiu":
            raise NetworkFileError(f"{source}: key {key!r} holds {value.dtype}, not numbers")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad = int(np.count_nonzero(~np.isfinite(value)))
            raise NetworkFileError(
                f"{source}: key {key!r} holds {bad} non-finite value(s) (NaN or ±inf); the "
                "weights are damaged"
            )
        groups.setdefault(prefix, {})[param] = value
    for prefix, params in groups.items():
        if "weight" not in params:
            raise NetworkFileError(f"{source}: layer {prefix} has no {prefix}.weight")
    return dict(sorted(groups.items(), key=lambda kv: _natural(kv[0])))


def _param_layer(
    kind: str, prefix: str, params: dict[str, np.ndarray], spec: dict[str, Any], source: str
) -> Layer:
    w = params["weight"]
    b = params.get("bias")
    where = f"{source}: layer {prefix}"
    if kind == "dense":
        if w.ndim != 2:
            raise NetworkFileError(f"{where} is Linear but {prefix}.weight is {w.ndim}-D {w.shape}")
        if b is not None and b.shape != (w.shape[0],):
            raise NetworkFileError(
                f"{where}: {prefix}.bias has shape {b.shape}, expected ({w.shape[0]},)"
            )
        return Dense(w, b, prefix)
    if kind == "conv2d":
        if w.ndim != 4:
            raise NetworkFileError(f"{where} is Conv2d but {prefix}.weight is {w.ndim}-D {w.shape}")
        if b is not None and b.shape != (w.shape[0],):
            raise NetworkFileError(
                f"{where}: {prefix}.bias has shape {b.shape}, expected ({w.shape[0]},)"
            )
        return Conv2d(w, b, spec.get("stride", (1, 1)), spec.get("padding", (0, 0)), prefix)
    # batch norm: scale = γ / sqrt(var + eps), shift = β − mean·scale
    missing = [k for k in ("running_mean", "running_var") if k not in params]
    if w.ndim != 1 or missing:
        raise NetworkFileError(
            f"{where} is BatchNorm but needs 1-D {prefix}.weight, {prefix}.running_mean and "
            f"{prefix}.running_var" + (f" (missing {', '.join(missing)})" if missing else "")
        )
    n = w.shape[0]
    for key in ("bias", "running_mean", "running_var"):
        if key in params and params[key].shape != (n,):
            raise NetworkFileError(f"{where}: {prefix}.{key} must have shape ({n},)")
    var = params["running_var"].astype(np.float64)
    if np.any(var < 0):
        raise NetworkFileError(f"{where}: {prefix}.running_var has negative entries")
    scale = w.astype(np.float64) / np.sqrt(var + spec.get("eps", 1e-5))
    beta = params.get("bias", np.zeros(n))
    shift = beta - params["running_mean"] * scale
    return BatchNorm(scale, shift, prefix)


def _fold(layers: list[Layer]) -> list[Layer]:
    """Fold each batch norm into the dense or conv layer right before it."""
    out: list[Layer] = []
    for layer in layers:
        prev = out[-1] if out else None
        if (
            isinstance(layer, BatchNorm)
            and isinstance(prev, Dense | Conv2d)
            and prev.weight.shape[0] == layer.scale.size
        ):
            s = layer.scale.astype(np.float64)
            shape = (-1,) + (1,) * (prev.weight.ndim - 1)
            w = prev.weight * s.reshape(shape)
            b = (0 if prev.bias is None else prev.bias) * s + layer.shift
            if isinstance(prev, Dense):
                out[-1] = Dense(w, b, prev.name)
            else:
                out[-1] = Conv2d(w, b, prev.stride, prev.padding, prev.name)
            continue
        out.append(layer)
    return out


def build_network(
    state: dict[str, np.ndarray], architecture: dict[str, Any] | None, source: str
) -> Network:
    """A :class:`Network` from a state dict and an optional parsed architecture."""
    groups = _group(state, source)
    if not groups:
        raise NetworkFileError(f"{source}: holds no weights")
    if architecture is None:
        odd = [p for p, g in groups.items() if g["weight"].ndim != 2]
        if odd:
            raise NetworkFileError(
                f"{source}: layer {odd[0]} has a {groups[odd[0]]['weight'].ndim}-D weight; "
                f"anything but a plain MLP needs its architecture as JSON (in the safetensors "
                f"metadata under {ARCHITECTURE_KEY!r} or in a sidecar {Path(source).stem}.json)"
            )
        spec_layers = []
        for i, prefix in enumerate(groups):
            if i:
                spec_layers.append({"kind": "relu", "name": None})
            spec_layers.append({"kind": "dense", "name": prefix})
        architecture = {"layers": spec_layers}
    unused = list(groups)
    layers: list[Layer] = []
    for spec in architecture["layers"]:
        kind = spec["kind"]
        if kind in ("dense", "conv2d", "batchnorm"):
            prefix = spec["name"]
            if prefix is None:
                if not unused:
                    raise NetworkFileError(
                        f"{source}: the architecture has more {kind} layers than the file "
                        "has weights"
                    )
                prefix = unused[0]
            if prefix not in groups:
                raise NetworkFileError(
                    f"{source}: the architecture names layer {prefix!r} but the file has no "
                    f"{prefix}.weight (layers in the file: {', '.join(groups)})"
                )
            if prefix not in unused:
                raise NetworkFileError(f"{source}: layer {prefix!r} is used twice")
            unused.remove(prefix)
            layers.append(_param_layer(kind, prefix, groups[prefix], spec, source))
        elif kind == "relu":
            layers.append(ReLU())
        elif kind == "maxpool":
            layers.append(MaxPool(spec["size"], spec["stride"]))
        elif kind == "flatten":
            layers.append(Flatten())
    if unused:
        raise NetworkFileError(
            f"{source}: the file has weights for layer(s) {', '.join(unused)} that the "
            "architecture does not use"
        )
    layers = _fold(layers)
    input_shape = architecture.get("input_shape")
    if input_shape is None:
        first = next(layer for layer in layers if isinstance(layer, Dense | Conv2d))
        if isinstance(first, Conv2d):
            raise NetworkFileError(
                f"{source}: a network that starts with a convolution needs input_shape "
                "[channels, height, width] in its architecture"
            )
        input_shape = (first.weight.shape[1],)
    net = Network(
        tuple(layers),
        input_shape,
        architecture.get("classes", ()),
        architecture.get("input_scale", 1.0),
        architecture.get("input_offset", 0.0),
        architecture.get("title", ""),
    )
    try:
        check_network(net)
    except ValueError as exc:
        raise NetworkFileError(f"{source}: {exc}") from None
    return net


def read_network(path: str | os.PathLike[str]) -> tuple[Network, dict[str, str]]:
    """Load a network file (and its sidecar ``MODEL.json`` if any); returns it and its metadata."""
    p = Path(path)
    state, meta = read_state_dict(p)
    text = meta.get(ARCHITECTURE_KEY)
    sidecar = p.with_suffix(".json")
    source = str(p)
    if text is None and sidecar.is_file():
        try:
            text = sidecar.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NetworkFileError(f"{sidecar}: cannot read the architecture ({exc})") from None
        source = f"{p} (architecture from {sidecar.name})"
    arch = None if text is None else parse_architecture(text, source)
    return build_network(state, arch, source), meta


# ---------------------------------------------------------------------------------------------
# Writing


def architecture_of(network: Network) -> dict[str, Any]:
    """The architecture JSON (as a dict) that describes ``network`` exactly."""
    layers: list[dict[str, Any]] = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            layers.append({"type": "Linear", "name": layer.name})
        elif isinstance(layer, Conv2d):
            layers.append(
                {
                    "type": "Conv2d",
                    "name": layer.name,
                    "stride": list(layer.stride),
                    "padding": list(layer.padding),
                }
            )
        elif isinstance(layer, BatchNorm):
            layers.append({"type": "BatchNorm2d", "name": layer.name, "eps": 0.0})
        elif isinstance(layer, ReLU):
            layers.append({"type": "ReLU"})
        elif isinstance(layer, MaxPool):
            layers.append(
                {"type": "MaxPool2d", "kernel_size": list(layer.size), "stride": list(layer.stride)}
            )
        elif isinstance(layer, Flatten):
            layers.append({"type": "Flatten"})
    spec: dict[str, Any] = {"input_shape": list(network.input_shape), "layers": layers}
    if network.input_scale != 1.0:
        spec["input_scale"] = network.input_scale
    if network.input_offset != 0.0:
        spec["input_offset"] = network.input_offset
    if network.classes:
        spec["classes"] = list(network.classes)
    if network.title:
        spec["title"] = network.title
    return spec


def state_dict_of(network: Network) -> dict[str, np.ndarray]:
    """The network's tensors under PyTorch-style keys (a batch norm as weight/bias, mean 0,
    var 1, with eps 0 in the architecture)."""
    out: dict[str, np.ndarray] = {}
    for i, layer in enumerate(network.layers):
        if isinstance(layer, Dense | Conv2d):
            name = layer.name or str(i)
            out[f"{name}.weight"] = layer.weight
            if layer.bias is not None:
                out[f"{name}.bias"] = layer.bias
        elif isinstance(layer, BatchNorm):
            name = layer.name or str(i)
            out[f"{name}.weight"] = layer.scale
            out[f"{name}.bias"] = layer.shift
            out[f"{name}.running_mean"] = np.zeros_like(layer.scale)
            out[f"{name}.running_var"] = np.ones_like(layer.scale)
    return out


def write_network(
    path: str | os.PathLike[str], network: Network, metadata: dict[str, str] | None = None
) -> None:
    """Save ``network`` as safetensors with its architecture in the metadata (atomic write).

    Unnamed dense/conv layers get their position as name.
    """
    named = tuple(
        _renamed(layer, str(i)) if not layer.name and layer.n_params else layer
        for i, layer in enumerate(network.layers)
    )
    network = network.replace(named)
    meta = dict(metadata or {})
    meta[ARCHITECTURE_KEY] = json.dumps(architecture_of(network))
    write_safetensors(path, state_dict_of(network), meta)


def _renamed(layer: Layer, name: str) -> Layer:
    if isinstance(layer, Dense):
        return Dense(layer.weight, layer.bias, name)
    if isinstance(layer, Conv2d):
        return Conv2d(layer.weight, layer.bias, layer.stride, layer.padding, name)
    if isinstance(layer, BatchNorm):
        return BatchNorm(layer.scale, layer.shift, name)
    return layer
