"""The Image lab's exports: the rank-k image as PNG, the metrics as CSV, quantized factors.

:class:`ImageExporter` reads what it saves from the session; every file is written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from svdstudio.engine.image import ImageMetrics
from svdstudio.io.atomic import atomic_write
from svdstudio.io.image_factors import (
    FACTOR_SAVE_FILTER,
    FACTOR_SUFFIX,
    FACTOR_SUFFIXES,
    save_factors,
)
from svdstudio.io.images import save_png
from svdstudio.ui.image.session import ImageSession
from svdstudio.ui.widgets import file_dialogs

__all__ = ["ImageExporter"]


class ImageExporter:
    """Export actions of the Image tab, over ``session``; ``parent`` owns the dialogs."""

    def __init__(
        self,
        session: ImageSession,
        parent: object,
        status: Callable[[str], None],
        error: Callable[[str], None],
    ) -> None:
        self.session = session
        self.parent = parent
        self._status = status
        self._error = error

    def reconstruction(self) -> np.ndarray | None:
        """The full-resolution rank-k image (float32 [0, 255]) or None."""
        return self.session.reconstruction()

    def export(self, what: str | None = None) -> None:
        """Ask where to save the reconstruction (PNG), metrics (CSV) or factors."""
        s = self.session
        if s.factors is None:
            self._error("Nothing to export yet: open an image first.")
            return
        stem = Path(s.name).stem or "image"
        filters = {
            "png": "PNG image (*.png)",
            "csv": "Metrics table (*.csv)",
            "factors": FACTOR_SAVE_FILTER,
        }
        names = {
            "png": f"{stem}_k{s.k}.png",
            "csv": f"{stem}_metrics.csv",
            "factors": f"{stem}_k{s.k}{FACTOR_SUFFIX}",
        }
        order = [what] if what else ["png", "csv", "factors"]
        asked = file_dialogs.ask_save_path(
            self.parent, "Export", names[order[0]], ";;".join(filters[o] for o in order)
        )
        if asked is None:
            return
        path, chosen = asked
        kind = next((o for o in order if filters[o] == chosen), order[0])
        suffix = Path(path).suffix.lower()
        by_suffix = {".png": "png", ".csv": "csv"} | dict.fromkeys(FACTOR_SUFFIXES, "factors")
        kind = by_suffix.get(suffix, kind)
        {"png": self.export_png, "csv": self.export_metrics_csv, "factors": self.save_factor_file}[
            kind
        ](path)

    def export_png(self, path: str) -> bool:
        """Save the full-resolution rank-k image as PNG (atomically)."""
        rec = self.reconstruction()
        if rec is None:
            return False
        return self._save(
            path, lambda: save_png(path, rec), f"Saved the rank-{self.session.k} image"
        )

    def export_metrics_csv(self, path: str) -> bool:
        """Save the current metrics and the rank sweep as CSV (one row per rank)."""
        s = self.session
        if s.metrics is None or not s.metrics_current:
            self._error("The metrics are still being computed; try again in a moment.")
            return False
        fields = [f.name for f in dataclasses.fields(ImageMetrics)]
        rows = [("current", "preview" if s.is_preview else "full", s.metrics)]
        big = s.factors is not None and max(s.factors.height, s.factors.width) > 800
        step_note = "sampled" if big else "full"
        if s.is_preview:
            step_note = f"preview {step_note}"
        rows += [("sweep", step_note, m) for m in s.sweep]

        def write() -> None:
            with atomic_write(path, "w") as fh:
                w = csv.writer(fh)
                w.writerow(["row", "measured_on", *fields])
                for tag, on, m in rows:
                    d = m.as_dict()
                    w.writerow([tag, on, *["" if d[k] is None else d[k] for k in fields]])

        return self._save(path, write, "Saved the metrics")

    def save_factor_file(self, path: str) -> bool:
        """Save the rank-k factors, 8-bit quantized, in SVD Studio's factor file format."""
        s = self.session
        if s.factors is None:
            return False
        if not s.full:
            self._error(
                "The full-resolution factors are still being computed; "
                "try again when they are ready."
            )
            return False
        factors, k, chroma, name = s.factors, s.k, s.chroma_arg(), s.name
        return self._save(
            path,
            lambda: save_factors(path, factors, k, chroma, source=name),
            f"Saved the rank-{k} factors",
        )

    def _save(self, path: str, write: Callable[[], object], done: str) -> bool:
        """Run ``write``; report "<done> to <path>." or why the file could not be saved."""
        try:
            write()
        except (OSError, ValueError) as exc:
            self._error(f"{path}: cannot save ({getattr(exc, 'strerror', None) or exc})")
            return False
        self._status(f"{done} to {path}.")
        return True
