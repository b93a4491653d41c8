"""The Image lab's rank controls and drawing: spectrum, colour mode, chroma rank, panes, layers.

:class:`ImageRenderer` edits k through the session (the spectrum displays and edits it, the
session owns it) and redraws from the session's signals.  Moving k only redraws the on-screen
pixels from the cached factors (a :class:`DisplayReconstructor`); metrics follow on release.

The compare panes are drawn from a display grid at the panes' own resolution (a stride no
coarser than one image sample per device pixel of the largest pane, and at most
:data:`MAX_DISPLAY_SIDE` a side): a 12-MP photo in a 570-pixel pane is rebuilt from 0.3 MP, not
from 12 (zooming in is the zoom detail's job).  The grid follows pane resizes (debounced).
While the cutoff is dragged, rank changes are coalesced: the rank-k pane is redrawn once per
event-loop turn, at the latest rank, by rank-1 updates into packed 0xFFRRGGBB frames that Qt
draws without converting them.  The error pane follows mid-drag at most every
:data:`ERROR_FRAME_MS` and every :data:`ERROR_EVERY` th frame (and only while it is on show);
a release or the mouse held still brings it up to date.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6 import QtCore

from svdstudio.engine.image import (
    PREVIEW_ABOVE_PIXELS,
    DisplayReconstructor,
    display_grid,
    from_channels,
    mode_reference,
    rank_one_layer,
    reconstruct_image,
)
from svdstudio.engine.image.display_fast import FastErrorMapper, one_blas_thread
from svdstudio.io.images import to_uint8
from svdstudio.ui.image.layout import VIEW_INDEX, ImageLayout
from svdstudio.ui.image.metrics_table import fmt_percent
from svdstudio.ui.image.session import ImageSession
from svdstudio.ui.image.views import ERROR_LUT, signed_to_uint8
from svdstudio.ui.widgets.step_queue import StepQueue

__all__ = [
    "ERROR_EVERY",
    "ERROR_FRAME_MS",
    "ERROR_LUT",
    "LAYER_SIDE",
    "MAX_DISPLAY_SIDE",
    "ImageRenderer",
    "pane_grid",
]

MAX_DISPLAY_SIDE = 1600
LAYER_SIDE = 800
REGRID_MS = 150  # a pane resize settles this long before the display grid follows it
MIN_PANE_PX = 48  # a pane smaller than this is not laid out yet: the grid falls back
# Mid-drag, the error map is redrawn at most this often and on at most one frame in
# ERROR_EVERY (its map and paint cost as much as the rank-k frame itself); it catches up
# ERROR_FRAME_MS after the last skipped frame.
ERROR_FRAME_MS = 50
ERROR_EVERY = 4


def pane_grid(
    height: int, width: int, panes_px: list[tuple[float, float]], max_side: int
) -> tuple[slice, slice]:
    """Strided rows/columns for panes of ``panes_px`` = [(width, height) device px].

    The stride is the largest that still gives at least one sample per device pixel of the
    biggest pane when the whole image is fitted in it (never coarser than the screen), and
    at least the stride that keeps the grid within ``max_side``.  No usable pane: the
    ``max_side`` grid alone.
    """
    cap = max(1, math.ceil(max(height, width) / max(1, int(max_side))))
    sizes = [(pw, ph) for pw, ph in panes_px if pw >= MIN_PANE_PX and ph >= MIN_PANE_PX]
    step = cap
    if sizes:
        # Image pixels per screen pixel of a fitted pane; the finest pane decides.
        per_px = min(max(width / pw, height / ph) for pw, ph in sizes)
        step = max(cap, math.floor(per_px))
    return slice(0, height, step), slice(0, width, step)


class ImageRenderer(QtCore.QObject):
    """Keeps the spectrum, mode and chroma controls and the image panes in step with ``session``."""

    def __init__(self, session: ImageSession, ui: ImageLayout) -> None:
        super().__init__(ui.tab)
        self.session = session
        self.ui = ui
        self.display: DisplayReconstructor | None = None
        self._errors: FastErrorMapper | None = None
        self._errors_for: tuple | None = None  # (original, rows, cols, mode) of ``_errors``
        self._original_for: tuple | None = None  # (pixels, rows, cols, mode) on show
        self._original_u8: np.ndarray | None = None  # its pixels, as the original pane got them
        self._zoom = None  # ZoomDetail, told about rank changes (set by the tab)
        self._grid: tuple[slice, slice] | None = None  # the display grid of ``display``
        # Mid-drag rank changes are drawn once per event-loop turn, at the latest rank.
        self._frame = QtCore.QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(0)
        self._frame.timeout.connect(lambda: self.render(preview=True))
        self._arrival = StepQueue(self)  # new factors on show, a step per event-loop turn
        self._error_due = QtCore.QTimer(self)
        self._error_due.setSingleShot(True)
        self._error_due.setInterval(ERROR_FRAME_MS)
        self._error_due.timeout.connect(self._update_error)
        self._error_at = -math.inf  # monotonic seconds of the error map on show
        self._error_stale = False  # the error pane shows another rank than the rank-k pane
        self._error_skipped = 0  # rank-k frames drawn since the error map was
        self._regrid = QtCore.QTimer(self)
        self._regrid.setSingleShot(True)
        self._regrid.setInterval(REGRID_MS)
        self._regrid.timeout.connect(self._follow_pane_size)
        for pane in self._compare_panes():
            pane.view.sigResized.connect(self._regrid.start)
        ui.view_tabs.currentChanged.connect(lambda _i: self._regrid.start())
        # A hidden error pane is not drawn; shown again (its view tab, or the Image tab), it
        # catches up with the rank-k pane.
        ui.error_pane.installEventFilter(self)
        ui.mode_combo.currentIndexChanged.connect(self._on_mode_combo)
        ui.chroma_spin.valueChanged.connect(self._on_chroma_spin)
        ui.channel_combo.currentIndexChanged.connect(lambda _i: self._show_spectrum())
        ui.spectrum.rank_changed.connect(lambda k: self._on_spectrum(k, preview=False))
        ui.spectrum.rank_previewed.connect(lambda k: self._on_spectrum(k, preview=True))
        ui.spectrum.component_selected.connect(self._on_component)
        ui.layer_spin.valueChanged.connect(lambda _v: self.render_layers())
        ui.view_tabs.currentChanged.connect(lambda _i: self.render_layers())
        session.image_changed.connect(self._on_image)
        session.mode_changed.connect(self._on_mode)
        session.factors_changed.connect(self._on_factors)
        session.rank_changed.connect(self._on_rank)
        self._update_chroma_enabled()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.ui.error_pane and event.type() == QtCore.QEvent.Type.Show:
            self._update_error(only_stale=True)
        return False

    def _compare_panes(self) -> tuple:
        ui = self.ui
        return (ui.original_pane, ui.recon_pane, ui.error_pane)

    def display_grid_for(self, height: int, width: int) -> tuple[slice, slice]:
        """The display grid of a ``height``×``width`` image in the compare panes as laid out."""
        sizes = []
        for pane in self._compare_panes():
            # A pane on a hidden view tab keeps its laid-out size; one never laid out is
            # tiny (ignored by pane_grid) and its first resize brings the grid in line.
            dpr = pane.graphics.devicePixelRatioF()
            sizes.append((pane.view.width() * dpr, pane.view.height() * dpr))
        return pane_grid(height, width, sizes, MAX_DISPLAY_SIDE)

    def _follow_pane_size(self) -> None:
        """A pane was resized: rebuild the grid if the panes now need another stride."""
        f = self.session.factors
        if f is None or self.display is None:
            return
        if self.display_grid_for(f.height, f.width) != self._grid:
            self._build_display()
            self._show_original()
            self.render()

    def set_zoom(self, zoom: object) -> None:
        """The zoom detail to tell about rank changes."""
        self._zoom = zoom

    # ================================================================== controls → session
    def chroma_driven(self) -> bool:
        """True when the spectrum shows (and its cutoff sets) a chroma channel's rank."""
        f = self.session.factors
        return f is not None and f.mode == "ycbcr" and self.ui.channel_combo.currentIndex() > 0

    def _on_spectrum(self, k: int, *, preview: bool) -> None:
        if self.chroma_driven():
            self.session.set_chroma_rank(k, preview=preview)
        else:
            self.session.set_rank(k, preview=preview)

    def _on_chroma_spin(self, value: int) -> None:
        self.session.set_chroma_rank(int(value))

    def _on_mode_combo(self, _index: int) -> None:
        mode = str(self.ui.mode_combo.currentData())
        self._update_chroma_enabled()
        self.session.set_mode(mode)

    def _on_component(self, i: int) -> None:
        self.ui.layer_spin.setValue(i)
        self.ui.view_tabs.setCurrentIndex(VIEW_INDEX["layers"])

    # ================================================================== session → widgets
    def _on_image(self) -> None:
        img = self.session.image
        if img is None:
            return
        self.ui.mode_combo.setEnabled(img.is_color)
        h, w = img.pixels.shape[:2]
        kind = "colour" if img.is_color else "grayscale"
        self.ui.info_label.setText(f"{self.session.name} — {w}×{h} {kind} ({img.source_mode})")
        self.ui.info_label.setToolTip(img.path)

    def _on_mode(self, mode: str) -> None:
        combo = self.ui.mode_combo
        combo.blockSignals(True)
        combo.setCurrentIndex(max(0, combo.findData(mode)))
        combo.blockSignals(False)
        self._update_chroma_enabled()

    def _update_chroma_enabled(self) -> None:
        on = self.ui.mode_combo.currentData() == "ycbcr"
        self.ui.chroma_spin.setEnabled(on)
        self.ui.chroma_label.setEnabled(on)

    def _on_factors(self) -> None:
        s, ui = self.session, self.ui
        f = s.factors
        self._arrival.cancel()
        if self._zoom is not None:
            self._zoom.clear()
        self._frame.stop()
        if f is None:
            self.display = None
            self._grid = None
            ui.spectrum.clear()
            self._show_original()
            return
        pixels = s.pixels
        big = pixels is not None and pixels.shape[0] * pixels.shape[1] > PREVIEW_ABOVE_PIXELS
        # A big image's factors reach the screen over five event-loop turns, the rank-k pane
        # first: each step is 10-30 ms of GUI-thread work at 12 MP (twice that while the SVD
        # keeps both cores busy), and run together they stalled the window for 60-90 ms.  The
        # error map's reference for a new grid and the map itself: 54-78 ms on one turn.
        self._arrival.run(
            [
                lambda: self._show_factors(error=not big),
                self._show_spectrum,
                self._prepare_error_mapper,
                lambda: self._update_error(only_stale=True),
                self.render_layers,
            ],
            spread=big,
        )

    def _show_factors(self, *, error: bool) -> None:
        """The controls and the rank-k pane for new factors (``error``: the error map too)."""
        s, ui = self.session, self.ui
        f = s.factors
        if f is None:
            return
        self._build_display()
        self._show_original(keep_if_same=True)  # a later stage of the same image and grid
        ui.chroma_spin.blockSignals(True)
        ui.chroma_spin.setRange(0, f.max_chroma_rank)
        ui.chroma_spin.setValue(s.chroma_k)
        ui.chroma_spin.blockSignals(False)
        ui.layer_spin.setRange(1, f.max_rank)
        ui.layer_slider.setRange(1, f.max_rank)
        combo = ui.channel_combo
        combo.blockSignals(True)
        current = combo.currentIndex()
        combo.clear()
        combo.addItems(list(f.channel_names))
        combo.setCurrentIndex(min(max(current, 0), len(f.channel_names) - 1))
        combo.blockSignals(False)
        self.render(error=error)

    def _build_display(self) -> None:
        """The display reconstructor and error mapper on the grid the panes need now."""
        f, original = self.session.factors, self.session.metric_original
        assert f is not None and original is not None
        rows, cols = self.display_grid_for(f.height, f.width)
        self._grid = (rows, cols)
        # Cheap to build (components are copied as ranks reach them): no GUI-thread stall
        # when a stage of 3000 components arrives.
        self.display = DisplayReconstructor(f, rows, cols, packed=True)
        key = (rows, cols, f.mode)
        same = self._errors_for is not None and self._errors_for[0] is original
        if not same or self._errors_for[1:] != key:
            # A later stage of the same image on the same grid keeps its reference; a new
            # one is built when the error map is next drawn, on a turn of its own: with the
            # reconstructor, 60-85 ms of the GUI thread in one event when the first
            # full-resolution stage of a 12-MP photo arrived while the SVD kept both cores.
            self._errors = None
            self._errors_for = (original, *key)

    def _prepare_error_mapper(self) -> None:
        """Build the error reference now if the error pane will want it (a turn of its own)."""
        if self.ui.error_pane.isVisible():
            self._error_mapper()

    def _error_mapper(self) -> FastErrorMapper | None:
        """The error mapper of the display grid (built on first use, see _build_display)."""
        if self._errors is None and self._errors_for is not None:
            original, rows, cols, mode = self._errors_for
            shown = self._original_for
            rounded = self.session.metric_reference_u8  # a preview's, rounded in its job
            if shown is not None and shown[0] is original and shown[1:] == (rows, cols, mode):
                # The original pane's pixels: the same reference, rounded the same way (its
                # float32 copy and rounding took 18 ms of CPU, 100 ms with the SVD running).
                ref = self._original_u8
            elif rounded is not None and original is self.session.metric_original:
                ref = rounded[rows, cols]
            else:
                ref = mode_reference(original[rows, cols], mode)
            self._errors = FastErrorMapper(ref)
        return self._errors

    def _on_rank(self, preview: bool) -> None:
        s, ui = self.session, self.ui
        if not preview:
            # Mid-drag the spectrum already shows the rank (it sent it); setting it there
            # would make it the plot's committed rank, and the release would then see no
            # change and never commit (the metrics stayed stale after every mouse drag).
            ui.spectrum.set_rank(max(s.chroma_k, 1) if self.chroma_driven() else s.k)
        if s.chroma_k != ui.chroma_spin.value():
            ui.chroma_spin.blockSignals(True)
            ui.chroma_spin.setValue(s.chroma_k)
            ui.chroma_spin.blockSignals(False)
        if preview:
            if self._zoom is not None:
                self._zoom.rank_changed(True)  # the stale detail goes now, not a turn later
            self._frame.start()  # coalesced: one redraw per event-loop turn
            return
        self._frame.stop()
        self.render()
        self.render_layers()

    def _show_spectrum(self) -> None:
        f = self.session.factors
        if f is None:
            return
        c = max(0, self.ui.channel_combo.currentIndex())
        ch = f.channels[c]
        self.ui.spectrum.set_values(ch.s, total_energy=ch.total_energy)
        name = f.channel_names[c]
        s2 = np.cumsum(ch.s.astype(np.float64) ** 2)
        total = ch.total_energy or 1.0

        def label(k: int, s2=s2, total=total, name=name) -> str:
            kept = s2[min(k, len(s2)) - 1] / total if k >= 1 else 0.0
            what = "chroma rank" if self.chroma_driven() else "k"
            return (
                f"{what} = {k} · channel {name} keeps {fmt_percent(kept)} of its energy "
                f"· error² {max(total - s2[min(k, len(s2)) - 1], 0.0):.3g}"
            )

        self.ui.spectrum.set_label_formatter(label)
        s = self.session
        self.ui.spectrum.set_rank(max(s.chroma_k, 1) if self.chroma_driven() else s.k)

    # ================================================================== drawing
    def _source_size(self) -> tuple[int, int]:
        pixels = self.session.pixels
        assert pixels is not None
        return (pixels.shape[1], pixels.shape[0])

    def _show_original(self, keep_if_same: bool = False) -> None:
        """Draw the original on the display grid and clear the other panes (``keep_if_same``:
        nothing to do when the same pixels on the same grid are on show)."""
        pixels = self.session.pixels
        if pixels is None:
            self._original_for = self._original_u8 = None
            return
        h, w = pixels.shape[:2]
        rows, cols = self.display_grid_for(h, w)
        prev, key = self._original_for, (rows, cols, self.session.mode)
        same = prev is not None and prev[0] is pixels and prev[1:] == key
        if keep_if_same and same and self.ui.original_pane.item.image is not None:
            return
        self._original_for = (pixels, *key)
        ref = mode_reference(pixels[rows, cols], self.session.mode)
        self._original_u8 = to_uint8(ref)
        self.ui.original_pane.set_pixels(self._original_u8, self._source_size())
        self.ui.recon_pane.set_pixels(None)
        self.ui.error_pane.set_pixels(None)

    def render(self, preview: bool = False, *, error: bool = True) -> None:
        """Redraw the rank-k and error panes (``preview``: mid-drag, keep it cheap; not
        ``error``: the error map stays stale, for the caller to draw on a later turn)."""
        s = self.session
        self._frame.stop()
        if self.display is None or s.factors is None:
            return
        self._show_original_if_needed()
        chroma = s.chroma_arg()
        # One BLAS thread: a drag frame adds a few rank-1 terms, and while a worker process
        # decomposes on both cores a second GUI-thread BLAS thread only waits for a core
        # (a 500×667 rank-32 rebuild took 72 ms that way).
        with one_blas_thread():
            u8 = self.display.render(s.k, chroma)
        self.ui.recon_pane.set_pixels(u8, self._source_size(), words=self.display.packed)
        self._error_stale = True
        now = time.monotonic()
        self._error_skipped += 1
        due = now - self._error_at >= self._error_due.interval() / 1000
        catch_up = not preview or (due and self._error_skipped >= ERROR_EVERY)
        if error and catch_up:
            self._update_error()
        elif error and not self._error_due.isActive():
            self._error_due.start()  # the drag may stop here: catch up soon
        label = f"Rank k = {s.k}"
        if chroma is not None:
            label += f", chroma {chroma}"
        if s.is_preview:
            label += " (preview)"
        self.ui.recon_pane.title.setText(label)
        if self._zoom is not None and not preview:  # mid-drag _on_rank has told it already
            self._zoom.rank_changed(False)

    def _update_error(self, only_stale: bool = False) -> None:
        """Redraw the error map of the rank-k frame on show (if the error pane is on show)."""
        self._error_due.stop()
        if only_stale and not self._error_stale:
            return
        pane = self.ui.error_pane
        u8 = self.ui.recon_pane.item.image
        if u8 is None or not pane.isVisible():
            return  # stays stale: drawn when its view tab is shown
        errors = self._error_mapper()
        if errors is None or u8.shape[:2] != errors.shape:
            return
        err = errors.compute(u8)
        pane.set_pixels(err, self._source_size(), levels=(0, 255), lut=ERROR_LUT)
        self._error_at = time.monotonic()
        self._error_skipped = 0
        self._error_stale = False

    def _show_original_if_needed(self) -> None:
        if self.ui.original_pane.item.image is None:
            self._show_original()

    def render_layers(self) -> None:
        """Redraw the layer and cumulative panes (only while the Layers view is on show)."""
        f = self.session.factors
        ui = self.ui
        if f is None or ui.view_tabs.currentIndex() != VIEW_INDEX["layers"]:
            return
        i = min(ui.layer_spin.value(), f.max_rank)
        rows, cols = display_grid(f.height, f.width, LAYER_SIDE)
        layer = rank_one_layer(f, i, rows=rows, cols=cols)
        if layer.ndim == 3 and f.mode == "ycbcr":
            layer = from_channels([layer[..., c] for c in range(3)], "ycbcr", clip=False)
        size = self._source_size()
        ui.layer_pane.set_pixels(signed_to_uint8(layer), size)
        chroma = min(i, f.max_chroma_rank) if f.mode == "ycbcr" else None
        cum = reconstruct_image(f, i, chroma, rows=rows, cols=cols)
        ui.cumulative_pane.set_pixels(to_uint8(cum), size)
        sigma = f.channels[0].s[i - 1]
        of = "" if len(f.channels) == 1 else " of " + f.channel_names[0]
        peak = float(np.max(np.abs(layer))) if layer.size else 0.0
        ui.layer_pane.title.setText(f"Layer {i}: σ{of} = {sigma:,.1f} (mid-grey = 0)")
        ui.layer_legend.set_labels((f"−{peak:,.1f}", "mid-grey = 0 (stretched)", f"+{peak:,.1f}"))
        ui.cumulative_pane.title.setText(f"Sum of layers 1…{i} (grey levels 0–255)")
