"""The step-wise SVD: σ first (equal to LAPACK's gesdd), exact vectors, cancel between steps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from svdstudio.engine import Cancelled, decompose, rank_errors, stepwise
from svdstudio.engine.stepwise import (
    DRIVER,
    DRIVER_QR,
    QR_RATIO,
    SingularValues,
    decompose_stepwise,
    estimate_seconds,
    values_only_result,
)


def _gesdd_values(a: np.ndarray) -> np.ndarray:
    return scipy.linalg.svd(a, compute_uv=False, lapack_driver="gesdd")


class _Job:
    """A job as the runner hands it: records progress and partial results, cancels on cue."""

    def __init__(self, cancel_after_partial: bool = False) -> None:
        self.events: list[tuple[str, object]] = []
        self._cancel_after_partial = cancel_after_partial

    def cancelled(self) -> bool:
        return self._cancel_after_partial and any(kind == "partial" for kind, _ in self.events)

    def report(self, fraction: float, message: str = "") -> None:
        self.events.append(("progress", (fraction, message)))

    def partial(self, value: object) -> None:
        self.events.append(("partial", value))


def _hard_matrices() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)

    def with_values(m: int, n: int, s: np.ndarray) -> np.ndarray:
        qu, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
        qv, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
        return (qu * s) @ qv.T

    return {
        "random square": rng.standard_normal((120, 120)),
        "tall": rng.standard_normal((150, 70)),
        "wide": rng.standard_normal((60, 140)),
        "rank-deficient": rng.standard_normal((90, 5)) @ rng.standard_normal((5, 80)),
        "repeated σ": with_values(80, 80, np.repeat([3.0, 2.0, 1.0], [30, 30, 20])),
        "clustered σ": with_values(70, 90, 1.0 + 1e-9 * np.arange(70)),
        "ill-conditioned": with_values(100, 100, np.logspace(0, -14, 100)),
        "one row": rng.standard_normal((1, 40)),
        "one column": rng.standard_normal((40, 1)),
        "integers": np.arange(1, 13, dtype=np.int64).reshape(4, 3),
    }


@pytest.mark.parametrize("name", list(_hard_matrices()))
def test_values_equal_lapack_and_vectors_are_orthonormal(name):
    a = _hard_matrices()[name].astype(np.float64)
    seen: list[SingularValues] = []
    res = decompose_stepwise(a, on_values=seen.append)
    ref = _gesdd_values(a)
    p = min(a.shape)
    assert res.U.shape == (a.shape[0], p) and res.Vt.shape == (p, a.shape[1])
    assert res.s.shape == (p,) and np.all(np.diff(res.s) <= 0)
    assert np.max(np.abs(res.s - ref)) <= 1e-12 * ref[0]
    # Values well above the noise floor agree value by value too.
    big = ref >= 1e-3 * ref[0]
    assert np.max(np.abs(res.s[big] - ref[big]) / ref[big]) <= 1e-12
    assert np.max(np.abs(res.U.T @ res.U - np.eye(p))) <= 1e-10
    assert np.max(np.abs(res.Vt @ res.Vt.T - np.eye(p))) <= 1e-10
    assert np.linalg.norm(res.U * res.s @ res.Vt - a) <= 1e-12 * np.linalg.norm(a)
    # The σ handed over first (dbdsdc without vectors: qd) are the final ones (with vectors:
    # divide and conquer) to rounding.
    assert len(seen) == 1
    assert np.max(np.abs(seen[0].s - res.s)) <= 1e-12 * ref[0]
    assert np.max(np.abs(seen[0].s - ref)) <= 1e-12 * ref[0]
    qr = max(a.shape) >= QR_RATIO * min(a.shape)
    assert res.driver == (DRIVER_QR if qr else DRIVER) and not res.is_partial


def test_summary_and_signs_match_decompose():
    a = _hard_matrices()["rank-deficient"]
    res, ref = decompose_stepwise(a), decompose(a)
    assert res.rank == ref.rank == 5
    assert res.tolerance == pytest.approx(ref.tolerance, rel=1e-12)
    assert res.total_energy == pytest.approx(np.sum(a * a), rel=1e-12)
    # The sign convention: each v_i has its largest-magnitude entry positive, u_i with it.
    top = 5  # beyond the rank the vectors are any orthonormal completion
    pivots = np.argmax(np.abs(res.Vt[:top]), axis=1)
    assert np.all(res.Vt[np.arange(top), pivots] > 0)
    np.testing.assert_allclose(res.U[:, :top], ref.U[:, :top], atol=1e-9)
    np.testing.assert_allclose(res.Vt[:top], ref.Vt[:top], atol=1e-9)


def test_the_partial_result_comes_before_the_vectors_with_progress():
    a = np.random.default_rng(3).standard_normal((200, 150))
    job = _Job()
    res = decompose_stepwise(a, job=job)
    kinds = [kind for kind, _ in job.events]
    assert kinds.count("partial") == 1
    fractions = [value[0] for kind, value in job.events if kind == "progress"]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    messages = [value[1] for kind, value in job.events if kind == "progress"]
    assert messages[0].startswith("step 1 of 5") and "step 5 of 5" in messages[-2]
    # σ arrive after the reduction (step 2) and before the vectors (steps 3 to 5).
    at = kinds.index("partial")
    assert any("step 2 of 5" in m for m in messages[:at])
    assert not any("step 3 of 5" in m for m in messages[:at])
    values = job.events[at][1]
    assert isinstance(values, SingularValues)
    assert values.shape == (200, 150)
    np.testing.assert_allclose(values.s, res.s, rtol=1e-12)
    assert values.total_energy == pytest.approx(np.sum(a * a), rel=1e-12)
    assert values.seconds >= 0 and values.seconds_left >= 0


def test_cancel_between_steps_raises_cancelled():
    a = np.random.default_rng(4).standard_normal((120, 120))
    job = _Job(cancel_after_partial=True)
    with pytest.raises(Cancelled):
        decompose_stepwise(a, job=job)
    assert [kind for kind, _ in job.events].count("partial") == 1


def test_values_only_result_has_every_figure_that_needs_no_vectors():
    a = _hard_matrices()["ill-conditioned"]
    seen: list[SingularValues] = []
    full = decompose_stepwise(a, on_values=seen.append)
    early = values_only_result(seen[0])
    assert early.U.shape == (100, 0) and early.Vt.shape == (0, 100)
    assert early.n_components == 100 and not early.is_partial
    assert early.rank == full.rank
    assert early.condition_number == pytest.approx(full.condition_number, rel=1e-9)
    for k in (1, 10, 99, 100):
        got, want = rank_errors(early, k), rank_errors(full, k)
        assert got.frobenius == pytest.approx(want.frobenius, rel=1e-9, abs=1e-15)
        assert got.spectral == pytest.approx(want.spectral, rel=1e-9, abs=1e-15)
        assert got.energy_retained == pytest.approx(want.energy_retained, rel=1e-12)


def test_bad_input_is_refused_with_the_cell():
    a = np.ones((3, 4))
    a[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN at row 2, column 3"):
        decompose_stepwise(a)


def test_estimate_grows_with_the_work():
    assert estimate_seconds((5000, 5000)) == pytest.approx(30.0)
    assert estimate_seconds((5000, 2500)) == estimate_seconds((2500, 5000))
    assert estimate_seconds((1000, 1000)) < estimate_seconds((2000, 2000)) / 7


def test_the_reduction_reports_and_cancels_panel_by_panel():
    a = np.random.default_rng(5).standard_normal((420, 400))
    job = _Job()
    decompose_stepwise(a, job=job)
    inside = [value for kind, value in job.events if kind == "progress" and "%)" in value[1]]
    assert len(inside) >= 5  # 400 columns: 9 panels of 32 before the unblocked tail
    fractions = [f for f, _ in inside]
    assert fractions == sorted(fractions) and fractions[0] > 0 and fractions[-1] < 0.55
    assert all(m.startswith("step 1 of 5: reducing") for _, m in inside)

    class CancelInside(_Job):
        def cancelled(self) -> bool:
            return sum(kind == "progress" for kind, _ in self.events) >= 3

    stopped = CancelInside()
    with pytest.raises(Cancelled):
        decompose_stepwise(a, job=stopped)
    assert not any(kind == "partial" for kind, _ in stopped.events)  # stopped within step 1


def _hard_tall_matrices() -> dict[str, np.ndarray]:
    """Tall and wide matrices for the QR path (long side ≥ 1.5 × short side)."""
    rng = np.random.default_rng(17)

    def with_values(m: int, n: int, s: np.ndarray) -> np.ndarray:
        qu, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
        qv, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
        return (qu * s) @ qv.T

    return {
        "tall random": rng.standard_normal((400, 100)),
        "wide random": rng.standard_normal((90, 300)),
        "just at the ratio": rng.standard_normal((150, 100)),
        "clustered σ": with_values(360, 120, 1.0 + 1e-9 * np.arange(120)),
        "repeated σ": with_values(100, 330, np.repeat([5.0, 1.0, 0.5], [40, 40, 20])),
        "rank-deficient": rng.standard_normal((500, 6)) @ rng.standard_normal((6, 110)),
        "ill-conditioned": with_values(420, 140, np.logspace(0, -15, 140)),
        "wide ill-conditioned": with_values(100, 260, np.logspace(2, -13, 100)),
        "graded rows": rng.standard_normal((300, 80)) * np.logspace(0, -12, 300)[:, None],
    }


@pytest.mark.parametrize("name", list(_hard_tall_matrices()))
def test_the_qr_path_is_as_accurate_as_lapack(name, monkeypatch):
    monkeypatch.setattr(stepwise, "QR_RATIO", 1.5)  # off by default (not faster here)
    a = _hard_tall_matrices()[name]
    assert max(a.shape) >= 1.5 * min(a.shape)
    seen: list[SingularValues] = []
    res = decompose_stepwise(a, on_values=seen.append)
    assert res.driver == DRIVER_QR
    ref = _gesdd_values(a)
    p = min(a.shape)
    assert res.U.shape == (a.shape[0], p) and res.Vt.shape == (p, a.shape[1])
    assert np.max(np.abs(res.s - ref)) <= 1e-12 * ref[0]
    assert np.max(np.abs(seen[0].s - ref)) <= 1e-12 * ref[0]
    assert np.max(np.abs(res.U.T @ res.U - np.eye(p))) <= 1e-10
    assert np.max(np.abs(res.Vt @ res.Vt.T - np.eye(p))) <= 1e-10
    assert np.linalg.norm(res.U * res.s @ res.Vt - a) <= 1e-12 * np.linalg.norm(a)
    # The same as without the QR step (both against LAPACK, so neither is the reference).
    monkeypatch.setattr(stepwise, "QR_RATIO", float("inf"))
    plain = decompose_stepwise(a)
    assert plain.driver == DRIVER
    assert np.max(np.abs(plain.s - res.s)) <= 1e-12 * ref[0]
    top = int(np.sum(ref > 1e-6 * ref[0]))  # well-separated σ: vectors agree up to sign
    if name in ("tall random", "wide random", "ill-conditioned", "graded rows"):
        for i in range(min(top, 20)):
            assert abs(abs(res.U[:, i] @ plain.U[:, i]) - 1) <= 1e-8
            assert abs(abs(res.Vt[i] @ plain.Vt[i]) - 1) <= 1e-8


def test_the_qr_path_reports_its_steps_in_order_and_cancels_inside_the_qr(monkeypatch):
    monkeypatch.setattr(stepwise, "_SLICE_FROM", 50)  # panels and slices on a small matrix
    monkeypatch.setattr(stepwise, "QR_RATIO", 1.5)
    a = np.random.default_rng(18).standard_normal((300, 120))
    job = _Job()
    res = decompose_stepwise(a, job=job)
    assert res.driver == DRIVER_QR
    messages = [value[1] for kind, value in job.events if kind == "progress"]
    fractions = [value[0] for kind, value in job.events if kind == "progress"]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert messages[0] == "step 1 of 7: QR factorisation of the tall matrix"
    assert any(m.startswith("step 1 of 7: QR factorisation") and "%)" in m for m in messages)
    assert any(m.startswith("step 7 of 7: left singular vectors U of the tall") for m in messages)
    at = [kind for kind, _ in job.events].index("partial")
    assert any("step 3 of 7" in m for m in messages[:at])  # σ after the reduction of R
    assert not any("step 4 of 7" in m for m in messages[:at])

    class CancelInQR(_Job):
        def cancelled(self) -> bool:
            return any("%)" in v[1] for k, v in self.events if k == "progress")

    stopped = CancelInQR()
    with pytest.raises(Cancelled):
        decompose_stepwise(a, job=stopped)
    assert all("step 1 of 7" in v[1] for k, v in stopped.events if k == "progress")
