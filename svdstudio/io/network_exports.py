"""CSV exports of the Network lab: the per-layer table and the accuracy curves (atomic writes)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from svdstudio.engine.network.factorize import LayerFactors
from svdstudio.io.atomic import atomic_write

__all__ = ["layer_figures", "layer_table_rows", "write_csv_rows", "write_curves_csv"]


def layer_table_rows(
    factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None]
) -> list[dict[str, object]]:
    """One row per factorised layer: kind, shapes, rank, params and MACs before/after, and the
    Eckart–Young figures at the chosen rank (the whole layer: 0 error, 100 % energy)."""
    rows: list[dict[str, object]] = []
    for name, f in factors.items():
        k = ranks.get(name)
        rows.append(
            {
                "layer": name,
                "kind": f.kind,
                "shape": "×".join(map(str, f.shape)),
                "scheme": f.scheme,
                "method": f.method,
                "matrix_shape": "×".join(map(str, f.matrix_shape)),
                "rank": "" if k is None else k,
                "max_rank": f.max_rank,
                **layer_figures(f, k),
            }
        )
    return rows


def layer_figures(f: LayerFactors, k: int | None) -> dict[str, object]:
    """A layer's params and MACs before/after rank ``k`` (None: kept whole) and its
    Eckart–Young errors there: the figures the CSV table and ``svdstudio-cli network`` share."""
    e = f.errors(f.max_rank if k is None else k)
    return {
        "params": f.params,
        "params_compressed": f.cost_at(k, "params"),
        "macs": f.macs,
        "macs_compressed": f.cost_at(k, "macs"),
        "frobenius_error": e.frobenius_error,
        "frobenius_error_squared": e.frobenius_error_squared,
        "spectral_error": e.spectral_error,
        "energy_retained": e.energy_retained,
    }


def write_csv_rows(path: str | os.PathLike[str], rows: list[dict[str, object]]) -> None:
    """Write dict rows (same keys, in order) as CSV with a header, atomically."""
    import csv

    if not rows:
        raise ValueError("nothing to export: the table is empty")
    with atomic_write(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.9g}" if isinstance(v, float) else v) for k, v in row.items()}
            )


def write_curves_csv(path: str | os.PathLike[str], columns: Mapping[str, Sequence[object]]) -> None:
    """Write equal-length columns (e.g. rank, plain, data-aware) as CSV, atomically."""
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise ValueError("the curves to export have different lengths")
    names = list(columns)
    n = lengths.pop()
    write_csv_rows(path, [{c: columns[c][i] for c in names} for i in range(n)])
