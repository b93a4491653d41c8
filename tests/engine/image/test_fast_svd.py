"""The fast full SVD path against LAPACK in float64: the accuracy it states, on hard cases."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import scipy.linalg

from svdstudio.engine import Cancelled
from svdstudio.engine.image import to_channels
from svdstudio.engine.image.fast_svd import SIGMA_TOL, StepProgress, fast_full_svd, refine_tail
from svdstudio.io.images import load_image
from svdstudio.resources import resource_path


def _with_spectrum(s: np.ndarray, m: int, n: int, seed: int = 0) -> np.ndarray:
    return _built(tuple(np.asarray(s, float).tolist()), m, n, seed).copy()


@cache
def _built(s: tuple[float, ...], m: int, n: int, seed: int) -> np.ndarray:
    s = np.asarray(s)
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return ((Q1 * s) @ Q2.T).astype(np.float32)


def _photo() -> np.ndarray:
    img = load_image(resource_path("images", "astronaut.png"))
    return np.ascontiguousarray(to_channels(img.pixels, "rgb")[1][:, :448])


CASES = {
    # 100 equal values, then a continuum: the top-64 boundary falls inside the cluster.
    "repeated": lambda: _with_spectrum(
        np.r_[np.full(100, 50.0), np.linspace(10, 0.02, 400)], 500, 640
    ),
    # Pairs 1e-6 apart and a tail down to 1e-3 σ₁.
    "clustered": lambda: _with_spectrum(
        np.r_[100.0, 100.0 - 1e-4, np.repeat(np.logspace(1, -1, 249), 2)], 500, 600, seed=1
    ),
    "rank-deficient": lambda: _with_spectrum(
        np.r_[np.linspace(100, 1, 40), np.zeros(460)], 500, 640
    ),
    # σ from 100 down to 1e-6: far below float32 resolution, condition number 1e8.
    "ill-conditioned": lambda: _with_spectrum(100 * 0.965 ** np.arange(500), 500, 600, seed=2),
    "tall": lambda: _with_spectrum(np.logspace(2, -1, 450), 700, 450, seed=3),
    # A tall ill-conditioned one: the long side (U) is then the one made by the GEMM.
    "tall-ill": lambda: _with_spectrum(100 * 0.97 ** np.arange(420), 640, 420, seed=4),
    "photo": _photo,
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    A = CASES[request.param]()
    exact = scipy.linalg.svd(A.astype(np.float64), full_matrices=False)
    return request.param, A, exact, fast_full_svd(A)


def test_singular_values_to_the_stated_accuracy(case):
    name, _, (_, s, _), res = case
    assert res.s.shape == s.shape and res.driver == "propack+gram" and not res.is_partial
    assert np.all(np.diff(res.s) <= 0), "descending"
    promised = s >= 1e-3 * s[0]
    rel = np.abs(res.s[promised] - s[promised]) / s[promised]
    assert rel.max() < SIGMA_TOL, f"{name}: worst relative σ error {rel.max():.2e}"
    # Values the promise does not cover are still within float32 noise of the truth.
    assert np.abs(res.s - s).max() < 1e-4 * s[0]
    # Everything the promise covers is before the first triplet marked approximate.
    if res.approx_from is not None:
        assert res.approx_from >= int(promised.sum())
    assert res.total_energy == pytest.approx(float(np.sum(s**2)), rel=1e-6)


def test_vectors_orthonormal(case):
    name, A, _, res = case
    p = min(A.shape)
    assert res.U.shape == (A.shape[0], p) and res.Vt.shape == (p, A.shape[1])
    U = res.U.astype(np.float64)
    Vt = res.Vt.astype(np.float64)
    assert np.abs(U.T @ U - np.eye(p)).max() < 1e-4, name
    assert np.abs(Vt @ Vt.T - np.eye(p)).max() < 1e-4, name


def test_reconstruction_matches_exact_at_every_rank(case):
    name, A, (U, s, Vt), res = case
    scale = 255.0 / float(np.abs(A).max())  # grey levels of the matrix shown as an image
    p = s.size
    for k in sorted({1, 2, 8, 33, 64, 65, 100, 200, p // 2, p - 1, p}):
        approx = (res.U[:, :k] * res.s[:k]) @ res.Vt[:k]
        # Eckart–Young: the error of A_k is optimal, whichever basis a cluster was given
        # (up to float32 resolution of the data, 1e-5 ‖A‖_F).
        err = np.linalg.norm(A - approx.astype(np.float64))
        best = np.sqrt(np.sum(s[k:] ** 2))
        assert err <= best + 1e-5 * np.sqrt(np.sum(s**2)), f"{name} k={k}: {err} vs {best}"
        if k < p and s[k - 1] > s[k] * (1 + 1e-3):  # A_k is unique: compare pixel by pixel
            exact = (U[:, :k] * s[:k]) @ Vt[:k]
            worst = np.abs(approx - exact).max() * scale
            assert worst < 0.5, f"{name} k={k}: {worst:.3f} grey levels off"


def test_ill_conditioned_tail_is_marked_approximate():
    A = CASES["ill-conditioned"]()
    res = fast_full_svd(A)
    # σ below float32 resolution cannot be certified: they are marked, not passed off as exact.
    assert res.approx_from is not None
    assert res.s[res.approx_from] < 1e-3 * res.s[0]


class _Job:
    def __init__(self, cancel_after: int | None = None):
        self.reports: list[tuple[float, str]] = []
        self.cancel_after = cancel_after

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.reports) >= self.cancel_after

    def report(self, fraction: float, message: str) -> None:
        self.reports.append((fraction, message))


def test_progress_is_step_wise_and_monotone():
    A = CASES["tall"]()
    job = _Job()
    prog = StepProgress(job, label="channel G (2 of 3)")
    # The ETA waits for 50 ms of measured work; idle and warm this whole case takes less
    # (about 40 ms): start the clock earlier so the ETA's presence does not depend on speed.
    prog.t0 -= 1.0
    fast_full_svd(A, progress=prog)
    fractions = [f for f, _ in job.reports]
    messages = [m for _, m in job.reports]
    assert len(job.reports) >= 5
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] < 1
    assert all(m.startswith("channel G (2 of 3): ") for m in messages)
    assert any("PROPACK" in m for m in messages)
    assert any("eigen-decomposition" in m for m in messages)
    assert any("left" in m for m in messages[2:]), "an ETA once a step has been timed"


@pytest.mark.parametrize("after", [1, 3, 5])
def test_cancel_between_steps(after):
    job = _Job(cancel_after=after)
    with pytest.raises(Cancelled):
        fast_full_svd(CASES["tall"](), progress=StepProgress(job))
    assert len(job.reports) == after  # stopped at the first check after the flag was set


def test_zero_and_constant_matrices():
    Z = np.zeros((420, 500), np.float32)
    res = fast_full_svd(Z)
    assert np.all(res.s == 0) and res.total_energy == 0
    assert np.abs(res.Vt @ res.Vt.T - np.eye(420)).max() < 1e-4
    C = np.full((420, 500), 128.0, np.float32)
    res = fast_full_svd(C)
    assert res.s[0] == pytest.approx(128 * np.sqrt(420 * 500), rel=1e-5)
    assert res.s[1] < 1e-3 * res.s[0]
    rec = (res.U[:, :1] * res.s[:1]) @ res.Vt[:1]
    assert np.abs(rec - C).max() < 0.01


@pytest.mark.parametrize("name", ["photo", "ill-conditioned", "repeated", "tall", "tall-ill"])
def test_unrefined_then_refined(name):
    """The quick result rebuilds every rank as exactly; refine_tail makes its tail orthonormal."""
    A = CASES[name]()
    s = scipy.linalg.svd(A.astype(np.float64), compute_uv=False)
    quick = fast_full_svd(A, refine=False)
    assert quick.approx_from is not None and quick.approx_from < s.size
    j = quick.approx_from
    # Before the mark: the stated accuracy already holds.
    head = np.arange(j)
    cover = head[s[head] >= 1e-3 * s[0]]
    assert np.max(np.abs(quick.s[cover] - s[cover]) / s[cover]) < SIGMA_TOL
    Vh = quick.Vt[:j].astype(np.float64)
    assert np.abs(Vh @ Vh.T - np.eye(j)).max() < 1e-4
    total = np.sqrt(np.sum(s**2))
    scale = 255.0 / float(np.abs(A).max())
    for k in (j // 2, j, (j + s.size) // 2, s.size):
        approx = (quick.U[:, :k] * quick.s[:k]) @ quick.Vt[:k]
        err = np.linalg.norm(A - approx.astype(np.float64))
        # Rounding noise below σ₁·√n·eps₃₂ is not rebuilt unrefined: 1e-4 ‖A‖_F at most.
        assert err <= np.sqrt(np.sum(s[k:] ** 2)) + 1e-4 * total, (name, k)
    assert np.abs(approx - A).max() * scale < 0.5  # full rank: within half a grey level
    fine = refine_tail(quick)
    Uf, Vf = fine.U.astype(np.float64), fine.Vt.astype(np.float64)
    p = s.size
    assert np.abs(Uf.T @ Uf - np.eye(p)).max() < 1e-4
    assert np.abs(Vf @ Vf.T - np.eye(p)).max() < 1e-4
    cover = s >= 1e-3 * s[0]
    assert np.max(np.abs(fine.s[cover] - s[cover]) / s[cover]) < SIGMA_TOL
    full = (fine.U * fine.s) @ fine.Vt
    assert np.linalg.norm(A - full) <= 1e-4 * total
    assert refine_tail(fine) is fine or fine.approx_from is not None


def _sign_convention_holds(res) -> bool:
    rows = np.arange(res.Vt.shape[0])
    pivot = res.Vt[rows, np.argmax(np.abs(res.Vt), axis=1)]
    return bool(np.all(pivot >= 0))


@pytest.mark.parametrize("name", ["photo", "tall-ill", "rank-deficient", "clustered"])
def test_factors_c_ordered_signed_and_inputs_untouched(name):
    """Written in place into preallocated arrays: the input and a handed-over quick result
    must come out unchanged, the factors C-ordered float32 with the sign convention."""
    A = CASES[name]()
    A0 = A.copy()
    quick = fast_full_svd(A, refine=False)
    assert np.array_equal(A, A0)
    kept = (quick.U.copy(), quick.s.copy(), quick.Vt.copy())
    fine = refine_tail(quick) if quick.approx_from is not None else quick
    for before, after in zip(kept, (quick.U, quick.s, quick.Vt), strict=True):
        assert np.array_equal(before, after)
    for res in (quick, fine):
        assert res.U.dtype == res.Vt.dtype == res.s.dtype == np.float32
        assert res.U.flags.c_contiguous and res.Vt.flags.c_contiguous
        assert _sign_convention_holds(res)
        assert np.all(np.diff(res.s) <= 0)


@pytest.mark.parametrize("order", ["F", "float64", "strided"])
def test_any_memory_layout_of_the_input(order):
    """A Fortran-ordered, float64 or strided input gives the same factors as C float32."""
    A = CASES["tall"]()
    ref = fast_full_svd(A)
    B = {
        "F": np.asfortranarray(A),
        "float64": A.astype(np.float64),
        "strided": np.repeat(A, 2, axis=1)[:, ::2],
    }[order]
    res = fast_full_svd(B)
    assert np.abs(res.s - ref.s).max() <= 1e-5 * ref.s[0]
    s = scipy.linalg.svd(A.astype(np.float64), compute_uv=False)
    cover = s >= 1e-3 * s[0]
    assert np.max(np.abs(res.s[cover] - s[cover]) / s[cover]) < SIGMA_TOL
    rec = (res.U * res.s) @ res.Vt
    assert np.abs(rec - A).max() < 1e-4 * s[0]


@pytest.mark.parametrize("shape", [(300, 520), (520, 300)])
def test_start_from_a_top_k_result_tall_and_wide(shape):
    """The progressive path: the top triplets handed in (as the app does) in either
    orientation give the stated accuracy against LAPACK in float64."""
    from svdstudio.engine import decompose_topk

    m, n = shape
    A = _with_spectrum(np.r_[np.logspace(3, 1, 40), np.logspace(0.7, -0.5, 260)], m, n, seed=5)
    top = decompose_topk(A, 40, method="propack", allow_float32=True)
    res = refine_tail(fast_full_svd(A, start=top, refine=False))
    _, s, Vt = scipy.linalg.svd(A.astype(np.float64), full_matrices=False)
    cover = s >= 1e-3 * s[0]
    assert np.max(np.abs(res.s[cover] - s[cover]) / s[cover]) < SIGMA_TOL
    p = min(m, n)
    assert np.abs(res.U.T.astype(np.float64) @ res.U - np.eye(p)).max() < 1e-4
    assert np.abs(res.Vt.astype(np.float64) @ res.Vt.T - np.eye(p)).max() < 1e-4
    # The top 40 (well separated) are LAPACK's own vectors up to the sign convention.
    assert np.abs(np.abs(res.Vt[:40] * Vt[:40]).sum(axis=1) - 1).max() < 1e-4


@pytest.mark.parametrize("layout", ["C", "strided"])
def test_gemm_update_in_place(layout):
    from svdstudio.engine.image.projections import _gemm_update

    rng = np.random.default_rng(2)
    C = rng.standard_normal((60, 80)).astype(np.float32)
    if layout == "strided":
        C = np.ascontiguousarray(np.repeat(C, 2, axis=1))[:, ::2]
    A = rng.standard_normal((60, 7)).astype(np.float32)
    B = rng.standard_normal((7, 80)).astype(np.float32)
    want = C.astype(np.float64) - A.astype(np.float64) @ B
    before = C.__array_interface__["data"][0]
    _gemm_update(C, A, B.T.copy().T)  # B given as a transposed (Fortran) view
    assert C.__array_interface__["data"][0] == before  # updated where it is
    assert np.abs(C - want).max() < 1e-4


def test_accept_level_keeps_the_vouched_for_triplets_and_sends_the_rest_on():
    from svdstudio.engine.image.gram_eigh import EPS32
    from svdstudio.engine.image.gram_levels import accept_level

    lam = np.array([1.0, 1e-2, 1e-5, 1e-9, 0.0])
    tol = 1e-4
    sigma, bound, good, more = accept_level(lam, 1e-7, tol, go_on=True)
    np.testing.assert_allclose(sigma, np.sqrt(lam).astype(np.float32))
    assert sigma.dtype == np.float32
    np.testing.assert_allclose(bound[:4], EPS32 / lam[:4])
    assert bound[4] == np.inf
    # eps₃₂/λ: 1.2e-7, 1.2e-5 within 1e-4; 1.2e-2 and beyond are not: two kept, more levels.
    assert (good, more) == (2, True)
    # The last level keeps everything.
    assert accept_level(lam, 1e-7, tol, go_on=False)[2:] == (5, False)
    # Nothing unvouched above tiny (σ = 3e-3 and 3e-5 count as zero): one level is enough.
    assert accept_level(lam, 1e-2, tol, go_on=True)[2:] == (5, False)
    # A numerically zero block, and a level that would keep none, end the descent too.
    assert accept_level(np.zeros(3), 1e-7, tol, go_on=True)[2:] == (3, False)
    assert accept_level(np.array([1.0, 1.0]), 1e-7, 1e-9, go_on=True)[2:] == (2, False)
    assert accept_level(np.array([]), 1e-7, tol, go_on=True)[2:] == (0, False)
