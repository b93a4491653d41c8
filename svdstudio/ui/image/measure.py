"""The Image lab's measurements: metrics and rank-sweep jobs, gallery, quality plot, targets.

A mixin of :class:`~svdstudio.ui.image.tab.ImageTab`.  Every measurement runs as a job on
the tab's runner; results of an older image or mode (generation) are dropped.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from svdstudio.engine.image import (
    ImageMetrics,
    display_grid,
    image_metrics,
    rank_for_byte_budget,
    rank_for_energy_target,
    rank_for_psnr_target,
    rank_sweep,
    reconstruct_image,
)
from svdstudio.io.images import to_uint8
from svdstudio.ui.image.layout import GALLERY_RANKS

__all__ = ["THUMB_SIDE", "ImageMeasuring"]

THUMB_SIDE = 320


def _sweep_ranks(max_rank: int, full_rank: int) -> list[int]:
    ranks = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}
    ranks = {r for r in ranks if r <= max_rank} | {max_rank}
    if max_rank == full_rank:
        ranks.add(full_rank)
    return sorted(ranks | {r for r in GALLERY_RANKS if r <= max_rank})


class ImageMeasuring:
    """Metrics, sweep, gallery and targets of the Image tab (mixed into ImageTab)."""

    def _with_codecs(self, m: ImageMetrics) -> ImageMetrics:
        if self._codecs is None or self._factors is None or self._factors.downsample_factor > 1:
            return m
        ref = self._codecs.jpeg_reference
        return dataclasses.replace(
            m,
            png_bytes=self._codecs.png_bytes,
            jpeg_bytes=ref.nbytes if ref else None,
            jpeg_quality=ref.quality if ref else None,
        )

    def _request_metrics(self) -> None:
        f = self._factors
        if f is None:
            return
        gen = self._generation
        k, chroma = self._k, self._chroma_arg()
        self.runner.submit(
            "image.metrics",
            image_metrics,
            self._metric_original,
            f,
            k,
            chroma,
            description=f"Image: metrics for k = {k}",
            in_process=False,
            on_result=lambda m: self._on_metrics(m, gen),
            on_error=self._on_job_error,
        )

    def _on_metrics(self, m: ImageMetrics, gen: int) -> None:
        if gen != self._generation:
            return
        self._metrics = self._with_codecs(m)
        self._show_metrics()
        self._update_plot()
        self.metrics_ready.emit()

    def _show_metrics(self) -> None:
        note = "" if self._full else "preview"
        self.metrics_table.show_metrics(self._metrics, note)
        m = self._metrics
        if m is not None:
            self._status(
                f"k = {m.rank}: PSNR {m.psnr_db:.2f} dB, SSIM {m.ssim:.3f}, "
                f"{m.bytes_float32:,} bytes at float32 ({m.compression_ratio:.2f}× vs raw)."
            )

    def _request_sweep(self) -> None:
        f = self._factors
        if f is None:
            return
        gen = self._generation
        step = max(1, int(np.ceil(max(f.height, f.width) / 800)))
        ranks = _sweep_ranks(f.max_rank, f.full_rank)
        self.runner.submit(
            "image.sweep",
            rank_sweep,
            self._metric_original,
            f,
            ranks,
            self._chroma_arg(),
            step=step,
            description="Image: quality at several ranks",
            in_process=False,
            on_result=lambda s: self._on_sweep(s, gen),
            on_error=self._on_job_error,
        )

    def _on_sweep(self, sweep: list[ImageMetrics], gen: int) -> None:
        if gen != self._generation or self._factors is None:
            return
        self._sweep = sweep
        f = self._factors
        by_rank = {m.rank: m for m in sweep}
        ranks = [r for r in GALLERY_RANKS if r <= f.max_rank] + [f.max_rank]
        rows, cols = display_grid(f.height, f.width, THUMB_SIDE)
        for card in self.cards:
            card.set_content(0, None, "")
        for card, k in zip(self.cards, ranks, strict=False):
            m = by_rank.get(k)
            pic = to_uint8(reconstruct_image(f, k, None, rows=rows, cols=cols))
            name = "full" if k == f.full_rank else str(k)
            if m is not None and m.chroma_rank is not None:
                name += f" (chroma {m.chroma_rank})"
            if m is None:
                caption = f"k = {name}"
            else:
                psnr = "lossless" if m.psnr_db > 100 else f"{m.psnr_db:.1f} dB"
                caption = (
                    f"k = {name}: {psnr}, SSIM {m.ssim:.3f}\n"
                    f"{m.bytes_float32 / 1024:,.0f} KiB float32 "
                    f"({m.compression_ratio:.2f}× vs raw)"
                )
            card.set_content(k, pic, caption)
        self._update_plot()

    def _update_plot(self) -> None:
        self.quality_plot.show_data(self._sweep, self._codecs, self._metrics)

    # ================================================================== targets
    def _on_target_kind(self, _index: int = 0) -> None:
        kind = self.target_kind.currentData()
        self.target_dtype.setVisible(kind == "bytes")
        defaults = {
            "energy": (99.0, 0.1, 100.0),
            "psnr": (30.0, 1.0, 150.0),
            "bytes": (64.0, 0.1, 1e7),
        }
        value, lo, hi = defaults[kind]
        self.target_value.setRange(lo, hi)
        self.target_value.setValue(value)

    def apply_target(self) -> None:
        """Pick k from the target controls (PSNR targets run as a job)."""
        f = self._factors
        if f is None:
            return
        kind = self.target_kind.currentData()
        value = self.target_value.value()
        try:
            if kind == "energy":
                self.set_rank(rank_for_energy_target(f, min(value / 100.0, 1.0)))
            elif kind == "bytes":
                dtype = self.target_dtype.currentData()
                self.set_rank(rank_for_byte_budget(f, int(value * 1024), dtype, self._chroma_arg()))
            else:
                gen = self._generation
                step = max(1, int(np.ceil(max(f.height, f.width) / 1000)))
                self.runner.submit(
                    "image.target",
                    rank_for_psnr_target,
                    self._metric_original,
                    f,
                    value,
                    self._chroma_arg(),
                    step=step,
                    description="Image: rank for a PSNR target",
                    in_process=False,
                    on_result=lambda k: gen == self._generation and self.set_rank(k),
                    on_error=self._on_job_error,
                )
        except ValueError as exc:
            self._error(str(exc))
