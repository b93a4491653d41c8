"""The registry of tabs, in the order they appear.  Adding a tab is one line here.

Each tab package exposes ``TAB_SPEC`` (a :class:`~svdstudio.ui.tab_contract.TabSpec`) in its
``spec`` module.  The spec modules are read when the window is built; a tab's own modules are
imported only when the window first needs that tab (keep ``spec.py`` free of heavy imports).
"""

from __future__ import annotations

import importlib

from svdstudio.ui.tab_contract import TabSpec

__all__ = ["TAB_PACKAGES", "registered_tabs"]

TAB_PACKAGES = (
    "svdstudio.ui.matrix",
    "svdstudio.ui.image",
    "svdstudio.ui.dataset",
    "svdstudio.ui.network",
)


def registered_tabs() -> list[TabSpec]:
    """Every tab's spec, in tab order."""
    return [importlib.import_module(f"{pkg}.spec").TAB_SPEC for pkg in TAB_PACKAGES]
