"""The SVD Studio image-factor file: a rank-k image in 8-bit quantized SVD factors.

Format (version 1), a NumPy ``.npz`` archive written with ``numpy.savez_compressed`` and
read with ``numpy.load(allow_pickle=False)`` (no pickled objects anywhere):

``header``
    0-d unicode array holding a JSON object::

        {"format": "svdstudio-image-factors", "version": 1,
         "mode": "gray" | "rgb" | "ycbcr", "channels": ["R", "G", "B"],
         "height": m, "width": n, "ranks": [k_1, ...],
         "quantization": "uint8 affine per singular vector",
         "chroma": "centred (Cb-128, Cr-128)", "source": "camera.png",
         "created_by": "SVD Studio 0.1.0"}

For each channel c = 0, 1, … (``ranks[c]`` = k):

``c{c}_s``                       float32 (k,)    singular values σ_1 ≥ … ≥ σ_k
``c{c}_u``                       uint8 (m, k)    quantized left vectors, column i is u_i
``c{c}_u_scale``/``_u_offset``   float32 (k,)    u_i ≈ offset_i + scale_i · q
``c{c}_vt``                      uint8 (k, n)    quantized right vectors, row i is v_iᵀ
``c{c}_vt_scale``/``_vt_offset`` float32 (k,)    v_i ≈ offset_i + scale_i · q
``c{c}_energy``                  float64 ()      ‖channel‖_F², so errors stay honest

Channel c of the image is Σ_i σ_i u_i v_iᵀ; in ``ycbcr`` mode chroma is centred on 0 and the
image is converted back with JPEG's full-range YCbCr → RGB matrix; ``gray`` is the BT.601 luma.
The payload is k(m + n + 20) bytes per channel before zip compression.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import IO

import numpy as np
from PIL import Image

from svdstudio import __version__
from svdstudio.engine.image import (
    CHANNEL_NAMES,
    ImageFactors,
    QuantizedChannel,
    dequantize_factors,
    quantize_factors,
)
from svdstudio.io.atomic import atomic_write
from svdstudio.io.safety import InputFileError, describe_size, open_regular_file, read_npy_header

__all__ = ["FACTOR_FILE_FILTER", "FORMAT_NAME", "FORMAT_VERSION", "load_factors", "save_factors"]

FORMAT_NAME = "svdstudio-image-factors"
FORMAT_VERSION = 1
FACTOR_FILE_FILTER = "SVD image factors (*.npz)"
#: Largest factor file, and largest total its members may inflate to (a rank-k factor file
#: of a 90-megapixel image at full rank stays far below).
MAX_FACTOR_BYTES = 2 * 2**30
_FIELDS = ("s", "u", "u_scale", "u_offset", "vt", "vt_scale", "vt_offset", "energy")


def save_factors(
    path: str | os.PathLike[str],
    factors: ImageFactors,
    k: int,
    chroma_k: int | None = None,
    *,
    source: str = "",
) -> dict[str, object]:
    """Quantize the rank-k factors and write them atomically to ``path``; returns the header."""
    quant = quantize_factors(factors, k, chroma_k)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "mode": factors.mode,
        "channels": list(factors.channel_names),
        "height": factors.height,
        "width": factors.width,
        "ranks": [int(q.s.shape[0]) for q in quant],
        "quantization": "uint8 affine per singular vector",
        "chroma": "centred (Cb-128, Cr-128)" if factors.mode == "ycbcr" else None,
        "source": os.path.basename(source),
        "created_by": f"SVD Studio {__version__}",
    }
    arrays: dict[str, np.ndarray] = {"header": np.array(json.dumps(header))}
    for c, q in enumerate(quant):
        arrays[f"c{c}_s"] = q.s
        arrays[f"c{c}_u"] = q.u_q
        arrays[f"c{c}_u_scale"] = q.u_scale
        arrays[f"c{c}_u_offset"] = q.u_offset
        arrays[f"c{c}_vt"] = q.vt_q
        arrays[f"c{c}_vt_scale"] = q.vt_scale
        arrays[f"c{c}_vt_offset"] = q.vt_offset
        arrays[f"c{c}_energy"] = np.array(q.total_energy, dtype=np.float64)
    with atomic_write(path) as f:
        np.savez_compressed(f, allow_pickle=False, **arrays)
    return header


def _bad(path: str, why: str) -> ValueError:
    return ValueError(f"{path}: not a valid SVD Studio factor file ({why})")


def _read_members(path: str, m_n_k: object = None) -> dict[str, np.ndarray]:
    """Every array of the archive, each checked (size, dtype) from its header before reading.

    Nothing is unpickled and nothing is inflated beyond the sizes the members declare, which
    must add up to at most :data:`MAX_FACTOR_BYTES`.
    """
    try:
        fh = open_regular_file(path, path, max_bytes=MAX_FACTOR_BYTES, what="factor files")
    except InputFileError as exc:
        raise ValueError(str(exc)) from None
    with fh:
        head = fh.read(8)
        fh.seek(0)
        if not head.startswith(b"PK"):
            what = "a single .npy array" if head.startswith(b"\x93NUMPY") else "not a zip archive"
            if not head:
                what = "empty"
            raise _bad(path, f"it is {what}; factor files are .npz archives written by SVD Studio")
        try:
            with zipfile.ZipFile(fh) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
                declared = sum(i.file_size for i in infos)
                if declared > MAX_FACTOR_BYTES:
                    raise _bad(
                        path,
                        f"its members would inflate to {describe_size(declared)}, above the "
                        f"{describe_size(MAX_FACTOR_BYTES)} limit (a zip bomb?)",
                    )
                data: dict[str, np.ndarray] = {}
                for info in infos:
                    name = info.filename
                    if not name.endswith(".npy"):
                        continue
                    key = name[:-4]
                    with zf.open(info) as member:
                        data[key] = _read_member(path, key, member, info.file_size)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise _bad(path, f"the archive is damaged: {exc}") from None
        except NotImplementedError as exc:  # e.g. an unsupported compression method
            raise _bad(path, f"the archive uses a feature that cannot be read: {exc}") from None
    return data


def _read_member(path: str, key: str, member: IO[bytes], size: int) -> np.ndarray:
    try:
        shape, dtype = read_npy_header(member, f"{path}: array {key}")
    except InputFileError as exc:
        raise _bad(path, f"array {key} {exc.reason.removeprefix('is ')}") from None
    if dtype.hasobject or dtype.kind not in "fuiU" or dtype.fields is not None:
        raise _bad(path, f"array {key} holds {dtype} values, not plain numbers")
    need = math.prod(shape) * dtype.itemsize
    if need > size:
        raise _bad(
            path,
            f"array {key} declares {describe_size(need)} of data but its member holds "
            f"{describe_size(size)}",
        )
    try:
        member.seek(0)  # back to the magic: read_array parses the header again
        return np.lib.format.read_array(member, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _bad(path, f"array {key} is damaged ({exc})") from None


def load_factors(path: str | os.PathLike[str]) -> tuple[ImageFactors, dict[str, object]]:
    """Read a factor file; returns dequantized (partial) factors and the header dict.

    Raises ValueError naming the file for anything that is not a valid version-1 file; sizes
    (of the file, of each member, of the declared image) are checked before anything is read.
    """
    spath = str(path)
    data = _read_members(spath)
    if "header" not in data:
        raise _bad(spath, "no header")
    try:
        header = json.loads(str(data["header"]))
    except json.JSONDecodeError:
        raise _bad(spath, "the header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise _bad(spath, "wrong format name")
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{spath}: factor file version {header.get('version')!r} is not supported "
            f"(this SVD Studio reads version {FORMAT_VERSION})"
        )
    mode = header.get("mode")
    if mode not in CHANNEL_NAMES:
        raise _bad(spath, f"unknown mode {mode!r}")
    try:
        m, n = int(header["height"]), int(header["width"])
        ranks = [int(r) for r in header["ranks"]]
    except (KeyError, TypeError, ValueError):
        raise _bad(spath, "header lacks height, width or ranks") from None
    if len(ranks) != len(CHANNEL_NAMES[mode]) or m < 1 or n < 1:
        raise _bad(spath, "header shape or ranks do not match the mode")
    limit = Image.MAX_IMAGE_PIXELS or 0
    if limit and m * n > limit:
        raise _bad(
            spath,
            f"it declares a {n}×{m} image = {m * n:,} pixels, above the safety limit of "
            f"{limit:,} pixels",
        )
    if any(not 0 <= k <= min(m, n) for k in ranks):
        raise _bad(spath, f"ranks {ranks} do not fit a {n}×{m} image")
    channels = []
    for c, k in enumerate(ranks):
        try:
            f = {name: data[f"c{c}_{name}"] for name in _FIELDS}
        except KeyError as exc:
            raise _bad(spath, f"missing array {exc.args[0]}") from None
        expect = {
            "s": ((k,), "f"),
            "u": ((m, k), "u"),
            "u_scale": ((k,), "f"),
            "u_offset": ((k,), "f"),
            "vt": ((k, n), "u"),
            "vt_scale": ((k,), "f"),
            "vt_offset": ((k,), "f"),
            "energy": ((), "f"),
        }
        for name, (shape, kind) in expect.items():
            a = f[name]
            if a.shape != shape or a.dtype.kind != kind:
                raise _bad(spath, f"array c{c}_{name} has shape {a.shape}, type {a.dtype}")
            if kind == "f" and not np.all(np.isfinite(a)):
                raise _bad(spath, f"array c{c}_{name} holds NaN or inf")
        channels.append(
            QuantizedChannel(
                u_q=f["u"],
                u_scale=f["u_scale"].astype(np.float32),
                u_offset=f["u_offset"].astype(np.float32),
                s=f["s"].astype(np.float32),
                vt_q=f["vt"],
                vt_scale=f["vt_scale"].astype(np.float32),
                vt_offset=f["vt_offset"].astype(np.float32),
                total_energy=float(f["energy"]),
            )
        )
    return dequantize_factors(mode, m, n, channels), header
