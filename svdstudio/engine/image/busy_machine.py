"""Whether the machine is busy, and one BLAS thread for the image engine's solvers when it is.

:func:`machine_busy` compares the load average with the core count; :func:`lean_blas` limits
BLAS to one thread inside a block when the machine is busy.  (The Matrix tab's step-wise SVD
probes the faster count instead: :mod:`svdstudio.engine.blas_threads`.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["lean_blas", "machine_busy"]


def machine_busy() -> bool:
    """True when other work keeps the cores busy: the 1-minute load average is at least one
    runnable thread above the core count (this job's own two BLAS threads fill the cores)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): assume an idle machine
        return False
    return load >= (os.cpu_count() or 1) + 1


@contextlib.contextmanager
def lean_blas(force: bool | None = None) -> Iterator[bool]:
    """One BLAS thread inside the block when the machine is busy (``force`` overrides).

    PROPACK and the symmetric eigensolver are bound by many small, synchronised BLAS-2 steps:
    measured on this 2-core machine at load 7-8, PROPACK top-128 of a 1500×2000 float32 matrix
    took 0.9-1.5 s on one thread and 5.5-11 s on two, ``eigh(evd)`` 1500×1500 0.4-1.0 s
    against 2.0-6.0 s (two threads wait for each other whenever one is descheduled).  Idle,
    two threads stay the faster choice (PROPACK about 2×).  Yields whether the limit is on;
    without threadpoolctl (an optional dependency) nothing changes.
    """
    lean = machine_busy() if force is None else force
    if not lean:
        yield False
        return
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield True
