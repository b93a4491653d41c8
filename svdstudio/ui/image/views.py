"""Views of the Image lab besides the image panes: thumbnails, metrics table, quality plot.

The image panes themselves live in :mod:`svdstudio.ui.image.panes` (re-exported here).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from svdstudio.ui.image.panes import ImagePane, PaneGroup, link_panes, to_qimage

__all__ = [
    "ImagePane",
    "MetricsTable",
    "PaneGroup",
    "QualityPlot",
    "ThumbnailCard",
    "link_panes",
    "signed_to_uint8",
    "to_qimage",
]

ERROR_LEVELS = (0.0, 64.0)


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


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "…"
    if n < 10_000:
        return f"{n:,} B"
    if n < 10_000_000:
        return f"{n / 1024:,.1f} KiB"
    return f"{n / 2**20:,.2f} MiB"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "…"
    return "∞" if not np.isfinite(r) else f"{r:,.2f}×"


class MetricsTable(QtWidgets.QTableWidget):
    """Two-column table (figure, value) of one rank's :class:`ImageMetrics`."""

    ROWS = (
        ("Rank k", "Singular values kept per channel (luma/chroma in YCbCr mode)"),
        ("PSNR", "Peak signal-to-noise ratio 10·log10(255²/MSE), in dB"),
        ("SSIM", "Structural similarity (Wang et al. 2004, Gaussian window, on luminance)"),
        ("Relative error", "‖A − A_k‖_F / ‖A‖_F over all pixels and channels"),
        ("Energy retained", "Σ kept σᵢ² / Σ σᵢ² over all channels"),
        ("Stored values", "k(m + n + 1) numbers per channel"),
        ("Bytes, float32", "4 bytes per stored value"),
        ("Bytes, float16", "2 bytes per vector entry; σ kept as float32 (it overflows float16)"),
        ("Bytes, 8-bit", "1 byte per vector entry plus float32 σ, scale and offset per vector"),
        ("Raw pixels", "1 byte per pixel per channel"),
        ("PNG file", "The same image saved as PNG (lossless)"),
        ("JPEG file", "The same image saved as JPEG at quality 75"),
        ("Ratio vs raw (f32·f16·8-bit)", "Raw bytes / SVD bytes at float32 · float16 · 8-bit"),
        ("Ratio vs PNG (f32·f16·8-bit)", "PNG bytes / SVD bytes at float32 · float16 · 8-bit"),
        ("Ratio vs JPEG (f32·f16·8-bit)", "JPEG bytes / SVD bytes at float32 · float16 · 8-bit"),
    )

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(len(self.ROWS), 2, parent)
        self.setObjectName("imageMetricsTable")
        self.setAccessibleName("Metrics for the current rank")
        self.setToolTip("Quality and storage cost of the rank-k reconstruction")
        self.setHorizontalHeaderLabels(["Figure", "Value"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        hdr = self.horizontalHeader()
        hdr.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        for row, (name, tip) in enumerate(self.ROWS):
            item = QtWidgets.QTableWidgetItem(name)
            item.setToolTip(tip)
            self.setItem(row, 0, item)
            self.setItem(row, 1, QtWidgets.QTableWidgetItem("–"))
        self.note = ""

    def value(self, name: str) -> str:
        for row, (n, _) in enumerate(self.ROWS):
            if n == name:
                return self.item(row, 1).text()
        raise KeyError(name)

    def show_metrics(self, m: object | None, note: str = "") -> None:
        """Fill the table from an ImageMetrics (None clears it)."""
        if m is None:
            for row in range(len(self.ROWS)):
                self.item(row, 1).setText("–")
            return

        def triple(ref: str) -> str:
            return " · ".join(_fmt_ratio(m.ratio(ref, d)) for d in ("float32", "float16", "uint8"))

        suffix = f" ({note})" if note else ""
        psnr = f"{m.psnr_db:.2f} dB"
        if m.psnr_db > 100:
            psnr = "> 100 dB (exact up to float rounding)"
        values = [
            f"{m.rank}" + (f" / chroma {m.chroma_rank}" if m.chroma_rank is not None else ""),
            psnr + suffix,
            f"{m.ssim:.4f}" + suffix,
            f"{m.relative_error:.4%}",
            f"{m.energy_retained:.4%}",
            f"{m.stored_values:,}",
            _fmt_bytes(m.bytes_float32),
            _fmt_bytes(m.bytes_float16),
            _fmt_bytes(m.bytes_uint8),
            _fmt_bytes(m.raw_bytes),
            _fmt_bytes(m.png_bytes),
            _fmt_bytes(m.jpeg_bytes),
            triple("raw"),
            triple("png"),
            triple("jpeg"),
        ]
        for row, text in enumerate(values):
            self.item(row, 1).setText(text)
            self.item(row, 1).setToolTip(self.ROWS[row][1])


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
        self.legend = p.addLegend(offset=(-10, 10))
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

    def show_data(self, sweep: list, codecs: object | None, current: object | None) -> None:
        """Redraw from a rank sweep (ImageMetrics list), a CodecReport and the current metrics."""
        kib = 1024.0
        self.svd32.setData(
            *self._finite([m.bytes_float32 / kib for m in sweep], [m.psnr_db for m in sweep])
        )
        self.svd8.setData(
            *self._finite([m.bytes_uint8 / kib for m in sweep], [m.psnr_db for m in sweep])
        )
        if codecs is not None:
            self.jpeg.setData(
                *self._finite(
                    [p.nbytes / kib for p in codecs.jpeg], [p.psnr_db for p in codecs.jpeg]
                )
            )
            self.png.setValue(np.log10(codecs.png_bytes / kib))
            self.png.setVisible(True)
        else:
            self.jpeg.setData([], [])
            self.png.setVisible(False)
        if current is not None and np.isfinite(current.psnr_db):
            self.current.setData(
                *self._finite(
                    [current.bytes_float32 / kib, current.bytes_uint8 / kib],
                    [current.psnr_db, current.psnr_db],
                )
            )
        else:
            self.current.setData([], [])


def signed_to_uint8(x: np.ndarray) -> np.ndarray:
    """Map signed values to 0..255 around mid-gray 128 (symmetric, so 0 stays gray)."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    scale = 127.0 / m if m > 0 else 0.0
    return np.clip(np.rint(128.0 + x * scale), 0, 255).astype(np.uint8)


class ErrorImage:
    """|A − A_k| of the on-screen pixels as uint8 colour-map indices, with reused buffers.

    Index = 4·|difference| (largest over channels), capped at 255: 0 → 64 grey levels span
    the colour map.  Integer arithmetic on planar data keeps this a few milliseconds per frame.
    """

    def __init__(self, reference: np.ndarray) -> None:
        ref = np.clip(np.rint(reference), 0, 255).astype(np.int16)
        self._ref = (
            [ref] if ref.ndim == 2 else [np.ascontiguousarray(ref[..., c]) for c in range(3)]
        )
        shape = ref.shape[:2]
        self._tmp = np.empty(shape, np.int16)
        self._acc = np.empty(shape, np.int16)
        self.out = np.empty(shape, np.uint8)

    def compute(self, shown: np.ndarray) -> np.ndarray:
        """Error indices for ``shown`` (uint8, same shape as the reference); buffer is reused."""
        planes = [shown] if shown.ndim == 2 else [shown[..., c] for c in range(shown.shape[2])]
        self._acc.fill(0)
        for plane, ref in zip(planes, self._ref, strict=True):
            np.subtract(plane, ref, out=self._tmp, dtype=np.int16)
            np.abs(self._tmp, out=self._tmp)
            np.maximum(self._acc, self._tmp, out=self._acc)
        np.minimum(self._acc, 63, out=self._acc)
        np.left_shift(self._acc, 2, out=self._acc)
        np.copyto(self.out, self._acc, casting="unsafe")
        return self.out
