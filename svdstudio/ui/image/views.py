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
    "ERROR_LUT",
    "LAYER_LUT",
    "ImagePane",
    "LegendBar",
    "MetricsTable",
    "PaneGroup",
    "QualityPlot",
    "ThumbnailCard",
    "byte_unit",
    "fmt_bytes",
    "fmt_energy",
    "fmt_percent",
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


def byte_unit(largest: int) -> tuple[str, float]:
    """One unit for a whole table or caption set: (name, bytes per unit)."""
    if largest < 10_000:
        return "B", 1.0
    if largest < 100 * 2**20:
        return "KiB", 1024.0
    return "MiB", float(2**20)


def fmt_bytes(n: int, unit: tuple[str, float]) -> str:
    """``n`` bytes in ``unit`` (from :func:`byte_unit`)."""
    name, size = unit
    if name == "B":
        return f"{n:,} B"
    return f"{n / size:,.{1 if name == 'KiB' else 2}f} {name}"


def fmt_percent(x: float, decimals: int = 2) -> str:
    """A fraction as a percentage that never rounds a loss away: ">99.99 %", "<0.01 %"."""
    if not np.isfinite(x):
        return "–"
    if x >= 1.0:
        return "100 %"
    if x <= 0.0:
        return "0 %"
    step = 10.0**-decimals
    pct = 100.0 * x
    if round(pct, decimals) >= 100.0:
        return f">{100.0 - step:.{decimals}f} %"
    if round(pct, decimals) <= 0.0:
        return f"<{step:.{decimals}f} %"
    return f"{pct:.{decimals}f} %"


def fmt_energy(x: float) -> str:
    """Energy retained; when it rounds to 100 %, also what was lost (never "100.00 %")."""
    text = fmt_percent(x)
    if text.startswith(">"):
        text += f" ({100.0 * (1.0 - x):.2g} % lost)"
    return text


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "…"
    return "∞" if not np.isfinite(r) else f"{r:,.2f}×"


BYTE_FIELDS = (
    "bytes_float32",
    "bytes_float16",
    "bytes_uint8",
    "raw_bytes",
    "png_bytes",
    "jpeg_bytes",
)
STALE_COLOUR = QtGui.QColor("#9a9a9a")


class MetricsTable(QtWidgets.QTableWidget):
    """Two-column table (figure, value) of one rank's :class:`ImageMetrics`, filled by field."""

    # (key: an ImageMetrics field or "ratio_<reference>", label, tooltip)
    ROWS = (
        ("rank", "Rank k", "Singular values kept per channel (luma/chroma in YCbCr mode)"),
        ("psnr_db", "PSNR", "Peak signal-to-noise ratio 10·log10(255²/MSE), in dB"),
        (
            "ssim",
            "SSIM (luma)",
            "Structural similarity (Wang et al. 2004, Gaussian window), on the luminance only",
        ),
        ("relative_error", "Relative error", "‖A − A_k‖_F / ‖A‖_F over all pixels and channels"),
        ("energy_retained", "Energy retained", "Σ kept σᵢ² / Σ σᵢ² over all channels"),
        ("stored_values", "Stored values", "k(m + n + 1) numbers per channel"),
        ("bytes_float32", "Bytes, float32", "4 bytes per stored value"),
        (
            "bytes_float16",
            "Bytes, float16",
            "2 bytes per vector entry; σ kept as float32 (it overflows float16)",
        ),
        (
            "bytes_uint8",
            "Bytes, 8-bit",
            "1 byte per vector entry plus float32 σ, scale and offset per vector",
        ),
        ("raw_bytes", "Raw pixels", "1 byte per pixel per channel"),
        ("png_bytes", "PNG file", "The same image saved as PNG (lossless)"),
        ("jpeg_bytes", "JPEG file", "The same image saved as JPEG at quality 75"),
        (
            "ratio_raw",
            "Ratio vs raw (f32·f16·8-bit)",
            "Raw bytes / SVD bytes at float32 · float16 · 8-bit",
        ),
        (
            "ratio_png",
            "Ratio vs PNG (f32·f16·8-bit)",
            "PNG bytes / SVD bytes at float32 · float16 · 8-bit",
        ),
        (
            "ratio_jpeg",
            "Ratio vs JPEG (f32·f16·8-bit)",
            "JPEG bytes / SVD bytes at float32 · float16 · 8-bit",
        ),
    )
    # Figures of the factors (which belong to the preview copy while it is shown).
    PREVIEW_KEYS = frozenset(
        {
            "psnr_db",
            "ssim",
            "relative_error",
            "energy_retained",
            "stored_values",
            "bytes_float32",
            "bytes_float16",
            "bytes_uint8",
            "raw_bytes",
            "ratio_raw",
        }
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
        self._row = {key: row for row, (key, _, _) in enumerate(self.ROWS)}
        self._normal = self.palette().color(QtGui.QPalette.ColorRole.Text)
        for row, (_key, name, tip) in enumerate(self.ROWS):
            item = QtWidgets.QTableWidgetItem(name)
            item.setToolTip(tip)
            self.setItem(row, 0, item)
            self.setItem(row, 1, QtWidgets.QTableWidgetItem("–"))
        self.stale = False

    def value(self, name: str) -> str:
        """The text shown for the row labelled ``name`` (or keyed ``name``)."""
        for row, (key, label, _) in enumerate(self.ROWS):
            if name in (label, key):
                return self.item(row, 1).text()
        raise KeyError(name)

    def set_stale(self, stale: bool) -> None:
        """Grey the values out while they are being recomputed for a new rank."""
        self.stale = bool(stale)
        colour = STALE_COLOUR if stale else self._normal
        for row in range(len(self.ROWS)):
            item = self.item(row, 1)
            item.setForeground(colour)
            tip = self.ROWS[row][2]
            item.setToolTip(tip + (" (being recomputed for the new rank)" if stale else ""))

    def show_metrics(
        self,
        m: object | None,
        *,
        preview: bool = False,
        factor_file: bool = False,
        codec_notes: dict[str, str] | None = None,
        codecs_pending: bool = False,
        codecs_cancelled: bool = False,
    ) -> None:
        """Fill the table from an ImageMetrics (None clears it), by field name.

        ``preview``: the figures of the factors belong to a downsampled copy (each is marked);
        ``codec_notes``: codec → why it cannot store the image; ``codecs_pending``: the
        PNG/JPEG sizes are still being computed ("…"); ``codecs_cancelled``: the user
        stopped them (said so); otherwise a missing size shows "–".
        """
        if m is None:
            for row in range(len(self.ROWS)):
                self.item(row, 1).setText("–")
            self.set_stale(False)
            return
        notes = codec_notes or {}
        d = m.as_dict()
        present = [d[k] for k in BYTE_FIELDS if d.get(k) is not None]
        unit = byte_unit(max(present) if present else 0)
        missing = "…" if codecs_pending else "not computed (cancelled)" if codecs_cancelled else "–"

        def codec_ratio(ref: str) -> str:
            codec = ref.upper()
            if codec in notes:
                return f"{codec} cannot store this size"
            if d[f"{ref}_bytes"] is None:
                return "after the full SVD" if preview and not codecs_pending else missing
            return " · ".join(_fmt_ratio(m.ratio(ref, t)) for t in ("float32", "float16", "uint8"))

        psnr = f"{m.psnr_db:.2f} dB"
        if m.psnr_db > 100:
            psnr = "> 100 dB (exact up to float rounding)"
        rel = fmt_percent(m.relative_error)
        if factor_file:
            rel += " vs the original (from σ)"
        text = {
            "rank": f"{m.rank}"
            + (f" / chroma {m.chroma_rank}" if m.chroma_rank is not None else ""),
            "psnr_db": psnr,
            "ssim": f"{m.ssim:.4f}",
            "relative_error": rel,
            "energy_retained": fmt_energy(m.energy_retained),
            "stored_values": f"{m.stored_values:,}",
            "ratio_raw": " · ".join(
                _fmt_ratio(m.ratio("raw", t)) for t in ("float32", "float16", "uint8")
            ),
            "ratio_png": codec_ratio("png"),
            "ratio_jpeg": codec_ratio("jpeg"),
        }
        for key in BYTE_FIELDS:
            n = d[key]
            codec = key.split("_")[0].upper()
            if n is not None:
                text[key] = fmt_bytes(int(n), unit)
            elif codec in notes:
                text[key] = notes[codec]
            else:
                text[key] = missing
        for key, row in self._row.items():
            value = text[key]
            if preview and key in self.PREVIEW_KEYS:
                value += " (preview)"
            self.item(row, 1).setText(value)
            tip = self.ROWS[row][2]
            codec = key.split("_")[0].upper()
            if key in ("png_bytes", "jpeg_bytes") and codec in notes:
                tip = notes[codec]
            self.item(row, 1).setToolTip(tip)
        self.set_stale(False)


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
