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

import sys

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.widgets.steady_label import SteadyLabel

__all__ = [
    "FIT_PADDING",
    "FrameItem",
    "ImagePane",
    "PaneGroup",
    "link_panes",
    "pack_rgb32",
    "to_qimage",
]

FIT_PADDING = 0.01
# Byte offsets of R, G, B in a native 0xFFRRGGBB word (QImage.Format_RGB32).
_R, _G, _B = (2, 1, 0) if sys.byteorder == "little" else (1, 2, 3)


def to_qimage(pixels: np.ndarray) -> QtGui.QImage:
    """A detached QImage of uint8 H×W (gray) or H×W×3 (RGB) pixels."""
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QtGui.QImage(arr.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
    else:
        img = QtGui.QImage(arr.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888)
    return img.copy()


def pack_rgb32(
    pixels: np.ndarray, lut: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray | None:
    """uint8 pixels (H×W gray or indices into an N×3 ``lut``, or H×W×3 RGB) as H×W words
    0xFFRRGGBB, written into ``out`` when it fits; None for what needs pyqtgraph's levels."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        return None
    h, w = pixels.shape[:2]
    if out is None or out.shape != (h, w) or out.dtype != np.uint32:
        out = np.empty((h, w), np.uint32)
    if pixels.ndim == 3:
        if pixels.shape[2] != 3 or lut is not None:
            return None
        quad = out.view(np.uint8).reshape(h, w, 4)
        out.fill(0xFF000000)
        for byte, c in ((_R, 0), (_G, 1), (_B, 2)):
            quad[..., byte] = pixels[..., c]
    elif lut is None:
        np.multiply(pixels, np.uint32(0x010101), out=out, dtype=np.uint32)
        out |= np.uint32(0xFF000000)
    else:
        lut = np.asarray(lut)
        if lut.dtype != np.uint8 or lut.ndim != 2 or lut.shape[1] != 3 or len(lut) < 256:
            return None
        l32 = lut[:256].astype(np.uint32)
        words = 0xFF000000 | (l32[:, 0] << 16) | (l32[:, 1] << 8) | l32[:, 2]
        np.take(words, pixels, out=out, mode="clip")
    return out


class FrameItem(pg.ImageItem):
    """An ImageItem that draws packed 0xFFRRGGBB words as they are (:meth:`set_words`).

    pyqtgraph hands RGB888 or indexed images to Qt, which converts them on every paint: a
    667×500 frame scaled into a pane took 0.9 ms as RGB888 and 1.7 ms as Indexed8 against
    0.17 ms as RGB32.  ``image`` stays the pixels given to ``setImage`` (what tests, the zoom
    and exports read); the words are only what is drawn.  The QImage over a buffer is made
    once and reused while the buffer is the same.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._words: np.ndarray | None = None
        self._frame: QtGui.QImage | None = None

    def set_words(self, words: np.ndarray | None) -> None:
        """Draw these H×W uint32 words (C-contiguous) from now on; None: pyqtgraph's own way."""
        if words is None:
            self._words = self._frame = None
        elif words is not self._words:
            if words.dtype != np.uint32 or words.ndim != 2 or not words.flags.c_contiguous:
                raise ValueError("packed frames are C-contiguous H×W uint32 arrays")
            h, w = words.shape
            self._words = words  # the QImage reads this memory: keep it alive
            self._frame = QtGui.QImage(words.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGB32)
        self._renderRequired = True
        self.update()

    def frame(self) -> QtGui.QImage | None:
        """The QImage drawn from packed words (None when pyqtgraph converts ``image``)."""
        return self._frame

    def render(self) -> None:
        if self._frame is None or self.image is None:
            super().render()
            return
        self.qimage = self._frame
        self._renderRequired = False
        self._unrenderable = False

    def clear(self) -> None:
        self._words = self._frame = None
        super().clear()


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
        # Its background paints every pixel: a new frame repaints the pane, not what is under it.
        self.graphics.viewport().setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.graphics.setMinimumSize(160, 140)
        self.view = self.graphics.addViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.item = FrameItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self._rect: tuple[int, int] | None = None
        self._shape: tuple[int, ...] = ()
        self._words: np.ndarray | None = None  # packed pixels this pane made itself
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
        words: np.ndarray | None = None,
    ) -> None:
        """Show pixels (H×W or H×W×3) stretched over ``source_size`` = (width, height).

        ``words``: the same pixels packed as 0xFFRRGGBB (e.g. a DisplayReconstructor's), drawn
        as they are; without them, uint8 pixels are packed here into a buffer reused by the
        next call of the same size."""
        if pixels is None:
            self._rect = None
            self.item.clear()
            self.clear_detail()
            return
        self.item.setLookupTable(lut)
        plain = pixels.dtype == np.uint8 and tuple(levels) == (0.0, 255.0)
        if words is None and plain:
            words = self._words = pack_rgb32(pixels, lut, self._words)
        if plain:
            # No levels: pyqtgraph hands uint8 data to QImage without rescaling it.
            self.item.setImage(pixels, autoLevels=False, levels=None)
        else:
            self.item.setImage(pixels, autoLevels=False, levels=levels)
        self.item.set_words(words if plain else None)
        w, h = source_size or (pixels.shape[1], pixels.shape[0])
        if self._rect != (w, h) or self.item.image.shape[:2] != self._shape:
            # Only when it changes: a new rect moves the item and re-indexes the scene.
            self._rect, self._shape = (w, h), self.item.image.shape[:2]
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
