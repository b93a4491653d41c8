"""What the columns of a table are: numbers, text, the label, a row index, pixels.  No Qt.

Steps of :func:`svdstudio.io.datasets.read_dataset` (and of the Dask reader): each column is
converted at once when it can be and cell by cell when it cannot; the label column is chosen (by
name, number, or as the text column with the fewest values); a feature that only numbers the
rows is found so that the projection can leave it out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from svdstudio.io.dataset_model import MISSING_TOKENS, Dataset, DatasetError

__all__ = ["ROW_INDEX_NAMES", "find_row_index_column", "pixel_grid"]

# A numeric column whose header says "I am the class" is taken as the label when no column is text.
_LABEL_NAMES = ("label", "labels", "class", "target", "species", "digit", "category", "y")


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


def _column_ref(j: int, name: str) -> str:
    return f"column {j + 1} '{name}'"


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
