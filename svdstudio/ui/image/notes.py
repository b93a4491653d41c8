"""The Image lab's notes beside the compare panes: what is shown, what is running, what is left.

:class:`ImageNotes` redraws the notes, the progress line of the full-resolution SVD (about
every second, with the step and the time left) and the *Compute the rest* button from the
session's signals.
"""

from __future__ import annotations

from PySide6 import QtCore

from svdstudio.ui.image.layout import ImageLayout
from svdstudio.ui.image.session import ImageSession, SvdProgress

__all__ = ["ImageNotes"]

HELP = (
    "Scroll to zoom and drag to pan; the three views move together and, zoomed in, "
    "show the full-resolution pixels of a big image. "
    "Double-click or press Fit to see the whole image again."
)
WHAT = {
    "image.preview": "the quick preview",
    "image.svd": "the full-resolution SVD",
    "image.metrics": "the metrics",
    "image.sweep": "the gallery and the quality curve",
    "image.codecs": "the PNG and JPEG sizes",
    "image.target": "the rank for the PSNR target",
}


class ImageNotes(QtCore.QObject):
    """Keeps ``ui``'s notes, progress line and resume button in step with ``session``."""

    def __init__(self, session: ImageSession, ui: ImageLayout) -> None:
        super().__init__(ui.tab)
        self.session = session
        self.ui = ui
        ui.resume_button.clicked.connect(session.resume)
        for signal in (session.image_changed, session.factors_changed, session.jobs_changed):
            signal.connect(self.update)
        session.progress.connect(self._on_progress)

    def _on_progress(self, p: SvdProgress) -> None:
        self.ui.progress_label.setText(p.sentence())
        self.ui.progress_label.show()

    def update(self) -> None:
        """Rewrite the notes from the session's state."""
        s, ui = self.session, self.ui
        lines = []
        img = s.image
        if img is not None:
            lines.extend(img.notes)
        f = s.factors
        running = s.computing()
        cancelled = [c for c in s.cancelled() if c in WHAT]
        svd_running = "image.svd" in running or "image.preview" in running
        if f is None and img is not None:
            if svd_running:
                lines.append("Computing the singular value decomposition…")
            elif cancelled:
                lines.append("Cancelled before the first picture: no factors yet.")
            elif "image.svd" in s.failures():
                lines.append("The singular value decomposition failed (see the status bar).")
        elif f is not None and s.is_preview:
            where = (
                f"Showing a quick preview computed on a {f.width}×{f.height} copy "
                f"(1/{f.downsample_factor} scale); every figure marked (preview) belongs to it."
            )
            if svd_running:
                where += " The full-resolution SVD is being computed."
            elif "image.svd" in cancelled:
                where += " The full-resolution SVD was cancelled."
            elif "image.svd" in s.failures():
                where += " The full-resolution SVD failed (see the status bar)."
            lines.append(where)
        elif f is not None:
            lines.append(
                f"{len(f.channels)} channel{'s' if len(f.channels) > 1 else ''} of "
                f"{f.width}×{f.height} decomposed once ({f.channels[0].driver}, float32); "
                "every rank reuses these factors."
            )
        if cancelled:
            done = ", ".join(WHAT[c] for c in cancelled)
            lines.append(f"Cancelled: {done}. What was computed is kept.")
        lines.append(HELP)
        ui.notes_label.setText("\n\n".join(lines))
        ui.resume_button.setVisible(bool(cancelled) or bool(set(s.failures()) & set(WHAT)))
        if "image.svd" not in running:
            ui.progress_label.hide()
            ui.progress_label.clear()
