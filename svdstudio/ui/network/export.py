"""Saving what the Network lab shows: the compressed network, the layer table and the curves
as CSV, the plots as PNG or SVG.  Every file is written atomically.

Each writer returns None when the file was written, else the one sentence to show the user.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from PySide6 import QtWidgets

from svdstudio.engine.network import BudgetSweep, LayerFactors, Network
from svdstudio.io.atomic import atomic_write_text
from svdstudio.io.networks import write_network
from svdstudio.ui.network.jobs import RankCurves
from svdstudio.ui.network.table import layer_rows
from svdstudio.ui.widgets import file_dialogs
from svdstudio.ui.widgets.plot_export import export_plot

__all__ = [
    "FILTERS",
    "ask_export_path",
    "curves_csv",
    "save_curves",
    "save_network",
    "save_plot",
    "save_table",
    "table_csv",
]

FILTERS = {
    "network": {"safetensors": "Compressed network (*.safetensors)"},
    "table": {"csv": "Layer table (*.csv)"},
    "curves": {"csv": "Accuracy curves (*.csv)"},
    "rank-plot": {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)"},
    "budget-plot": {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)"},
}


def ask_export_path(parent: QtWidgets.QWidget, kind: str, stem: str) -> str | None:
    """Ask where to save an export of ``kind``; the path always gets a known extension."""
    filters = FILTERS[kind]
    exts = list(filters)
    asked = file_dialogs.ask_save_path(
        parent, "Export", f"{stem}.{exts[0]}", ";;".join(filters.values())
    )
    if asked is None:
        return None
    path, chosen = asked
    if Path(path).suffix.lower().lstrip(".") not in filters:
        ext = next((e for e, f in filters.items() if f == chosen), exts[0])
        path = f"{path}.{ext}"
    return path


def _csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()


def _shape(t: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in t)


def table_csv(factors: Mapping[str, LayerFactors], ranks: Mapping[str, int | None]) -> str:
    """The per-layer table with the Eckart–Young figures at each chosen rank."""
    header = [
        "layer",
        "kind",
        "method",
        "shape",
        "matrix_shape",
        "max_rank",
        "rank",
        "params",
        "params_compressed",
        "macs",
        "macs_compressed",
        "frobenius_error",
        "frobenius_error_squared",
        "spectral_error",
        "energy_retained",
    ]
    rows: list[list[object]] = [header]
    for r in layer_rows(factors, ranks):
        f = factors[str(r["layer"])]
        k = r["rank"]
        e = f.errors(f.max_rank if k is None else int(k))  # type: ignore[arg-type]
        rows.append(
            [
                r["layer"],
                r["kind"],
                f.method,
                _shape(f.shape),
                _shape(f.matrix_shape),
                f.max_rank,
                "" if k is None else k,
                r["params"],
                r["params at k"],
                r["MACs"],
                r["MACs at k"],
                repr(e.frobenius_error),
                repr(e.frobenius_error_squared),
                repr(e.spectral_error),
                repr(e.energy_retained),
            ]
        )
    return _csv(rows)


def curves_csv(curves: list[RankCurves], budget: BudgetSweep | None, cost: str) -> str:
    """Long format: one row per point of every curve (rank sweeps, then budget sweeps)."""
    rows: list[list[object]] = [
        ["curve", "layer", "method_or_rule", "x", "x_name", "accuracy", "samples"]
    ]
    for c in curves:
        for method, sweep in c.curves.items():
            for k, acc in zip(sweep.ranks, sweep.accuracy, strict=True):
                rows.append(["rank", c.name, method, k, "rank", repr(acc), sweep.n])
    if budget is not None:
        for rule, allocs in budget.allocations.items():
            for a, acc in zip(allocs, budget.accuracy[rule], strict=True):
                rows.append(
                    ["budget", "", rule, repr(a.fraction), f"fraction_{cost}", repr(acc), budget.n]
                )
    return _csv(rows)


def _write_text(path: str, text: str, what: str) -> str | None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        return f"{path}: cannot write the {what} ({exc.strerror or exc})."
    return None


def save_table(path: str, factors, ranks) -> str | None:
    """Write the layer table as CSV."""
    return _write_text(path, table_csv(factors, ranks), "layer table")


def save_curves(path: str, curves, budget, cost) -> str | None:
    """Write the accuracy curves as CSV."""
    return _write_text(path, curves_csv(curves, budget, cost), "curves")


def save_network(path: str, network: Network, note: str) -> str | None:
    """Write the compressed network as safetensors with its architecture in the metadata."""
    try:
        write_network(path, network, {"svdstudio.note": note})
    except (OSError, ValueError) as exc:
        return f"{path}: cannot write the network ({getattr(exc, 'strerror', None) or exc})."
    return None


def save_plot(plot: QtWidgets.QWidget, path: str) -> str | None:
    """Save a plot as PNG (2× the on-screen size) or SVG, by extension."""
    try:
        export_plot(plot, path)
    except (OSError, RuntimeError) as exc:
        return f"{path}: cannot save the plot ({exc})."
    return None
