"""Property tests: orthonormal factors, exact rebuild and Eckart–Young for every rank k."""

import numpy as np
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from svdstudio.engine import (
    apply_sign_convention,
    cumulative_energy,
    decompose,
    rank_errors,
    rank_for_energy,
    reconstruct,
    reduced,
)

FAST = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

sizes = st.integers(min_value=1, max_value=7)
entries = st.floats(min_value=-100, max_value=100, allow_nan=False, allow_subnormal=False)


@st.composite
def random_dense(draw):
    m, n = draw(sizes), draw(sizes)
    return draw(arrays(np.float64, (m, n), elements=entries))


@st.composite
def rank_deficient(draw):
    """A product of random factors: rank at most r < min(m, n) (when min(m, n) > 1)."""
    m, n = draw(sizes), draw(sizes)
    r = draw(st.integers(min_value=1, max_value=max(1, min(m, n) - 1)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, r)) @ rng.standard_normal((r, n))


@st.composite
def ill_conditioned(draw):
    """Hilbert matrices (cut to m×n) or a spectrum spread over up to 12 decades."""
    m, n = draw(sizes), draw(sizes)
    if draw(st.booleans()):
        return scipy.linalg.hilbert(max(m, n))[:m, :n]
    seed = draw(st.integers(0, 2**32 - 1))
    decades = draw(st.integers(1, 12))
    rng = np.random.default_rng(seed)
    p = min(m, n)
    Q1, _ = np.linalg.qr(rng.standard_normal((m, p)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, p)))
    return (Q1 * np.logspace(0, -decades, p)) @ Q2.T


@st.composite
def special_shapes(draw):
    """1×n and m×1, including a zero vector."""
    length = draw(st.integers(1, 12))
    vec = draw(arrays(np.float64, (length,), elements=entries))
    return vec.reshape(1, -1) if draw(st.booleans()) else vec.reshape(-1, 1)


matrices = st.one_of(random_dense(), rank_deficient(), ill_conditioned(), special_shapes())


def _check_all(A):  # noqa: N803
    res = decompose(A)
    m, n = A.shape
    p = min(m, n)
    s = res.s
    scale = max(float(s[0]), 1e-300)
    atol = 1e-11 * scale
    assert res.U.shape == (m, p) and s.shape == (p,) and res.Vt.shape == (p, n)
    assert np.all(np.diff(s) <= 0) and np.all(s >= 0)

    # Orthonormal factors and an exact rebuild.
    np.testing.assert_allclose(res.U.T @ res.U, np.eye(p), atol=1e-12)
    np.testing.assert_allclose(res.Vt @ res.Vt.T, np.eye(p), atol=1e-12)
    np.testing.assert_allclose((res.U * s) @ res.Vt, A, atol=atol)
    np.testing.assert_allclose(reconstruct(res, p), A, atol=atol)

    # Numerical rank and the condition number follow the documented tolerance.
    tol = s[0] * max(m, n) * np.finfo(np.float64).eps
    assert res.tolerance == tol
    assert res.rank == int(np.count_nonzero(s > tol))
    if s[-1] > 0:
        assert res.condition_number == s[0] / s[-1]
    else:
        assert res.condition_number == np.inf

    # The sign convention: the largest-magnitude entry of each v_i is positive.
    for row in res.Vt:
        assert row[np.argmax(np.abs(row))] > 0
    U2, Vt2 = apply_sign_convention(-res.U, -res.Vt)
    np.testing.assert_array_equal(U2, res.U)
    np.testing.assert_array_equal(Vt2, res.Vt)

    # Eckart–Young, measured on the rebuilt matrices, for every k.
    total = float(np.sum(A**2))
    for k in range(0, p + 1):
        Ak = reconstruct(res, k)
        diff = A - Ak
        err = rank_errors(res, k)
        fro2 = float(np.sum(diff**2))
        dropped = float(np.sum(s[k:] ** 2))
        assert err.k == k
        assert abs(err.frobenius_squared - fro2) <= 1e-10 * (total + 1e-300)
        assert abs(err.dropped_energy - dropped) <= 1e-12 * (total + 1e-300)
        assert abs(err.frobenius - np.sqrt(fro2)) <= 1e-6 * scale
        spectral = float(np.linalg.norm(diff, ord=2))
        expected = float(s[k]) if k < p else 0.0
        assert abs(spectral - expected) <= atol
        assert abs(err.spectral - expected) <= atol
        if total > 0:
            assert abs(err.relative - np.sqrt(fro2 / total)) <= 1e-6
            kept = float(np.sum(Ak**2))
            assert abs(err.energy_retained - kept / total) <= 1e-10
        else:
            assert err.relative == 0.0 and err.energy_retained == 1.0
        if k >= 1:
            np.testing.assert_allclose(reduced(res, k), A @ res.Vt[:k].T, atol=atol)
            if total > 0:
                assert abs(cumulative_energy(res)[k - 1] - err.energy_retained) <= 1e-12
    if total > 0:
        assert rank_for_energy(res, 1.0) <= p
        assert rank_for_energy(res, cumulative_energy(res)[0]) == 1


@FAST
@given(matrices)
def test_svd_properties(A):  # noqa: N803
    _check_all(A)


@FAST
@given(random_dense())
def test_transpose_has_the_same_spectrum(A):  # noqa: N803
    np.testing.assert_allclose(
        decompose(A.T).s, decompose(A).s, rtol=1e-10, atol=1e-12 * (1 + np.abs(A).max())
    )


def test_hilbert_8_is_ill_conditioned_but_exact():
    H = scipy.linalg.hilbert(8)
    res = decompose(H)
    assert 1e10 < res.condition_number < 1e11
    assert res.rank == 8
    _check_all(H)


def test_zero_matrix():
    res = decompose(np.zeros((3, 2)))
    assert res.rank == 0 and res.condition_number == np.inf and res.total_energy == 0
    err = rank_errors(res, 1)
    assert err.frobenius == 0 and err.relative == 0 and err.energy_retained == 1.0
    _check_all(np.zeros((3, 2)))
