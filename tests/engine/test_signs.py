"""The sign convention: argmax/argmin pivots against the plain |Vᵀ| definition."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.signs import apply_sign_convention, convention_signs


def _by_definition(vt: np.ndarray) -> np.ndarray:
    pivots = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), pivots])
    signs[signs == 0] = 1
    return signs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_the_definition_with_ties_and_zeros(dtype):
    rng = np.random.default_rng(0)
    for trial in range(300):
        # Small integers: ties between +a and -a (the first counts) and zero rows are common.
        Vt = rng.integers(-3, 4, size=(6, int(rng.integers(1, 8)))).astype(dtype)
        if trial % 5 == 0:
            Vt[0] = 0
        got = convention_signs(Vt)
        assert got.dtype == dtype
        assert np.array_equal(got, _by_definition(Vt)), Vt


def test_tie_goes_to_the_first_entry():
    Vt = np.array([[-2.0, 1.0, 2.0], [2.0, -2.0, 0.0], [0.0, 0.0, 0.0]])
    assert convention_signs(Vt).tolist() == [-1.0, 1.0, 1.0]


def test_apply_returns_flipped_copies():
    rng = np.random.default_rng(1)
    U, Vt = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    U2, Vt2 = apply_sign_convention(U, Vt)
    signs = _by_definition(Vt)
    assert np.array_equal(Vt2, Vt * signs[:, None]) and np.array_equal(U2, U * signs)
    assert not np.shares_memory(U2, U) and not np.shares_memory(Vt2, Vt)
    assert np.all(Vt2[np.arange(3), np.argmax(np.abs(Vt2), axis=1)] > 0)
