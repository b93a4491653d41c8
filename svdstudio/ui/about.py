"""Text of Help › About: version, the libraries and their licences, and the data attributions."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from svdstudio import __version__
from svdstudio.resources import resource_path

__all__ = ["AboutDialog", "about_text", "library_versions"]

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
        return "(ATTRIBUTION.md not found)"
    # Its title becomes a section of the About text.
    return text.replace("# Attributions for bundled data", "## Data attributions", 1)


def about_text() -> str:
    """Markdown for the About dialog: version, libraries and licences, data attributions."""
    rows = "\n".join(f"| {n} | {v} | {lic} |" for n, v, lic in library_versions())
    return (
        f"# SVD Studio {__version__}\n\n"
        "An offline desktop lab for the singular value decomposition: matrices, images and "
        "datasets. MIT licence.\n\n"
        f"Python {platform.python_version()}\n\n"
        "## Libraries\n\n"
        "| Library | Version | Licence |\n|---|---|---|\n"
        f"{rows}\n\n"
        f"{_attributions()}\n"
    )


class AboutDialog(QDialog):
    """Help › About: a scrollable, selectable text that fits small screens."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About SVD Studio")
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("aboutText")
        self.browser.setAccessibleName("About SVD Studio")
        self.browser.setOpenExternalLinks(False)
        self.browser.setMarkdown(about_text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser)
        lay.addWidget(buttons)
        self.resize(640, 520)
