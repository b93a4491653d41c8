"""Which shown point is under the cursor, without a pass over every point per mouse move.

A pass over 1,000,000 points costs about 20 ms per move here (a busy 2-core machine).
:class:`HoverIndex` sorts the points once per projection into a grid of cells over their
bounding box, block by block (each block a short step on the GUI thread: a stable radix sort
of 16-bit cell numbers); a query reads, in each block, the few cells the hover radius can
reach — for each grid column one contiguous run of the block's sorted order — and measures only
those points, in screen pixels.  No Qt here: plain numpy, tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["HoverIndex"]

#: Cells per side at most (cell numbers fit 16 bits, which numpy sorts by radix).
MAX_SIDE = 256
#: Points per build step.
BLOCK = 200_000


class HoverIndex:
    """A grid index of points ``(x, y)`` (data coordinates) for nearest-in-pixels queries."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self._x = np.ascontiguousarray(x, dtype=np.float64)
        self._y = np.ascontiguousarray(y, dtype=np.float64)
        n = self._x.shape[0]
        self.n = n
        self.side = int(min(MAX_SIDE, max(1, round(np.sqrt(n / 8.0)))))
        self._blocks: list[tuple[int, np.ndarray, np.ndarray]] = []  # (lo, order, starts)
        self._lo = np.zeros(2)
        self._scale = np.ones(2)
        self._ready = False

    # ---------------------------------------------------------------- building
    def build_steps(self) -> list[Callable[[], None]]:
        """The build as short steps to run in order; :meth:`ready` once the last has run."""
        steps: list[Callable[[], None]] = [self._bounds]
        steps += [lambda lo=lo: self._block(lo) for lo in range(0, self.n, BLOCK)]
        steps.append(self._finish)
        return steps

    @staticmethod
    def step_count(n: int) -> int:
        """How many steps :meth:`build_steps` returns for ``n`` points."""
        return 2 + -(-n // BLOCK)

    def build(self) -> HoverIndex:
        """Run every build step now (small tables, tests)."""
        for step in self.build_steps():
            step()
        return self

    def ready(self) -> bool:
        """Whether every build step has run."""
        return self._ready

    def _bounds(self) -> None:
        if self.n == 0:
            return
        lo = np.array([self._x.min(), self._y.min()])
        hi = np.array([self._x.max(), self._y.max()])
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        self._lo = lo
        self._scale = self.side / span

    def _cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = self.side - 1
        cx = np.clip(((x - self._lo[0]) * self._scale[0]).astype(np.int32), 0, top)
        cy = np.clip(((y - self._lo[1]) * self._scale[1]).astype(np.int32), 0, top)
        return cx, cy

    def _block(self, lo: int) -> None:
        hi = min(lo + BLOCK, self.n)
        cx, cy = self._cells(self._x[lo:hi], self._y[lo:hi])
        cell = (cx * self.side + cy).astype(np.uint16 if self.side <= 256 else np.int32)
        order = np.argsort(cell, kind="stable")  # stable: within a cell, by row
        counts = np.bincount(cell, minlength=self.side * self.side)
        starts = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        self._blocks.append((lo, (order + lo).astype(np.int64), starts))

    def _finish(self) -> None:
        self._ready = True

    # ---------------------------------------------------------------- queries
    def nearest(
        self, tx: float, ty: float, px_per_x: float, px_per_y: float, radius_px: float
    ) -> int:
        """Index of the point nearest (tx, ty) in pixels (``px_per_x``/``px_per_y`` pixels per
        data unit), within ``radius_px``; -1 when none is.  Ties go to the lower index, as a
        plain argmin over every point would."""
        if self.n == 0 or not (px_per_x and px_per_y):
            return -1
        sx, sy = abs(px_per_x), abs(px_per_y)
        rx, ry = radius_px / sx, radius_px / sy
        if not self._ready:
            return self._nearest_in(np.arange(self.n), tx, ty, sx, sy, radius_px)
        side = self.side
        c0 = np.floor((np.array([tx - rx, ty - ry]) - self._lo) * self._scale).astype(np.int64)
        c1 = np.floor((np.array([tx + rx, ty + ry]) - self._lo) * self._scale).astype(np.int64)
        if c1[0] < 0 or c1[1] < 0 or c0[0] >= side or c0[1] >= side:
            return -1  # the circle lies outside every point's cell
        c0, c1 = np.clip(c0, 0, side - 1), np.clip(c1, 0, side - 1)
        columns = range(int(c0[0]), int(c1[0]) + 1)
        if len(columns) * len(self._blocks) > 4 * side:
            # Zoomed far out: most cells are in reach, one plain pass is cheaper.
            return self._nearest_in(np.arange(self.n), tx, ty, sx, sy, radius_px)
        runs = []
        for _lo, order, starts in self._blocks:
            for cx in columns:
                a = starts[cx * side + int(c0[1])]
                b = starts[cx * side + int(c1[1]) + 1]
                if b > a:
                    runs.append(order[a:b])
        if not runs:
            return -1
        return self._nearest_in(np.concatenate(runs), tx, ty, sx, sy, radius_px)

    def _nearest_in(
        self, idx: np.ndarray, tx: float, ty: float, sx: float, sy: float, radius_px: float
    ) -> int:
        dx = (self._x[idx] - tx) * sx
        dy = (self._y[idx] - ty) * sy
        d2 = dx * dx + dy * dy
        best = float(d2.min())
        if best > radius_px * radius_px:
            return -1
        return int(idx[d2 == best].min())
