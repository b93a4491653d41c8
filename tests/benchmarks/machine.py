"""The machine a benchmark ran on: its load average and how fast it is today.

The goals of the app benchmarks (gaps, frames per second, seconds to a first picture) are
absolute times, set on machines of this kind whose single-thread float32 GEMM reached about
150 GFLOP/s (DESIGN.md: 299 GFLOP/s on both cores).  Machines of the same kind have been
measured at half that, with pure Python 2-3x slower; without a line that says so, a figure
from such a machine reads as a regression.  :func:`speed` takes about a second.
"""

from __future__ import annotations

import os
import time

import numpy as np

__all__ = ["load", "speed"]


def load() -> str:
    """The load average over 1, 5 and 15 minutes, as ``"0.12 0.34 0.56"``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def speed() -> str:
    """This machine's speed now: float32 GEMM (all threads, best of 3) and a pure-Python loop
    (best of 3), as one line to print beside the figures."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2000, 2000), dtype=np.float32)
    a @ a  # warm: threads started, pages touched
    best = min(_timed(lambda: a @ a) for _ in range(3))
    gflops = 2 * 2000**3 / best / 1e9

    def loop() -> None:
        s = 0
        for i in range(2_000_000):
            s += i

    py = min(_timed(loop) for _ in range(3))
    return (
        f"machine speed: float32 GEMM {gflops:.0f} GFLOP/s, "
        f"Python loop of 2e6 additions {py * 1e3:.0f} ms"
    )


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t
