"""Labelled data for networks (``.npz`` with ``x`` and ``y``) and the bundled networks with their
splits; no Qt, no pickle."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svdstudio.engine.network.layers import Network
from svdstudio.engine.network.scoring import check_labels
from svdstudio.io.networks import (
    BUNDLED_NETWORKS,
    DATA_KEY,
    SPLITS,
    NetworkFileError,
    check_npz_headers,
    read_network,
)
from svdstudio.resources import resource_path

__all__ = [
    "BundledNetwork",
    "LabelledData",
    "load_bundled_network",
    "load_network_with_data",
    "read_labelled_data",
    "resolve_network",
]


@dataclass(frozen=True, eq=False)
class LabelledData:
    """Samples ``x`` (N × features or N × C × H × W, raw) and integer labels ``y``."""

    x: np.ndarray
    y: np.ndarray
    source: str

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def _check_xy(x: np.ndarray, y: np.ndarray, source: str, n_classes: int | None) -> LabelledData:
    if x.dtype.kind not in "fiub":
        raise NetworkFileError(f"{source}: x holds {x.dtype}, not numbers")
    if x.ndim not in (2, 3, 4):
        raise NetworkFileError(
            f"{source}: x must be N × features, N × H × W or N × C × H × W, not "
            f"{x.ndim}-D {x.shape}"
        )
    if x.shape[0] == 0:
        raise NetworkFileError(f"{source}: x holds no samples")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        row = int(np.flatnonzero(~np.all(np.isfinite(x.reshape(x.shape[0], -1)), axis=1))[0])
        raise NetworkFileError(f"{source}: x has NaN or ±inf in sample {row}")
    if y.shape != (x.shape[0],):
        raise NetworkFileError(
            f"{source}: y must hold one label per sample ({x.shape[0]}), not shape {y.shape}"
        )
    try:
        y = check_labels(y, n_classes if n_classes is not None else 2**62, source)
    except ValueError as exc:
        raise NetworkFileError(str(exc)) from None
    return LabelledData(x, y, source)


def read_labelled_data(
    path: str | os.PathLike[str], n_classes: int | None = None, *, prefix: str = ""
) -> LabelledData:
    """``x`` and ``y`` (or ``x_<prefix>``/``y_<prefix>``) from an ``.npz``, checked."""
    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise NetworkFileError(f"{p}: data must be an .npz file with arrays x and y")
    if p.is_file():
        check_npz_headers(p)
    try:
        with np.load(p, allow_pickle=False) as npz:
            kx, ky = (f"x_{prefix}", f"y_{prefix}") if prefix else ("x", "y")
            missing = [k for k in (kx, ky) if k not in npz.files]
            if missing:
                raise NetworkFileError(
                    f"{p}: missing key {missing[0]!r}; a data file holds x (N × features or "
                    f"N × C × H × W) and integer labels y (keys in the file: "
                    f"{', '.join(npz.files) or 'none'})"
                )
            x, y = npz[kx], npz[ky]
    except NetworkFileError:
        raise
    except ValueError as exc:
        raise NetworkFileError(
            f"{p}: holds Python objects, which are never unpickled ({exc})"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise NetworkFileError(f"{p}: not a readable .npz archive ({exc})") from None
    return _check_xy(x, y, f"{p}" + (f" ({prefix} split)" if prefix else ""), n_classes)


@dataclass(frozen=True, eq=False)
class BundledNetwork:
    """A network with its train / val / test splits."""

    name: str
    path: Path
    network: Network
    splits: dict[str, LabelledData]


def resolve_network(spec: str) -> Path:
    """A bundled network name or a path, as a path."""
    if spec in BUNDLED_NETWORKS:
        return resource_path("networks", f"{spec}.safetensors")
    return Path(spec)


def load_network_with_data(path: str | os.PathLike[str]) -> BundledNetwork:
    """A network file and, when its metadata names a data file beside it, its splits."""
    p = Path(path)
    network, meta = read_network(p)
    splits: dict[str, LabelledData] = {}
    data_name = meta.get(DATA_KEY)
    if data_name:
        data_path = p.parent / Path(data_name).name
        n_classes = len(network.classes) or None
        for split in SPLITS:
            splits[split] = read_labelled_data(data_path, n_classes, prefix=split)
    name = p.stem
    return BundledNetwork(name, p, network, splits)


def load_bundled_network(name: str) -> BundledNetwork:
    """One of :data:`BUNDLED_NETWORKS` with its train / val / test splits."""
    if name not in BUNDLED_NETWORKS:
        raise NetworkFileError(
            f"no bundled network {name!r}; choose one of {', '.join(BUNDLED_NETWORKS)}"
        )
    return load_network_with_data(resource_path("networks", f"{name}.safetensors"))
