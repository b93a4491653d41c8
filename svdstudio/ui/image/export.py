"""The Image lab's exports: the rank-k image as PNG, the metrics as CSV, quantized factors.

A mixin of :class:`~svdstudio.ui.image.tab.ImageTab`; every file is written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from svdstudio.engine.image import ImageMetrics, reconstruct_image
from svdstudio.io.atomic import atomic_write
from svdstudio.io.image_factors import FACTOR_FILE_FILTER, save_factors
from svdstudio.io.images import save_png
from svdstudio.ui.widgets import file_dialogs

__all__ = ["ImageExporting"]


class ImageExporting:
    """Export actions of the Image tab (mixed into ImageTab)."""

    def reconstruction(self) -> np.ndarray | None:
        """The full-resolution rank-k image (float32 [0, 255]) or None."""
        if self._factors is None:
            return None
        return reconstruct_image(self._factors, self._k, self._chroma_arg())

    def export(self, what: str | None = None) -> None:
        """Ask where to save the reconstruction (PNG), metrics (CSV) or factors."""
        if self._factors is None:
            self._error("Nothing to export yet: open an image first.")
            return
        stem = Path(self._name).stem or "image"
        filters = {
            "png": "PNG image (*.png)",
            "csv": "Metrics table (*.csv)",
            "factors": FACTOR_FILE_FILTER.replace("*.npz", "*.svdz"),
        }
        names = {
            "png": f"{stem}_k{self._k}.png",
            "csv": f"{stem}_metrics.csv",
            "factors": f"{stem}_k{self._k}.svdz",
        }
        order = [what] if what else ["png", "csv", "factors"]
        asked = file_dialogs.ask_save_path(
            self, "Export", names[order[0]], ";;".join(filters[o] for o in order)
        )
        if asked is None:
            return
        path, chosen = asked
        kind = next((o for o in order if filters[o] == chosen), order[0])
        suffix = Path(path).suffix.lower()
        kind = {".png": "png", ".csv": "csv", ".svdz": "factors", ".npz": "factors"}.get(
            suffix, kind
        )
        {"png": self.export_png, "csv": self.export_metrics_csv, "factors": self.save_factor_file}[
            kind
        ](path)

    def export_png(self, path: str) -> bool:
        """Save the full-resolution rank-k image as PNG (atomically)."""
        rec = self.reconstruction()
        if rec is None:
            return False
        return self._save(path, lambda: save_png(path, rec), f"Saved the rank-{self._k} image")

    def export_metrics_csv(self, path: str) -> bool:
        """Save the current metrics and the rank sweep as CSV (one row per rank)."""
        if self._metrics is None:
            self._error("The metrics are still being computed; try again in a moment.")
            return False
        fields = [f.name for f in dataclasses.fields(ImageMetrics)]
        rows = [("current", "full" if self._full else "preview", self._metrics)]
        step_note = (
            "sampled"
            if self._factors and max(self._factors.height, self._factors.width) > 800
            else "full"
        )
        rows += [("sweep", step_note, m) for m in self._sweep]

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
        if self._factors is None:
            return False
        if not self._full:
            self._error(
                "The full-resolution factors are still being computed; "
                "try again when they are ready."
            )
            return False
        factors, k, chroma = self._factors, self._k, self._chroma_arg()
        return self._save(
            path,
            lambda: save_factors(path, factors, k, chroma, source=self._name),
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
