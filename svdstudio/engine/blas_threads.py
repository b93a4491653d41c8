"""The BLAS thread count that is faster *right now*: one, or every core, probed again as it runs.

On a 2-core machine that other programs keep busy, two OpenBLAS threads wait for each other: a
1000×1000 SVD took 5.7 s on two threads and 0.59 s on one (measured while the load average was
6-9); on an idle machine two are up to twice as fast.  A probe of six small matrix products
(about 20 ms) decides.  One probe at the start decided a whole 40 s SVD once: in the Matrix
tab the window was still filling its grid and writing the autosave during those 20 ms, so a
5000×5000 SVD then ran on one thread on an idle machine (σ at 1.35 × gesdd instead of 0.6 ×).
:class:`FastestBlasThreads` probes again, at most every :data:`REPROBE_SECONDS`, whenever
the computation passes a point where it may change (:meth:`FastestBlasThreads.update`).

Without threadpoolctl (an optional dependency) or with one core, nothing changes.
"""

from __future__ import annotations

import math
import os
import time
from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["REPROBE_SECONDS", "FastestBlasThreads", "probe_fastest"]

# Seconds between two probes (each costs about 20 ms of the computation: 1 %).
REPROBE_SECONDS = 2.0
# All cores only when clearly faster: the risk is lopsided (at most 2× lost on an idle
# machine, 10× on a busy one).
_MARGIN = 1.3


def probe_fastest(cores: int) -> int:
    """1 or ``cores``: whichever ran six 640×640 products faster just now."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-not-found, unused-ignore]

    b = np.random.default_rng(0).standard_normal((640, 640))
    best = {1: math.inf, cores: math.inf}
    for threads in (1, cores) * 3:
        with threadpool_limits(threads, user_api="blas"):
            start = time.perf_counter()
            b @ b
            b @ b
            best[threads] = min(best[threads], time.perf_counter() - start)
    return cores if best[cores] * _MARGIN < best[1] else 1


class FastestBlasThreads:
    """A context in which BLAS runs on the faster thread count, re-probed by :meth:`update`.

    Call it from one thread only (the one that computes): OpenBLAS ignored a raise of its
    thread count asked from another thread.  On exit the count is what it was before.
    """

    def __init__(self, interval: float = REPROBE_SECONDS) -> None:
        self.interval = interval
        self.choice: int | None = None  # the count in force (None: left alone)
        self.probes = 0
        self._cores = os.cpu_count() or 1
        self._original: Any = None
        self._last = -math.inf

    def __enter__(self) -> FastestBlasThreads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return self
        if self._cores < 2:
            return self
        # Remembers the counts in force now, for __exit__ (it sets nothing: limits=None).
        self._original = threadpool_limits(limits=None, user_api="blas")
        self.update(force=True)
        return self

    def update(self, force: bool = False) -> int | None:
        """Probe again if :attr:`interval` seconds have passed (or ``force``); the count now."""
        if self._original is None:
            return self.choice
        if not force and time.monotonic() - self._last < self.interval:
            return self.choice
        from threadpoolctl import threadpool_limits

        choice = probe_fastest(self._cores)
        self.probes += 1
        self._last = time.monotonic()
        if choice != self.choice:
            threadpool_limits(limits=choice, user_api="blas")
            self.choice = choice
        return self.choice

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._original is not None:
            self._original.restore_original_limits()
            self._original = None
