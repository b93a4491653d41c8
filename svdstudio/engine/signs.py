"""The one sign convention for singular vectors used everywhere in SVD Studio.

Singular vectors are unique only up to sign (u_i, v_i) -> (-u_i, -v_i).  SVD Studio fixes the
sign so that, in every right singular vector v_i (row i of Vᵀ), the entry of largest absolute
value is positive; among equal magnitudes the first one counts.  Because the rule looks at v_i,
a PCA's component directions do not flip when rows (samples) are added or removed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIGN_CONVENTION", "apply_sign_convention"]

SIGN_CONVENTION = (
    "each right singular vector v_i has its largest-magnitude entry positive "
    "(first such entry on ties); u_i flips with it"
)


def apply_sign_convention(U: np.ndarray, Vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (U, Vt) with signs flipped per component so the convention holds (copies)."""
    if Vt.shape[0] == 0:
        return U.copy(), Vt.copy()
    pivots = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), pivots])
    signs[signs == 0] = 1
    signs = signs.astype(Vt.dtype, copy=False)
    return U * signs[np.newaxis, :], Vt * signs[:, np.newaxis]
