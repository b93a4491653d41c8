"""How a big table is laid out, from its head: columns, label, types, chunks (no Dask, no Qt).

One opener per format returns a :class:`TableLayout` for :class:`svdstudio.io.bigtables.BigTable`.
The decisions are the in-memory reader's (:mod:`svdstudio.io.datasets`), made by its own
functions on the head of the file (the first 256 KiB of a CSV, the first 2,000 rows of a
Parquet file): delimiter, header, column names, numeric/text/empty columns, the label column.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.io import datasets as _ds
from svdstudio.io.datasets import MISSING_TOKENS, DatasetError
from svdstudio.io.safety import InputFileError, check_regular_file

__all__ = ["TableLayout", "layout_of"]

_HEAD_BYTES = 256 << 10  # the head that decides delimiter, header, types and label
DEFAULT_CHUNK_BYTES = 64 << 20


@dataclass
class TableLayout:
    """A table's columns and chunks: ``chunks[i]`` is a row range (npy), a list of row groups
    (Parquet) or a byte range (CSV); ``options`` holds the format's reading details."""

    kind: str
    names: list[str]
    feature_cols: list[int]
    label_col: int | None
    chunks: list[Any]
    notices: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


def _check_file(p: Path) -> int:
    # The same answers as every other reader for folders, pipes, devices and broken links:
    # a pipe or /dev/zero would otherwise hang the chunked reader or never end.
    try:
        size = check_regular_file(p, str(p))
    except InputFileError as exc:
        raise DatasetError(str(exc)) from None
    if size == 0:
        raise DatasetError(f"{p}: the file is empty; expected a table of numbers")
    return size


def layout_of(
    path: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    no_label: bool = False,
    chunk_rows: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> TableLayout:
    """The layout of a table file, from its head; raise DatasetError for bad input.

    ``chunk_rows`` fixes the rows per chunk (CSV: an estimate from the head's line length);
    otherwise chunks hold about ``chunk_bytes`` of float64 features.
    """
    p = Path(path)
    size = _check_file(p)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return _open_npy(p, label_column, chunk_rows, chunk_bytes)
    if suffix in (".parquet", ".pq"):
        return _open_parquet(p, label_column, no_label, chunk_rows, chunk_bytes)
    return _open_csv(p, size, label_column, no_label, chunk_rows, chunk_bytes)


def _rows_per_chunk(chunk_rows: int | None, chunk_bytes: int, width: int) -> int:
    if chunk_rows is not None:
        if chunk_rows < 1:
            raise DatasetError(f"--chunk-rows must be at least 1; got {chunk_rows}")
        return int(chunk_rows)
    return max(1000, chunk_bytes // (8 * max(width, 1)))


def _open_npy(
    p: Path, label_column: str | int | None, chunk_rows: int | None, chunk_bytes: int
) -> TableLayout:
    try:
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise DatasetError(f"{p}: not a plain numeric .npy array ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read the .npy file ({exc})") from None
    if arr.ndim != 2:
        raise DatasetError(f"{p}: expected a 2-D array (rows × columns); it has shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"{p}: the array holds {arr.dtype}, not numbers")
    if label_column is not None:
        raise DatasetError(f"{p}: a .npy array has no label column; leave out --label-column")
    n, width = arr.shape
    if n == 0:
        raise DatasetError(f"{p}: the array has no rows; need at least 3 rows")
    step = _rows_per_chunk(chunk_rows, chunk_bytes, width)
    chunks = [(s, min(s + step, n)) for s in range(0, n, step)]
    names = [f"column_{j + 1}" for j in range(width)]
    return TableLayout("npy", names, list(range(width)), None, chunks)


def _arrow_kind(t: Any) -> str:
    import pyarrow.types as pt

    if pt.is_dictionary(t):
        t = t.value_type
    if pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t):
        return "number"
    if pt.is_string(t) or pt.is_large_string(t) or pt.is_boolean(t):
        return "text"
    return "other"


def _open_parquet(
    p: Path,
    label_column: str | int | None,
    no_label: bool,
    chunk_rows: int | None,
    chunk_bytes: int,
) -> TableLayout:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            f'{p}: reading Parquet needs pyarrow: pip install "svdstudio[big]"'
        ) from None
    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:  # pyarrow's ArrowInvalid and friends
        raise DatasetError(f"{p}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    names = _ds._unique_names([str(n) for n in schema.names])
    kinds = [_arrow_kind(f.type) for f in schema]
    meta = pf.metadata
    group_rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    if sum(group_rows) == 0:
        raise DatasetError(f"{p}: the table has no data rows; need at least 3 rows")
    head = pf.read_row_group(0).slice(0, 2000)
    columns = [
        tuple("" if v is None else str(v) for v in head.column(j).to_pylist())
        for j in range(len(names))
    ]
    notices: list[str] = []
    numeric = {j: np.zeros(0) for j, k in enumerate(kinds) if k == "number"}
    for j in numeric:
        col = head.column(j).cast("float64").to_numpy(zero_copy_only=False)
        numeric[j] = col
    text_cols = [j for j, k in enumerate(kinds) if k == "text"]
    missing = {
        j: np.array([c.strip().lower() in MISSING_TOKENS for c in col])
        for j, col in enumerate(columns)
    }
    label_j = _ds._choose_label(
        str(p), names, label_column, no_label, text_cols, numeric, columns, missing, notices
    )
    dropped = []
    for j, k in enumerate(kinds):
        if j == label_j or k == "number":
            continue
        dropped.append(names[j])
        notices.append(f"Column {names[j]!r} is not numeric; left out.")
    features = [j for j, k in enumerate(kinds) if k == "number" and j != label_j]
    step = _rows_per_chunk(chunk_rows, chunk_bytes, len(features))
    chunks: list[list[int]] = []
    acc = 0
    for g, n in enumerate(group_rows):
        if not chunks or acc + n > step:
            chunks.append([g])
            acc = n
        else:
            chunks[-1].append(g)
            acc += n
    # Parquet stores the real column names; _unique_names only differs for repeats/blanks.
    if names != [str(n) for n in schema.names]:
        raise DatasetError(f"{p}: repeated or blank column names; give every column its own name")
    return TableLayout(
        "parquet",
        names,
        features,
        label_j,
        chunks,
        notices,
        dropped,
        {"group_rows": group_rows},
    )


def _open_csv(
    p: Path,
    size: int,
    label_column: str | int | None,
    no_label: bool,
    chunk_rows: int | None,
    chunk_bytes: int,
) -> TableLayout:
    with p.open("rb") as fh:
        raw = fh.read(_HEAD_BYTES)
    if b"\x00" in raw[:4096]:
        raise DatasetError(f"{p}: this is a binary file, not a CSV or TSV table")
    notices: list[str] = []
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    if len(raw) == _HEAD_BYTES:
        raw = raw[: raw.rfind(b"\n") + 1]  # whole lines only
    try:
        text = raw[bom:].decode("utf-8")
        encoding = "utf8"
    except UnicodeDecodeError:
        text = raw[bom:].decode("latin-1")
        encoding = "latin1"
        notices.append("The file is not UTF-8; it was read as Latin-1.")
    rows, line_of, delim = _ds._records(text, p.suffix.lower())
    if not rows:
        raise DatasetError(f"{p}: the file is empty; expected a table of numbers")
    if text.count('"') and any("\n" in c or "\r" in c for row in rows for c in row):
        raise DatasetError(
            f"{p}: a quoted cell holds a line break; the chunked reader cannot split such a "
            "file (remove the line breaks inside cells)"
        )
    header, body = _ds._split_header(rows)
    width = len(rows[0])
    names = _ds._column_names(header, width)
    if not body:
        raise DatasetError(f"{p}: the table has a header but no data rows; need at least 3 rows")
    body = [r[:-1] if len(r) == width + 1 and not r[-1].strip() else r for r in body]
    columns = [tuple(r[j] if j < len(r) else "" for r in body) for j in range(width)]
    numeric: dict[int, np.ndarray] = {}
    missing: dict[int, np.ndarray] = {}
    text_cols: list[int] = []
    empty_cols: list[int] = []
    decimal_comma = False
    for j, col in enumerate(columns):
        fast = _ds._to_float(col)
        if fast is not None and not np.isinf(fast).any():
            vals, miss = fast, np.isnan(fast)
            ok = ~miss
        else:
            vals, miss, ok = _ds._parse_slow(col)
        if delim == ";" and not ok[~miss].all():
            v2, m2, ok2 = _ds._parse_slow([c.replace(",", ".") for c in col])
            if ok2[~m2].all():
                vals, miss, ok, decimal_comma = v2, m2, ok2, True
        missing[j] = miss
        present = int((~miss).sum())
        if present == 0:
            empty_cols.append(j)
        elif ok.sum() * 2 > present:
            numeric[j] = vals
        else:
            text_cols.append(j)
    if decimal_comma:
        notices.append("Decimal commas (1,5) were read as decimal points (1.5).")
    label_j = _ds._choose_label(
        str(p), names, label_column, no_label, text_cols, numeric, columns, missing, notices
    )
    dropped = _ds._drop_unusable_columns(names, empty_cols, text_cols, label_j, notices)
    features = [j for j in range(width) if j in numeric and j != label_j]

    # Where the data rows start: just after the header's line (or the file's first byte).
    lines = raw[bom:].split(b"\n")
    data_start = bom
    if header is not None:
        data_start = bom + sum(len(ln) + 1 for ln in lines[: line_of[0]])
    mean_line = max(1.0, (len(raw) - data_start) / max(1, len(body)))
    rows_step = _rows_per_chunk(chunk_rows, chunk_bytes, len(features))
    step = max(1, int(rows_step * mean_line))
    chunks = _cut_at_lines(p, data_start, size, step)
    return TableLayout(
        "csv",
        names,
        features,
        label_j,
        chunks,
        notices,
        dropped,
        {
            "delimiter": delim,
            "encoding": encoding,
            "decimal_comma": decimal_comma,
            "header": header is not None,
            "data_start": data_start,
        },
    )


def _cut_at_lines(p: Path, start: int, size: int, step: int) -> list[tuple[int, int]]:
    """Byte ranges of about ``step`` bytes from ``start``, each ending just after a newline."""
    cuts = [start]
    with p.open("rb") as fh:
        pos = start + step
        while pos < size:
            fh.seek(pos)
            tail = fh.read(1 << 16)
            nl = tail.find(b"\n")
            while nl < 0 and tail:
                more = fh.read(1 << 16)
                if not more:
                    break
                tail += more
                nl = tail.find(b"\n")
            if nl < 0:
                break
            cut = pos + nl + 1
            if cut >= size:
                break
            cuts.append(cut)
            pos = cut + step
    cuts.append(size)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
