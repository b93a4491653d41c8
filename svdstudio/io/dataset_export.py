"""The projected coordinates of an in-memory table written as CSV, atomically.  No Qt.

(Tables read with Dask stream theirs with :mod:`svdstudio.io.projection_writer`.)
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

import numpy as np

from svdstudio.io.atomic import atomic_write_text

__all__ = ["write_projection_csv"]


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
