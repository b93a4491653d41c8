"""LAPACK and BLAS routines of scipy's bundled library, as ctypes functions (GIL released).

:mod:`scipy.linalg.cython_lapack` and :mod:`scipy.linalg.cython_blas` export every routine
as a C function pointer in a capsule.  Called through ctypes, a routine runs without the GIL
(scipy's f2py wrappers hold it for the whole call), with pointers as arguments.  Used by the
step-wise SVD (:mod:`svdstudio.engine.stepwise`) and the image engine's eigensolver
(:mod:`svdstudio.engine.image.lapack`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

__all__ = ["routine"]

_P = ctypes.c_void_p


def routine(name: str, nargs: int) -> tuple[Callable[..., None], bytes]:
    """The ctypes function of scipy's ``name`` taking ``nargs`` pointers, and its C signature
    (e.g. ``b"void (char *, char *, int *, ...)"``, for a caller that checks the int width).

    Raises ImportError, AttributeError or KeyError when this scipy does not export it.
    """
    # Imported here, not at the top: the Matrix tab imports the step-wise SVD at start-up, and
    # scipy costs about half a second to import.
    if name.endswith("gemm"):
        import scipy.linalg.cython_blas as table
    else:
        import scipy.linalg.cython_lapack as table
    capsule = table.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    signature = get_name(capsule)
    address = get_pointer(capsule, signature)
    if not address:
        raise KeyError(f"{name}: no address in scipy's table")
    fn: Callable[..., None] = ctypes.CFUNCTYPE(None, *([_P] * nargs))(address)
    return fn, signature or b""
