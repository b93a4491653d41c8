"""The numbers behind :class:`.spectrum_plot.SpectrumPlot`: energy curve, dropped
energy, log floor and label text.  No Qt here, so it is tested (and reusable) on its own."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SpectrumData", "format_number"]


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
    # The same sums in units of σ_1², so the ratios stay right where σ² overflows (σ ≈ 1e308)
    # or underflows (σ < 1e-162): kept / total in these units, never inf / inf.
    kept_scaled: np.ndarray | None = None
    total_scaled: float | None = None

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
        scale = float(arr.max()) if arr.size and arr.max() > 0 else 1.0
        r = arr / scale
        r2 = r * r
        kept_r = np.concatenate(([0.0], np.cumsum(r2)))
        # Summing the tail directly avoids the cancellation of total − kept for small errors.
        tail_r = np.concatenate((np.cumsum(r2[::-1])[::-1], [0.0]))
        known_r = float(kept_r[-1])
        if total_energy is None:
            total_r = known_r
        else:
            total = float(total_energy)
            if math.isnan(total) or total < 0 or (math.isinf(total) and scale < 1e150):
                raise ValueError(f"total energy must be a finite number ≥ 0; got {total_energy!r}")
            # An infinite total is ‖A‖_F² overflowing for σ near 1e308: the known σ are all.
            total_r = known_r if math.isinf(total) else total / scale / scale
        extra_r = max(total_r - known_r, 0.0)
        total_r = max(total_r, known_r)
        with np.errstate(over="ignore", under="ignore"):
            # Times σ_1 twice, not σ_1² once: 0 stays 0 even where σ_1² is inf.
            kept = kept_r * scale * scale
            dropped = (tail_r + extra_r) * scale * scale
            total = float(np.float64(total_r) * scale * scale)
        arr.setflags(write=False)
        return cls(arr, total, kept, dropped, energy_label, kept_r, total_r)

    @property
    def r(self) -> int:
        """Number of singular values."""
        return int(self.s.shape[0])

    def retained_fraction(self, k: int) -> float:
        """Share of the total energy kept by the first k values (1.0 for an all-zero input)."""
        if self.total_scaled is not None:
            return float(self.kept_scaled[k]) / self.total_scaled if self.total_scaled > 0 else 1.0
        return float(self.kept[k]) / self.total if self.total > 0 else 1.0

    def cumulative_percent(self) -> np.ndarray:
        """Energy retained (%) at ranks 1..r."""
        if self.total_scaled is not None:
            if self.total_scaled <= 0:
                return np.full(self.r, 100.0)
            return 100.0 * self.kept_scaled[1:] / self.total_scaled
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

    def label(self, k: int) -> str:
        """Default live label: "k = 2 · 95.2% energy · error² 6.90"."""
        pct = 100.0 * self.retained_fraction(k)
        dropped = float(self.dropped[k])
        pct_text = f"{pct:.1f}"
        if pct_text == "100.0" and dropped > 0:
            pct_text = ">99.9"  # never claim everything is kept when something is dropped
        return f"k = {k} · {pct_text}% {self.energy_label} · error² {format_number(dropped)}"
