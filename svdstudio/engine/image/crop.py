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

__all__ = [
    "ERROR_RANGE",
    "ERROR_ZERO",
    "CropPixels",
    "ErrorMapper",
    "crop_pixels",
    "error_indices",
]


@dataclass(frozen=True, eq=False)
class CropPixels:
    """uint8 pixels of ``rows`` × ``cols`` (strided slices of the full image) at rank ``k``."""

    rows: slice
    cols: slice
    k: int
    chroma_k: int | None
    original: np.ndarray  # H×W(×3) uint8: the image the rank-k rebuild is compared with
    reconstruction: np.ndarray  # H×W(×3) uint8: A_k, rounded like the screen grid
    error: np.ndarray  # H×W uint8 colour-map indices of A_k − A (see ErrorMapper)


def _round_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _planes(a: np.ndarray) -> list[np.ndarray]:
    return [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]


#: Grey levels of A_k − A that saturate the error colour map (each level is 2 map steps).
ERROR_RANGE = 63
#: Colour-map index of a zero error (the middle of a diverging map).
ERROR_ZERO = 128


class ErrorMapper:
    """Signed error A_k − A of uint8 pixels as colour-map indices, with reused buffers.

    Index = 128 + 2·d, where d is the difference of the channel with the largest |d|, clipped
    to ±63 grey levels: 2 (A_k darker by ≥ 63) … 128 (equal) … 254 (brighter by ≥ 63).
    Integer arithmetic on planar data keeps this a few milliseconds per screen frame.
    """

    def __init__(self, original: np.ndarray) -> None:
        ref = np.asarray(original)
        if ref.dtype != np.uint8:
            ref = _round_u8(ref)
        self._ref = [np.ascontiguousarray(p, dtype=np.int16) for p in _planes(ref)]
        shape = ref.shape[:2]
        self._diff = np.empty(shape, np.int16)
        self._mag = np.empty(shape, np.int16)
        self._best = np.empty(shape, np.int16)
        self._acc = np.empty(shape, np.int16)
        self._wins = np.empty(shape, bool)
        self.out = np.empty(shape, np.uint8)

    def compute(self, shown: np.ndarray) -> np.ndarray:
        """Indices for ``shown`` (uint8, the reference's shape); the buffer is reused."""
        self._best.fill(-1)
        self._acc.fill(0)
        for plane, ref in zip(_planes(shown), self._ref, strict=True):
            np.subtract(plane, ref, out=self._diff, dtype=np.int16)
            np.abs(self._diff, out=self._mag)
            np.greater(self._mag, self._best, out=self._wins)
            np.copyto(self._best, self._mag, where=self._wins)
            np.copyto(self._acc, self._diff, where=self._wins)
        np.clip(self._acc, -ERROR_RANGE, ERROR_RANGE, out=self._acc)
        np.left_shift(self._acc, 1, out=self._acc)
        self._acc += ERROR_ZERO
        np.copyto(self.out, self._acc, casting="unsafe")
        return self.out


def error_indices(original: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Colour-map indices of the signed error ``shown − original`` (see :class:`ErrorMapper`)."""
    return ErrorMapper(original).compute(shown).copy()


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
