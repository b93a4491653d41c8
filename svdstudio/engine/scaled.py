"""Sums of squares that neither overflow near 1e308 nor vanish below 1e-300.

σ² of a value near 1e308 overflows and of a value below 1e-162 underflows to 0, so every
ratio of squares (relative error, energy retained) is computed on values divided by the
largest one first; only a square reported as such can still be out of float range, and then
it is ±inf or 0 without a warning, while the norms and ratios stay right.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scaled_squares", "sum_of_squares", "times_scale_squared"]


def scaled_squares(x: np.ndarray) -> tuple[float, np.ndarray]:
    """(scale, (x / scale)²) in float64, scale = max |x| (1 for an all-zero or empty x)."""
    a = np.asarray(x, dtype=np.float64)
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if not scale > 0 or not np.isfinite(scale):
        scale = 1.0
    r = a / scale
    return scale, r * r


def times_scale_squared(value: float, scale: float) -> float:
    """value · scale², inf or 0 (no warning) where the true number is beyond float range."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.float64(value) * np.float64(scale) * np.float64(scale))


def sum_of_squares(x: np.ndarray) -> float:
    """Σ x² without overflow warnings (inf only if the sum itself is beyond float range)."""
    scale, r2 = scaled_squares(x)
    return times_scale_squared(float(np.sum(r2)), scale)
