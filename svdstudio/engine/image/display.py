"""Fast on-screen rebuilds of A_k while the rank is dragged (rank-1 updates, reused buffers)."""

from __future__ import annotations

import sys

import numpy as np
from scipy.linalg.blas import sgemm

from svdstudio.engine.image.color import _YCC_TO_RGB, from_channels
from svdstudio.engine.image.factors import ImageFactors, _index, channel_ranks

__all__ = ["BLOCK", "DisplayReconstructor"]

#: Components copied from the factors at a time, as the rank first reaches them.
BLOCK = 64

# Byte offsets of R, G, B and the unused byte in a native 0xFFRRGGBB word.
_RGBX = (2, 1, 0, 3) if sys.byteorder == "little" else (1, 2, 3, 0)


class DisplayReconstructor:
    """Rebuild a (subsampled or cropped) view of A_k quickly while the rank is dragged.

    The selected rows of UΣ and columns of Vᵀ are copied in blocks of :data:`BLOCK`
    components when a rank first needs them (building one costs nothing up front: a stage
    of 3000 components no longer copies them all in the GUI thread).  Each :meth:`render`
    adds or subtracts only the rank-1 terms between the previous and the new rank when that
    is cheaper than a rebuild (a full rebuild every ``exact_every`` incremental steps, or
    when ``exact=True``, bounds float32 drift).  Channels are kept planar and written straight
    into a reused uint8 buffer: interleaved H×W(×3), or with ``packed=True`` H×W words
    0xFFRRGGBB (the layout screens draw without converting; see :attr:`packed`).
    """

    def __init__(
        self,
        factors: ImageFactors,
        rows: slice | np.ndarray | None = None,
        cols: slice | np.ndarray | None = None,
        *,
        exact_every: int = 512,
        packed: bool = False,
    ) -> None:
        self.factors = factors
        self._r = _index(rows, factors.height)
        self._c = _index(cols, factors.width)
        ch0 = factors.channels[0]
        h, w = ch0.U[self._r, :0].shape[0], ch0.Vt[:0, self._c].shape[1]
        self.shape = (h, w)
        # Allocated, not filled: pages are touched only as blocks are copied in.
        self._us = []
        self._vt = []
        for ch in factors.channels:
            dtype = np.result_type(ch.U.dtype, ch.s.dtype)
            self._us.append(np.empty((h, ch.n_components), dtype))
            self._vt.append(np.empty((ch.n_components, w), ch.Vt.dtype))
        self._have = [0] * len(factors.channels)
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
        self._words: np.ndarray | None = None
        if packed:
            self._words = np.full((h, w), 0xFF000000, np.uint32)
            quad = self._words.view(np.uint8).reshape(h, w, 4)
        if packed and nc == 3:
            self._targets = [quad[..., _RGBX[c]] for c in range(3)]
            # What render() returns: the R, G, B bytes of the words, as an H×W×3 view.
            self._u8 = _rgb_view(quad)
        else:
            self._u8 = np.empty((h, w, 3) if nc == 3 else (h, w), np.uint8)
            self._targets = [self._u8[..., c] for c in range(3)] if nc == 3 else [self._u8]
        self._ranks = [0] * nc
        self._steps = 0
        # float32 rank-1 updates drift by about eps₃₂·|A| each: 512 of them stay under 0.01
        # grey levels, and each rebuild (40 ms at rank 600 on a loaded machine) is a frame
        # the mouse waits for.
        self.exact_every = int(exact_every)

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(self._ranks)

    @property
    def packed(self) -> np.ndarray | None:
        """The current view as H×W words 0xFFRRGGBB (``packed=True``; reused), else None."""
        return self._words

    def copied(self) -> tuple[int, ...]:
        """How many components of each channel have been copied from the factors so far."""
        return tuple(self._have)

    def _ensure(self, c: int, k: int) -> None:
        """Copy the components up to k (rounded up to a block) of channel c."""
        have = self._have[c]
        if k <= have:
            return
        ch = self.factors.channels[c]
        hi = min(ch.n_components, -(-k // BLOCK) * BLOCK)
        np.multiply(ch.U[self._r, have:hi], ch.s[have:hi], out=self._us[c][:, have:hi])
        self._vt[c][have:hi] = ch.Vt[have:hi, self._c]
        self._have[c] = hi

    def _set_channel(self, c: int, new: int, exact: bool) -> None:
        cur = self._ranks[c]
        if new == cur and not exact:
            return
        self._ensure(c, new)
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
        """uint8 pixels of the view at rank k (the returned buffer is reused by the next call).

        H×W×3 for colour, H×W for gray; with ``packed=True`` the same pixels are also in
        :attr:`packed`, and the colour array returned is a view of those words."""
        ranks = channel_ranks(self.factors, k, chroma_k)
        self._steps += 1
        if self._steps >= self.exact_every:
            exact, self._steps = True, 0
        for c, kc in enumerate(ranks):
            self._set_channel(c, kc, exact)
        if len(ranks) == 1:
            self._emit(self._acc[0], self._u8)
            if self._words is not None:
                # 0xFF000000 + g·0x010101: the gray level in R, G and B.
                np.multiply(self._u8, np.uint32(0x010101), out=self._words, dtype=np.uint32)
                self._words |= np.uint32(0xFF000000)
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
                self._emit(t, self._targets[c])
        else:
            for c in range(3):
                self._emit(self._acc[c], self._targets[c])
        return self._u8

    def float_pixels(self) -> np.ndarray:
        """The current view as float32 [0, 255] pixels (unrounded, clipped; a new array)."""
        planes = [a - o for a, o in zip(self._acc, self._offset, strict=True)]
        return from_channels(planes, self.factors.mode)


def _rgb_view(quad: np.ndarray) -> np.ndarray:
    """The R, G, B bytes of H×W×4 native 0xFFRRGGBB words, as a strided H×W×3 view."""
    if _RGBX[:3] == (2, 1, 0):
        return quad[..., 2::-1]
    return quad[..., 1:4]
