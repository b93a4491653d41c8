"""Full-resolution pixels of one region of an image: original, rank-k rebuild and error.

The Image lab shows big images through a strided display grid; when the user zooms in, the
visible crop is rebuilt from the cached full factors by :func:`crop_pixels` (a
(rows×k)·(k×cols) product per channel).  Module-level, so a worker thread runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image.color import effective_mode, mode_reference
from svdstudio.engine.image.factors import ImageFactors, channel_ranks, reconstruct_image
from svdstudio.engine.jobs import JobControl

__all__ = ["CropPixels", "crop_pixels", "error_indices"]


@dataclass(frozen=True, eq=False)
class CropPixels:
    """uint8 pixels of ``rows`` × ``cols`` (strided slices of the full image) at rank ``k``."""

    rows: slice
    cols: slice
    k: int
    chroma_k: int | None
    original: np.ndarray  # H×W(×3) uint8: the image the rank-k rebuild is compared with
    reconstruction: np.ndarray  # H×W(×3) uint8: A_k, rounded like the screen grid
    error: np.ndarray  # H×W uint8 colour-map indices 4·|A − A_k| (largest channel), ≤ 255


def _round_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _planes(a: np.ndarray) -> list[np.ndarray]:
    return [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]


def error_indices(original: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """4·|original − shown| of uint8 pixels (largest over channels), capped at 252."""
    acc = np.zeros(original.shape[:2], np.int16)
    tmp = np.empty_like(acc)
    for a, b in zip(_planes(original), _planes(shown), strict=True):
        np.subtract(a, b, out=tmp, dtype=np.int16)
        np.abs(tmp, out=tmp)
        np.maximum(acc, tmp, out=acc)
    np.minimum(acc, 63, out=acc)
    np.left_shift(acc, 2, out=acc)
    return acc.astype(np.uint8)


def _rebuild_u8(
    factors: ImageFactors, k: int, chroma_k: int | None, rows: slice, cols: slice
) -> np.ndarray:
    """A_k at rows × cols as uint8, the same pixels as rounding :func:`reconstruct_image`."""
    if factors.mode == "ycbcr":  # needs the colour transform of all three planes
        return _round_u8(reconstruct_image(factors, k, chroma_k, rows=rows, cols=cols))
    n_rows = len(range(*rows.indices(factors.height)))
    n_cols = len(range(*cols.indices(factors.width)))
    nc = len(factors.channels)
    out = np.empty((n_rows, n_cols) if nc == 1 else (n_rows, n_cols, nc), np.uint8)
    plane = np.empty((n_rows, n_cols), np.float32)
    targets = _planes(out)
    for res, kc, target in zip(factors.channels, channel_ranks(factors, k), targets, strict=True):
        if kc == 0:
            target[...] = 0
            continue
        us = res.U[rows, :kc] * res.s[:kc]
        np.matmul(us, res.Vt[:kc, cols], out=plane)
        np.rint(plane, out=plane)
        np.clip(plane, 0, 255, out=target, casting="unsafe")  # one pass into uint8
    return out


def crop_pixels(
    factors: ImageFactors,
    pixels: np.ndarray,
    k: int,
    chroma_k: int | None,
    rows: slice,
    cols: slice,
    *,
    job: JobControl | None = None,
) -> CropPixels:
    """Rebuild ``pixels[rows, cols]`` at rank k from full-resolution ``factors``.

    ``pixels`` is the source image the factors were computed from (same height and width).
    ``job``: optional JobContext; raises :class:`Cancelled` if the job was cancelled first.
    """
    if factors.downsample_factor != 1 or pixels.shape[:2] != (factors.height, factors.width):
        raise ValueError("crop_pixels needs the full-resolution factors of these pixels")
    if job is not None and job.cancelled():
        raise Cancelled()
    part = pixels[rows, cols]
    if part.dtype == np.uint8 and effective_mode(part, factors.mode) != "gray":
        original = np.ascontiguousarray(part)  # already the reference pixels
    else:
        original = _round_u8(mode_reference(part, factors.mode))
    if job is not None and job.cancelled():
        raise Cancelled()
    recon = _rebuild_u8(factors, k, chroma_k, rows, cols)
    return CropPixels(
        rows=rows,
        cols=cols,
        k=int(k),
        chroma_k=None if chroma_k is None else int(chroma_k),
        original=original,
        reconstruction=recon,
        error=error_indices(original, recon),
    )
