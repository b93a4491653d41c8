"""Labelled tables (CSV/TSV) for the Dataset lab: read, clean, explain, export.  No Qt.

A table is read with the csv module and cleaned column by column with numpy, so tens of
thousands of rows take a fraction of a second.  Every decision that changes the data (rows with
missing values dropped, constant or text columns left out, the label column chosen) is written to
``Dataset.notices`` as a plain sentence the UI and the CLI show as they are.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from svdstudio.io.atomic import atomic_write_text
from svdstudio.io.safety import InputFileError, decode_text, open_regular_file, read_limited
from svdstudio.resources import resource_path

__all__ = [
    "BUNDLED",
    "MAX_ROWS",
    "MISSING_TOKENS",
    "Dataset",
    "DatasetError",
    "bundled_path",
    "find_row_index_column",
    "load_bundled",
    "pixel_grid",
    "read_dataset",
    "read_header",
    "resolve_dataset",
    "write_projection_csv",
]

#: Cell texts that mean "no value" (compared case-insensitively after stripping blanks).
MISSING_TOKENS = ("", "na", "n/a", "nan", "?", "null")

#: Bundled example tables: name -> (file in resources/datasets, label column, title).
BUNDLED: dict[str, tuple[str, str, str]] = {
    "iris": ("iris.csv", "species", "Iris"),
    "wine": ("wine.csv", "class", "Wine"),
    "digits": ("digits.csv", "digit", "Digits (8×8)"),
}

# A numeric column whose header says "I am the class" is taken as the label when no column is text.
_LABEL_NAMES = ("label", "labels", "class", "target", "species", "digit", "category", "y")
_DELIMITERS = (",", "\t", ";", "|")
_MAX_BYTES = 512 * 1024 * 1024
#: Most lines a table may have (parsing keeps a list of strings per row).
MAX_ROWS = 2_000_000


class DatasetError(ValueError):
    """A table that cannot be used; the message names the file and the row or column."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A cleaned numeric table with optional class labels.

    ``X`` is rows × features float64 (only usable columns); ``labels`` holds one str per row or
    is None; ``row_numbers`` are the 1-based data-row numbers in the file (header not counted) of
    the rows kept; ``dropped_rows`` counts rows left out for missing values; ``dropped_columns``
    names columns left out (constant, empty or text); ``constant_values`` keeps the value of
    each dropped constant column (so an 8×8 digit can still be drawn whole).
    """

    X: np.ndarray
    labels: np.ndarray | None
    feature_names: tuple[str, ...]
    label_name: str | None
    dropped_rows: int
    dropped_columns: tuple[str, ...]
    notices: list[str]
    source: str
    row_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    constant_values: dict[str, float] = field(default_factory=dict)
    all_columns: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        """Number of rows kept."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of numeric columns kept."""
        return int(self.X.shape[1])

    @property
    def classes(self) -> list[str]:
        """Distinct labels in natural order ("2" before "10"; empty without labels)."""
        if self.labels is None:
            return []
        return sorted((str(c) for c in np.unique(self.labels)), key=_natural_key)

    def original_values(self, i: int) -> dict[str, float]:
        """Feature name -> value of kept row ``i`` (0-based), dropped constants included."""
        values = {name: float(v) for name, v in zip(self.feature_names, self.X[i], strict=True)}
        values.update(self.constant_values)
        return values


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    # Numbers compare as numbers, the rest case-insensitively: class_2 < class_10.
    return [(0, int(t)) if t.isdigit() else (1, t.lower()) for t in re.split(r"(\d+)", text) if t]


def _display_name(path: Path | str) -> str:
    return str(path)


def bundled_path(name: str) -> Path:
    """Path of a bundled table by name (iris, wine, digits)."""
    key = name.lower()
    if key not in BUNDLED:
        raise DatasetError(f"{name}: no bundled dataset of that name; choose {', '.join(BUNDLED)}")
    return resource_path("datasets", BUNDLED[key][0])


def load_bundled(name: str) -> Dataset:
    """Read a bundled table with its known label column."""
    return read_dataset(bundled_path(name), label_column=BUNDLED[name.lower()][1])


def resolve_dataset(spec: str) -> tuple[Path, str | None]:
    """Turn a path or a bundled name into (path, default label column or None for auto)."""
    key = spec.lower()
    if key in BUNDLED and not Path(spec).exists():
        return bundled_path(key), BUNDLED[key][1]
    return Path(spec), None


def _read_text(path: Path) -> tuple[str, list[str]]:
    notices: list[str] = []
    src = _display_name(path)
    try:
        with open_regular_file(path, src, max_bytes=_MAX_BYTES, what="tables") as fh:
            raw = read_limited(fh, src, _MAX_BYTES, what="tables")
        text, encoding = decode_text(raw, src, latin1=True)
    except InputFileError as exc:
        reason = exc.reason
        if reason.startswith("is a binary file"):
            reason = "this is a binary file, not a CSV or TSV table"
        elif reason.startswith("is a folder"):
            reason = "is a folder, not a table file"
        raise DatasetError(f"{src}: {reason}") from None
    lines = max(text.count("\n"), text.count("\r"))
    if lines > MAX_ROWS:
        # The csv module holds a list of strings per row: refuse before building them.
        raise DatasetError(
            f"{src}: the table has {lines:,} lines; tables of up to {MAX_ROWS:,} rows can be opened"
        )
    if encoding == "Latin-1":
        notices.append("The file is not UTF-8; it was read as Latin-1.")
    return text, notices


def _sniff_delimiter(lines: list[str], suffix: str) -> str:
    """The delimiter that splits the first lines into the same number (≥ 2) of fields;
    ``" "`` (runs of blanks) when none of comma, tab, semicolon and bar splits the first line."""
    sample = [ln for ln in lines[:50] if ln.strip()]
    if not sample:
        return "\t" if suffix == ".tsv" else ","
    best, best_score = None, 0
    order = ("\t", ",", ";", "|") if suffix in (".tsv", ".tab") else _DELIMITERS
    for d in order:
        try:
            counts = [len(next(csv.reader([ln], delimiter=d))) for ln in sample]
        except csv.Error:
            continue
        if counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = d, score
    if best is None and len(sample[0].split()) >= 2:
        return " "
    return best or ("\t" if suffix in (".tsv", ".tab") else ",")


def _split_blanks(text: str) -> tuple[list[list[str]], list[int]]:
    """Records of a table separated by runs of spaces, if every line has as many fields."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if rows and len(fields) != len(rows[0]):
            raise DatasetError(
                f"cannot split the table into columns: it has no comma, tab, semicolon or "
                f"bar, and split at spaces line {lines[0]} has {len(rows[0])} fields but line "
                f"{number} has {len(fields)} (names with spaces?); save it as CSV or TSV"
            )
        rows.append(fields)
        lines.append(number)
    return rows, lines


def _to_float(col: Sequence[str]) -> np.ndarray | None:
    """The column as float64 if every cell parses ("nan" → NaN), else None."""
    try:
        return np.array(col, dtype=np.float64)
    except ValueError:
        return None


_MISSING_SET = frozenset(MISSING_TOKENS)


def _parse_slow(col: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell by cell: (values with NaN where not a number, missing mask, parsed-ok mask)."""
    n = len(col)
    vals = np.full(n, np.nan)
    miss = np.zeros(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    for i, c in enumerate(col):
        s = c.strip()
        if s.lower() in _MISSING_SET:
            miss[i] = True
            continue
        try:
            v = float(s)
        except ValueError:
            continue
        if np.isfinite(v):
            vals[i] = v
            ok[i] = True
    return vals, miss, ok


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """Column names of a table as :func:`read_dataset` names them (``column_N`` where the
    file has no header or a blank name, ``name_2`` for a repeated one)."""
    rows, _, _, _ = _read_records(Path(path))
    header, _ = _split_header(rows)
    return _column_names(header, len(rows[0]))


def _read_records(p: Path) -> tuple[list[list[str]], list[int], str, list[str]]:
    """A table file's non-blank records, the line each starts on, the delimiter and notices."""
    text, notices = _read_text(p)
    try:
        rows, line_of, delim = _records(text, p.suffix.lower())
    except DatasetError as exc:
        raise DatasetError(f"{_display_name(p)}: {exc}") from None
    if not rows:
        raise DatasetError(f"{_display_name(p)}: the file is empty; expected a table of numbers")
    if delim == " ":
        notices.append("No comma, tab or semicolon found: columns were split at spaces.")
    return rows, line_of, delim, notices


def _records(text: str, suffix: str) -> tuple[list[list[str]], list[int], str]:
    """Non-blank records, the file line each starts on, and the delimiter."""
    # \r\n and a lone \r (old Mac exports) end lines as \n does.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = text[:65536].splitlines()
    if len(text) > 65536:
        head = head[:-1]  # possibly cut in the middle
    delim = _sniff_delimiter(head[:50], suffix)
    if delim == " ":
        rows_, lines_ = _split_blanks(text)
        return rows_, lines_, delim
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    # Blank lines are not rows (a line of only delimiters is, and counts as missing values).
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            if row and (len(row) > 1 or row[0].strip()):
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"line {start} cannot be split into fields ({exc})") from None
    return rows, lines, delim


def _looks_numeric(cell: str) -> bool:
    s = cell.strip()
    if s.lower() in MISSING_TOKENS:
        return True
    try:
        float(s)
    except ValueError:
        return False
    return True


def _split_header(rows: list[list[str]]) -> tuple[list[str] | None, list[list[str]]]:
    """First row is a header if a cell of it is text above a mostly numeric column."""
    first = rows[0]
    body = rows[1:21]
    if not body:
        # One row only: a header if any cell is text.
        if any(not _looks_numeric(c) for c in first):
            return [c.strip() for c in first], rows[1:]
        return None, rows
    for j, cell in enumerate(first):
        if _looks_numeric(cell):
            continue
        below = [r[j] for r in body if j < len(r)]
        numeric = sum(_looks_numeric(c) for c in below)
        if below and numeric * 2 > len(below):
            return [c.strip() for c in first], rows[1:]
    if all(not _looks_numeric(c) for c in first) and len(set(first)) == len(first):
        # Every column is text, e.g. a header over a table of words: still a header.
        return [c.strip() for c in first], rows[1:]
    return None, rows


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for j, n in enumerate(names):
        n = n or f"column_{j + 1}"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 1
        out.append(n)
    return out


def _column_names(header: list[str] | None, width: int) -> list[str]:
    """Unique names for ``width`` columns: the header's, else ``column_1`` … ``column_N``."""
    return _unique_names(
        header if header is not None else [f"column_{j + 1}" for j in range(width)]
    )


def _column_ref(j: int, name: str) -> str:
    return f"column {j + 1} '{name}'"


def read_dataset(
    path: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    no_label: bool = False,
) -> Dataset:
    """Read a CSV/TSV table into a :class:`Dataset`, or raise :class:`DatasetError`.

    The delimiter (comma, tab, semicolon, bar) is sniffed and a header row detected.
    ``label_column`` is a column name, a 1-based column number given as text ("3", as a user
    types it) or a 0-based int index; None picks the non-numeric column
    (or, if every column is numeric, one named like ``label``/``class``/``target``).
    ``no_label`` treats every column as a feature.
    """
    p = Path(path)
    src = _display_name(p)
    rows, line_of, delim, notices = _read_records(p)
    header, body = _split_header(rows)
    width = len(rows[0])
    # Messages give both the data row (header not counted) and the file line it is on.
    data_lines = line_of[1:] if header is not None else line_of
    for r, row in enumerate(body):
        if len(row) != width:
            # A trailing delimiter on some lines only is a common export quirk: tolerate it.
            if len(row) == width + 1 and not row[-1].strip():
                body[r] = row[:-1]
                continue
            raise DatasetError(
                f"{src}: row {r + 1} (line {data_lines[r]}) has {len(row)} fields; "
                f"the {'header' if header else 'first row'} has {width}"
            )
    names = _column_names(header, width)
    if len(body) == 0:
        raise DatasetError(f"{src}: the table has a header but no data rows; need at least 3 rows")

    columns = list(zip(*body, strict=True))
    n_body = len(body)

    # Type each column: numeric (maybe with a few bad cells), text, or empty.  The fast path
    # converts a whole column at once; only columns that fail it are looked at cell by cell.
    numeric_values: dict[int, np.ndarray] = {}
    missing_cols: dict[int, np.ndarray] = {}
    text_cols: list[int] = []
    empty_cols: list[int] = []
    bad_cells: dict[int, int] = {}
    decimal_comma = False
    for j, col in enumerate(columns):
        fast = _to_float(col)
        if fast is None and delim == ";":
            # Semicolon-separated files often come with decimal commas (1,5 for 1.5).
            fast = _to_float([c.replace(",", ".") for c in col])
            if fast is not None:
                columns[j] = col = tuple(c.replace(",", ".") for c in col)
                decimal_comma = True
        if fast is not None and not np.isinf(fast).any():
            numeric_values[j] = fast
            missing_cols[j] = np.isnan(fast)
            if missing_cols[j].all():
                empty_cols.append(j)
                del numeric_values[j]
            continue
        vals, miss, ok = _parse_slow(col)
        missing_cols[j] = miss
        present = int((~miss).sum())
        if present == 0:
            empty_cols.append(j)
        elif ok.sum() * 2 > present:
            numeric_values[j] = vals
            bad = np.nonzero(~ok & ~miss)[0]
            if bad.size:
                bad_cells[j] = int(bad[0])
        else:
            text_cols.append(j)

    if decimal_comma:
        notices.append("Decimal commas (1,5) were read as decimal points (1.5).")
    label_j = _choose_label(
        src,
        names,
        label_column,
        no_label,
        text_cols,
        numeric_values,
        columns,
        missing_cols,
        notices,
    )

    for j in sorted(bad_cells):
        if j == label_j:
            continue
        r = bad_cells[j]
        raise DatasetError(
            f"{src}: row {r + 1} (line {data_lines[r]}), {_column_ref(j, names[j])} holds "
            f"{columns[j][r].strip()!r}, which is not a finite number"
        )

    dropped_cols = _drop_unusable_columns(names, empty_cols, text_cols, label_j, notices)

    feature_js = [j for j in range(width) if j in numeric_values and j != label_j]
    used = feature_js + ([label_j] if label_j is not None else [])
    row_missing = np.zeros(n_body, dtype=bool)
    for j in used:
        row_missing |= missing_cols[j]
    keep = ~row_missing
    n_dropped = int(row_missing.sum())
    if n_dropped:
        first = int(np.nonzero(row_missing)[0][0]) + 1
        notices.append(
            f"{n_dropped} row{'s' if n_dropped != 1 else ''} with missing values "
            f"(empty, NA, NaN or ?) dropped; the first is row {first}."
        )
    n_keep = int(keep.sum())
    if n_keep < 3:
        extra = f" after dropping {n_dropped} with missing values" if n_dropped else ""
        raise DatasetError(
            f"{src}: only {n_keep} usable row{'s' if n_keep != 1 else ''}{extra}; "
            "need at least 3 rows"
        )

    X = (
        np.column_stack([numeric_values[j][keep] for j in feature_js])
        if feature_js
        else np.zeros((n_keep, 0))
    )
    constant_values: dict[str, float] = {}
    if X.shape[1]:
        const = np.ptp(X, axis=0) == 0
        for c in np.nonzero(const)[0]:
            name = names[feature_js[c]]
            constant_values[name] = float(X[0, c])
            dropped_cols.append(name)
        if const.any():
            listed = ", ".join(names[feature_js[c]] for c in np.nonzero(const)[0][:8])
            more = int(const.sum()) - 8
            tail = f" and {more} more" if more > 0 else ""
            notices.append(
                f"{int(const.sum())} constant column{'s' if const.sum() != 1 else ''} "
                f"left out: {listed}{tail}."
            )
        X = X[:, ~const]
        feature_js = [j for j, c in zip(feature_js, const, strict=True) if not c]
    if len(feature_js) < 2:
        usable = ", ".join(repr(names[j]) for j in feature_js) or "none"
        raise DatasetError(
            f"{src}: only {len(feature_js)} usable numeric column"
            f"{'s' if len(feature_js) != 1 else ''} ({usable}); need at least 2 that vary"
        )

    labels = None
    if label_j is not None:
        labels = np.array([c.strip() for c in columns[label_j]], dtype=str)[keep]
    return Dataset(
        X=np.ascontiguousarray(X, dtype=np.float64),
        labels=labels,
        feature_names=tuple(names[j] for j in feature_js),
        label_name=names[label_j] if label_j is not None else None,
        dropped_rows=n_dropped,
        dropped_columns=tuple(dropped_cols),
        notices=notices,
        source=str(p),
        row_numbers=np.nonzero(keep)[0].astype(np.int64) + 1,
        constant_values=constant_values,
        all_columns=tuple(names),
    )


def _choose_label(
    src: str,
    names: list[str],
    label_column: str | int | None,
    no_label: bool,
    text_cols: list[int],
    numeric_values: dict[int, np.ndarray],
    columns: list[tuple[str, ...]],
    missing_cols: dict[int, np.ndarray],
    notices: list[str],
) -> int | None:
    if no_label:
        return None
    if label_column is not None:
        if isinstance(label_column, int | np.integer) and not isinstance(label_column, bool):
            j = int(label_column)
            if not 0 <= j < len(names):
                raise DatasetError(
                    f"{src}: label column index {j} is out of range; the table has "
                    f"{len(names)} columns"
                )
            return j
        if label_column in names:
            return names.index(label_column)
        lowered = [n.lower() for n in names]
        if str(label_column).lower() in lowered:
            return lowered.index(str(label_column).lower())
        typed = str(label_column).strip()
        listing = ", ".join(f"{j + 1} {n!r}" for j, n in enumerate(names[:12]))
        if len(names) > 12:
            listing += f", … {len(names)} {names[-1]!r}"
        if typed.isdigit():
            number = int(typed)  # what a user types is 1-based, as the file's columns
            if 1 <= number <= len(names):
                return number - 1
            raise DatasetError(
                f"{src}: label column {typed} does not exist: the table has {len(names)} "
                f"columns (numbered 1 to {len(names)}: {listing})"
            )
        raise DatasetError(f"{src}: no column named {typed!r}; the columns are {listing}")
    if text_cols:
        # Several text columns (an id, a name, a class): the class has the fewest distinct values.
        def distinct(j: int) -> int:
            miss = missing_cols[j]
            return len({c.strip() for c, m in zip(columns[j], miss, strict=True) if not m})

        j = min(text_cols, key=distinct)
        if len(text_cols) > 1:
            notices.append(f"Label column: {names[j]!r} (the text column with fewest values).")
        return j
    for j, n in enumerate(names):
        if n.lower() in _LABEL_NAMES and j in numeric_values:
            v = numeric_values[j]
            v = v[np.isfinite(v)]
            if v.size and np.all(v == np.round(v)) and len(np.unique(v)) <= 50:
                notices.append(f"Label column: {n!r} (by its name).")
                return j
    return None


def pixel_grid(feature_names: Sequence[str]) -> tuple[int, int] | None:
    """(rows, cols) if the columns are pixels named ``pixel_rR_cC`` covering a full grid."""
    pat = re.compile(r"^pixel_r(\d+)_c(\d+)$")
    coords = [pat.match(n) for n in feature_names]
    if not coords or not all(coords):
        return None
    rc = {(int(m.group(1)), int(m.group(2))) for m in coords if m}
    h = max(r for r, _ in rc) + 1
    w = max(c for _, c in rc) + 1
    return (h, w) if len(rc) == h * w else None


def _drop_unusable_columns(
    names: Sequence[str],
    empty_cols: Sequence[int],
    text_cols: Sequence[int],
    label_j: int | None,
    notices: list[str],
) -> list[str]:
    """Names of the empty and non-numeric columns (the label excepted), each with a notice."""
    dropped: list[str] = []
    for cols, why in ((empty_cols, "has no values"), (text_cols, "is not numeric")):
        for j in cols:
            if j != label_j:
                dropped.append(names[j])
                notices.append(f"Column {names[j]!r} {why}; left out.")
    return dropped


def write_projection_csv(
    path: str | os.PathLike[str],
    projection: np.ndarray,
    *,
    component_names: Sequence[str],
    labels: np.ndarray | None = None,
    label_name: str | None = None,
    row_numbers: np.ndarray | None = None,
) -> None:
    """Write projected coordinates (row, label, components) as CSV, atomically."""
    proj = np.asarray(projection, dtype=np.float64)
    n = proj.shape[0]
    rows = row_numbers if row_numbers is not None else np.arange(1, n + 1)
    header = ["row"]
    if labels is not None:
        header.append(label_name or "label")
    header += list(component_names)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    formatted = np.char.mod("%.10g", proj) if proj.size else np.zeros((n, 0), dtype=str)
    for i in range(n):
        lead = [str(int(rows[i]))]
        if labels is not None:
            lead.append(str(labels[i]))
        w.writerow(lead + formatted[i].tolist())
    atomic_write_text(path, buf.getvalue())


#: Header names that say "this column numbers the rows" (compared case-insensitively).
ROW_INDEX_NAMES = frozenset(
    {"id", "index", "idx", "row", "rows", "row_id", "rowid", "row_number", "rownum", "no", "#", "n"}
    | {"unnamed: 0", "sample", "sample_id", "obs", "record", "record_id"}
)


def find_row_index_column(ds: Dataset) -> str | None:
    """The feature that merely numbers the rows, or None.

    A column counts as a row index when its values step by one with the file's row numbers
    (1…N, 0…N−1 or any offset, rows dropped for missing values allowed for), or when its
    header says so (``id``, ``index``, ``row``, ...) and it holds distinct whole numbers.
    Such a column would dominate the first component while saying nothing about the rows.
    The first such column is returned (by feature order).
    """
    n = ds.n_rows
    if n < 3:
        return None
    rows = ds.row_numbers.astype(np.float64) if ds.row_numbers.size == n else np.arange(n) + 1.0
    head = min(n, 32)  # most columns fail on their first rows: test those first
    for j, name in enumerate(ds.feature_names):
        col = ds.X[:, j]
        offset = col[0] - rows[0]
        steps = offset == round(offset) and np.all(col[:head] - rows[:head] == offset)
        if steps and np.all(col - rows == offset):
            return name
        if (
            name.strip().lower() in ROW_INDEX_NAMES
            and np.all(col == np.round(col))
            and np.unique(col).size == n
        ):
            return name
    return None
