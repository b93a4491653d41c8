"""LAPACK's symmetric eigensolver ``?syevd`` called without holding the GIL.

scipy's f2py wrapper (``scipy.linalg.eigh``) holds the GIL for the whole call (a 3000×3000
float32 matrix: 1.6-2.0 s on one BLAS thread), so a second Python thread cannot run anything
meanwhile, and numpy's ``linalg.eigh`` (which releases it) took twice as long here (4.0 s
against 2.0 s, interleaved, load ≈ 2.6).  The very same routine of scipy's bundled LAPACK is
exported by :mod:`scipy.linalg.cython_lapack` as a C function pointer; a ctypes call of it
releases the GIL while LAPACK runs, which is what lets two channels decompose at once
(:mod:`.pipeline`).  Without that export (another scipy) the wrapper is used instead.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import numpy as np
import scipy.linalg

from svdstudio.engine.lapack_table import routine

__all__ = ["eigh_inplace", "gil_free"]

_P = ctypes.c_void_p
_ROUTINES = {np.dtype(np.float32): "ssyevd", np.dtype(np.float64): "dsyevd"}


@functools.cache
def _routine(name: str) -> Any:
    """The ctypes function for cython_lapack's ``name``, or None when it is not exported."""
    try:
        fn, signature = routine(name, 11)
    except (ImportError, AttributeError, KeyError, ValueError, TypeError):
        return None
    # void ?syevd(char*, char*, int*, s*, int*, s*, s*, int*, int*, int*, int*): LP64 ints.
    if signature.count(b"int *") != 6:
        return None
    return fn


def gil_free(dtype: np.dtype[Any] | type = np.float32) -> bool:
    """Whether :func:`eigh_inplace` releases the GIL for this dtype here."""
    name = _ROUTINES.get(np.dtype(dtype))
    return name is not None and _routine(name) is not None


def eigh_inplace(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric C-contiguous float32/float64 ``G``, smallest first.

    Returns (λ ascending, W) where W *is* ``G`` overwritten: row i of W is the eigenvector
    of λ_i (G's C-ordered buffer is, G being symmetric, a Fortran-ordered G, and LAPACK
    writes eigenvectors as Fortran columns).  Raises ``numpy.linalg.LinAlgError`` when
    LAPACK does not converge.
    """
    if G.ndim != 2 or G.shape[0] != G.shape[1] or not G.flags.c_contiguous:
        raise ValueError("eigh_inplace needs a square C-contiguous matrix")
    if not G.flags.writeable:
        raise ValueError("eigh_inplace overwrites its matrix: it must be writeable")
    dtype = G.dtype
    name = _ROUTINES.get(dtype)
    fn = _routine(name) if name is not None else None
    n = int(G.shape[0])
    if fn is None or n == 0 or 1 + 6 * n + 2 * n * n >= 2**31:  # LP64 sizes only
        lam, W = scipy.linalg.eigh(G.T, driver="evd", overwrite_a=True, check_finite=False)
        return lam, np.ascontiguousarray(W.T)
    ref = ctypes.byref
    jobz, uplo = ctypes.c_char(b"V"), ctypes.c_char(b"L")
    size, info = ctypes.c_int(n), ctypes.c_int(0)
    w = np.empty(n, dtype)
    # Workspace sizes of ?syevd with eigenvectors (LAPACK's documented minimum, which is also
    # what its size query answers): 1 + 6n + 2n² reals and 3 + 5n integers.
    work = np.empty(1 + 6 * n + 2 * n * n, dtype)
    iwork = np.empty(3 + 5 * n, np.intc)
    lwork, liwork = ctypes.c_int(work.size), ctypes.c_int(iwork.size)
    fn(
        ref(jobz),
        ref(uplo),
        ref(size),
        _P(G.ctypes.data),
        ref(size),
        _P(w.ctypes.data),
        _P(work.ctypes.data),
        ref(lwork),
        _P(iwork.ctypes.data),
        ref(liwork),
        ref(info),
    )
    del work, iwork
    if info.value != 0:
        raise np.linalg.LinAlgError(f"the symmetric eigensolver failed (LAPACK info {info.value})")
    return w, G
