"""Which tab opens a file: ``classify_path(path)`` → "image" | "matrix" | "dataset" | "factors" |
"network".

Rules (no Qt here, so the CLI and tests can use it too):

* By extension, case-insensitive: images (``.png .jpg .jpeg .tif .tiff .bmp .gif .webp .ppm .pgm
  .pbm .pnm .tga``, the Image tab's list), ``.npy`` → matrix, ``.npz``/``.svdz`` → saved factors,
  ``.safetensors`` → network, and an ``.npz`` whose members look like a state dict (``0.weight``
  ...) → network. ``.pt .pth .ckpt`` (PyTorch pickles) raise ``ValueError`` with the recipe to
  convert them: loading them would run code.
* Text tables (``.csv .tsv .tab .txt .dat``) are sniffed from their first 64 KiB: the delimiter is
  the one of tab, comma, semicolon or whitespace that splits the lines most consistently; if the
  first row has a non-numeric cell it is a header. A table **with a header and at least one
  non-numeric column** (most of that column's cells are text, e.g. a class label) is a
  ``"dataset"``, and so is one whose header names a whole-number column as the class
  (``label``, ``class``, ``target``, ``species``, ``digit``, ``category``: e.g. the bundled Digits
  table, whose ``digit`` column holds 0–9); anything else (all numbers, with or without a header)
  is a ``"matrix"`` — the matrix reader then names any stray non-numeric cell.
* Anything else raises ``ValueError`` with a message that names the file and lists what is
  accepted.
  A path that is not a readable regular file (missing, a folder, a link loop, a named pipe, a
  device, unreadable) raises ``InputFileError``, a ``ValueError`` naming the path; nothing that
  could block (a pipe) is ever opened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from svdstudio.io.safety import InputFileError, check_regular_file, decode_text, open_regular_file

__all__ = [
    "DATASET",
    "FACTORS",
    "FACTORS_EXTENSIONS",
    "IMAGE",
    "IMAGE_EXTENSIONS",
    "KINDS",
    "LABEL_COLUMN_NAMES",
    "MATRIX",
    "MATRIX_EXTENSIONS",
    "MIME_TYPES",
    "NETWORK",
    "NETWORK_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "classify_path",
    "classify_table_text",
    "supported_extensions",
]

IMAGE = "image"
MATRIX = "matrix"
DATASET = "dataset"
FACTORS = "factors"
NETWORK = "network"
KINDS = (IMAGE, MATRIX, DATASET, FACTORS, NETWORK)

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
    | {".ppm", ".pgm", ".pbm", ".pnm", ".tga"}
)
MATRIX_EXTENSIONS = frozenset({".npy"})
FACTORS_EXTENSIONS = frozenset({".npz", ".svdz"})
TABLE_EXTENSIONS = frozenset({".csv", ".tsv", ".tab", ".txt", ".dat"})
NETWORK_EXTENSIONS = frozenset({".safetensors"})
_PICKLE_EXTENSIONS = frozenset({".pt", ".pth", ".ckpt"})

# Freedesktop MIME types the Linux launcher (packaging/linux) registers for, kept here so a test can
# check the .desktop file against this module. text/plain (.txt) and application/zip (.npz) are
# left out on purpose: claiming them would put SVD Studio in "Open with" for every text file and
# archive. application/x-npy and application/x-svdstudio-factors are defined by
# packaging/linux/io.github.svdstudio.SVDStudio.xml.
MIME_TYPES = (
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/bmp",
    "image/gif",
    "image/webp",
    "image/x-portable-pixmap",
    "image/x-portable-graymap",
    "image/x-portable-bitmap",
    "image/x-portable-anymap",
    "image/x-tga",
    "text/csv",
    "text/tab-separated-values",
    "application/x-npy",
    "application/x-svdstudio-factors",
)

# Header names that mark a numeric column as class labels. A subset of the dataset reader's
# names (svdstudio.io.datasets): "y" is left out, since "x,y" over numbers is a plain matrix.
LABEL_COLUMN_NAMES = frozenset(
    {"label", "labels", "class", "target", "species", "digit", "category"}
)

_KNOWN = IMAGE_EXTENSIONS | MATRIX_EXTENSIONS | FACTORS_EXTENSIONS | TABLE_EXTENSIONS
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 60
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_SPECIAL = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "-infinity"})


def supported_extensions() -> tuple[str, ...]:
    """Every extension ``classify_path`` accepts, sorted (e.g. for an "All supported" filter)."""
    return tuple(
        sorted(
            IMAGE_EXTENSIONS
            | MATRIX_EXTENSIONS
            | FACTORS_EXTENSIONS
            | TABLE_EXTENSIONS
            | NETWORK_EXTENSIONS
        )
    )


def classify_path(path: str | os.PathLike[str]) -> str:
    """Which tab should open ``path``: "image", "matrix", "dataset", "factors" or "network".

    Raises ``ValueError`` (one plain sentence naming the file) for an unsupported or empty file,
    ``OSError`` if a text table cannot be read.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        # Folders, link loops, pipes and devices are named before any open (a pipe would hang).
        check_regular_file(p)
    except InputFileError as exc:
        if exc.reason.startswith("is a folder"):
            raise ValueError(f"{p}: is a folder; choose a file to open") from None
        if suffix in _KNOWN or exc.reason != "no such file":
            raise
    if suffix in IMAGE_EXTENSIONS:
        return IMAGE
    if suffix in MATRIX_EXTENSIONS:
        return MATRIX
    if suffix in NETWORK_EXTENSIONS:
        return NETWORK
    if suffix in _PICKLE_EXTENSIONS:
        from svdstudio.io.networks import refusal_message

        raise ValueError(refusal_message(p))
    if suffix in FACTORS_EXTENSIONS:
        if suffix == ".npz":
            from svdstudio.io.networks import looks_like_state_dict

            if looks_like_state_dict(p):
                return NETWORK
        return FACTORS
    if suffix in TABLE_EXTENSIONS:
        with open_regular_file(p) as fh:
            head = fh.read(_SNIFF_BYTES)
        if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
            # UTF-16/32 text: decode what was read (a unit cut at 64 KiB is dropped).
            for cut in range(4):
                try:
                    head_text, _ = decode_text(head[: len(head) - cut], str(p))
                    break
                except InputFileError:
                    continue
            else:
                raise ValueError(f"{p}: is not valid UTF-16 or UTF-32 text")
            return classify_table_text(head_text, truncated=len(head) == _SNIFF_BYTES)
        if not head.strip():
            raise ValueError(f"{p}: the file is empty; a matrix or dataset needs at least one row")
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a multi-byte char cut at the 64 KiB edge
                text = head.decode("latin-1")
            else:
                text = head[: exc.start].decode("utf-8-sig")
        truncated = len(head) == _SNIFF_BYTES
        return classify_table_text(text, truncated=truncated)
    what = f"'{suffix}' files" if suffix else "files without an extension"
    raise ValueError(
        f"{p}: SVD Studio cannot open {what}; it opens images "
        f"({_list(IMAGE_EXTENSIONS)}), matrices ({_list(MATRIX_EXTENSIONS | TABLE_EXTENSIONS)}), "
        f"datasets (.csv, .tsv with a label column), saved factors "
        f"({_list(FACTORS_EXTENSIONS)}) and networks (.safetensors, .npz state dicts)"
    )


def classify_table_text(text: str, *, truncated: bool = False) -> str:
    """Sniff delimited text: "dataset" if it has a header and a non-numeric column, else "matrix".

    ``truncated`` says the text was cut mid-file, so its last line is ignored.
    """
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    lines = lines[:_SNIFF_LINES]
    if not lines:
        return MATRIX
    rows = _split_rows(lines)
    has_header = any(cell and not _is_number(cell) for cell in rows[0])
    if not has_header or len(rows) < 2:
        return MATRIX
    data = rows[1:]
    width = max(len(r) for r in data)
    for col in range(width):
        cells = [r[col] for r in data if col < len(r) and r[col]]
        text_cells = sum(not _is_number(c) for c in cells)
        if cells and text_cells * 2 > len(cells):
            return DATASET
    for col, name in enumerate(rows[0]):
        if name.strip().lower() not in LABEL_COLUMN_NAMES:
            continue
        cells = [r[col] for r in data if col < len(r) and r[col]]
        if cells and all(_INTEGER.match(c) for c in cells):
            return DATASET
    return MATRIX


def _split_rows(lines: list[str]) -> list[list[str]]:
    """Split with the delimiter that gives the most consistent (and > 1) field count."""
    best: tuple[float, list[list[str]]] | None = None
    for delim in ("\t", ",", ";", None):
        rows = [_split(line, delim) for line in lines]
        counts = [len(r) for r in rows]
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        # Consistency first, then more columns; decimal commas make "," look plausible in
        # "1,5;2,5" files, but ";" then gives an equally consistent split with numeric cells.
        numeric = sum(_is_number(c) for r in rows[1:] for c in r)
        score = counts.count(modal) / len(counts) + 1e-3 * numeric / max(1, sum(counts))
        if best is None or score > best[0] + 1e-9:
            best = (score, rows)
    if best is None:
        return [[c.strip() for c in line.split()] or [line.strip()] for line in lines]
    return best[1]


def _split(line: str, delim: str | None) -> list[str]:
    parts = line.split() if delim is None else line.split(delim)
    return [p.strip().strip('"').strip("'").strip() for p in parts]


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell)) or cell.lower() in _SPECIAL


def _list(exts: frozenset[str] | set[str]) -> str:
    return ", ".join(sorted(exts))
