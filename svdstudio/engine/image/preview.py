"""A big image's first picture: the SVD of a block-averaged copy as fine as the screen pane.

The copy is sized from the panes that show it (:func:`preview_factor`: at least one sample per
device pixel of the image fitted in the finest pane, within a floor and a cap), so the first
reconstruction is drawn at the pane's own resolution, not as a thumbnail scaled up.  Each
channel's SVD is taken from its Gram matrix in float64 (:func:`gram_svd`): for the copy's
shorter side p, one p×p symmetric eigensolver instead of an SVD (500×667 here: tens of ms a
channel), in numpy calls that release the GIL, so a worker *thread* leaves the window live.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from svdstudio.engine.decomposition import Cancelled, SVDResult, default_tolerance
from svdstudio.engine.image.color import (
    CHANNEL_NAMES,
    _check_pixels,
    channel,
    downsample,
    effective_mode,
)
from svdstudio.engine.image.factors import (
    PREVIEW_MAX_SIDE,
    PREVIEW_SIDE,
    ImageFactors,
)
from svdstudio.engine.image.fast_svd import lean_blas
from svdstudio.engine.jobs import JobControl
from svdstudio.engine.signs import apply_sign_convention

__all__ = ["MIN_PANE_PX", "SIGMA_ACCURACY", "decompose_preview", "gram_svd", "preview_factor"]

# A pane smaller than this (device pixels) is not laid out yet: its size says nothing.
MIN_PANE_PX = 48
# The relative accuracy of σ that ``approx_from`` marks the end of (as the full SVD's).
SIGMA_ACCURACY = 1e-4


def preview_factor(
    height: int,
    width: int,
    panes_px: Iterable[tuple[float, float]],
    *,
    min_side: int = PREVIEW_SIDE,
    max_side: int = PREVIEW_MAX_SIDE,
) -> int:
    """The block-averaging factor of a ``height``×``width`` image's preview for panes of
    ``panes_px`` = [(width, height) in device pixels].

    The largest factor that still leaves one sample per device pixel of the finest pane with
    the whole image fitted in it (as the display grid is chosen), but the copy's longer side
    at least ``min_side`` (a small pane gets a sharper copy than it needs, not a blurrier
    one) and at most ``max_side`` (the cap wins).  No usable pane: the longer side
    ``min_side``.
    """
    longer = max(int(height), int(width))
    sizes = [(pw, ph) for pw, ph in panes_px if pw >= MIN_PANE_PX and ph >= MIN_PANE_PX]
    if sizes:
        per_px = min(max(width / pw, height / ph) for pw, ph in sizes)
        factor = min(max(1, math.floor(per_px)), max(1, longer // max(1, int(min_side))))
    else:
        factor = max(1, math.ceil(longer / max(1, int(min_side))))
    return max(factor, math.ceil(longer / max(1, int(max_side))), 1)


def gram_svd(ch: np.ndarray) -> SVDResult:
    """Full thin SVD of a small channel from its Gram matrix (float64), kept as float32.

    For m ≤ n: G = A Aᵀ = U Σ² Uᵀ (numpy's ``eigh``), then Vᵀ = Σ⁻¹ Uᵀ A.  σ_i² carries an
    absolute error of about max(m, n)·eps₆₄·σ₁², so σ_i is accurate to 1e-4 relative down to
    about 3e-5 σ₁ at 1000 pixels a side; the triplets below that are marked approximate
    (``approx_from``).  Every rank-k rebuild U_k Σ_k V_kᵀ = U_k U_kᵀ A is the projection on
    the computed U_k, whatever the tail's accuracy.  σ at or below the Gram's rounding
    noise, sqrt(max(m, n)·eps₆₄)·σ₁, is set to 0 with a zero row of Vᵀ (its direction is noise).
    """
    a = np.asarray(ch, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"a channel must be a non-empty 2-D array; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("image contains NaN or inf")
    m, n = a.shape
    wide = a if m <= n else a.T  # p×q with p ≤ q: the Gram matrix is the smaller one
    # One BLAS thread: at these sizes a second one only spins (eigh 500×500: 22 ms of CPU on
    # one, 33-58 ms on two, load 5), and the other core is the worker process's.
    with lean_blas(force=True):
        gram = wide @ wide.T
        w, vecs = np.linalg.eigh(gram)
    w, vecs = w[::-1], vecs[:, ::-1]  # descending
    s = np.sqrt(np.clip(w, 0.0, None))
    eps = float(np.finfo(np.float64).eps)
    keep = s > float(s[0]) * math.sqrt(max(m, n) * eps)  # below: the Gram's rounding noise
    s = np.where(keep, s, 0.0)
    other = vecs.T @ wide  # p×q rows σ_i v_iᵀ
    inv = np.divide(1.0, s, out=np.zeros_like(s), where=keep)
    other *= inv[:, None]
    if m <= n:
        U, Vt = vecs, other
    else:
        U, Vt = other.T, vecs.T
    U, Vt = apply_sign_convention(U.astype(np.float32), Vt.astype(np.float32))
    s32 = s.astype(np.float32)
    tol = default_tolerance(s32, a.shape, np.dtype(np.float32))
    smin = float(s32[-1])
    limit = float(s[0]) * math.sqrt(max(m, n) * eps / (2 * SIGMA_ACCURACY))
    low = np.flatnonzero(s < limit)
    return SVDResult(
        U=np.ascontiguousarray(U),
        s=s32,
        Vt=np.ascontiguousarray(Vt),
        shape=(int(m), int(n)),
        dtype="float32",
        rank=int(np.count_nonzero(s32 > tol)),
        tolerance=tol,
        condition_number=float(s32[0]) / smin if smin > 0 else float("inf"),
        total_energy=float(np.einsum("ij,ij->", a, a)),
        driver="gram-eigh-f64",
        approx_from=int(low[0]) if low.size else None,
    )


def decompose_preview(
    pixels: np.ndarray, mode: str, factor: int, job: JobControl | None = None
) -> tuple[ImageFactors, np.ndarray]:
    """The preview factors of ``pixels`` block-averaged by ``factor`` (marked by
    ``downsample_factor``), and that float32 copy (read-only), which they approximate.

    ``job`` is checked for cancel between channels.
    """
    arr = _check_pixels(pixels)
    mode = effective_mode(arr, mode)
    factor = max(1, int(factor))
    small = downsample(arr, factor) if factor > 1 else np.array(arr, dtype=np.float32)
    small.setflags(write=False)
    names = CHANNEL_NAMES[mode]
    results = []
    for c in range(len(names)):
        if job is not None and job.cancelled():
            raise Cancelled()
        results.append(gram_svd(channel(small, mode, c)))
    h, w = small.shape[:2]
    return ImageFactors(mode, h, w, names, tuple(results), factor), small
