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

import contextlib
import json
import math
import os
import zipfile
from collections.abc import Iterator

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

__all__ = [
    "FACTOR_FILE_FILTER",
    "FACTOR_SAVE_FILTER",
    "FACTOR_SUFFIX",
    "FACTOR_SUFFIXES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load_factors",
    "save_factors",
]

FORMAT_NAME = "svdstudio-image-factors"
FORMAT_VERSION = 1
#: The suffix SVD Studio writes; ``.npz`` (the same archive) is read too.
FACTOR_SUFFIX = ".svdz"
FACTOR_SUFFIXES = (FACTOR_SUFFIX, ".npz")
#: File-dialog filters: opening accepts both suffixes, saving offers the one written.
FACTOR_FILE_FILTER = "SVD image factors (*.svdz *.npz)"
FACTOR_SAVE_FILTER = "SVD image factors (*.svdz)"
#: Largest factor file, and largest total its members may inflate to: a 90-megapixel colour
#: image at full rank needs about 540 MiB of uint8 factors.
MAX_FACTOR_BYTES = 1 * 2**30
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


@contextlib.contextmanager
def _archive(path: str) -> Iterator[zipfile.ZipFile]:
    """The factor file as an open zip archive, once its size and its members' declared sizes
    are known to be within :data:`MAX_FACTOR_BYTES` (a zip bomb is refused unread)."""
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
                declared = sum(i.file_size for i in zf.infolist())
                if declared > MAX_FACTOR_BYTES:
                    raise _bad(
                        path,
                        f"its members would inflate to {describe_size(declared)}, above the "
                        f"{describe_size(MAX_FACTOR_BYTES)} limit (a zip bomb?)",
                    )
                yield zf
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise _bad(path, f"the archive is damaged: {exc}") from None
        except NotImplementedError as exc:  # e.g. an unsupported compression method
            raise _bad(path, f"the archive uses a feature that cannot be read: {exc}") from None


def _member(
    zf: zipfile.ZipFile,
    path: str,
    key: str,
    shape: tuple[int, ...] | None = None,
    kinds: str = "fuiU",
) -> np.ndarray:
    """Array ``key`` of the archive; its npy header (dtype, and ``shape`` when given) is
    checked before anything is allocated, and nothing is unpickled."""
    try:
        info = zf.getinfo(f"{key}.npy")
    except KeyError:
        raise _bad(path, "no header" if key == "header" else f"missing array {key}") from None
    with zf.open(info) as member:
        try:
            found, dtype = read_npy_header(member, f"{path}: array {key}")
        except InputFileError as exc:
            raise _bad(path, f"array {key} {exc.reason.removeprefix('is ')}") from None
        if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None:
            raise _bad(path, f"array {key} holds {dtype} values, not the numbers expected")
        if shape is not None and found != shape:
            raise _bad(path, f"array {key} has shape {found}, type {dtype}; expected {shape}")
        need = math.prod(found) * dtype.itemsize
        if need > info.file_size:
            raise _bad(
                path,
                f"array {key} declares {describe_size(need)} of data but its member holds "
                f"{describe_size(info.file_size)}",
            )
        try:
            member.seek(0)  # back to the magic: read_array parses the header again
            return np.lib.format.read_array(member, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise _bad(path, f"array {key} is damaged ({exc})") from None


def load_factors(path: str | os.PathLike[str]) -> tuple[ImageFactors, dict[str, object]]:
    """Read a factor file; returns dequantized (partial) factors and the header dict.

    Raises ValueError naming the file for anything that is not a valid version-1 file.  Sizes
    are checked before anything is read: the file's, the members' declared ones, the image the
    header declares (within Pillow's bomb limit), then each array's shape from its npy header.
    """
    spath = str(path)
    with _archive(spath) as zf:
        header, mode, m, n, ranks = _read_header(zf, spath)
        channels = [_read_channel(zf, spath, c, k, m, n) for c, k in enumerate(ranks)]
    return dequantize_factors(mode, m, n, channels), header


def _read_header(
    zf: zipfile.ZipFile, spath: str
) -> tuple[dict[str, object], str, int, int, list[int]]:
    raw = _member(zf, spath, "header", (), kinds="U")
    try:
        header = json.loads(str(raw))
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
    if not isinstance(mode, str) or mode not in CHANNEL_NAMES:
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
    return header, mode, m, n, ranks


def _read_channel(
    zf: zipfile.ZipFile, spath: str, c: int, k: int, m: int, n: int
) -> QuantizedChannel:
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
    f: dict[str, np.ndarray] = {}
    for name, (shape, kind) in expect.items():
        a = _member(zf, spath, f"c{c}_{name}", shape, kinds=kind)
        if kind == "f" and not np.all(np.isfinite(a)):
            raise _bad(spath, f"array c{c}_{name} holds NaN or inf")
        f[name] = a
    return QuantizedChannel(
        u_q=f["u"],
        u_scale=f["u_scale"].astype(np.float32),
        u_offset=f["u_offset"].astype(np.float32),
        s=f["s"].astype(np.float32),
        vt_q=f["vt"],
        vt_scale=f["vt_scale"].astype(np.float32),
        vt_offset=f["vt_offset"].astype(np.float32),
        total_energy=float(f["energy"]),
    )
