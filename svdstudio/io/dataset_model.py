"""The Dataset lab's table as read: :class:`Dataset` and :class:`DatasetError`.  No Qt.

What every table reader (:mod:`svdstudio.io.datasets` in memory, :mod:`svdstudio.io.bigtables`
with Dask) hands over, and the one error they raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["MISSING_TOKENS", "Dataset", "DatasetError"]

#: Cell texts that mean "no value" (compared case-insensitively after stripping blanks).
MISSING_TOKENS = ("", "na", "n/a", "nan", "?", "null")


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
