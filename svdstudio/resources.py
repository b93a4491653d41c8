"""Find bundled resources (sample images, datasets, icons) wherever SVD Studio runs from."""

from __future__ import annotations

from pathlib import Path

__all__ = ["resource_path"]


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("images", "camera.png")``."""
    return Path(__file__).resolve().parent.parent / "resources" / Path(*parts)
