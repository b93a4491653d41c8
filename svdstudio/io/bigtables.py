"""Tables larger than memory, read chunk by chunk: CSV/TSV, Parquet and memory-mapped ``.npy``.

No Qt, no Dask here: this module only says how to read chunk ``i`` of a table and what the
in-memory reader's rules (:mod:`svdstudio.io.datasets`) make of it.  The out-of-core engine
(:mod:`svdstudio.engine.outofcore`) runs these per-chunk functions as Dask tasks.

The rules are the in-memory reader's, applied chunk by chunk:

1. :func:`open_big_table` looks at the head of the file only: delimiter, header, column names,
   which columns are numbers and which text, and the label column, all decided by the very
   functions ``read_dataset`` uses.
2. :meth:`BigTable.scan_chunk` reads one chunk and counts what the rules need: rows with missing
   values (dropped), per-column minimum and maximum over the kept rows (constant columns), the
   moments (mean and variance, for centring and scaling) and the class counts.  Bad cells raise
   :class:`~svdstudio.io.datasets.DatasetError` naming the row and column.
3. :meth:`BigTable.finish_scan` combines the chunks' counts into a :class:`ScanResult` with the
   same notices and errors as ``read_dataset`` (too few rows, fewer than 2 varying columns).
4. :meth:`BigTable.load_chunk` then gives a chunk's clean rows (features, labels, row numbers).

CSV chunks are byte ranges cut at line ends (as ``dask.dataframe.read_csv`` does), so a quoted
cell with a line break inside cannot be split across chunks: such files are refused with a
message.  Parquet chunks are whole row groups.  Parsing uses pyarrow's CSV reader; a chunk it
rejects is re-read cell by cell with the in-memory reader's rules so that the message names the
row and column.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.io import datasets as _ds
from svdstudio.io.atomic import atomic_path, atomic_write
from svdstudio.io.datasets import MISSING_TOKENS, DatasetError

__all__ = [
    "BIG_SUFFIXES",
    "BigTable",
    "ChunkStats",
    "CleanChunk",
    "ProjectionWriter",
    "ScanResult",
    "combine_moments",
    "open_big_table",
    "table_bytes_estimate",
]

#: File types the chunked reader opens.
BIG_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".npy")

_HEAD_BYTES = 256 << 10  # the head that decides delimiter, header, types and label
_DEFAULT_CHUNK_BYTES = 64 << 20
# pyarrow compares null markers exactly; the in-memory reader case-folds and strips.
_NULLS = sorted(
    {v for t in MISSING_TOKENS for v in (t, t.upper(), t.capitalize(), t.title())} | {" "}
)


@dataclass(frozen=True)
class ChunkStats:
    """What one chunk contributes to the rules and the moments (rows counted before dropping)."""

    records: int
    dropped: int
    first_dropped: int  # 0-based within the chunk, -1 if none
    kept: int
    minimum: np.ndarray
    maximum: np.ndarray
    mean: np.ndarray
    m2: np.ndarray  # sum of squared deviations from the chunk mean (Chan et al.)
    class_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CleanChunk:
    """A chunk's kept rows: features (float64, constant columns removed), labels, row numbers."""

    X: np.ndarray
    labels: np.ndarray | None
    row_numbers: np.ndarray


@dataclass(frozen=True)
class ScanResult:
    """The whole table after the rules: shape, names, moments, notices, per-chunk row counts."""

    n_rows: int
    feature_names: tuple[str, ...]
    label_name: str | None
    dropped_rows: int
    dropped_columns: tuple[str, ...]
    constant_values: dict[str, float]
    notices: list[str]
    chunk_rows: tuple[int, ...]  # kept rows per chunk
    chunk_offsets: tuple[int, ...]  # records before each chunk (for row numbers)
    mean: np.ndarray
    variance: np.ndarray  # ddof 0
    minimum: np.ndarray
    maximum: np.ndarray
    class_counts: dict[str, int]
    chunk_class_counts: tuple[dict[str, int], ...]
    keep_columns: tuple[int, ...]  # indices into the table's numeric feature columns

    @property
    def n_features(self) -> int:
        """Number of features kept."""
        return len(self.feature_names)


def table_bytes_estimate(path: str | os.PathLike[str]) -> int:
    """Rough float64 size in memory of a table file (CSV: its size, a lower bound), in bytes."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
            return int(np.prod(arr.shape)) * 8
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(p).metadata
            return int(meta.num_rows) * int(meta.num_columns) * 8
        return p.stat().st_size
    except Exception:  # unreadable files are reported by the reader itself
        return 0


class BigTable:
    """A table file described by its head; chunks are read on demand (see module notes)."""

    def __init__(
        self,
        path: Path,
        kind: str,
        names: list[str],
        feature_cols: list[int],
        label_col: int | None,
        chunks: list[Any],
        notices: list[str],
        dropped_columns: list[str],
        options: dict[str, Any],
    ) -> None:
        self.path = path
        self.kind = kind
        self.names = names
        self.feature_cols = feature_cols
        self.label_col = label_col
        self.chunks = chunks
        self.head_notices = notices
        self.head_dropped = dropped_columns
        self._opt = options
        self._scan: ScanResult | None = None

    # -- description ------------------------------------------------------------------------
    @property
    def n_chunks(self) -> int:
        """Number of chunks the table is read in."""
        return len(self.chunks)

    @property
    def label_name(self) -> str | None:
        """Name of the label column, or None."""
        return self.names[self.label_col] if self.label_col is not None else None

    @property
    def scan(self) -> ScanResult:
        """The scan result (after :meth:`finish_scan`)."""
        if self._scan is None:
            raise RuntimeError("finish_scan() has not run yet")
        return self._scan

    def __repr__(self) -> str:
        return f"BigTable({str(self.path)!r}, {self.kind}, {self.n_chunks} chunks)"

    # -- pass 1: the rules ------------------------------------------------------------------
    def scan_chunk(self, i: int) -> ChunkStats:
        """Read chunk ``i`` and count missing rows, extremes, moments and classes."""
        X, labels, missing = self._read_raw(i)
        keep = ~missing
        Xk = X[keep]
        kept = int(keep.sum())
        p = X.shape[1]
        if kept:
            mean = Xk.mean(axis=0)
            m2 = ((Xk - mean) ** 2).sum(axis=0)
            lo, hi = Xk.min(axis=0), Xk.max(axis=0)
        else:
            mean = m2 = np.zeros(p)
            lo, hi = np.full(p, np.inf), np.full(p, -np.inf)
        counts: dict[str, int] = {}
        if labels is not None and kept:
            values, n = np.unique(labels[keep], return_counts=True)
            counts = {str(v): int(c) for v, c in zip(values, n, strict=True)}
        dropped = np.nonzero(missing)[0]
        return ChunkStats(
            records=int(X.shape[0]),
            dropped=int(dropped.size),
            first_dropped=int(dropped[0]) if dropped.size else -1,
            kept=kept,
            minimum=lo,
            maximum=hi,
            mean=mean,
            m2=m2,
            class_counts=counts,
        )

    def finish_scan(self, stats: Sequence[ChunkStats]) -> ScanResult:
        """Combine the chunks' counts; raise DatasetError as ``read_dataset`` would."""
        src = str(self.path)
        notices = list(self.head_notices)
        dropped_cols = list(self.head_dropped)
        records = np.array([s.records for s in stats], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(records)[:-1]]) if len(stats) else np.zeros(0)
        n_dropped = sum(s.dropped for s in stats)
        if n_dropped:
            first = next(
                int(off) + s.first_dropped + 1
                for s, off in zip(stats, offsets, strict=True)
                if s.first_dropped >= 0
            )
            notices.append(
                f"{n_dropped} row{'s' if n_dropped != 1 else ''} with missing values "
                f"(empty, NA, NaN or ?) dropped; the first is row {first}."
            )
        n_keep = sum(s.kept for s in stats)
        if int(records.sum()) == 0:
            raise DatasetError(f"{src}: the table has no data rows; need at least 3 rows")
        if n_keep < 3:
            extra = f" after dropping {n_dropped} with missing values" if n_dropped else ""
            raise DatasetError(
                f"{src}: only {n_keep} usable row{'s' if n_keep != 1 else ''}{extra}; "
                "need at least 3 rows"
            )
        mean, var = combine_moments([(s.kept, s.mean, s.m2) for s in stats])
        lo = np.min([s.minimum for s in stats], axis=0)
        hi = np.max([s.maximum for s in stats], axis=0)
        const = lo == hi
        names = [self.names[j] for j in self.feature_cols]
        constant_values = {names[c]: float(lo[c]) for c in np.nonzero(const)[0]}
        dropped_cols += list(constant_values)
        if const.any():
            listed = ", ".join(names[c] for c in np.nonzero(const)[0][:8])
            more = int(const.sum()) - 8
            tail = f" and {more} more" if more > 0 else ""
            notices.append(
                f"{int(const.sum())} constant column{'s' if const.sum() != 1 else ''} "
                f"left out: {listed}{tail}."
            )
        keep_cols = tuple(int(c) for c in np.nonzero(~const)[0])
        if len(keep_cols) < 2:
            usable = ", ".join(repr(names[c]) for c in keep_cols) or "none"
            raise DatasetError(
                f"{src}: only {len(keep_cols)} usable numeric column"
                f"{'s' if len(keep_cols) != 1 else ''} ({usable}); need at least 2 that vary"
            )
        total: dict[str, int] = {}
        for s in stats:
            for c, n in s.class_counts.items():
                total[c] = total.get(c, 0) + n
        kc = list(keep_cols)
        self._scan = ScanResult(
            n_rows=n_keep,
            feature_names=tuple(names[c] for c in kc),
            label_name=self.label_name,
            dropped_rows=n_dropped,
            dropped_columns=tuple(dropped_cols),
            constant_values=constant_values,
            notices=notices,
            chunk_rows=tuple(s.kept for s in stats),
            chunk_offsets=tuple(int(o) for o in offsets),
            mean=mean[kc],
            variance=var[kc],
            minimum=lo[kc],
            maximum=hi[kc],
            class_counts=total,
            chunk_class_counts=tuple(s.class_counts for s in stats),
            keep_columns=keep_cols,
        )
        return self._scan

    # -- pass 2 and on: clean chunks --------------------------------------------------------
    def load_chunk(self, i: int) -> CleanChunk:
        """Chunk ``i``'s kept rows with the kept columns (after :meth:`finish_scan`)."""
        scan = self.scan
        X, labels, missing = self._read_raw(i)
        keep = ~missing
        rows = np.nonzero(keep)[0].astype(np.int64) + scan.chunk_offsets[i] + 1
        Xk = np.ascontiguousarray(X[np.ix_(keep, list(scan.keep_columns))])
        return CleanChunk(Xk, labels[keep] if labels is not None else None, rows)

    def load_features(self, i: int) -> np.ndarray:
        """Only the features of chunk ``i``'s kept rows (what the SVD pass reads)."""
        return self.load_chunk(i).X

    # -- reading ----------------------------------------------------------------------------
    def _read_raw(self, i: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(features float64 with NaN for missing, labels or None, row-missing mask)."""
        if self.kind == "npy":
            return self._read_npy(i)
        if self.kind == "parquet":
            return self._read_parquet(i)
        return self._read_csv(i)

    def _read_npy(self, i: int) -> tuple[np.ndarray, None, np.ndarray]:
        start, stop = self.chunks[i]
        arr = np.load(self.path, mmap_mode="r", allow_pickle=False)
        X = np.asarray(arr[start:stop], dtype=np.float64)
        inf = np.isinf(X)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise DatasetError(
                f"{self.path}: row {start + r + 1}, {_col_ref(c, self.names[c])} holds "
                f"{X[r, c]!r}, which is not a finite number"
            )
        return X, None, np.isnan(X).any(axis=1)

    def _read_parquet(self, i: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        groups = self.chunks[i]
        cols = [self.names[j] for j in self.feature_cols]
        if self.label_col is not None:
            cols.append(self.names[self.label_col])
        try:
            table = pq.ParquetFile(self.path).read_row_groups(groups, columns=cols)
        except Exception as exc:  # pyarrow raises its own types for damaged files
            raise DatasetError(f"{self.path}: cannot read row groups {groups} ({exc})") from None
        n = table.num_rows
        X = np.empty((n, len(self.feature_cols)))
        for c, name in enumerate(cols[: len(self.feature_cols)]):
            col = table.column(name).cast("float64")
            X[:, c] = col.to_numpy(zero_copy_only=False)  # nulls become NaN
        offset = sum(self._opt["group_rows"][g] for g in range(groups[0]))
        inf = np.isinf(X)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise DatasetError(
                f"{self.path}: row {offset + r + 1}, {_col_ref(c, cols[c])} holds "
                f"{X[r, c]!r}, which is not a finite number"
            )
        missing = np.isnan(X).any(axis=1)
        labels = None
        if self.label_col is not None:
            lab = table.column(cols[-1])
            missing |= lab.is_null().to_numpy(zero_copy_only=False)
            text = pc.utf8_trim_whitespace(pc.cast(lab, "string").fill_null(""))
            labels = np.asarray(text.to_numpy(zero_copy_only=False), dtype=str)
            missing |= np.isin(np.char.lower(labels), MISSING_TOKENS)
        return X, labels, missing

    def _read_csv(self, i: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        start, stop = self.chunks[i]
        with self.path.open("rb") as fh:
            fh.seek(start)
            data = fh.read(stop - start)
        try:
            return self._parse_fast(data)
        except Exception:
            # pyarrow refused something: the in-memory rules decide, and name the cell.
            return self._parse_slow(data, start)

    def _parse_fast(self, data: bytes) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        opt = self._opt
        feats = [self.names[j] for j in self.feature_cols]
        types: dict[str, Any] = dict.fromkeys(feats, pa.float64())
        include = list(feats)
        if self.label_col is not None:
            types[self.names[self.label_col]] = pa.string()
            include.append(self.names[self.label_col])
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=self.names, encoding=opt["encoding"], use_threads=False
            ),
            parse_options=pacsv.ParseOptions(delimiter=opt["delimiter"], newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=include,
                null_values=_NULLS,
                strings_can_be_null=True,
                decimal_point="," if opt["decimal_comma"] else ".",
            ),
        )
        n = table.num_rows
        X = np.empty((n, len(feats)))
        for c, name in enumerate(feats):
            X[:, c] = table.column(name).to_numpy(zero_copy_only=False)
        if np.isinf(X).any():
            raise ValueError("infinite value")  # the slow path names the cell
        missing = np.isnan(X).any(axis=1)
        labels = None
        if self.label_col is not None:
            col = table.column(include[-1])
            missing |= col.is_null().to_numpy(zero_copy_only=False)
            labels = np.char.strip(
                np.asarray(col.fill_null("").to_numpy(zero_copy_only=False), str)
            )
            missing |= np.isin(np.char.lower(labels), MISSING_TOKENS)
        return X, labels, missing

    def _parse_slow(
        self, data: bytes, start: int
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        opt = self._opt
        text = data.decode(opt["encoding"])
        rows, lines, _ = _records_with(text, opt["delimiter"])
        width = len(self.names)
        row0, line0 = self._position(start)
        src = str(self.path)
        for r, row in enumerate(rows):
            if len(row) != width:
                if len(row) == width + 1 and not row[-1].strip():
                    rows[r] = row[:-1]
                    continue
                raise DatasetError(
                    f"{src}: row {row0 + r + 1} (line {line0 + lines[r]}) has {len(row)} "
                    f"fields; the {'header' if opt['header'] else 'first row'} has {width}"
                )
        n = len(rows)
        X = np.empty((n, len(self.feature_cols)))
        missing = np.zeros(n, dtype=bool)
        for c, j in enumerate(self.feature_cols):
            col = [row[j] for row in rows]
            if opt["decimal_comma"]:
                col = [s.replace(",", ".") for s in col]
            vals, miss, ok = _ds._parse_slow(col)
            bad = np.nonzero(~ok & ~miss)[0]
            if bad.size:
                r = int(bad[0])
                raise DatasetError(
                    f"{src}: row {row0 + r + 1} (line {line0 + lines[r]}), "
                    f"{_col_ref(j, self.names[j])} holds {col[r].strip()!r}, "
                    "which is not a finite number"
                )
            X[:, c] = vals
            missing |= miss
        labels = None
        if self.label_col is not None:
            labels = np.array([row[self.label_col].strip() for row in rows], dtype=str)
            missing |= np.isin(np.char.lower(labels), MISSING_TOKENS)
        return X, labels, missing

    def _position(self, start: int) -> tuple[int, int]:
        """(data rows, file lines) before byte ``start``: only needed for an error message."""
        data_start = self._opt["data_start"]
        with self.path.open("rb") as fh:
            head = fh.read(data_start)
            before = fh.read(start - data_start)
        line0 = head.count(b"\n")
        rows = sum(1 for ln in before.split(b"\n")[:-1] if ln.strip())
        return rows, line0 + before.count(b"\n")


def combine_moments(parts: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Mean and variance (ddof 0) from per-chunk (count, mean, M2), by Chan et al.'s rule."""
    n = 0
    mean: np.ndarray | None = None
    m2: np.ndarray | None = None
    for cnt, mu, sq in parts:
        if cnt == 0:
            continue
        if mean is None or m2 is None:
            n, mean, m2 = cnt, mu.astype(np.float64), sq.astype(np.float64)
            continue
        tot = n + cnt
        delta = mu - mean
        mean = mean + delta * (cnt / tot)
        m2 = m2 + sq + delta**2 * (n * cnt / tot)
        n = tot
    if mean is None or m2 is None:
        raise ValueError("no rows to average")
    return mean, m2 / n


def _col_ref(j: int, name: str) -> str:
    return f"column {j + 1} '{name}'"


def _records_with(text: str, delim: str) -> tuple[list[list[str]], list[int], str]:
    """Non-blank records of ``text`` and the 0-based line each starts on."""
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 0
    for row in reader:
        if row and (len(row) > 1 or row[0].strip()):
            rows.append(row)
            lines.append(start + 1)
        start = reader.line_num
    return rows, lines, delim


def _check_file(p: Path) -> int:
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise DatasetError(f"{p}: file not found") from None
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read the file ({exc.strerror or exc})") from None
    if p.is_dir():
        raise DatasetError(f"{p}: is a folder, not a table file")
    if size == 0:
        raise DatasetError(f"{p}: the file is empty; expected a table of numbers")
    return size


def open_big_table(
    path: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    no_label: bool = False,
    chunk_rows: int | None = None,
    chunk_bytes: int = _DEFAULT_CHUNK_BYTES,
) -> BigTable:
    """Describe a table for chunked reading, from its head; raise DatasetError for bad input.

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
) -> BigTable:
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
    return BigTable(p, "npy", names, list(range(width)), None, chunks, [], [], {})


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
) -> BigTable:
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
    return BigTable(
        p,
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
) -> BigTable:
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
    dropped: list[str] = []
    for j in empty_cols:
        if j != label_j:
            dropped.append(names[j])
            notices.append(f"Column {names[j]!r} has no values; left out.")
    for j in text_cols:
        if j != label_j:
            dropped.append(names[j])
            notices.append(f"Column {names[j]!r} is not numeric; left out.")
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
    return BigTable(
        p,
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


class ProjectionWriter:
    """Streams projected rows (row, label, components) to CSV or Parquet (by suffix), atomically.

    Use as a context manager; the file appears only when every chunk was written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        component_names: Sequence[str],
        label_name: str | None = None,
        with_labels: bool = False,
    ) -> None:
        self.path = Path(path)
        self.parquet = self.path.suffix.lower() in (".parquet", ".pq")
        self.names = list(component_names)
        self.label_name = (label_name or "label") if with_labels else None
        self.rows_written = 0
        self._cm: Any = None
        self._fh: Any = None
        self._pq: Any = None

    def __enter__(self) -> ProjectionWriter:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            self._cm = atomic_path(self.path)
            tmp = self._cm.__enter__()
            fields = [pa.field("row", pa.int64())]
            if self.label_name is not None:
                fields.append(pa.field(self.label_name, pa.string()))
            fields += [pa.field(n, pa.float64()) for n in self.names]
            self._schema = pa.schema(fields)
            self._pq = pq.ParquetWriter(tmp, self._schema)
        else:
            self._cm = atomic_write(self.path, "w")
            self._fh = self._cm.__enter__()
            header = ["row"] + ([self.label_name] if self.label_name is not None else [])
            csv.writer(self._fh, lineterminator="\n").writerow(header + self.names)
        return self

    def write(self, rows: np.ndarray, coords: np.ndarray, labels: np.ndarray | None) -> None:
        """Append one chunk: 1-based row numbers, n × k coordinates, labels (or None)."""
        if self.parquet:
            import pyarrow as pa

            arrays = [pa.array(np.asarray(rows, dtype=np.int64))]
            if self.label_name is not None:
                arrays.append(pa.array(np.asarray(labels, dtype=str)))
            arrays += [pa.array(np.ascontiguousarray(coords[:, c])) for c in range(len(self.names))]
            self._pq.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        else:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            formatted = np.char.mod("%.10g", coords)
            lead = np.asarray(rows).astype(str)
            if self.label_name is not None and labels is not None:
                for r, lab, vals in zip(lead, labels, formatted.tolist(), strict=True):
                    w.writerow([r, lab, *vals])
            else:
                for r, vals in zip(lead, formatted.tolist(), strict=True):
                    w.writerow([r, *vals])
            self._fh.write(buf.getvalue())
        self.rows_written += len(rows)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._pq is not None:
            try:
                self._pq.close()
            except Exception:
                if exc is None:
                    raise
        self._cm.__exit__(exc_type, exc, tb)
