"""Hostile inputs, generated on demand in a test's tmp_path (nothing is stored in the repo).

Each maker returns the path it created.  ``PATH_CASES`` are paths that are not regular files
(or cannot be read) and must be refused by every reader *before* it reads a byte; a named pipe
among them would hang a reader that opened it naively.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "PATH_CASES",
    "denied_open",
    "factor_header",
    "factor_members",
    "make_path_case",
    "npy_bytes",
    "npy_declaring",
    "png_header",
    "sparse_file",
    "zip_with_member",
]

# Path case -> words the message must contain.
PATH_CASES = {
    "folder": "is a folder",
    "fifo": "named pipe",
    "device": "is a device",
    "loop": "loops back on itself",
    "dangling": "symbolic link to a file that does not exist",
    "missing": "no such file",
}


def make_path_case(tmp_path: Path, case: str, suffix: str) -> Path:
    """A path of kind ``case`` (see PATH_CASES) ending in ``suffix``."""
    p = tmp_path / f"{case}{suffix}"
    if case == "folder":
        p.mkdir()
    elif case == "fifo":
        os.mkfifo(p)
    elif case == "device":
        p.symlink_to("/dev/zero")  # endless zeros: a naive read never ends
    elif case == "loop":
        p.symlink_to(p)
    elif case == "dangling":
        p.symlink_to(tmp_path / "nowhere.bin")
    elif case != "missing":
        raise ValueError(case)
    return p


def denied_open(monkeypatch, path: Path) -> None:
    """Make opening ``path`` fail with PermissionError, as for a mode-000 file (even as root)."""
    real_open = os.open

    def fake(p, flags, *args, **kwargs):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake)


def sparse_file(path: Path, nbytes: int, head: bytes = b"1,2\n3,4\n") -> Path:
    """A file that claims ``nbytes`` but occupies a few disk blocks (a hole after ``head``)."""
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(nbytes)
    return path


def npy_declaring(
    path: Path, shape: tuple[int, ...], dtype: str = "<f8", data: bytes = b""
) -> Path:
    """A .npy file whose header declares ``shape`` of ``dtype`` followed by ``data`` only."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data)
    return path


def zip_with_member(path: Path, members: dict[str, bytes], *, compress: bool = True) -> Path:
    """A zip archive holding ``members`` (name -> bytes)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def npy_bytes(arr: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def factor_header(**changes: object) -> bytes:
    """The .npy bytes of a factor file's JSON header, with ``changes`` applied."""
    header = {
        "format": "svdstudio-image-factors",
        "version": 1,
        "mode": "gray",
        "channels": ["Y"],
        "height": 4,
        "width": 5,
        "ranks": [1],
    }
    header.update(changes)
    return npy_bytes(np.array(json.dumps(header)))


def factor_members(**overrides: bytes) -> dict[str, bytes]:
    """The members of a valid gray 4×5 rank-1 factor file, with some replaced by ``overrides``
    (name without ".npy" -> bytes)."""
    arrays = {
        "c0_s": np.array([3.0], np.float32),
        "c0_u": np.zeros((4, 1), np.uint8),
        "c0_u_scale": np.ones(1, np.float32),
        "c0_u_offset": np.zeros(1, np.float32),
        "c0_vt": np.zeros((1, 5), np.uint8),
        "c0_vt_scale": np.ones(1, np.float32),
        "c0_vt_offset": np.zeros(1, np.float32),
        "c0_energy": np.array(9.0),
    }
    members = {"header.npy": factor_header()}
    members.update({f"{k}.npy": npy_bytes(v) for k, v in arrays.items()})
    members.update({f"{k}.npy": v for k, v in overrides.items()})
    return members


def png_header(width: int, height: int) -> bytes:
    """The first chunks of a PNG declaring width × height (gray, 8-bit) and no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk_bytes(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    idat = zlib.compress(b"\x00" * 64)  # far too little data: only the header matters
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk_bytes(b"IHDR", ihdr)
        + chunk_bytes(b"IDAT", idat)
        + chunk_bytes(b"IEND", b"")
    )
