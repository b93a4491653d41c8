"""Views of the Image lab besides the image panes: thumbnails, colour keys, quality plot.

The image panes live in :mod:`svdstudio.ui.image.panes` (re-exported here), the metrics table
in :mod:`svdstudio.ui.image.metrics_table`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.image.panes import ImagePane, PaneGroup, link_panes, to_qimage

__all__ = [
    "ERROR_LUT",
    "LAYER_LUT",
    "ImagePane",
    "LegendBar",
    "PaneGroup",
    "QualityPlot",
    "ThumbnailCard",
    "link_panes",
    "signed_to_uint8",
    "to_qimage",
]


class ThumbnailCard(QtWidgets.QFrame):
    """A small picture with a caption (one gallery entry)."""

    clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.rank = 0
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.picture = QtWidgets.QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(120, 100)
        self.picture.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored
        )
        self.caption = QtWidgets.QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        lay.addWidget(self.picture, 1)
        lay.addWidget(self.caption)
        self._image: QtGui.QImage | None = None

    def set_content(self, rank: int, pixels: np.ndarray | None, caption: str) -> None:
        self.rank = rank
        self._image = None if pixels is None else to_qimage(pixels)
        self.caption.setText(caption)
        self.setToolTip(f"Rank {rank}: {caption.replace(chr(10), ', ')}. Click to use this rank.")
        self.setAccessibleName(f"Gallery rank {rank}")
        self._rescale()

    def image(self) -> QtGui.QImage | None:
        """The card's picture at its own resolution (None when empty)."""
        return self._image

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        self._rescale()

    def mouseReleaseEvent(self, ev: QtGui.QMouseEvent) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self.rank:
            self.clicked.emit(self.rank)
        super().mouseReleaseEvent(ev)

    def _rescale(self) -> None:
        if self._image is None:
            self.picture.clear()
            return
        pix = QtGui.QPixmap.fromImage(self._image)
        self.picture.setPixmap(
            pix.scaled(
                self.picture.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


# Diverging blue–white–red for the signed error (index 128 = exact, see engine.image.crop).
_ERROR_STOPS = np.array([[33, 102, 172], [247, 247, 247], [178, 24, 43]], dtype=float)


def _diverging_lut() -> np.ndarray:
    t = np.arange(256) / 128.0
    lo = np.minimum(t, 1.0)[:, None]
    hi = np.clip(t - 1.0, 0.0, 1.0)[:, None]
    rgb = np.where(
        t[:, None] <= 1.0,
        _ERROR_STOPS[0] + lo * (_ERROR_STOPS[1] - _ERROR_STOPS[0]),
        _ERROR_STOPS[1] + hi * (_ERROR_STOPS[2] - _ERROR_STOPS[1]),
    )
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


ERROR_LUT = _diverging_lut()
LAYER_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # mid-grey = 0


class LegendBar(QtWidgets.QWidget):
    """A thin colour key under a pane: the map's gradient with a label at each end and middle."""

    def __init__(
        self,
        lut: np.ndarray | None,
        labels: tuple[str, str, str],
        object_name: str,
        access: str,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
            self.setAccessibleName(access)
        self.lut = LAYER_LUT if lut is None else np.asarray(lut, dtype=np.uint8)
        self.set_labels(labels)
        self.setFixedHeight(self.fontMetrics().height() + 12)

    def set_labels(self, labels: tuple[str, str, str]) -> None:
        """The texts at the left end, the middle and the right end of the bar."""
        self.labels = tuple(labels)
        self.setToolTip(" · ".join(labels))
        self.update()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        r = self.rect().adjusted(2, 1, -2, -1)
        bar = QtCore.QRect(r.left(), r.top(), r.width(), 6)
        grad = QtGui.QLinearGradient(bar.left(), 0, bar.right(), 0)
        for i in range(0, 256, 17):
            c = self.lut[i]
            grad.setColorAt(i / 255.0, QtGui.QColor(int(c[0]), int(c[1]), int(c[2])))
        c = self.lut[255]
        grad.setColorAt(1.0, QtGui.QColor(int(c[0]), int(c[1]), int(c[2])))
        p.fillRect(bar, grad)
        p.setPen(QtGui.QColor("#888"))
        p.drawRect(bar.adjusted(0, 0, -1, -1))
        p.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        text = QtCore.QRect(r.left(), bar.bottom() + 1, r.width(), r.height() - bar.height())
        left, mid, right = self.labels
        p.drawText(text, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), left)
        p.drawText(text, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), mid)
        p.drawText(text, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), right)
        p.end()


class QualityPlot(pg.PlotWidget):
    """PSNR against bytes: SVD at several ranks (float32 and 8-bit factors) vs JPEG qualities."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("imageQualityPlot")
        self.setAccessibleName("Quality against size")
        self.setToolTip(
            "PSNR (dB) against stored bytes: SVD factors at several ranks (float32 and 8-bit) "
            "and the same image saved as JPEG at qualities 10–95. Higher and further left is "
            "better. The dashed line is the PNG size (lossless)."
        )
        p = self.getPlotItem()
        p.showGrid(x=True, y=True, alpha=0.25)
        # x is log10(KiB), drawn with our own 1-2-5 tick labels (pyqtgraph's log axis
        # labels every minor tick and crowds them).
        ticks = []
        for e in range(-2, 8):
            for m in (1, 2, 5):
                v = m * 10.0**e
                text = f"{v:g}" if v < 1e4 else f"{v / 1024:g} Mi"
                ticks.append((np.log10(v), text))
        p.getAxis("bottom").setTicks([ticks, []])
        p.setLabel("bottom", "size (KiB, log scale)")
        p.setLabel("left", "PSNR (dB)")
        p.setMenuEnabled(False)
        # Bottom right: the curves rise to the right, so that corner stays clear of data.
        self.legend = p.addLegend(offset=(-10, -10), brush=pg.mkBrush(255, 255, 255, 210))
        pen = pg.mkPen
        self.svd32 = self._series("#3a6fb0", "o", 6, "SVD, float32 factors")
        self.svd8 = self._series("#7fa7d9", "s", 5, "SVD, 8-bit factors", dashed=True)
        self.jpeg = self._series("#c0392b", "t", 7, "JPEG, quality 10–95")
        self.current = p.plot(
            [],
            [],
            pen=None,
            symbol="o",
            symbolSize=12,
            symbolBrush=pg.mkBrush(240, 160, 48, 220),
            name="current k",
        )
        self.png = pg.InfiniteLine(
            angle=90, pen=pen("#2e8b57", width=1.5, style=Qt.PenStyle.DashLine)
        )
        self.png.setVisible(False)
        p.addItem(self.png)
        self.png_label = p.plot(
            [],
            [],
            pen=pen("#2e8b57", width=1.5, style=Qt.PenStyle.DashLine),
            name="PNG file (lossless)",
        )

    def _series(
        self, color: str, symbol: str, size: int, name: str, dashed: bool = False
    ) -> pg.PlotDataItem:
        """An empty line-and-marker series in one colour, listed in the legend."""
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        return self.getPlotItem().plot(
            [],
            [],
            pen=pg.mkPen(color, width=2, style=style),
            symbol=symbol,
            symbolSize=size,
            symbolBrush=color,
            name=name,
        )

    @staticmethod
    def _finite(xs: list[float], ys: list[float]) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(xs, dtype=float)
        y = np.asarray(ys, dtype=float)
        keep = np.isfinite(y) & (x > 0) & (y < 100)
        return np.log10(x[keep]), y[keep]

    def show_data(
        self,
        sweep: list,
        codecs: object | None,
        current: object | None,
        *,
        preview: bool = False,
        notes: dict[str, str] | None = None,
    ) -> None:
        """Redraw from a rank sweep (ImageMetrics list), a CodecReport and the current metrics.

        ``preview``: the SVD points belong to a downsampled copy (the title says so);
        ``notes``: codec → why it cannot store the image (shown instead of its points).
        """
        kib = 1024.0
        self.svd32.setData(
            *self._finite([m.bytes_float32 / kib for m in sweep], [m.psnr_db for m in sweep])
        )
        self.svd8.setData(
            *self._finite([m.bytes_uint8 / kib for m in sweep], [m.psnr_db for m in sweep])
        )
        png = getattr(codecs, "png_bytes", None)
        if codecs is not None:
            self.jpeg.setData(
                *self._finite(
                    [p.nbytes / kib for p in codecs.jpeg], [p.psnr_db for p in codecs.jpeg]
                )
            )
        else:
            self.jpeg.setData([], [])
        self.png.setVisible(bool(png))
        if png:
            self.png.setValue(np.log10(png / kib))
        if current is not None and np.isfinite(current.psnr_db):
            self.current.setData(
                *self._finite(
                    [current.bytes_float32 / kib, current.bytes_uint8 / kib],
                    [current.psnr_db, current.psnr_db],
                )
            )
        else:
            self.current.setData([], [])
        lines = list((notes or {}).values())
        if preview:
            lines.insert(0, "SVD points measured on the preview copy (the full SVD follows)")
        self.getPlotItem().setTitle(
            "<br>".join(lines) if lines else None, size="9pt", color="#7a4b00"
        )


def signed_to_uint8(x: np.ndarray) -> np.ndarray:
    """Map signed values to 0..255 around mid-gray 128 (symmetric, so 0 stays gray)."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    scale = 127.0 / m if m > 0 else 0.0
    return np.clip(np.rint(128.0 + x * scale), 0, 255).astype(np.uint8)
