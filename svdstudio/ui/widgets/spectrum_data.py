"""The numbers behind :class:`.spectrum_plot.SpectrumPlot`: energy curve, dropped
energy, log floor and label text.  No Qt here, so it is tested (and reusable) on its own."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ERROR_SQUARED_SHORT", "SpectrumData", "format_lost", "format_number", "format_retained"]

#: How the live label names Σ_{i>k} σ_i² (= ‖A − A_k‖_F², the article's approximation error).
ERROR_SQUARED_SHORT = "error²"


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


def format_retained(retained: float, lost: float, decimals: int = 1) -> str:
    """Energy retained as a percentage that never claims 100 % while something is lost.

    ``retained`` and ``lost`` are fractions of the total energy (lost computed from the dropped
    tail, not as 1 − retained).  "95.2 %"; when the rounded figure would read 100 with a
    non-zero loss, ">99.9 %" (one decimal) or ">99.99 %" (two): one way of writing it.
    """
    text = f"{100.0 * retained:.{decimals}f}"
    if lost > 0 and float(text) >= 100.0:
        text = ">" + f"{100.0 - 10.0**-decimals:.{decimals}f}"
    return f"{text} %"


def format_lost(lost: float) -> str:
    """The share of energy lost, with enough digits to be seen: "4.83 %", "3.1e-07 %"."""
    pct = 100.0 * lost
    if pct == 0:
        return "0 %"
    return f"{pct:.3g} %" if pct >= 1e-3 else f"{pct:.2e} %"


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

    def plot_y(self, log: bool) -> tuple[np.ndarray, float]:
        """Heights in plot units and the bar base: (σ, 0), or (log10 σ, log10 floor) with zeros
        raised to the floor so that nothing is -inf."""
        if not log:
            return self.s, 0.0
        floor = self.log_floor()
        return np.log10(np.maximum(self.s, floor)), math.log10(floor)

    def lost_fraction(self, k: int) -> float:
        """Share of the total energy dropped by keeping k values (from the tail sums)."""
        return float(self.dropped[k]) / self.total if self.total > 0 else 0.0

    def label(self, k: int) -> str:
        """Default live label: "k = 2 · 95.2 % energy · ‖A − A_k‖_F² = 6.90"."""
        dropped = float(self.dropped[k])
        pct = format_retained(self.retained_fraction(k), self.lost_fraction(k), 1)
        return (
            f"k = {k} · {pct} {self.energy_label} · {ERROR_SQUARED_SHORT} {format_number(dropped)}"
        )
