"""The Image lab's measurements on screen: metrics table, gallery, quality plot, targets.

:class:`ImageMeasurements` redraws from the session's signals (the jobs are the session's)
and turns the target controls into :meth:`ImageSession.target_rank` calls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6 import QtCore

from svdstudio.engine.image import display_grid, mode_reference, reconstruct_image
from svdstudio.io.images import to_uint8
from svdstudio.ui.image.jobs import gallery_ranks
from svdstudio.ui.image.layout import ImageLayout
from svdstudio.ui.image.metrics_table import byte_unit, fmt_bytes
from svdstudio.ui.image.session import ImageSession
from svdstudio.ui.image.session_measure import THUMB_SIDE

__all__ = ["THUMB_SIDE", "ImageMeasurements"]
TARGET_DEFAULTS = {
    "energy": (99.0, 0.1, 100.0),
    "psnr": (30.0, 1.0, 150.0),
    "bytes": (64.0, 0.1, 1e7),
}


class ImageMeasurements(QtCore.QObject):
    """Shows ``session``'s metrics, sweep and codec figures; applies targets."""

    def __init__(
        self,
        session: ImageSession,
        ui: ImageLayout,
        status: Callable[[str], None],
        error: Callable[[str], None],
    ) -> None:
        super().__init__(ui.tab)
        self.session = session
        self.ui = ui
        self._status = status
        self._error = error
        for card in ui.cards:
            card.clicked.connect(session.set_rank)
        ui.target_button.clicked.connect(self.apply_target)
        ui.target_kind.currentIndexChanged.connect(self._on_target_kind)
        self._on_target_kind()
        session.factors_changed.connect(self._on_factors)
        session.metrics_stale.connect(lambda: ui.metrics_table.set_stale(True))
        session.metrics_ready.connect(self._on_metrics)
        session.sweep_ready.connect(self._on_sweep)
        session.codecs_ready.connect(self._on_codecs)
        session.jobs_changed.connect(self._on_jobs)

    # ================================================================== metrics
    def _on_factors(self) -> None:
        if self.session.factors is None:
            self.ui.metrics_table.show_metrics(None)
            for card in self.ui.cards:
                card.set_content(0, None, "")
        self._update_plot()

    def _show_table(self) -> None:
        s = self.session
        self.ui.metrics_table.show_metrics(
            s.metrics,
            preview=s.is_preview,
            factor_file=s.from_factor_file,
            codec_notes=s.codec_notes(),
            codecs_pending="image.codecs" in s.computing(),
            codecs_cancelled="image.codecs" in s.cancelled(),
        )
        if s.metrics is not None and not s.metrics_current:
            self.ui.metrics_table.set_stale(True)

    def _on_metrics(self) -> None:
        self._show_table()
        self._update_plot()
        m = self.session.metrics
        if m is not None:
            note = " (preview)" if self.session.is_preview else ""
            self._status(
                f"k = {m.rank}: PSNR {m.psnr_db:.2f} dB, SSIM (luma) {m.ssim:.3f}{note}, "
                f"{m.bytes_float32:,} bytes at float32 ({m.compression_ratio:.2f}× vs raw)."
            )

    def _on_codecs(self) -> None:
        if self.session.metrics is not None:
            self._show_table()
        self._update_plot()

    def _on_jobs(self) -> None:
        # A cancelled or failed codec job: its "…" rows must not wait for ever.
        if self.session.metrics is not None:
            self._show_table()

    # ================================================================== gallery
    def _on_sweep(self) -> None:
        s = self.session
        f = s.factors
        if f is None:
            return
        by_rank = {m.rank: m for m in s.sweep}
        ranks = gallery_ranks(f.max_rank)
        rows, cols = display_grid(f.height, f.width, THUMB_SIDE)
        shown = [by_rank[k] for k in ranks if k in by_rank]
        unit = byte_unit(max((m.bytes_float32 for m in shown), default=0))
        preview = " · preview" if s.is_preview else ""
        for card in self.ui.cards:
            card.set_content(0, None, "")
        for card, k in zip(self.ui.cards, ranks, strict=False):
            m = by_rank.get(k)
            pic = s.gallery_picture(k)  # made by the sweep job, off the GUI thread
            if pic is None:
                pic = self._picture(k, rows, cols)
            name = "full" if k == f.full_rank else str(k)
            if m is not None and m.chroma_rank is not None:
                name += f" (chroma {m.chroma_rank})"
            if m is None:
                caption = f"k = {name}{preview}"
            else:
                psnr = "lossless" if m.psnr_db > 100 else f"{m.psnr_db:.1f} dB"
                caption = (
                    f"k = {name}: {psnr}, SSIM (luma) {m.ssim:.3f}{preview}\n"
                    f"{fmt_bytes(m.bytes_float32, unit)} float32 "
                    f"({m.compression_ratio:.2f}× vs raw)"
                )
            card.set_content(k, pic, caption)
        self._update_plot()

    def _picture(self, k: int, rows: slice, cols: slice) -> np.ndarray:
        """A card's picture the sweep did not bring (not expected; made here then)."""
        s = self.session
        f = s.factors
        assert f is not None
        if k == f.full_rank and f.mode != "ycbcr" and s.metric_original is not None:
            # A at full rank is the image itself (YCbCr keeps its chroma rank).
            return to_uint8(mode_reference(s.metric_original[rows, cols], f.mode))
        return to_uint8(reconstruct_image(f, k, None, rows=rows, cols=cols))

    def _update_plot(self) -> None:
        s = self.session
        self.ui.quality_plot.show_data(
            s.sweep, s.codecs, s.metrics, preview=s.is_preview, notes=s.codec_notes()
        )

    # ================================================================== targets
    def _on_target_kind(self, _index: int = 0) -> None:
        kind = self.ui.target_kind.currentData()
        self.ui.target_dtype.setVisible(kind == "bytes")
        value, lo, hi = TARGET_DEFAULTS[kind]
        self.ui.target_value.setRange(lo, hi)
        self.ui.target_value.setValue(value)

    def apply_target(self) -> None:
        """Pick k from the target controls (PSNR targets run as a job)."""
        ui = self.ui
        try:
            self.session.target_rank(
                ui.target_kind.currentData(), ui.target_value.value(), ui.target_dtype.currentData()
            )
        except ValueError as exc:
            self._error(str(exc))
