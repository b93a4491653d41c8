"""Full-resolution detail for the zoomed-in compare panes of the Image lab.

The panes show a big image through a strided display grid (at most ~1600 px a side).  When
the user zooms in so far that the grid is coarser than the screen, the visible crop is
rebuilt at full resolution from the cached full factors (original, rank-k rebuild and error)
and drawn over the grid.  Rebuilds are debounced (view changes, committed rank changes) and
run on the "image.crop" worker channel (latest wins): a 2 MP crop at high rank takes
hundreds of milliseconds, too long for the GUI thread.  While the cutoff is dragged the
rank-dependent overlays are hidden and the cheap grid preview shows through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6 import QtCore
from PySide6.QtCore import Signal

from svdstudio.engine.image.crop import CropPixels
from svdstudio.ui.image.panes import ImagePane
from svdstudio.ui.image.session import ImageSession
from svdstudio.ui.widgets.debounce import Debouncer

__all__ = ["DEBOUNCE_MS", "DRAG_SETTLE_MS", "MAX_CROP_PIXELS", "ZoomDetail", "detail_region"]

DEBOUNCE_MS = 100
DRAG_SETTLE_MS = 250  # the cutoff held still this long mid-drag: rebuild at the previewed rank
MAX_CROP_PIXELS = 2_000_000


def detail_region(
    views: Sequence[tuple[tuple[float, float], tuple[float, float], float, float]],
    image_size: tuple[int, int],
    grid_step: float,
    max_pixels: int = MAX_CROP_PIXELS,
) -> tuple[slice, slice] | None:
    """Rows and columns to rebuild at full resolution, or None when the grid is enough.

    ``views``: for each visible pane ((x0, x1), (y0, y1), width_px, height_px) in image
    coordinates and device pixels.  ``image_size`` = (width, height); ``grid_step``: image
    pixels per display-grid sample.  The crop covers every pane's visible region, clipped to
    the image, with a stride that keeps it near the pane's pixel count (and ≤ ``max_pixels``);
    None if that stride would be no finer than the grid.
    """
    w, h = image_size
    views = [v for v in views if v[2] > 0 and v[3] > 0]
    if not views or grid_step <= 1:
        return None
    x0 = max(0, math.floor(min(v[0][0] for v in views)))
    x1 = min(w, math.ceil(max(v[0][1] for v in views)))
    y0 = max(0, math.floor(min(v[1][0] for v in views)))
    y1 = min(h, math.ceil(max(v[1][1] for v in views)))
    if x1 <= x0 or y1 <= y0:
        return None
    per_px = min((v[0][1] - v[0][0]) / v[2] for v in views)  # image pixels per screen pixel
    budget = min(max_pixels, int(1.5 * max(v[2] * v[3] for v in views)))
    step = max(1, round(per_px))
    while math.ceil((x1 - x0) / step) * math.ceil((y1 - y0) / step) > budget:
        step += 1
    if step >= grid_step:
        return None
    # Align to the stride so the samples stay put while panning.
    x0, y0 = x0 - x0 % step, y0 - y0 % step
    return slice(y0, y1, step), slice(x0, x1, step)


class ZoomDetail(QtCore.QObject):
    """Keeps full-resolution crops of ``session``'s image over the three compare panes."""

    detail_changed = Signal()  # overlays were drawn or removed

    def __init__(
        self,
        session: ImageSession,
        panes: Sequence[ImagePane],
        error_lut: object,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.original_pane, self.recon_pane, self.error_pane = panes
        self._error_lut = error_lut
        self._debounce = Debouncer(DEBOUNCE_MS, self.update_now, self)
        self._wanted: tuple | None = None  # key of the crop requested last
        self._shown: tuple | None = None  # key of the crop on screen
        self.crop: CropPixels | None = None
        for pane in panes:
            pane.view.sigRangeChanged.connect(self._on_view_changed)
            pane.view.sigResized.connect(self._on_view_changed)
        # The view may have changed while the panes were hidden (another tab was current).
        self.recon_pane.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Show:
            self.schedule()
        return False

    # ------------------------------------------------------------------ triggers
    def schedule(self, delay_ms: int = DEBOUNCE_MS) -> None:
        """Rebuild (or drop) the detail after ``delay_ms`` without further changes."""
        self._debounce.trigger(delay_ms)

    def _on_view_changed(self, *_args: object) -> None:
        self.schedule()

    def rank_changed(self, preview: bool) -> None:
        """The rank changed: a drag preview hides the stale crop; a commit rebuilds it."""
        if preview:
            self._drop(rank_only=True)
            self.schedule(DRAG_SETTLE_MS)
        else:
            self.schedule()

    def clear(self) -> None:
        """Drop every overlay now (new image or colour mode)."""
        self._debounce.cancel()
        self._drop()

    def _drop(self, rank_only: bool = False) -> None:
        self.session.cancel_crop()
        self._wanted = None
        panes = (self.recon_pane, self.error_pane)
        if not rank_only:
            panes = (self.original_pane, *panes)
            self.crop = None
        self._shown = None
        changed = any(p.detail_shown() for p in panes)
        for pane in panes:
            pane.clear_detail()
        if changed:
            self.detail_changed.emit()

    # ------------------------------------------------------------------ work
    def region(self) -> tuple[slice, slice] | None:
        """The crop the current view needs (None: the display grid is enough)."""
        s = self.session
        f = s.factors
        if f is None or not s.full or f.downsample_factor != 1 or s.pixels is None:
            return None
        base = self.recon_pane.item.image
        if base is None:
            return None
        views = []
        for pane in (self.original_pane, self.recon_pane, self.error_pane):
            if not pane.isVisible():
                continue
            vb = pane.view
            dpr = pane.graphics.devicePixelRatioF()
            (x0, x1), (y0, y1) = vb.viewRange()
            views.append(((x0, x1), (y0, y1), vb.width() * dpr, vb.height() * dpr))
        return detail_region(views, (f.width, f.height), f.width / base.shape[1])

    def update_now(self) -> None:
        """Rebuild the detail for the current view and rank (or remove it)."""
        self._debounce.cancel()
        region = self.region()
        if region is None:
            self._drop()
            return
        rows, cols = region
        key = self.session.crop_key(rows, cols)
        if key in (self._shown, self._wanted):
            return
        self._wanted = key
        # Failures reach the status bar through the runner; the grid stays on screen.
        self.session.request_crop(rows, cols, lambda crop, key=key: self._on_crop(crop, key))

    def _on_crop(self, crop: CropPixels, key: tuple) -> None:
        if key != self._wanted:
            return
        self._shown, self._wanted, self.crop = key, None, crop
        rows, cols = crop.rows, crop.cols
        n_rows, n_cols = crop.original.shape[:2]
        rect = QtCore.QRectF(cols.start, rows.start, n_cols * cols.step, n_rows * rows.step)
        self.original_pane.set_detail(crop.original, rect)
        self.recon_pane.set_detail(crop.reconstruction, rect)
        self.error_pane.set_detail(crop.error, rect, levels=(0, 255), lut=self._error_lut)
        self.detail_changed.emit()
