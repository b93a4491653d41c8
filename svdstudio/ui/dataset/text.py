"""What the Dataset lab says about a table and its projection: titles, percentages, notices,
labels, copied text, and the biplot arrows' lengths.

Plain functions of a :class:`Dataset` and a :class:`Projection` (no widgets), so the tab only
puts their results on show.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from svdstudio.engine.projection import METHOD_TITLES, Projection, component_names
from svdstudio.io.datasets import BUNDLED, Dataset, bundled_path

__all__ = [
    "NO_LABEL",
    "arrow_vectors",
    "axis_title",
    "bundled_key",
    "coordinates_text",
    "dataset_title",
    "fmt_percent",
    "notice_html",
    "point_coords",
    "ready_message",
    "spectrum_label",
]

NO_LABEL = "(no label)"  # the label-column choice that means "every column is a feature"


def fmt_percent(fraction: float) -> str:
    """A share as a percentage with enough digits to tell small ones apart from zero."""
    pct = 100.0 * float(fraction)
    if pct == 0:
        return "0"
    if pct < 0.1:
        return f"{pct:.2g}"
    return f"{pct:.1f}"


def bundled_key(source: str) -> str | None:
    """The bundled table's key if ``source`` is its file, else None."""
    for key in BUNDLED:
        if Path(source) == bundled_path(key):
            return key
    return None


def dataset_title(path: str | None) -> str:
    """A bundled table's title, else the file name ("dataset" when nothing is open)."""
    if path is None:
        return "dataset"
    key = bundled_key(path)
    return BUNDLED[key][2] if key else Path(path).name


def notice_html(title: str, ds: Dataset | None) -> str:
    """Rich text: the table's size and classes, then anything left out while reading."""
    if ds is None:
        return ""
    parts = [f"<b>{html.escape(title)}</b>: {ds.n_rows} rows × {ds.n_features} features"]
    if ds.label_name:
        parts.append(f"{len(ds.classes)} classes in “{html.escape(ds.label_name)}”")
    else:
        parts.append("no label column")
    text = ", ".join(parts) + "."
    if ds.notices:
        text += (
            " <span style='color:#8a5a00'>⚠ "
            + " ".join(html.escape(n) for n in ds.notices)
            + "</span>"
        )
    return text


def axis_title(res: Projection, j: int) -> str:
    """Axis label for 0-based component ``j``: its name and share of the variance."""
    name = component_names(res.method, j + 1)[j]
    return f"{name} ({fmt_percent(res.explained_variance_ratio[j])} % of variance)"


def spectrum_label(res: Projection | None, k: int) -> str:
    """The spectrum's live label: components kept and the variance they explain."""
    if res is None or k < 1:
        return "No projection yet"
    ratio = res.explained_variance_ratio
    parts = " + ".join(fmt_percent(r) for r in ratio[: min(k, 3)])
    more = " + …" if k > 3 else ""
    total = fmt_percent(float(np.sum(ratio[:k])))
    if total == "100.0" and k < res.n_components:
        total = ">99.9"
    plural = "s" if k != 1 else ""
    return f"{k} component{plural} kept · explained variance {parts}{more} = {total} %"


def ready_message(title: str, res: Projection) -> str:
    """Status sentence once a projection is on show."""
    ratio = fmt_percent(float(np.sum(res.explained_variance_ratio[:2])))
    return (
        f"{title}: {METHOD_TITLES[res.method]} ready; the first two components "
        f"explain {ratio} % of the variance."
    )


def point_coords(res: Projection, i: int, cx: int, cy: int) -> str:
    """Row ``i``'s coordinates on the shown components (0-based), e.g. "SVD1 = 6.479, …"."""
    names = component_names(res.method, max(cx, cy) + 1)
    return f"{names[cx]} = {res.projection[i, cx]:.4g}, {names[cy]} = {res.projection[i, cy]:.4g}"


def coordinates_text(ds: Dataset, res: Projection, k: int) -> str:
    """Row, label and the first ``k`` components as tab-separated text with a header."""
    has_labels = ds.labels is not None
    names = component_names(res.method, k)
    head = ["row"] + ([ds.label_name or "label"] if has_labels else [])
    lines = ["\t".join(head + names)]
    proj = res.projection[:, :k]
    for i in range(proj.shape[0]):
        lead = [str(int(ds.row_numbers[i]))]
        if has_labels:
            lead.append(str(ds.labels[i]))
        lines.append("\t".join(lead + [f"{v:.10g}" for v in proj[i]]))
    return "\n".join(lines) + "\n"


def arrow_vectors(res: Projection, cx: int, cy: int) -> np.ndarray:
    """Biplot arrows: the loadings on the shown components, scaled to the points.

    One factor for both axes (directions stay true), chosen so every arrow stays inside
    about 70 % of the points' extent on each axis.
    """
    vec = res.loadings[:, [cx, cy]]
    reach = np.max(np.abs(res.projection[:, [cx, cy]]), axis=0)
    longest = np.max(np.abs(vec), axis=0)
    factors = [0.7 * r / v for r, v in zip(reach, longest, strict=True) if v > 0 and r > 0]
    factor = min(factors) if factors else 1.0
    return vec * factor
