"""Qt-free job for the packaged-app smoke test (``svdstudio --smoke-test``).

Run in a worker process by the main window's JobRunner, it proves that a frozen bundle can spawn a
worker (``multiprocessing.freeze_support`` in place) and that LAPACK works there.
"""

from __future__ import annotations

import numpy as np

from svdstudio.engine import decompose

SMOKE_MATRIX = ((3.0, 2.0, 2.0), (2.0, 3.0, -2.0))
SMOKE_SINGULAR_VALUES = (5.0, 3.0)


def worker_check() -> list[float]:
    """Singular values of a 2×3 matrix whose answer is known exactly: [5, 3]."""
    return [float(x) for x in decompose(np.array(SMOKE_MATRIX)).s]
