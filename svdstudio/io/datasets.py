"""Labelled tables (CSV/TSV) for the Dataset lab: read, clean, explain, export.  No Qt.

A table is read with the csv module and cleaned column by column with numpy, so tens of
thousands of rows take a fraction of a second.  Every decision that changes the data (rows with
missing values dropped, constant or text columns left out, the label column chosen) is written to
``Dataset.notices`` as a plain sentence the UI and the CLI show as they are.

This module puts a table together (:func:`read_dataset`) and knows the bundled ones; the steps
live in modules of one job each, whose public names can be imported from here as before:

* :mod:`~svdstudio.io.dataset_model`: :class:`Dataset` and :class:`DatasetError`;
* :mod:`~svdstudio.io.dataset_records`: the file's text into records, header, column names;
* :mod:`~svdstudio.io.dataset_columns`: numeric and text columns, the label, a row index;
* :mod:`~svdstudio.io.dataset_export`: projected coordinates written as CSV.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# The Dask reader (io/bigtables.py, io/bigtable_layout.py) runs the same steps and reaches them
# through this module (``datasets._records`` ...): they are re-exported by name (``x as x``).
from svdstudio.io.dataset_columns import (
    _LABEL_NAMES as _LABEL_NAMES,
)
from svdstudio.io.dataset_columns import (
    ROW_INDEX_NAMES,
    _column_ref,
    find_row_index_column,
    pixel_grid,
)
from svdstudio.io.dataset_columns import (
    _choose_label as _choose_label,
)
from svdstudio.io.dataset_columns import (
    _drop_unusable_columns as _drop_unusable_columns,
)
from svdstudio.io.dataset_columns import (
    _parse_slow as _parse_slow,
)
from svdstudio.io.dataset_columns import (
    _to_float as _to_float,
)
from svdstudio.io.dataset_export import write_projection_csv
from svdstudio.io.dataset_model import MISSING_TOKENS, Dataset, DatasetError, _display_name
from svdstudio.io.dataset_records import (
    MAX_ROWS,
    _read_records,
    read_header,
)
from svdstudio.io.dataset_records import (
    _column_names as _column_names,
)
from svdstudio.io.dataset_records import (
    _records as _records,
)
from svdstudio.io.dataset_records import (
    _split_header as _split_header,
)
from svdstudio.io.dataset_records import (
    _unique_names as _unique_names,
)
from svdstudio.resources import resource_path

__all__ = [
    "BUNDLED",
    "MAX_ROWS",
    "MISSING_TOKENS",
    "ROW_INDEX_NAMES",
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

#: Bundled example tables: name -> (file in resources/datasets, label column, title).
BUNDLED: dict[str, tuple[str, str, str]] = {
    "iris": ("iris.csv", "species", "Iris"),
    "wine": ("wine.csv", "class", "Wine"),
    "digits": ("digits.csv", "digit", "Digits (8×8)"),
}


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
