"""Fast on-screen rebuilds of A_k while the rank is dragged (rank-1 updates, reused buffers)."""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import sgemm

from svdstudio.engine.image.color import _YCC_TO_RGB, from_channels
from svdstudio.engine.image.factors import ImageFactors, _index, channel_ranks

__all__ = ["DisplayReconstructor"]


class DisplayReconstructor:
    """Rebuild a (subsampled or cropped) view of A_k quickly while the rank is dragged.

    The selected rows of UΣ and columns of Vᵀ are copied once; each :meth:`render` adds or
    subtracts only the rank-1 terms between the previous and the new rank when that is
    cheaper than a rebuild (a full rebuild every ``exact_every`` incremental steps, or when
    ``exact=True``, bounds float32 drift).  Channels are kept planar and written straight
    into a reused interleaved uint8 H×W(×3) buffer (no float H×W×3 staging copy).
    """

    def __init__(
        self,
        factors: ImageFactors,
        rows: slice | np.ndarray | None = None,
        cols: slice | np.ndarray | None = None,
        *,
        exact_every: int = 64,
    ) -> None:
        self.factors = factors
        r = _index(rows, factors.height)
        c = _index(cols, factors.width)
        self._us = [
            np.ascontiguousarray(ch.U[r, : ch.n_components] * ch.s) for ch in factors.channels
        ]
        self._vt = [np.ascontiguousarray(ch.Vt[:, c]) for ch in factors.channels]
        h, w = self._us[0].shape[0], self._vt[0].shape[1]
        self.shape = (h, w)
        nc = len(factors.channels)
        # Rounding offset +0.5 lives in the luma/colour accumulators (chroma adds to it with
        # weight 0 in the inverse transform), so rendering only clips and truncates.
        chroma = factors.mode == "ycbcr"
        self._offset = [0.0 if chroma and i > 0 else 0.5 for i in range(nc)]
        self._acc = np.empty((nc, h, w), np.float32)
        for i in range(nc):
            self._acc[i] = self._offset[i]
        self._tmp = np.empty((h, w), np.float32)
        self._plane = np.empty((h, w), np.float32)
        self._u8 = np.empty((h, w, 3) if nc == 3 else (h, w), np.uint8)
        self._ranks = [0] * nc
        self._steps = 0
        self.exact_every = int(exact_every)

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(self._ranks)

    def _set_channel(self, c: int, new: int, exact: bool) -> None:
        cur = self._ranks[c]
        if new == cur and not exact:
            return
        acc, U, Vt = self._acc[c], self._us[c], self._vt[c]
        lo, hi = min(cur, new), max(cur, new)
        if exact or hi - lo >= new:
            if new == 0:
                acc[...] = 0
            else:
                np.matmul(U[:, :new], Vt[:new], out=acc)
            if self._offset[c]:
                acc += self._offset[c]
        else:
            self._add_terms(acc, U[:, lo:hi], Vt[lo:hi], 1.0 if new > cur else -1.0)
        self._ranks[c] = new

    def _add_terms(self, acc: np.ndarray, U: np.ndarray, Vt: np.ndarray, sign: float) -> None:
        """acc += sign · U Vt, in place through BLAS sgemm (β = 1) when possible."""
        if acc.dtype == np.float32 and U.dtype == np.float32 and Vt.dtype == np.float32:
            # Row-major acc is column-major acc.T = Vtᵀ Uᵀ: one pass over acc, no temporary.
            r = sgemm(sign, Vt.T, U.T, beta=1.0, c=acc.T, overwrite_c=1)
            if np.shares_memory(r, acc):
                return
            acc[...] = r.T  # pragma: no cover - f2py made a copy after all
            return
        np.matmul(U, Vt, out=self._tmp)
        acc += sign * self._tmp

    def _emit(self, plane: np.ndarray, target: np.ndarray) -> None:
        # One pass: clip and truncate straight into the (strided) uint8 channel.
        np.clip(plane, 0.0, 255.99, out=target, casting="unsafe")

    def render(self, k: int, chroma_k: int | None = None, *, exact: bool = False) -> np.ndarray:
        """uint8 pixels of the view at rank k (the returned buffer is reused by the next call)."""
        ranks = channel_ranks(self.factors, k, chroma_k)
        self._steps += 1
        if self._steps >= self.exact_every:
            exact, self._steps = True, 0
        for c, kc in enumerate(ranks):
            self._set_channel(c, kc, exact)
        if len(ranks) == 1:
            self._emit(self._acc[0], self._u8)
        elif self.factors.mode == "ycbcr":
            y, cb, cr = self._acc
            t = self._tmp
            for c, (wb, wr) in enumerate(_YCC_TO_RGB[:, 1:]):
                np.add(y, 0.0, out=t)
                if wr:
                    np.multiply(cr, wr, out=self._plane)
                    t += self._plane
                if wb:
                    np.multiply(cb, wb, out=self._plane)
                    t += self._plane
                self._emit(t, self._u8[..., c])
        else:
            for c in range(3):
                self._emit(self._acc[c], self._u8[..., c])
        return self._u8

    def float_pixels(self) -> np.ndarray:
        """The current view as float32 [0, 255] pixels (unrounded, clipped; a new array)."""
        planes = [a - o for a, o in zip(self._acc, self._offset, strict=True)]
        return from_channels(planes, self.factors.mode)
