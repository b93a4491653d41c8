"""Image panes that fit their picture, and groups of panes that zoom and pan together.

A pane shows its picture stretched over the *source* image's pixel rectangle, so a preview
(downsampled) picture and a full-resolution one line up.  Until the user zooms or pans, every
pane of a group fits the whole image (aspect locked, centred) whenever it is shown, resized or
given an image of a new size.  Once the user zooms or pans one pane, the others follow it
(same centre, same scale) and resizes keep the user's view; a double-click or :meth:`fit`
goes back to fitting.

Why not pyqtgraph's ``setXLink``/``setYLink``: linking both axes of aspect-locked views of
different shapes makes each view push its aspect onto the others, and a view laid out while
its tab was hidden keeps a range fitted to the wrong size (the image ended up as a cropped
strip at the bottom of the pane).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.widgets.steady_label import SteadyLabel

__all__ = ["FIT_PADDING", "ImagePane", "PaneGroup", "link_panes", "to_qimage"]

FIT_PADDING = 0.01


def to_qimage(pixels: np.ndarray) -> QtGui.QImage:
    """A detached QImage of uint8 H×W (gray) or H×W×3 (RGB) pixels."""
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QtGui.QImage(arr.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
    else:
        img = QtGui.QImage(arr.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888)
    return img.copy()


class ImagePane(QtWidgets.QWidget):
    """A titled image view (pyqtgraph ViewBox + ImageItem), aspect locked, y down."""

    def __init__(
        self, title: str, object_name: str, tooltip: str, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setToolTip(tooltip + ". Double-click to fit the whole image.")
        self.setAccessibleName(title)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = SteadyLabel(title, self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setAccessibleName(f"{title} caption")
        # A long caption wraps instead of widening its pane (side-by-side panes stay equal).
        self.title.setWordWrap(True)
        self.title.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        # A slot: a caption that changes every frame of a drag must not relayout the window.
        lay.addWidget(self.title.slot())
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#f4f5f7")
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.graphics.setMinimumSize(160, 140)
        self.view = self.graphics.addViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        # Full-resolution pixels of the zoomed-in region, drawn over the display grid.
        self.detail = pg.ImageItem(axisOrder="row-major")
        self.detail.setZValue(1)
        self.detail.setVisible(False)
        self.view.addItem(self.detail, ignoreBounds=True)
        lay.addWidget(self.graphics, 1)
        self._source_size: tuple[int, int] | None = None
        # A pane on its own fits itself; link_panes() puts panes into a shared group.
        self.group = PaneGroup(self)

    def source_size(self) -> tuple[int, int] | None:
        """(width, height) of the image rectangle shown, or None."""
        return self._source_size

    def set_pixels(
        self,
        pixels: np.ndarray | None,
        source_size: tuple[int, int] | None = None,
        *,
        levels: tuple[float, float] = (0.0, 255.0),
        lut: np.ndarray | None = None,
    ) -> None:
        """Show pixels (H×W or H×W×3) stretched over ``source_size`` = (width, height)."""
        if pixels is None:
            self.item.clear()
            self.clear_detail()
            return
        self.item.setLookupTable(lut)
        if pixels.dtype == np.uint8 and tuple(levels) == (0.0, 255.0):
            # No levels: pyqtgraph hands uint8 data to QImage without rescaling it.
            self.item.setImage(pixels, autoLevels=False, levels=None)
        else:
            self.item.setImage(pixels, autoLevels=False, levels=levels)
        w, h = source_size or (pixels.shape[1], pixels.shape[0])
        self.item.setRect(QtCore.QRectF(0, 0, w, h))
        if self._source_size != (w, h):
            self._source_size = (w, h)
            self.clear_detail()
            self.group.fit()  # a new image: show all of it, whatever the user did before

    def set_detail(
        self,
        pixels: np.ndarray,
        rect: QtCore.QRectF,
        *,
        levels: tuple[float, float] = (0.0, 255.0),
        lut: np.ndarray | None = None,
    ) -> None:
        """Draw full-resolution ``pixels`` over ``rect`` (image coordinates) above the grid."""
        self.detail.setLookupTable(lut)
        if pixels.dtype == np.uint8 and tuple(levels) == (0.0, 255.0):
            self.detail.setImage(pixels, autoLevels=False, levels=None)
        else:
            self.detail.setImage(pixels, autoLevels=False, levels=levels)
        self.detail.setRect(rect)
        self.detail.setVisible(True)

    def clear_detail(self) -> None:
        """Back to the display grid alone."""
        if self.detail.isVisible() or self.detail.image is not None:
            self.detail.setVisible(False)
            self.detail.clear()

    def detail_shown(self) -> bool:
        return self.detail.isVisible() and self.detail.image is not None

    def fit(self) -> None:
        """Show the whole image, centred (the aspect lock widens the other axis)."""
        if self._source_size is None or not self.isVisible():
            return
        w, h = self._source_size
        self.view.setRange(
            xRange=(0, w), yRange=(0, h), padding=FIT_PADDING, update=True, disableAutoRange=True
        )

    def reset_zoom(self) -> None:
        self.group.fit()

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        super().showEvent(ev)
        if self.group.auto_fit:
            self.fit()


class PaneGroup(QtCore.QObject):
    """Panes that fit together and, once the user zooms or pans one, follow it."""

    def __init__(self, *panes: ImagePane) -> None:
        super().__init__(panes[0] if panes else None)
        self.panes: list[ImagePane] = []
        self.auto_fit = True
        self._syncing = False
        self._connections: dict[ImagePane, list] = {}
        for pane in panes:
            self.add(pane)

    def add(self, pane: ImagePane) -> None:
        if pane in self.panes:
            return
        old = getattr(pane, "group", None)
        if old is not None and old is not self and pane in old.panes:
            old.panes.remove(pane)
            for signal, slot in old._connections.pop(pane, ()):
                signal.disconnect(slot)
        pane.group = self
        self.panes.append(pane)
        vb = pane.view

        def manual(*_a: object, pane: ImagePane = pane) -> None:
            self.auto_fit = False
            self._follow(pane)

        def resized(*_a: object, pane: ImagePane = pane) -> None:
            if self.auto_fit:
                pane.fit()

        def changed(*_a: object, pane: ImagePane = pane) -> None:
            if not self.auto_fit:
                self._follow(pane)

        def clicked(ev: object) -> None:
            if getattr(ev, "double", lambda: False)():
                self.fit()

        scene = pane.graphics.scene()
        conns = [
            (vb.sigRangeChangedManually, manual),
            (vb.sigResized, resized),
            (vb.sigRangeChanged, changed),
            (scene.sigMouseClicked, clicked),
        ]
        for signal, slot in conns:
            signal.connect(slot)
        self._connections[pane] = conns

    def fit(self) -> None:
        """Fit every pane to the whole image and keep fitting on resizes."""
        self.auto_fit = True
        self._syncing = True
        try:
            for pane in self.panes:
                pane.fit()
        finally:
            self._syncing = False

    def _follow(self, master: ImagePane) -> None:
        """Give the other panes ``master``'s centre and scale (each at its own size)."""
        if self._syncing:
            return
        vb = master.view
        (x0, x1), (y0, y1) = vb.viewRange()
        width = vb.width()
        if width <= 0:
            return
        per_px = (x1 - x0) / width
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self._syncing = True
        try:
            for pane in self.panes:
                if pane is master or not pane.isVisible():
                    continue
                hw = per_px * pane.view.width() / 2
                hh = per_px * pane.view.height() / 2
                pane.view.setRange(
                    xRange=(cx - hw, cx + hw), yRange=(cy - hh, cy + hh), padding=0, update=True
                )
        finally:
            self._syncing = False


def link_panes(master: ImagePane, *others: ImagePane) -> PaneGroup:
    """Fit ``master`` and ``others`` together and make zoom and pan of one move all."""
    return PaneGroup(master, *others)
