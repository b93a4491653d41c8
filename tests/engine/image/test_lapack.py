"""The GIL-free symmetric eigensolver against scipy's LAPACK wrapper, on hard spectra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from svdstudio.engine.image import lapack
from svdstudio.engine.image.gram_eigh import _eigh_desc, _reverse_rows


def _symmetric(n: int, eigenvalues: np.ndarray, dtype: type, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return np.ascontiguousarray(((Q * eigenvalues) @ Q.T).astype(dtype))


SPECTRA = {
    "random": lambda n: np.random.default_rng(1).uniform(0, 10, n),
    "clustered": lambda n: 1.0 + 1e-6 * np.arange(n),
    "repeated": lambda n: np.repeat([5.0, 2.0, 1.0], -(-n // 3))[:n],
    "rank-deficient": lambda n: np.r_[np.linspace(1, 3, n // 4), np.zeros(n - n // 4)],
    "ill-conditioned": lambda n: np.logspace(0, -7, n),
}


def test_the_gil_free_routine_is_found_in_this_scipy():
    assert lapack.gil_free(np.float32) and lapack.gil_free(np.float64)
    assert not lapack.gil_free(np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spectrum", sorted(SPECTRA))
def test_eigh_inplace_matches_scipy(spectrum, dtype):
    n = 150
    G = _symmetric(n, SPECTRA[spectrum](n), dtype)
    want_lam = scipy.linalg.eigh(G.astype(np.float64), eigvals_only=True)
    work = G.copy()
    lam, W = lapack.eigh_inplace(work)
    assert W is work and lam.dtype == dtype and W.shape == (n, n)  # in place, one row each
    eps = float(np.finfo(dtype).eps)
    scale = float(np.abs(want_lam).max())
    assert np.all(np.diff(lam) >= 0)
    assert np.abs(lam - want_lam).max() <= 50 * n * eps * scale
    W64 = W.astype(np.float64)
    assert np.abs(W64 @ W64.T - np.eye(n)).max() <= 50 * n * eps
    # Row i is the eigenvector of λ_i: G W_iᵀ = λ_i W_iᵀ, i.e. the rows rebuild G.
    assert np.abs((W64.T * lam) @ W64 - G).max() <= 50 * n * eps * scale
    # And the same routine as scipy's wrapper: identical results for the same input.
    ref_lam, ref_W = scipy.linalg.eigh(G.T, driver="evd", check_finite=False)
    np.testing.assert_array_equal(lam, ref_lam)
    np.testing.assert_array_equal(W, ref_W.T)


def test_eigh_inplace_rejects_what_it_cannot_overwrite():
    with pytest.raises(ValueError, match="square C-contiguous"):
        lapack.eigh_inplace(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="square C-contiguous"):
        lapack.eigh_inplace(np.zeros((6, 6), np.float32)[::2, ::2])
    ro = np.eye(3, dtype=np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        lapack.eigh_inplace(ro)


def test_eigh_inplace_falls_back_to_scipy_without_the_export(monkeypatch):
    G = _symmetric(40, SPECTRA["random"](40), np.float32)
    monkeypatch.setattr(lapack, "_routine", lambda name: None)
    assert not lapack.gil_free(np.float32)
    lam, W = lapack.eigh_inplace(G.copy())
    want_lam, want_W = scipy.linalg.eigh(G)
    np.testing.assert_allclose(lam, want_lam, rtol=1e-5, atol=1e-5)
    assert W.flags.c_contiguous
    np.testing.assert_allclose(np.abs(W), np.abs(want_W.T), atol=1e-4)


def test_eigh_inplace_reports_nan_as_failure_or_nan():
    G = np.eye(8, dtype=np.float32)
    G[3, 3] = np.nan
    try:
        lam, _ = lapack.eigh_inplace(G)
    except np.linalg.LinAlgError as exc:
        assert "LAPACK info" in str(exc)
    else:  # LAPACK may return instead of failing: then the NaN is not hidden
        assert np.isnan(lam).any()


@pytest.mark.parametrize("n", [0, 1, 6, 7])
def test_reverse_rows_in_place(n):
    W = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    want = W[::-1].copy()
    _reverse_rows(W)
    np.testing.assert_array_equal(W, want)


def test_eigh_desc_is_largest_first_and_clipped_at_zero():
    G = _symmetric(30, np.r_[np.linspace(4, 1, 20), np.zeros(10)], np.float32)
    lam, Zt = _eigh_desc(G.copy())
    assert np.all(np.diff(lam) <= 0) and lam.min() >= 0
    np.testing.assert_allclose(lam[:20], np.linspace(4, 1, 20), atol=1e-5)
    z = Zt[0].astype(np.float64)
    np.testing.assert_allclose(G.astype(np.float64) @ z, 4 * z, atol=1e-4)
