"""Text of Help › About: version, the libraries and their licences, and the data attributions."""

from __future__ import annotations

import html
import platform
from importlib import metadata

from .. import __version__
from ..resources import resource_path

__all__ = ["about_text", "library_versions"]

LIBRARIES = (
    ("PySide6-Essentials", "Qt for Python", "LGPL-3.0 (Qt 6 is LGPL-3.0 as well)"),
    ("pyqtgraph", "pyqtgraph", "MIT"),
    ("numpy", "NumPy", "BSD-3-Clause"),
    ("scipy", "SciPy", "BSD-3-Clause"),
    ("pillow", "Pillow", "MIT-CMU (HPND)"),
)


def library_versions() -> list[tuple[str, str, str]]:
    """(name, installed version or "not installed", licence) for each run-time library."""
    rows = []
    for dist, name, licence in LIBRARIES:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "bundled" if dist != "PySide6-Essentials" else _pyside_version()
        rows.append((name, version, licence))
    return rows


def _pyside_version() -> str:
    try:
        import PySide6

        return PySide6.__version__
    except ImportError:  # pragma: no cover - the GUI cannot run without it
        return "not installed"


def _attributions() -> str:
    path = resource_path("ATTRIBUTION.md")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "<p>(ATTRIBUTION.md not found)</p>"
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("# ")]
    return "<br>".join(html.escape(ln.lstrip("#- ").strip()) for ln in lines)


def about_text() -> str:
    """Rich text for the About box."""
    libs = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(v)}</td><td>{html.escape(lic)}</td></tr>"
        for n, v, lic in library_versions()
    )
    return (
        f"<h3>SVD Studio {html.escape(__version__)}</h3>"
        "<p>An offline desktop lab for the singular value decomposition: matrices, images and "
        "datasets. MIT licence.</p>"
        f"<p>Python {html.escape(platform.python_version())}</p>"
        "<p><b>Libraries</b></p>"
        f"<table cellspacing='6'><tr><th align='left'>Library</th><th align='left'>Version</th>"
        f"<th align='left'>Licence</th></tr>{libs}</table>"
        "<p><b>Data attributions</b></p>"
        f"<p>{_attributions()}</p>"
    )
