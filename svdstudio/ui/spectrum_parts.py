"""Building blocks of :class:`~svdstudio.ui.spectrum_plot.SpectrumPlot`.

The numbers behind the plot (energy curve, dropped energy, log floor, label text) live in
:class:`SpectrumData`, which knows nothing about Qt; the pyqtgraph pieces (integer axis, snapping
cutoff line, view boxes that route mouse drags) are small subclasses below it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

__all__ = [
    "CutoffLine",
    "CutoffViewBox",
    "IntegerAxis",
    "OverlayViewBox",
    "SpectrumData",
    "format_number",
]


def format_number(x: float) -> str:
    """Three significant digits, keeping trailing zeros (6.9048 → "6.90"); scientific outside
    [0.001, 1e5)."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    ax = abs(x)
    if 1e-3 <= ax < 1e5:
        decimals = max(0, 2 - math.floor(math.log10(ax)))
        text = f"{x:.{decimals}f}"
        # 9.996 rounds up to "10.00": one decimal too many; redo with the new magnitude.
        if len(text.replace("-", "").replace(".", "").lstrip("0")) > 3 and decimals > 0:
            text = f"{x:.{decimals - 1}f}"
        return text
    return f"{x:.2e}"


@dataclass(frozen=True, eq=False)
class SpectrumData:
    """Singular values and the energy bookkeeping the plot and its label need.

    ``kept[k]`` is Σ_{i≤k} σ_i² and ``dropped[k]`` is ‖A − A_k‖_F² for k = 0..r.  When the
    caller's ``total_energy`` exceeds Σσ² (a partial, top-k result), the unknown tail counts as
    dropped at every k, as in :func:`svdstudio.engine.rank_errors`.
    """

    s: np.ndarray
    total: float
    kept: np.ndarray
    dropped: np.ndarray
    energy_label: str = "energy"

    @classmethod
    def from_values(
        cls, s: object, total_energy: float | None = None, energy_label: str = "energy"
    ) -> SpectrumData:
        """Validate ``s`` (1-D, finite, ≥ 0) and precompute the cumulative sums."""
        arr = np.array(s, dtype=np.float64).ravel()
        if not np.all(np.isfinite(arr)):
            raise ValueError("singular values must be finite numbers (found NaN or infinity)")
        if np.any(arr < 0):
            raise ValueError("singular values must be ≥ 0 (found a negative value)")
        s2 = arr * arr
        kept = np.concatenate(([0.0], np.cumsum(s2)))
        # Summing the tail directly avoids the cancellation of total − kept for small errors.
        tail = np.concatenate((np.cumsum(s2[::-1])[::-1], [0.0]))
        known = float(kept[-1])
        total = known if total_energy is None else float(total_energy)
        if not math.isfinite(total) or total < 0:
            raise ValueError(f"total energy must be a finite number ≥ 0; got {total_energy!r}")
        extra = max(total - known, 0.0)
        total = max(total, known)
        arr.setflags(write=False)
        return cls(arr, total, kept, tail + extra, energy_label)

    @property
    def r(self) -> int:
        """Number of singular values."""
        return int(self.s.shape[0])

    def retained_fraction(self, k: int) -> float:
        """Share of the total energy kept by the first k values (1.0 for an all-zero input)."""
        return float(self.kept[k]) / self.total if self.total > 0 else 1.0

    def cumulative_percent(self) -> np.ndarray:
        """Energy retained (%) at ranks 1..r."""
        if self.total <= 0:
            return np.full(self.r, 100.0)
        return 100.0 * self.kept[1:] / self.total

    def log_floor(self) -> float:
        """Bottom of the log axis: half a decade under the smallest positive σ (zeros sit here)."""
        positive = self.s[self.s > 0]
        if positive.size == 0:
            return 0.1
        low = float(positive.min())
        high = float(positive.max())
        # Values below σ_max·1e-300 are denormal noise; do not stretch the axis over 300 decades.
        low = max(low, high * 1e-300)
        return 10.0 ** (math.floor(math.log10(low) - 0.5))

    def label(self, k: int) -> str:
        """Default live label: "k = 2 · 95.2% energy · error² 6.90"."""
        pct = 100.0 * self.retained_fraction(k)
        dropped = float(self.dropped[k])
        pct_text = f"{pct:.1f}"
        if pct_text == "100.0" and dropped > 0:
            pct_text = ">99.9"  # never claim everything is kept when something is dropped
        return f"k = {k} · {pct_text}% {self.energy_label} · error² {format_number(dropped)}"


class IntegerAxis(pg.AxisItem):
    """A bottom axis that only ticks whole indices (no "1.5" between σ_1 and σ_2)."""

    def tickValues(self, lo: float, hi: float, size: float) -> list:
        levels = []
        seen: set[int] = set()
        for spacing, values in super().tickValues(lo, hi, size):
            whole = [v for v in values if abs(v - round(v)) < 1e-9 and round(v) >= 1]
            whole = [v for v in whole if round(v) not in seen]
            seen.update(round(v) for v in whole)
            if whole:
                levels.append((max(spacing, 1.0), whole))
        return levels

    def tickStrings(self, values: list, scale: float, spacing: float) -> list[str]:
        return [str(round(v * scale)) for v in values]


class CutoffLine(pg.InfiniteLine):
    """Vertical cutoff line that only ever rests between bars, at k + 0.5 for k in 1..r."""

    def __init__(self, **kwargs) -> None:
        self.max_rank = 1
        super().__init__(angle=90, movable=True, **kwargs)

    def rank_at(self, x: float) -> int:
        """The rank whose gap (k + 0.5) is nearest to x, clamped to 1..max_rank."""
        return int(min(max(math.floor(x), 1), self.max_rank))

    def setPos(self, pos) -> None:
        if isinstance(pos, QtCore.QPointF):
            x = pos.x()
        elif isinstance(pos, list | tuple | np.ndarray) and np.ndim(pos) > 0:
            x = float(pos[0])
        else:
            x = float(pos)
        super().setPos(self.rank_at(x) + 0.5)

    def rank(self) -> int:
        """The rank the line currently marks."""
        return self.rank_at(self.value())


class CutoffViewBox(pg.ViewBox):
    """The main view box: a left-drag anywhere moves the cutoff line (no pan, zoom or menu)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enableMenu=False, **kwargs)
        self.setMouseEnabled(x=False, y=False)
        # Called with (x in data coordinates, finished); set by the owner.
        self.on_drag: Callable[[float, bool], None] | None = None

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or self.on_drag is None:
            ev.ignore()
            return
        ev.accept()
        self.on_drag(self.mapToView(ev.pos()).x(), ev.isFinish())

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()


class OverlayViewBox(pg.ViewBox):
    """The right-axis (energy %) view box drawn over the main one; it never takes the mouse."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enableMenu=False, **kwargs)
        self.setMouseEnabled(x=False, y=False)

    def mouseDragEvent(self, ev, axis=None) -> None:
        ev.ignore()

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()
