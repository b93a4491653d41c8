"""Measured latency: the median and the 10–90 % spread of repeated runs, with the load average.

Time with one BLAS thread (:func:`blas_threads`): on a busy 2-core machine two threads were
4–140× erratic. It uses threadpoolctl when installed; otherwise it cannot change the thread
count in-process, says so (``limited`` False), and callers should run the timing in a
subprocess with ``OPENBLAS_NUM_THREADS=1`` (see :data:`ONE_THREAD_ENV`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

from svdstudio.engine.network.layers import Network

__all__ = [
    "ONE_THREAD_ENV",
    "LatencyComparison",
    "LatencyStats",
    "blas_threads",
    "busy_warning",
    "compare_latency",
    "load_average",
    "measure_latency",
]

ONE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class LatencyStats:
    """Seconds per call: median, 10th and 90th percentiles over ``runs`` timed calls."""

    median: float
    p10: float
    p90: float
    runs: int
    load_before: float | None
    load_after: float | None
    blas_threads: str  # "1", or what was in effect when it could not be set

    @property
    def spread(self) -> float:
        """p90 − p10, seconds."""
        return self.p90 - self.p10

    def describe(self, unit: float = 1e-3, suffix: str = "ms") -> str:
        """e.g. "1.23 ms (10–90 %: 1.20–1.31 ms, 30 runs)"."""
        return (
            f"{self.median / unit:.3g} {suffix} (10–90 %: {self.p10 / unit:.3g}–"
            f"{self.p90 / unit:.3g} {suffix}, {self.runs} runs)"
        )


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS does not report one."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def busy_warning(load: float | None = None, cores: int | None = None) -> str | None:
    """A sentence when the machine is busy (load above cores − 0.5), else None."""
    load = load_average() if load is None else load
    cores = cores or os.cpu_count() or 1
    if load is None or load <= cores - 0.5:
        return None
    return (
        f"the machine is busy (load average {load:.2f} on {cores} cores): timings are "
        "unreliable; close other programs and measure again"
    )


@contextlib.contextmanager
def blas_threads(n: int = 1) -> Iterator[bool]:
    """Limit BLAS to ``n`` threads inside the block; yields whether the limit is in effect."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        env = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
        yield env == str(n)
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield True


def measure_latency(
    fn: Callable[[], object],
    *,
    runs: int = 30,
    warmup: int = 3,
    one_thread: bool = True,
    cancelled: Callable[[], bool] | None = None,
) -> LatencyStats:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times timed (perf_counter)."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    ctx = blas_threads(1) if one_thread else contextlib.nullcontext(False)
    load_before = load_average()
    times = []
    with ctx as limited:
        for _ in range(warmup):
            fn()
        for _ in range(runs):
            if cancelled is not None and cancelled():
                from svdstudio.engine.network.sweeps import Cancelled

                raise Cancelled()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    threads = "1" if limited else os.environ.get("OPENBLAS_NUM_THREADS", "default")
    t = np.asarray(times)
    return LatencyStats(
        median=float(np.median(t)),
        p10=float(np.percentile(t, 10)),
        p90=float(np.percentile(t, 90)),
        runs=runs,
        load_before=load_before,
        load_after=load_average(),
        blas_threads=threads,
    )


@dataclass(frozen=True)
class LatencyComparison:
    """Original beside compressed, per batch size: ``rows`` of (batch, original, compressed)."""

    rows: tuple[tuple[int, LatencyStats, LatencyStats], ...]
    warning: str | None  # busy machine, or BLAS threads not limited

    def speedups(self) -> tuple[float, ...]:
        """Original median / compressed median for each row."""
        return tuple(o.median / c.median if c.median > 0 else float("inf") for _, o, c in self.rows)


def compare_latency(
    original: Network,
    compressed: Network,
    x: np.ndarray,
    *,
    batches: tuple[int, ...] = (1, 256),
    runs: int = 30,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LatencyComparison:
    """Time ``forward`` of two networks on the first ``batch`` samples of raw ``x``.

    Runs in the calling thread (or worker process) with one BLAS thread when it can be set
    (threadpoolctl, or ``OPENBLAS_NUM_THREADS=1`` in that process's environment).
    """
    from svdstudio.engine.network.inference import forward, prepare_input

    rows = []
    limited_all = True
    total = 2 * len(batches)
    done = 0
    for batch in batches:
        xb = prepare_input(original, x[: max(1, min(batch, x.shape[0]))])
        pair = []
        for net in (original, compressed):
            with blas_threads(1) as limited:
                limited_all &= limited
                pair.append(
                    measure_latency(
                        partial(forward, net, xb, prepared=True),
                        runs=runs,
                        one_thread=False,
                        cancelled=cancelled,
                    )
                )
            done += 1
            if progress is not None:
                progress(done, total)
        rows.append((int(xb.shape[0]), pair[0], pair[1]))
    warning = busy_warning()
    if not limited_all:
        note = (
            "BLAS used its default thread count (install threadpoolctl, or set "
            "OPENBLAS_NUM_THREADS=1): timings may be erratic"
        )
        warning = f"{warning}; {note}" if warning else note
    return LatencyComparison(tuple(rows), warning)
