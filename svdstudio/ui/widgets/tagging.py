"""One call for the three names every control carries: object name, tooltip, accessible name."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

__all__ = ["tag"]

W = TypeVar("W", bound=QWidget)


def tag(widget: W, name: str, tip: str, accessible: str) -> W:
    """Set objectName, tooltip and accessible name in one go; returns ``widget``."""
    widget.setObjectName(name)
    widget.setToolTip(tip)
    widget.setAccessibleName(accessible)
    return widget
