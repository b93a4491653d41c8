"""OpenBLAS threads that sleep when their work is done, instead of spinning for a core.

After each BLAS call OpenBLAS keeps its helper threads spinning for 2^28 cycles (about 0.1 s)
before they sleep.  Measured here: 20 GEMMs of 500×500 spaced 50 ms apart took 1.06 s of CPU
(the helper spun through every pause); with ``OPENBLAS_THREAD_TIMEOUT=20`` (2^20 cycles, a
fraction of a millisecond) 0.10 s.  In this app each job thread's BLAS call (the metrics, the
sweep, the preview) left a spinning thread at the GUI thread's priority on one of the two
cores while a worker's SVD ran on both; in the real window's benchmark (12-MP photo, 2 runs
each) the longest event-loop pause of a colour-mode change fell from 50 ms to 39 ms, and the
full factors' time against numpy's from 0.286 to 0.241.

Set before numpy loads OpenBLAS (the package's ``__init__`` calls :func:`calm_blas_threads`,
and every entry point imports the package first); worker processes inherit it.  A value the
user set is kept.  Standard library only: numpy must not be imported here.
"""

from __future__ import annotations

import os

__all__ = ["BLAS_THREAD_TIMEOUT", "calm_blas_threads"]

# log₂ of the cycles an idle OpenBLAS thread spins before it sleeps (OpenBLAS: 4-30, default 28).
BLAS_THREAD_TIMEOUT = "20"


def calm_blas_threads() -> None:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` unless the user set it (it takes effect in this process
    if OpenBLAS is not loaded yet; processes started later inherit it either way)."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_THREAD_TIMEOUT)
