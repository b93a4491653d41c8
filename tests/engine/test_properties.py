"""Property tests: orthonormal factors, exact rebuild and Eckart–Young for every rank k."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, example, given, settings
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


def _norm(x: np.ndarray) -> float:
    """‖x‖_F, scaled (a reference that neither underflows nor overflows)."""
    c = float(np.max(np.abs(x))) if x.size else 0.0
    return 0.0 if c == 0 else float(np.sqrt(np.sum((x / c) ** 2))) * c


def _sum_squares(x: np.ndarray) -> float:
    return _norm(x) ** 2


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
        # Python floats: σ_1/σ_p overflows to inf for a subnormal σ_p (numpy would warn).
        assert res.condition_number == float(s[0]) / float(s[-1])
    else:
        assert res.condition_number == np.inf

    # The sign convention: the largest-magnitude entry of each v_i is positive.
    for row in res.Vt:
        assert row[np.argmax(np.abs(row))] > 0
    U2, Vt2 = apply_sign_convention(-res.U, -res.Vt)
    np.testing.assert_array_equal(U2, res.U)
    np.testing.assert_array_equal(Vt2, res.Vt)

    # Eckart–Young, measured on the rebuilt matrices, for every k.  The references are
    # computed scaled too: a plain Σ a² of entries near 1e-166 underflows to 0.
    total = _sum_squares(A)
    for k in range(0, p + 1):
        Ak = reconstruct(res, k)
        diff = A - Ak
        err = rank_errors(res, k)
        fro2 = _sum_squares(diff)
        dropped = float(np.sum(s[k:] ** 2))
        assert err.k == k
        assert abs(err.frobenius_squared - fro2) <= 1e-10 * (total + 1e-300)
        assert abs(err.dropped_energy - dropped) <= 1e-12 * (total + 1e-300)
        assert abs(err.frobenius - _norm(diff)) <= 1e-6 * scale
        spectral = float(np.linalg.norm(diff, ord=2))
        expected = float(s[k]) if k < p else 0.0
        assert abs(spectral - expected) <= atol
        assert abs(err.spectral - expected) <= atol
        if _norm(A) > 0:
            assert abs(err.relative - _norm(diff) / _norm(A)) <= 1e-6
            assert abs(err.energy_retained - (_norm(Ak) / _norm(A)) ** 2) <= 1e-10
        else:
            assert err.relative == 0.0 and err.energy_retained == 1.0
        if k >= 1:
            np.testing.assert_allclose(reduced(res, k), A @ res.Vt[:k].T, atol=atol)
            if _norm(A) > 0:
                assert abs(cumulative_energy(res)[k - 1] - err.energy_retained) <= 1e-12
    if _norm(A) > 0:
        assert rank_for_energy(res, 1.0) <= p
        assert rank_for_energy(res, cumulative_energy(res)[0]) == 1


@FAST
@given(matrices)
@example(
    np.array([[4.0, 2.2250738585072014e-308], [2.2250738585072014e-308, 2.2250738585072014e-308]])
)
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


# --- extreme magnitudes: scale changes nothing but the units -----------------------------------

SCALES = [2.0**1000, 1e300, 1e-300, 2.0**-1000, 1e-305]


@FAST
@given(A=rank_deficient(), scale=st.sampled_from(SCALES))
def test_scaled_matrix_has_the_same_rank_relative_error_and_energy(A, scale):  # noqa: N803
    """A · c for c near 1e±300: σ scales by c; rank, relative error, energy stay the same."""
    import warnings

    base = decompose(A)
    if base.s[0] == 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or underflow warning anywhere
        big = decompose(A * scale)
        errors = [(rank_errors(base, k), rank_errors(big, k)) for k in range(base.n_components + 1)]
        curve = cumulative_energy(big)
    assert big.rank == base.rank
    np.testing.assert_allclose(big.s / scale, base.s, rtol=1e-9, atol=1e-9 * base.s[0])
    np.testing.assert_allclose(curve, cumulative_energy(base), atol=1e-9)
    for e0, e1 in errors:
        assert e1.relative == pytest.approx(e0.relative, abs=1e-9)
        assert e1.energy_retained == pytest.approx(e0.energy_retained, abs=1e-9)
        assert e1.frobenius == pytest.approx(
            e0.frobenius * scale, rel=1e-7, abs=1e-9 * base.s[0] * scale
        )
        assert np.isfinite(e1.frobenius)


@pytest.mark.parametrize(
    ("values", "rank", "relative_k1", "error_k1"),
    [
        ([[1e308, 0.0], [0.0, 5e307]], 2, 0.4472135954999579, 5e307),
        ([[1e-310, 0.0], [0.0, 5e-311]], 2, 0.4472135954999579, 5e-311),
        ([[1e-320, 0.0], [0.0, 1e-320]], 2, np.sqrt(0.5), 1e-320),
        # σ_2/σ_1 = 1e-600 is far below eps: numerically rank 1, and σ_2 is 0 to working precision.
        ([[1e300, 0.0], [0.0, 1e-300]], 1, 0.0, 0.0),
    ],
)
def test_extreme_diagonals(values, rank, relative_k1, error_k1):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = decompose(np.array(values))
        e = rank_errors(res, 1)
    assert res.rank == rank
    assert e.relative == pytest.approx(relative_k1, rel=1e-6, abs=1e-300)
    assert e.frobenius == pytest.approx(error_k1, rel=1e-6 if error_k1 > 1e-308 else 0.2)
    assert 0 < e.energy_retained <= 1


@pytest.mark.parametrize("value", [7.92739311e-166, 1e-200, 3e-320])
def test_tiny_one_by_one(value):
    # Its square underflows to 0; the norm, relative error and energy must not.
    res = decompose(np.array([[value]]))
    e0, e1 = rank_errors(res, 0), rank_errors(res, 1)
    assert res.rank == 1 and res.s[0] == value
    assert (e0.frobenius, e0.relative, e0.energy_retained) == (value, 1.0, 0.0)
    assert (e1.frobenius, e1.relative, e1.energy_retained) == (0.0, 0.0, 1.0)
    assert cumulative_energy(res).tolist() == [1.0]


def test_norm_beyond_float_range_is_refused_with_its_size():
    with pytest.raises(ValueError, match=r"Frobenius norm is about 2\.55e\+308, above the largest"):
        decompose(np.full((3, 3), 8.5e307))
    assert decompose(np.full((3, 3), 5e307)).rank == 1  # 1.5e308: still a float
