"""Streams projected coordinates (row, label, components) to CSV or Parquet, atomically.

The out-of-core export: chunks arrive in table order and are appended as they come, so memory
holds one chunk at a time; the file appears at its name only when every chunk was written
(:mod:`svdstudio.io.atomic`).  Parquet (by the ``.parquet``/``.pq`` suffix) needs pyarrow.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.io.atomic import atomic_path, atomic_write

__all__ = ["ProjectionWriter"]


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
