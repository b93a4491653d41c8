"""The Image lab's rank handling and drawing: k and chroma rank, spectrum, image panes, layers.

A mixin of :class:`~svdstudio.ui.image.tab.ImageTab`.  Moving k only redraws the on-screen
pixels from the cached factors (a :class:`DisplayReconstructor`); metrics follow on release.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from svdstudio.engine.image import (
    display_grid,
    from_channels,
    mode_reference,
    rank_one_layer,
    reconstruct_image,
)
from svdstudio.io.images import to_uint8
from svdstudio.ui.image.views import signed_to_uint8

__all__ = ["ERROR_LUT", "LAYER_SIDE", "MAX_DISPLAY_SIDE", "ImageRendering"]

MAX_DISPLAY_SIDE = 1600
LAYER_SIDE = 800
ERROR_LUT = pg.colormap.get("inferno").getLookupTable(nPts=256)


class ImageRendering:
    """Rank choice and drawing of the Image tab (mixed into ImageTab)."""

    def _chroma_driven(self) -> bool:
        return (
            self._factors is not None
            and self._factors.mode == "ycbcr"
            and self.channel_combo.currentIndex() > 0
        )

    def _show_spectrum(self) -> None:
        f = self._factors
        if f is None:
            return
        c = max(0, self.channel_combo.currentIndex())
        ch = f.channels[c]
        self.spectrum.set_values(ch.s, total_energy=ch.total_energy)
        name = f.channel_names[c]
        s2 = np.cumsum(ch.s.astype(np.float64) ** 2)
        total = ch.total_energy or 1.0

        def label(k: int, s2=s2, total=total, name=name) -> str:
            kept = s2[min(k, len(s2)) - 1] / total if k >= 1 else 0.0
            what = "chroma rank" if self._chroma_driven() else "k"
            return (
                f"{what} = {k} · channel {name} keeps {kept:.2%} of its energy "
                f"· error² {max(total - s2[min(k, len(s2)) - 1], 0.0):.3g}"
            )

        self.spectrum.set_label_formatter(label)
        self.spectrum.set_rank(max(self._chroma_k, 1) if self._chroma_driven() else self._k)

    def rank(self) -> int:
        """The current rank k (luma rank in YCbCr mode)."""
        return self._k

    def set_rank(self, k: int) -> None:
        """Set k (e.g. from the gallery or a target) as if the user had chosen it."""
        if self._factors is None:
            self._k = max(1, int(k))
            return
        self._k = min(max(int(k), 1), self._factors.max_rank)
        if not self._chroma_driven():
            self.spectrum.set_rank(self._k)
        self._render()
        self._request_metrics()

    def _on_rank_preview(self, k: int) -> None:
        if self._chroma_driven():
            self._chroma_k = k
        else:
            self._k = k
        self._render(preview=True)

    def _on_rank_committed(self, k: int) -> None:
        if self._chroma_driven():
            self._chroma_k = k
            self.chroma_spin.blockSignals(True)
            self.chroma_spin.setValue(k)
            self.chroma_spin.blockSignals(False)
        else:
            self._k = k
        self._render()
        self._request_metrics()

    def _on_chroma(self, value: int) -> None:
        self._chroma_k = int(value)
        if self._chroma_driven() and value >= 1:
            self.spectrum.set_rank(value)
        self._render()
        self._request_metrics()

    def _on_component(self, i: int) -> None:
        self.layer_spin.setValue(i)
        self.view_tabs.setCurrentIndex(2)

    def _on_mode(self, _index: int) -> None:
        if self._image is None or self._image.is_color:
            self._color_mode = self._mode_key()
        self._update_chroma_enabled()
        if self._pixels is not None:
            self._start_decomposition()

    def _update_chroma_enabled(self) -> None:
        on = self._mode_key() == "ycbcr"
        self.chroma_spin.setEnabled(on)
        self.chroma_label.setEnabled(on)

    def _chroma_arg(self) -> int | None:
        return (
            self._chroma_k if self._factors is not None and self._factors.mode == "ycbcr" else None
        )

    # ================================================================== drawing
    def _source_size(self) -> tuple[int, int]:
        assert self._pixels is not None
        return (self._pixels.shape[1], self._pixels.shape[0])

    def _show_original(self) -> None:
        if self._pixels is None:
            return
        h, w = self._pixels.shape[:2]
        rows, cols = display_grid(h, w, MAX_DISPLAY_SIDE)
        ref = mode_reference(self._pixels[rows, cols], self._mode_key())
        self.original_pane.set_pixels(to_uint8(ref), self._source_size())
        self.recon_pane.set_pixels(None)
        self.error_pane.set_pixels(None)

    def _render(self, preview: bool = False) -> None:
        """Redraw the rank-k and error panes (``preview``: mid-drag, keep it cheap)."""
        if self._display is None or self._factors is None:
            return
        chroma = self._chroma_arg()
        u8 = self._display.render(self._k, chroma)
        size = self._source_size()
        self.recon_pane.set_pixels(u8, size)
        err = self._error_image.compute(u8)
        self.error_pane.set_pixels(err, size, levels=(0, 255), lut=ERROR_LUT)
        label = f"Rank k = {self._k}"
        if chroma is not None:
            label += f", chroma {chroma}"
        if not self._full:
            label += " (preview)"
        self.recon_pane.title.setText(label)
        self.zoom_detail.rank_changed(preview)

    def _render_layers(self) -> None:
        if self._factors is None or self.view_tabs.currentIndex() != 2:
            return
        f = self._factors
        i = min(self.layer_spin.value(), f.max_rank)
        rows, cols = display_grid(f.height, f.width, LAYER_SIDE)
        layer = rank_one_layer(f, i, rows=rows, cols=cols)
        if layer.ndim == 3 and f.mode == "ycbcr":
            layer = from_channels([layer[..., c] for c in range(3)], "ycbcr", clip=False)
        size = self._source_size()
        self.layer_pane.set_pixels(signed_to_uint8(layer), size)
        chroma = min(i, f.max_chroma_rank) if f.mode == "ycbcr" else None
        cum = reconstruct_image(f, i, chroma, rows=rows, cols=cols)
        self.cumulative_pane.set_pixels(to_uint8(cum), size)
        s = f.channels[0].s[i - 1]
        self.layer_pane.title.setText(
            f"Layer {i}: σ{'' if len(f.channels) == 1 else ' of ' + f.channel_names[0]} = {s:,.1f}"
        )
        self.cumulative_pane.title.setText(f"Sum of layers 1…{i}")

    def _update_notes(self) -> None:
        lines = []
        if self._image is not None:
            lines.extend(self._image.notes)
        f = self._factors
        if f is None and self._pixels is not None:
            lines.append("Computing the singular value decomposition…")
        elif f is not None and not self._full:
            lines.append(
                f"Showing a quick preview computed on a {f.width}×{f.height} copy "
                f"(1/{f.downsample_factor} scale); the full-resolution SVD is being computed."
            )
        elif f is not None:
            h, w = f.height, f.width
            lines.append(
                f"{len(f.channels)} channel{'s' if len(f.channels) > 1 else ''} of {w}×{h} "
                "decomposed once "
                f"({f.channels[0].driver}, float32); every rank reuses these factors."
            )
        lines.append(
            "Scroll to zoom and drag to pan; the three views move together and, zoomed in, "
            "show the full-resolution pixels of a big image. "
            "Double-click or press Fit to see the whole image again."
        )
        self.notes_label.setText("\n\n".join(lines))
