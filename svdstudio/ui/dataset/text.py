"""What the Dataset lab says about a table and its projection: titles, percentages, notices,
labels, copied text, and the biplot arrows' lengths.

Plain functions of a :class:`Dataset` and a :class:`Projection` (no widgets), so the tab only
puts their results on show.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from svdstudio.engine.projection import METHODS, Projection, component_names, method_by_name
from svdstudio.io.datasets import BUNDLED, Dataset, bundled_path

__all__ = [
    "NO_LABEL",
    "arrow_vectors",
    "axis_title",
    "bundled_key",
    "component_prefix",
    "coordinates_text",
    "dataset_title",
    "describe_components",
    "energy_label",
    "exported_components",
    "fmt_percent",
    "method_description",
    "method_key",
    "method_keys",
    "method_title",
    "notice_html",
    "point_coords",
    "ready_message",
    "spectrum_label",
]

NO_LABEL = "(no label)"  # the label-column choice that means "every column is a feature"


def method_keys() -> tuple[str, ...]:
    """The projection methods' keys, in the registry's order (the method list's order)."""
    return tuple(m.key for m in METHODS)


def method_key(name: str) -> str:
    """The key of the method named ``name`` (any name the registry accepts); ValueError if
    unknown, naming what was given."""
    return method_by_name(name).key


def method_title(key: str) -> str:
    """The title a user reads: "PCA (centred)"."""
    return method_by_name(key).title


def method_description(key: str) -> str:
    """One sentence on what the method does to the table (the method list's tooltip)."""
    return method_by_name(key).description


def component_prefix(key: str) -> str:
    """What the components are called: "SVD" (SVD1, SVD2, …) or "PC"."""
    return component_names(key, 1)[0].removesuffix("1")


def energy_label(res: Projection) -> str:
    """The spectrum's cumulative curve is the explained variance when σᵢ² / Σσ² is the
    explained-variance ratio (centred methods), else the plain energy."""
    s2 = np.square(res.singular_values)
    total = float(np.sum(s2))
    ratio = res.explained_variance_ratio
    if total > 0 and np.allclose(s2 / total, ratio, rtol=1e-9, atol=1e-12):
        return "explained variance"
    return "energy"


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


def notice_html(
    title: str,
    ds: Dataset | None,
    features: Sequence[str] | None = None,
    excluded: Sequence[str] = (),
    index_notice: str = "",
    classes: Sequence[str] | None = None,
) -> str:
    """Rich text: the table's size and classes, then anything left out while reading or by
    the user (``excluded`` columns; ``index_notice`` says why a row-index column was)."""
    if ds is None:
        return ""
    n_features = ds.n_features if features is None else len(features)
    parts = [f"<b>{html.escape(title)}</b>: {ds.n_rows} rows × {n_features} features"]
    if ds.label_name:
        count = len(ds.classes if classes is None else classes)
        parts.append(f"{count} classes in “{html.escape(ds.label_name)}”")
    else:
        parts.append("no label column")
    text = ", ".join(parts) + "."
    notes = list(ds.notices)
    if index_notice:
        notes.append(index_notice)
    others = [n for n in excluded if not (index_notice and repr(n) in index_notice)]
    if others:
        shown = ", ".join(repr(n) for n in others[:6])
        more = f" and {len(others) - 6} more" if len(others) > 6 else ""
        plural = "s" if len(others) != 1 else ""
        notes.append(f"Column{plural} {shown}{more} left out by choice (see Columns).")
    if notes:
        said = " ".join(html.escape(n, quote=False) for n in notes)
        text += f" <span style='color:#8a5a00'>⚠ {said}</span>"
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
        f"{title}: {method_title(res.method)} ready; the first two components "
        f"explain {ratio} % of the variance."
    )


def point_coords(res: Projection, i: int, cx: int, cy: int) -> str:
    """Row ``i``'s coordinates on the shown components (0-based), e.g. "SVD1 = 6.479, …"."""
    names = component_names(res.method, max(cx, cy) + 1)
    return f"{names[cx]} = {res.projection[i, cx]:.4g}, {names[cy]} = {res.projection[i, cy]:.4g}"


def exported_components(res: Projection, k: int, axes: tuple[int, int]) -> list[int]:
    """0-based components to export: the first ``k`` kept and the two plotted (1-based
    ``axes``), in component order, so that what the plot shows is always in the file."""
    n = res.n_components
    chosen = set(range(min(max(k, 1), n))) | {min(max(a, 1), n) - 1 for a in axes}
    return sorted(chosen)


def describe_components(
    res: Projection, components: Sequence[int], k: int, axes: tuple[int, int]
) -> str:
    """Say which components an export holds: "PC1–PC3 (3 kept; the plot shows PC3 × PC2)"."""
    names = component_names(res.method, res.n_components)
    idx = list(components)
    if idx == list(range(idx[-1] + 1)) and len(idx) > 2:
        listed = f"{names[idx[0]]}–{names[idx[-1]]}"
    else:
        listed = ", ".join(names[i] for i in idx)
    kept = min(max(k, 1), res.n_components)
    x, y = (names[min(max(a, 1), res.n_components) - 1] for a in axes)
    return f"{listed} ({kept} kept; the plot shows {x} × {y})"


def coordinates_text(ds: Dataset, res: Projection, components: Sequence[int]) -> str:
    """Row, label and the 0-based ``components`` as tab-separated text with a header."""
    has_labels = ds.labels is not None
    every = component_names(res.method, res.n_components)
    names = [every[j] for j in components]
    head = ["row"] + ([ds.label_name or "label"] if has_labels else [])
    lines = ["\t".join(head + names)]
    proj = res.projection[:, list(components)]
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
