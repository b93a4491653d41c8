"""The Image lab's metrics table and the number formats it shares with the gallery.

Rows are keyed by :class:`ImageMetrics` field name (plus the three ratio rows); a field added
to ``ImageMetrics`` gets a row of its own, labelled from its name, until it is given a label
here.  One byte unit per table, one percent style (">99.99 %", never a rounded-away loss).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6 import QtGui, QtWidgets

from svdstudio.engine.image import ImageMetrics

__all__ = ["MetricsTable", "byte_unit", "fmt_bytes", "fmt_energy", "fmt_percent"]

# Fields shown inside other rows (rank, JPEG row tooltip, ratio rows), not rows of their own.
SHOWN_ELSEWHERE = frozenset({"chroma_rank", "jpeg_quality", "compression_ratio"})


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
        known = {key for key, _, _ in self.ROWS} | SHOWN_ELSEWHERE
        extra = tuple(
            (f.name, f.name.replace("_", " ").capitalize(), f"ImageMetrics.{f.name}")
            for f in dataclasses.fields(ImageMetrics)
            if f.name not in known
        )
        self.rows = self.ROWS + extra
        super().__init__(len(self.rows), 2, parent)
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
        self._row = {key: row for row, (key, _, _) in enumerate(self.rows)}
        self._normal = self.palette().color(QtGui.QPalette.ColorRole.Text)
        for row, (_key, name, tip) in enumerate(self.rows):
            item = QtWidgets.QTableWidgetItem(name)
            item.setToolTip(tip)
            self.setItem(row, 0, item)
            self.setItem(row, 1, QtWidgets.QTableWidgetItem("–"))
        self.stale = False

    def value(self, name: str) -> str:
        """The text shown for the row labelled ``name`` (or keyed ``name``)."""
        for row, (key, label, _) in enumerate(self.rows):
            if name in (label, key):
                return self.item(row, 1).text()
        raise KeyError(name)

    def set_stale(self, stale: bool) -> None:
        """Grey the values out while they are being recomputed for a new rank."""
        if bool(stale) == self.stale:
            return  # mid-drag this comes every frame: restyling 18 rows each time is waste
        self.stale = bool(stale)
        colour = STALE_COLOUR if stale else self._normal
        for row in range(len(self.rows)):
            item = self.item(row, 1)
            item.setForeground(colour)
            tip = self.rows[row][2]
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
            for row in range(len(self.rows)):
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
            value = text[key] if key in text else _generic(d.get(key))
            if preview and key in self.PREVIEW_KEYS:
                value += " (preview)"
            self.item(row, 1).setText(value)
            tip = self.rows[row][2]
            codec = key.split("_")[0].upper()
            if key in ("png_bytes", "jpeg_bytes") and codec in notes:
                tip = notes[codec]
            self.item(row, 1).setToolTip(tip)
        self.set_stale(False)


def _generic(value: object) -> str:
    """A field without a format of its own."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
