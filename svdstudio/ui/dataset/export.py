"""Saving what the Dataset lab shows: projected coordinates as CSV, the plot as PNG or SVG.

Each writer returns None when the file was written, else the one sentence to show the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6 import QtWidgets

from svdstudio.engine.projection import Projection, component_names
from svdstudio.io.datasets import Dataset, write_projection_csv
from svdstudio.ui.widgets import file_dialogs
from svdstudio.ui.widgets.plot_export import export_plot

__all__ = ["FILTERS", "ask_export_path", "save_coordinates", "save_plot"]

FILTERS = {
    "csv": "Projected coordinates (*.csv)",
    "png": "PNG image (*.png)",
    "svg": "SVG drawing (*.svg)",
}


def ask_export_path(parent: QtWidgets.QWidget, kind: str | None, stem: str) -> str | None:
    """Ask where to save; ``kind`` None offers every type.  The path always has a known
    extension (the chosen filter's when the typed name has none); None when cancelled."""
    order = [kind] if kind else list(FILTERS)
    asked = file_dialogs.ask_save_path(
        parent, "Export", f"{stem}.{order[0]}", ";;".join(FILTERS[k] for k in order)
    )
    if asked is None:
        return None
    path, chosen = asked
    if Path(path).suffix.lower().lstrip(".") not in FILTERS:
        ext = next((k for k in order if FILTERS[k] == chosen), order[0])
        path = f"{path}.{ext}"
    return path


def save_coordinates(
    path: str, ds: Dataset, res: Projection, components: Sequence[int]
) -> str | None:
    """Write row, label and the 0-based ``components`` to ``path`` (atomic)."""
    every = component_names(res.method, res.n_components)
    try:
        write_projection_csv(
            path,
            res.projection[:, list(components)],
            component_names=[every[j] for j in components],
            labels=ds.labels,
            label_name=ds.label_name,
            row_numbers=ds.row_numbers,
        )
    except OSError as exc:
        return f"{path}: cannot write the file ({exc.strerror or exc})."
    return None


def save_plot(plot: QtWidgets.QWidget, path: str) -> str | None:
    """Save a plot as PNG (2× the on-screen size) or SVG, by extension (atomic)."""
    try:
        export_plot(plot, path)
    except (OSError, RuntimeError) as exc:
        return f"{path}: cannot save the plot ({exc})."
    return None
