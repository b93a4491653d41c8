"""A numpy reader and writer for the safetensors format (no torch, no safetensors package).

Layout: an 8-byte little-endian header length N, N bytes of JSON (per tensor: ``dtype``,
``shape``, ``data_offsets`` [begin, end) into the data section; optional ``__metadata__``, a map
of strings), then the raw little-endian tensor bytes. Everything the header declares is checked
against the file's real size and against caps *before* anything is allocated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from svdstudio.io.atomic import atomic_write

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_TENSOR_BYTES",
    "SafetensorsError",
    "read_safetensors",
    "write_safetensors",
]

MAX_HEADER_BYTES = 16 * 1024 * 1024  # real headers are a few KiB; a bigger one is damage or abuse
MAX_TENSOR_BYTES = 2 * 1024**3

_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",  # widened to float32 below
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
_NAMES = {np.dtype(v).str: k for k, v in _DTYPES.items() if k != "BF16"} | {"|b1": "BOOL"}


class SafetensorsError(ValueError):
    """A damaged or unsupported safetensors file; the message names the file and the key."""


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors by name (in header order) and the ``__metadata__`` map of a safetensors file."""
    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise SafetensorsError(f"{p}: too short to be a safetensors file ({size} bytes)")
        n = int.from_bytes(head, "little")
        if n > size - 8 or n > MAX_HEADER_BYTES:
            raise SafetensorsError(
                f"{p}: the header claims {n} bytes but the file has {size - 8} after the length "
                f"(limit {MAX_HEADER_BYTES}); the file is damaged or not a safetensors file"
            )
        raw = fh.read(n)
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SafetensorsError(f"{p}: the header is not valid JSON ({exc})") from None
        if not isinstance(header, dict):
            raise SafetensorsError(f"{p}: the header must be a JSON object")
        meta = header.pop("__metadata__", None) or {}
        if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
        ):
            raise SafetensorsError(f"{p}: __metadata__ must map strings to strings")
        data_size = size - 8 - n
        plan = []
        for key, info in header.items():
            plan.append((key, *_check_entry(p, key, info, data_size)))
        tensors: dict[str, np.ndarray] = {}
        for key, dtype, shape, begin, end in sorted(plan, key=lambda t: t[3]):
            fh.seek(8 + n + begin)
            buf = fh.read(end - begin)
            if len(buf) != end - begin:
                raise SafetensorsError(f"{p}: tensor {key!r} is cut short (truncated file)")
            arr = np.frombuffer(buf, dtype=_DTYPES[dtype]).reshape(shape)
            if dtype == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            tensors[key] = arr.copy()
    order = [t[0] for t in plan]
    return {k: tensors[k] for k in order}, dict(meta)


def _check_entry(
    p: Path, key: str, info: object, data_size: int
) -> tuple[str, tuple[int, ...], int, int]:
    if not isinstance(info, dict):
        raise SafetensorsError(f"{p}: header entry {key!r} must be an object")
    dtype = info.get("dtype")
    if dtype not in _DTYPES:
        raise SafetensorsError(
            f"{p}: tensor {key!r} has dtype {dtype!r}; supported: {', '.join(_DTYPES)}"
        )
    shape = info.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise SafetensorsError(f"{p}: tensor {key!r} has an invalid shape {shape!r}")
    offsets = info.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise SafetensorsError(f"{p}: tensor {key!r} has invalid data_offsets {offsets!r}")
    begin, end = offsets
    count = 1
    for d in shape:
        count *= d
    nbytes = count * np.dtype(_DTYPES[dtype]).itemsize
    if nbytes > MAX_TENSOR_BYTES:
        raise SafetensorsError(
            f"{p}: tensor {key!r} declares {nbytes} bytes, over the limit of {MAX_TENSOR_BYTES}"
        )
    if not 0 <= begin <= end <= data_size:
        raise SafetensorsError(
            f"{p}: tensor {key!r} lies at bytes {begin}–{end} but the data section has "
            f"{data_size} bytes (truncated or damaged file)"
        )
    if end - begin != nbytes:
        raise SafetensorsError(
            f"{p}: tensor {key!r} of shape {shape} and dtype {dtype} needs {nbytes} bytes but "
            f"its offsets span {end - begin}"
        )
    return dtype, tuple(shape), begin, end


def write_safetensors(
    path: str | os.PathLike[str],
    tensors: dict[str, np.ndarray],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``tensors`` (numeric numpy arrays) and string ``metadata`` atomically."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for key, value in tensors.items():
        arr = np.ascontiguousarray(value)
        name = _NAMES.get(
            arr.dtype.newbyteorder("<").str if arr.dtype.itemsize > 1 else arr.dtype.str
        )
        if name is None:
            raise ValueError(f"tensor {key!r}: dtype {arr.dtype} cannot be stored in safetensors")
        arr = arr.astype(np.dtype(_DTYPES[name]), copy=False)
        data = arr.tobytes()
        header[key] = {
            "dtype": name,
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data section starts 8-byte aligned
    with atomic_write(path, "wb") as fh:
        fh.write(len(raw).to_bytes(8, "little"))
        fh.write(raw)
        for data in blobs:
            fh.write(data)
