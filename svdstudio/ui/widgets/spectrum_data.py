"""The numbers behind :class:`.spectrum_plot.SpectrumPlot`: energy curve, dropped
energy, log floor and label text.  No Qt here, so it is tested (and reusable) on its own."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ColumnExtremes",
    "SpectrumData",
    "bin_size",
    "column_extremes",
    "error_squared_symbol",
    "format_lost",
    "format_number",
    "format_retained",
]

_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def error_squared_symbol(k: int) -> str:
    """‖A − A_k‖_F² with k as subscript digits: the symbol the error panel and the CLI name
    (the article's "approximation error", worded in :data:`svdstudio.engine.lowrank`)."""
    return f"‖A − A{str(k).translate(_SUBSCRIPT_DIGITS)}‖_F²"


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


def bin_size(count: int, pixels: float) -> int:
    """How many consecutive values share one pixel column when ``count`` values span
    ``pixels`` columns (1 while each value has a column of its own)."""
    if count <= 0 or pixels <= 0:
        return 1
    return max(1, math.ceil(count / max(1.0, float(pixels))))


@dataclass(frozen=True, eq=False)
class ColumnExtremes:
    """Values ``start..stop - 1`` (0-based) grouped in bins of ``size`` consecutive values,
    bins aligned to multiples of ``size`` (so they do not shift as a segment's ends move):
    per bin the index of its largest and of its smallest value, and the bin edges in plot x
    (value i sits at x = i + 1, its bar from i + 0.5 to i + 1.5)."""

    size: int
    edges: np.ndarray  # nbins + 1 x positions
    i_max: np.ndarray  # nbins indices into the values
    i_min: np.ndarray

    def extremes(self) -> np.ndarray:
        """The indices of every bin's largest and smallest value, ascending, once each."""
        return np.unique(np.concatenate((self.i_max, self.i_min)))


def column_extremes(y: np.ndarray, start: int, stop: int, size: int) -> ColumnExtremes:
    """Reduce ``y[start:stop]`` to the extremes of each pixel column, in O(n) numpy work: what
    is drawn for thousands of values (a column shows its tallest bar and the span of its
    points), with every extreme an exact value at its own index."""
    size = max(1, int(size))
    start, stop = max(0, int(start)), min(int(stop), int(y.shape[0]))
    if stop <= start:
        empty = np.empty(0, dtype=np.intp)
        return ColumnExtremes(size, np.empty(0), empty, empty)
    if size == 1:
        idx = np.arange(start, stop, dtype=np.intp)
        return ColumnExtremes(1, np.arange(start, stop + 1) + 0.5, idx, idx)
    values = np.asarray(y)
    # Whole bins are a reshaped view (no copy); a partial bin at either end is reduced alone.
    lo_full = min(-(-start // size) * size, stop)
    hi_full = max((stop // size) * size, lo_full)
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    if start < lo_full:
        part = values[start:lo_full]
        pieces.append((np.array([part.argmax() + start]), np.array([part.argmin() + start])))
    if lo_full < hi_full:
        body = values[lo_full:hi_full].reshape(-1, size)
        offsets = np.arange(lo_full, hi_full, size)
        pieces.append((body.argmax(axis=1) + offsets, body.argmin(axis=1) + offsets))
    if hi_full < stop:
        part = values[hi_full:stop]
        pieces.append((np.array([part.argmax() + hi_full]), np.array([part.argmin() + hi_full])))
    i_max = np.concatenate([p[0] for p in pieces]).astype(np.intp)
    i_min = np.concatenate([p[1] for p in pieces]).astype(np.intp)
    inner = np.arange((start // size + 1) * size, stop, size)  # multiples of size inside
    edges = np.concatenate(([start], inner, [stop])).astype(np.float64) + 0.5
    return ColumnExtremes(size, edges, i_max, i_min)


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
    # plot_y(True), computed once: every redraw of a drag needs it.
    _log_y: list[tuple[np.ndarray, float]] = field(default_factory=list, repr=False)

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
        if not self._log_y:
            floor = self.log_floor()
            y = np.log10(np.maximum(self.s, floor))
            y.setflags(write=False)
            self._log_y.append((y, math.log10(floor)))
        return self._log_y[0]

    def lost_fraction(self, k: int) -> float:
        """Share of the total energy dropped by keeping k values (from the tail sums)."""
        if self.total > 0 and math.isfinite(self.total):
            return float(self.dropped[k]) / self.total
        return max(0.0, 1.0 - self.retained_fraction(k)) if self.total > 0 else 0.0

    def label(self, k: int) -> str:
        """Default live label: "k = 2 · 95.2 % energy · ‖A − A₂‖_F² = 6.90"."""
        dropped = float(self.dropped[k])
        pct = format_retained(self.retained_fraction(k), self.lost_fraction(k), 1)
        error = f"{error_squared_symbol(k)} = {format_number(dropped)}"
        return f"k = {k} · {pct} {self.energy_label} · {error}"
