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
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.engine.outofcore.factors import ChunkFactor, chunk_factor
from svdstudio.io import datasets as _ds
from svdstudio.io.bigtable_layout import DEFAULT_CHUNK_BYTES, TableLayout, layout_of
from svdstudio.io.datasets import MISSING_TOKENS, DatasetError
from svdstudio.io.projection_writer import ProjectionWriter

__all__ = [
    "AUTO_LIMIT_BYTES",
    "BIG_SUFFIXES",
    "BigTable",
    "ChunkStats",
    "CleanChunk",
    "ProjectionWriter",
    "ScanResult",
    "advise_out_of_core",
    "combine_moments",
    "memory_needed",
    "open_big_table",
    "table_bytes_estimate",
]

#: File types the chunked reader opens.
BIG_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".npy")

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
    factor: ChunkFactor | None = None  # centred R of all kept rows, all feature columns

    @property
    def n_features(self) -> int:
        """Number of features kept."""
        return len(self.feature_names)


#: A table above this many bytes in memory (or a quarter of the free memory) goes to Dask.
AUTO_LIMIT_BYTES = 1 << 30
# Reading a CSV whole holds every cell as text first: about this many bytes per byte of file.
_CSV_MEMORY_FACTOR = 12


def memory_needed(path: str | os.PathLike[str]) -> int:
    """Bytes that reading ``path`` whole would take in memory, roughly (0 if unreadable)."""
    est = table_bytes_estimate(path)
    if Path(path).suffix.lower() not in (".parquet", ".pq", ".npy"):
        est *= _CSV_MEMORY_FACTOR
    return est


def advise_out_of_core(path: str | os.PathLike[str], free: int) -> tuple[bool, int]:
    """(True if ``path`` should be read chunk by chunk, bytes it needs whole), given ``free``."""
    need = memory_needed(path)
    return need > min(AUTO_LIMIT_BYTES, free // 4), need


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

    def __init__(self, path: Path, layout: TableLayout) -> None:
        self.path = path
        self.kind = layout.kind
        self.names = layout.names
        self.feature_cols = layout.feature_cols
        self.label_col = layout.label_col
        self.chunks = layout.chunks
        self.head_notices = layout.notices
        self.head_dropped = layout.dropped_columns
        self._opt = layout.options
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
        return self._scan_chunk(i, factor=False)[0]

    def scan_chunk_factored(self, i: int) -> tuple[ChunkStats, ChunkFactor]:
        """:meth:`scan_chunk` plus the R factor of the chunk's kept rows (all feature columns),
        for the exact SVD in the same pass (see :mod:`svdstudio.engine.outofcore.factors`)."""
        stats, factor = self._scan_chunk(i, factor=True)
        assert factor is not None
        return stats, factor

    def _scan_chunk(self, i: int, factor: bool) -> tuple[ChunkStats, ChunkFactor | None]:
        X, labels, missing = self._read_raw(i)
        keep = ~missing
        Xk = X if not missing.any() else X[keep]  # the common case copies nothing
        kept = int(keep.sum())
        p = X.shape[1]
        f = chunk_factor(Xk) if factor else None
        if kept:
            mean = f.mean if f is not None else Xk.mean(axis=0)
            m2 = f.sum_squares if f is not None else ((Xk - mean) ** 2).sum(axis=0)
            lo, hi = Xk.min(axis=0), Xk.max(axis=0)
        else:
            mean = m2 = np.zeros(p)
            lo, hi = np.full(p, np.inf), np.full(p, -np.inf)
        counts: dict[str, int] = {}
        if labels is not None and kept:
            values, n = np.unique(labels[keep], return_counts=True)
            counts = {str(v): int(c) for v, c in zip(values, n, strict=True)}
        dropped = np.nonzero(missing)[0]
        stats = ChunkStats(
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
        return stats, f

    def finish_scan(
        self, stats: Sequence[ChunkStats], factor: ChunkFactor | None = None
    ) -> ScanResult:
        """Combine the chunks' counts; raise DatasetError as ``read_dataset`` would.

        ``factor`` is the combined R factor of all chunks (all feature columns), if computed.
        """
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
            factor=factor,
        )
        return self._scan

    # -- pass 2 and on: clean chunks --------------------------------------------------------
    def load_chunk(self, i: int) -> CleanChunk:
        """Chunk ``i``'s kept rows with the kept columns (after :meth:`finish_scan`)."""
        scan = self.scan
        X, labels, missing = self._read_raw(i)
        keep = ~missing
        rows = np.nonzero(keep)[0].astype(np.int64) + scan.chunk_offsets[i] + 1
        cols = list(scan.keep_columns)
        if not missing.any() and len(cols) == X.shape[1]:
            Xk = X  # nothing to drop: no copy
        else:
            Xk = np.asfortranarray(X[np.ix_(keep, np.asarray(cols, dtype=np.intp))])
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
        if _all_finite(X):
            return X, None, np.zeros(X.shape[0], dtype=bool)
        inf = np.isinf(X)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise DatasetError(
                f"{self.path}: row {start + r + 1}, {_col_ref(c, self.names[c])} holds "
                f"{float(X[r, c])!r}, which is not a finite number"
            )
        return X, None, np.asarray(np.isnan(X).any(axis=1))

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
        X = np.empty((n, len(self.feature_cols)), order="F")  # LAPACK's order: QR copies nothing
        for c, name in enumerate(cols[: len(self.feature_cols)]):
            col = table.column(name).cast("float64")
            X[:, c] = col.to_numpy(zero_copy_only=False)  # nulls become NaN
        offset = sum(self._opt["group_rows"][g] for g in range(groups[0]))
        finite = _all_finite(X)
        inf = np.zeros((0, 0), dtype=bool) if finite else np.isinf(X)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise DatasetError(
                f"{self.path}: row {offset + r + 1}, {_col_ref(c, cols[c])} holds "
                f"{float(X[r, c])!r}, which is not a finite number"
            )
        missing = np.zeros(n, dtype=bool) if finite else np.asarray(np.isnan(X).any(axis=1))
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
        X = np.empty((n, len(feats)), order="F")
        for c, name in enumerate(feats):
            X[:, c] = table.column(name).to_numpy(zero_copy_only=False)
        finite = _all_finite(X)
        if not finite and np.isinf(X).any():
            raise ValueError("infinite value")  # the slow path names the cell
        missing = np.zeros(n, dtype=bool) if finite else np.asarray(np.isnan(X).any(axis=1))
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
        X = np.empty((n, len(self.feature_cols)), order="F")  # LAPACK's order: QR copies nothing
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


def _all_finite(X: np.ndarray) -> bool:
    """True if no cell is NaN or ±inf: one pass and an n-vector (a row sum is NaN or inf if any
    of its cells is; a finite overflow only sends the caller to the cell-by-cell check)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X.sum(axis=1)).all())


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


def open_big_table(
    path: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    no_label: bool = False,
    chunk_rows: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> BigTable:
    """Describe a table for chunked reading, from its head; raise DatasetError for bad input.

    ``chunk_rows`` fixes the rows per chunk (CSV: an estimate from the head's line length);
    otherwise chunks hold about ``chunk_bytes`` of float64 features.
    """
    p = Path(path)
    layout = layout_of(
        p,
        label_column=label_column,
        no_label=no_label,
        chunk_rows=chunk_rows,
        chunk_bytes=chunk_bytes,
    )
    return BigTable(p, layout)
