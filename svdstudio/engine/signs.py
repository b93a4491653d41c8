"""The one sign convention for singular vectors used everywhere in SVD Studio.

Singular vectors are unique only up to sign (u_i, v_i) -> (-u_i, -v_i).  SVD Studio fixes the
sign so that, in every right singular vector v_i (row i of Vᵀ), the entry of largest absolute
value is positive; among equal magnitudes the first one counts.  Because the rule looks at v_i,
a PCA's component directions do not flip when rows (samples) are added or removed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIGN_CONVENTION", "apply_sign_convention", "convention_signs"]

SIGN_CONVENTION = (
    "each right singular vector v_i has its largest-magnitude entry positive "
    "(first such entry on ties); u_i flips with it"
)


def convention_signs(Vt: np.ndarray) -> np.ndarray:
    """±1 per row of ``Vt`` (in its dtype) that makes the convention hold, without copies.

    The largest-magnitude entry is the largest entry or the smallest one, whichever is
    further from zero (the earlier of the two on a tie): two reductions that read ``Vt``,
    where ``argmax(abs(Vt))`` would first write a copy of it.
    """
    rows = np.arange(Vt.shape[0])
    hi = np.argmax(Vt, axis=1)
    lo = np.argmin(Vt, axis=1)
    top, bottom = Vt[rows, hi], Vt[rows, lo]
    negative = (-bottom > top) | ((-bottom == top) & (lo < hi) & (bottom < 0))
    return np.where(negative, -1, 1).astype(Vt.dtype, copy=False)


def apply_sign_convention(U: np.ndarray, Vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (U, Vt) with signs flipped per component so the convention holds (copies)."""
    if Vt.shape[0] == 0:
        return U.copy(), Vt.copy()
    signs = convention_signs(Vt)
    return U * signs[np.newaxis, :], Vt * signs[:, np.newaxis]
