"""Find bundled resources (sample images, datasets, icons) wherever SVD Studio runs from.

Three layouts, tried in this order:

1. A PyInstaller bundle: ``sys._MEIPASS/resources`` (packaging/svdstudio.spec puts it there).
2. An installed wheel: ``svdstudio/_resources`` beside this module (pyproject.toml maps the
   top-level ``resources/`` folder to the data-only package ``svdstudio._resources``).
3. A source checkout or an editable install: the top-level ``resources/`` next to ``svdstudio/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path", "resources_root"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates() -> list[Path]:
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(_PACKAGE_DIR / "_resources")
    roots.append(_PACKAGE_DIR.parent / "resources")
    return roots


def resources_root() -> Path:
    """The folder that holds ``images/``, ``datasets/``, ``icons/`` and ``ATTRIBUTION.md``."""
    roots = _candidates()
    for root in roots:
        if root.is_dir():
            return root
    tried = ", ".join(str(r) for r in roots)
    raise FileNotFoundError(f"SVD Studio's resources folder is missing (looked in: {tried})")


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("images", "camera.png")``.

    The path is returned even if the file does not exist (callers report that themselves); only a
    missing resources folder raises ``FileNotFoundError``.
    """
    return resources_root().joinpath(*parts)
