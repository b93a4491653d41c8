"""Top-k decompositions against the exact SVD, and cancellation."""

import numpy as np
import pytest

from svdstudio.engine import (
    Cancelled,
    decompose,
    decompose_topk,
    rank_errors,
    reconstruct,
)


def _with_spectrum(s, m, n, seed=1):
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return (Q1 * s) @ Q2.T


@pytest.fixture(scope="module")
def decaying():
    """400×300 with σ_i = 0.85^(i-1): a spectrum like an image's, decaying fast."""
    A = _with_spectrum(0.85 ** np.arange(300), 400, 300)
    return A, decompose(A)


@pytest.mark.parametrize("method", ["propack", "randomized"])
def test_topk_matches_exact_svd(decaying, method):
    A, exact = decaying
    k = 20
    res = decompose_topk(A, k, method=method)
    assert res.is_partial and res.n_components == k and res.driver == method
    assert res.U.shape == (400, k) and res.Vt.shape == (k, 300)
    assert np.isnan(res.condition_number)

    # Singular values: relative error bound against the exact ones.
    rel = np.abs(res.s - exact.s[:k]) / exact.s[:k]
    assert rel.max() < 1e-9
    # Vectors: orthonormal and equal to the exact ones (same sign convention, gaps are wide).
    np.testing.assert_allclose(res.U.T @ res.U, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(res.Vt @ res.Vt.T, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(res.Vt, exact.Vt[:k], atol=1e-6)

    # Reconstruction error: within a hair of the optimum ‖A − A_k‖_F = sqrt(Σ_{i>k} σ_i²).
    optimum = np.linalg.norm(A - reconstruct(exact, k))
    achieved = np.linalg.norm(A - reconstruct(res, k))
    assert optimum * (1 - 1e-12) <= achieved <= optimum * (1 + 1e-8)

    # Error figures from a partial result use ‖A‖_F², so they agree with the exact ones.
    ours, truth = rank_errors(res, k), rank_errors(exact, k)
    assert ours.frobenius == pytest.approx(truth.frobenius, rel=1e-6)
    assert ours.energy_retained == pytest.approx(truth.energy_retained, rel=1e-12)
    assert np.isnan(ours.spectral)  # σ_{k+1} was not computed
    assert rank_errors(res, 15).spectral == pytest.approx(exact.s[15], rel=1e-9)
    assert rank_errors(res, 15).frobenius == pytest.approx(rank_errors(exact, 15).frobenius)
    assert res.total_energy == pytest.approx(float(np.sum(A**2)), rel=1e-12)


def test_randomized_on_a_slow_spectrum_in_float32():
    """σ_i = 1/i decays slowly: the randomized method is approximate but close."""
    A = _with_spectrum(1.0 / np.arange(1, 201), 240, 200, seed=2)
    exact = decompose(A)
    k = 10
    res = decompose_topk(A.astype(np.float32), k, method="randomized", allow_float32=True)
    assert res.dtype == "float32" and res.U.dtype == np.float32
    rel = np.abs(res.s - exact.s[:k]) / exact.s[:k]
    assert rel.max() < 1e-3
    optimum = np.linalg.norm(A - reconstruct(exact, k))
    achieved = np.linalg.norm(A - reconstruct(res, k).astype(np.float64))
    assert achieved <= optimum * 1.01


def test_topk_of_whole_spectrum_is_the_full_svd():
    A = _with_spectrum(np.arange(6, 0, -1.0), 8, 6)
    res = decompose_topk(A, 6)
    assert not res.is_partial
    np.testing.assert_allclose(res.s, np.arange(6, 0, -1.0), rtol=1e-12)


@pytest.mark.parametrize("k", [0, 301, -1])
def test_topk_rank_out_of_range(decaying, k):
    A, _ = decaying
    with pytest.raises(ValueError, match=r"between 1 and 300 for a 400×300 matrix"):
        decompose_topk(A, k)


def test_unknown_method(decaying):
    A, _ = decaying
    with pytest.raises(ValueError, match="unknown top-k method 'magic'"):
        decompose_topk(A, 5, method="magic")


@pytest.mark.parametrize("method", ["propack", "randomized"])
def test_should_cancel_raises_cancelled(decaying, method):
    A, _ = decaying
    with pytest.raises(Cancelled):
        decompose_topk(A, 10, method=method, should_cancel=lambda: True)


def test_randomized_checks_cancel_between_steps(decaying):
    A, _ = decaying
    calls = []

    def cancel_on_third():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        decompose_topk(A, 10, method="randomized", n_iter=4, should_cancel=cancel_on_third)
    assert len(calls) == 3


def test_small_matrix_honours_cancel_too():
    with pytest.raises(Cancelled):
        decompose_topk(np.eye(5), 2, should_cancel=lambda: True)
