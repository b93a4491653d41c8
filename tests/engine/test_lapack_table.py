"""scipy's LAPACK/BLAS routines as ctypes functions: the one lookup both callers share."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from svdstudio.engine.lapack_table import routine


def test_a_blas_routine_computes_and_names_its_signature():
    fn, signature = routine("dgemm", 13)
    assert signature.startswith(b"void") and signature.count(b"int *") == 6  # m n k lda ldb ldc
    a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    b = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    c = np.zeros((2, 4), order="F")
    n2, n3, n4 = ctypes.c_int(2), ctypes.c_int(3), ctypes.c_int(4)
    one, zero = ctypes.c_double(1.0), ctypes.c_double(0.0)
    ref = ctypes.byref
    fn(
        ctypes.c_char_p(b"N"), ctypes.c_char_p(b"N"), ref(n2), ref(n4), ref(n3), ref(one),
        a.ctypes.data, ref(n2), b.ctypes.data, ref(n3), ref(zero), c.ctypes.data, ref(n2),
    )  # fmt: skip
    np.testing.assert_array_equal(c, a @ b)


def test_a_lapack_routine_is_found_and_an_unknown_one_is_a_key_error():
    fn, signature = routine("ssyevd", 11)
    assert callable(fn) and signature.count(b"int *") == 6
    with pytest.raises(KeyError):
        routine("no_such_routine", 3)
