"""Validation at the engine boundary: arrays in, clear ValueErrors out."""

from __future__ import annotations

import numpy as np

__all__ = ["as_matrix"]


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    idx = np.argwhere(mask)[0]
    return int(idx[0]), int(idx[1])


def as_matrix(A: object, *, name: str = "matrix", allow_float32: bool = False) -> np.ndarray:
    """Return ``A`` as a finite 2-D float array, or raise ``ValueError`` naming the problem.

    Positions in messages are 1-based (row r, column c), as a user counts them.
    float32 input stays float32 when ``allow_float32`` (images); everything else is float64.
    """
    try:
        arr = np.asarray(A)
    except ValueError:
        # numpy refuses nested lists of unequal lengths.
        raise ValueError(
            f"{name} has rows of different lengths; every row needs as many values as the first"
        ) from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (rows × columns); got {arr.ndim}-D shape {arr.shape}"
            )
        # Find the first entry that is not a number, to name it.
        for (r, c), v in np.ndenumerate(arr):
            try:
                float(v)
            except (TypeError, ValueError):
                shown = repr(str(v)) if isinstance(v, str | bytes) else repr(v)
                raise ValueError(
                    f"{name} is not numeric: row {r + 1}, column {c + 1} holds {shown}"
                ) from None
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} is not numeric ({exc})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} is complex; SVD Studio works with real matrices only")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} has unsupported element type {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows × columns); got {arr.ndim}-D shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape[0]}×{arr.shape[1]})")
    if allow_float32 and arr.dtype == np.float32:
        out = arr
    else:
        out = arr.astype(np.float64, copy=False)
    finite = np.isfinite(out)
    if not finite.all():
        r, c = _first_bad(~finite)
        v = out[r, c]
        what = "NaN" if np.isnan(v) else ("+inf" if v > 0 else "-inf")
        raise ValueError(f"{name} contains {what} at row {r + 1}, column {c + 1}")
    _check_norm(out, name)
    return out


def _check_norm(out: np.ndarray, name: str) -> None:
    """Refuse a matrix whose Frobenius norm (≥ σ_1) is beyond float range: its SVD cannot be."""
    biggest = float(np.finfo(out.dtype).max)
    amax = float(np.max(np.abs(out)))
    if amax <= biggest / np.sqrt(out.size):
        return  # ‖A‖_F ≤ max|a| · sqrt(mn): fits, and no pass over the data is needed
    r = out / amax
    ratio = float(np.sqrt(np.sum(r * r, dtype=np.float64)))
    if ratio > biggest / amax:
        # The norm itself is not a float: write it as mantissa and power of ten.
        exponent = np.log10(amax) + np.log10(ratio)
        power = int(np.floor(exponent))
        shown = f"{10 ** (exponent - power):.2f}e+{power}"
        raise ValueError(
            f"{name} is too large in magnitude: its Frobenius norm is about {shown}, above "
            f"the largest {out.dtype} number ({biggest:.3g}), so its singular values cannot be "
            "represented; divide it by a power of ten first (e.g. by 1e10)"
        )
