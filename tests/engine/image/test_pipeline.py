"""Two channels at once (engine/image/pipeline.py): same factors, hand-overs, progress, cancel."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import scipy.linalg

from svdstudio.engine import Cancelled
from svdstudio.engine.image import decompose_image, factors, pipeline
from svdstudio.engine.image.color import channel
from svdstudio.engine.image.fast_svd import SIGMA_TOL, StepProgress, fast_full_svd


def _hard_image(h: int, w: int) -> np.ndarray:
    """Three channels with hard spectra: clustered, repeated, rank-deficient (grey levels)."""
    rng = np.random.default_rng(3)
    p = min(h, w)

    def with_spectrum(s: np.ndarray) -> np.ndarray:
        U, _ = np.linalg.qr(rng.standard_normal((h, p)))
        V, _ = np.linalg.qr(rng.standard_normal((w, p)))
        return (U * s) @ V.T

    i = np.arange(p, dtype=float)
    clustered = 4000 * np.exp(-i / 60) * (1 + 1e-5 * (i % 7))
    repeated = np.repeat(3000 * 0.7 ** np.arange(-(-p // 40)), 40)[:p]
    deficient = np.where(i < p // 3, 2500 * np.exp(-i / 30), 0.0)
    planes = [with_spectrum(s) for s in (clustered, repeated, deficient)]
    return np.clip(128 + np.stack(planes, -1), 0, 255).astype(np.float32)


class _Job:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[float, str]] = []
        self.parts: list[factors.ImageFactors] = []
        self.threads: set[str] = set()
        self.cancel_after = cancel_after

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.reports) >= self.cancel_after

    def report(self, fraction: float, message: str) -> None:
        self.reports.append((fraction, message))

    def partial(self, value: factors.ImageFactors) -> None:
        self.threads.add(threading.current_thread().name)
        self.parts.append(value)


def _no_lanes_left() -> bool:
    return not any(t.name.startswith("svd-lane") for t in threading.enumerate())


def test_two_lanes_are_used_here():
    assert pipeline.lanes_available(3) == 2  # this machine: 2 cores, threadpoolctl, GIL-free
    assert pipeline.lanes_available(1) == 1


@pytest.mark.parametrize(("h", "w", "mode"), [(420, 520, "rgb"), (530, 410, "ycbcr")])
def test_lanes_give_the_sequential_factors_at_the_stated_accuracy(h, w, mode, monkeypatch):
    px = _hard_image(h, w)
    job = _Job()
    got = decompose_image(px, mode, job=job)
    assert _no_lanes_left()
    # Hand-overs come from the caller's thread only, top triplets first.
    assert job.threads == {threading.current_thread().name}
    top, quick = job.parts
    p = min(h, w)
    assert [ch.n_components for ch in top.channels] == [factors.PROGRESSIVE_TOP] * 3
    assert [ch.n_components for ch in quick.channels] == [p] * 3
    fractions = [f for f, _ in job.reports]
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] == 1.0
    for c in range(3):
        assert any(f"({c + 1} of 3)" in m for _, m in job.reports)
    monkeypatch.setattr(factors, "lanes_available", lambda nc: 1)
    seq_job = _Job()
    seq = decompose_image(px, mode, job=seq_job)
    assert [part.max_rank for part in seq_job.parts] == [factors.PROGRESSIVE_TOP, p]
    for c, (a, b) in enumerate(zip(got.channels, seq.channels, strict=True)):
        A = channel(px, mode, c).astype(np.float64)
        want = scipy.linalg.svd(A, compute_uv=False)
        keep = want >= 1e-3 * want[0]
        for res in (a, b, quick.channels[c]):
            s = res.s.astype(np.float64)
            assert (np.abs(s[keep] - want[keep]) / want[keep]).max() <= SIGMA_TOL
        # Only a numerically zero tail (the rank-deficient channel) may stay marked approximate.
        for res in (a, b):
            assert res.approx_from is None or res.s[res.approx_from] < 1e-3 * res.s[0]
            V = res.Vt.astype(np.float64)
            U = res.U.astype(np.float64)
            assert np.abs(V @ V.T - np.eye(p)).max() <= 1e-4
            assert np.abs(U.T @ U - np.eye(p)).max() <= 1e-4
        for k in (1, 10, 64, 65, 200, p):
            ak = (a.U[:, :k] * a.s[:k]) @ a.Vt[:k]
            bk = (b.U[:, :k] * b.s[:k]) @ b.Vt[:k]
            assert np.abs(ak - bk).max() < 0.5  # half a grey level at every rank


def test_a_grey_float32_image_is_not_overwritten():
    px = _hard_image(420, 500)[..., 0].copy()
    before = px.copy()
    job = _Job()
    f = decompose_image(px, "rgb", job=job)
    np.testing.assert_array_equal(px, before)
    assert len(f.channels) == 1
    ch = f.channels[0]
    assert np.abs((ch.U * ch.s) @ ch.Vt - before).max() < 0.05


def test_fast_full_svd_overwrite_uses_the_input_as_residual():
    A = _hard_image(420, 500)[..., 1].copy()
    keep = A.copy()
    res_copy = fast_full_svd(A, refine=False)
    np.testing.assert_array_equal(A, keep)  # not overwritten by default
    res = fast_full_svd(A, refine=False, overwrite=True)
    assert not np.array_equal(A, keep)  # deflated in place
    np.testing.assert_allclose(res.s, res_copy.s, rtol=1e-6)


@pytest.mark.parametrize("after", [1, 4, 9])
def test_cancel_stops_both_lanes(after):
    job = _Job(cancel_after=after)
    with pytest.raises(Cancelled):
        decompose_image(_hard_image(420, 520), "rgb", job=job)
    assert _no_lanes_left()
    # Not one step started after the cancel was seen by both lanes (each reports ≤ 1 more).
    assert len(job.reports) <= after + 2


def test_an_error_in_one_lane_is_raised_once_both_stopped(monkeypatch):
    real = pipeline.fast_full_svd
    calls: list[int] = []
    job = _Job()

    def failing(a: np.ndarray, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            # The second channel's full SVD fails once the tops are handed over: without
            # the wait, a fast lane failed before the other lane's last top was done, and
            # no tops were handed over (a race, not what this test is about).
            deadline = time.monotonic() + 30
            while not job.parts and time.monotonic() < deadline:
                time.sleep(0.005)
            raise ValueError("channel broke")
        return real(a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "fast_full_svd", failing)
    with pytest.raises(ValueError, match="channel broke"):
        decompose_image(_hard_image(420, 520), "rgb", job=job)
    assert _no_lanes_left()
    assert [part.max_rank for part in job.parts] == [factors.PROGRESSIVE_TOP]  # tops only
    assert len(calls) <= 3


def test_reports_are_skipped_not_waited_for_while_a_hand_over_holds_the_job():
    shared = StepProgress(_Job())
    shared.plan(10.0)
    state, job_lock, stop = threading.Lock(), threading.Lock(), threading.Event()
    lane = pipeline._Lane(shared, state, job_lock, stop)
    lane.label = "channel R (1 of 3)"
    with job_lock:  # a hand-over in progress
        lane.step("Gram matrix", 2.0)
    assert shared.job.reports == []  # type: ignore[union-attr]
    lane.finish_step()
    lane.step("eigen-decomposition", 3.0)
    assert shared.done == 2.0
    ((frac, msg),) = shared.job.reports  # type: ignore[union-attr]
    assert frac == pytest.approx(0.2) and msg.startswith("channel R (1 of 3): eigen")
    stop.set()
    with pytest.raises(Cancelled):
        lane.step("singular vectors", 1.0)


@pytest.mark.parametrize("busy", [False, True])
def test_a_lane_alone_gets_every_blas_thread_unless_the_machine_is_busy(busy, monkeypatch):
    from threadpoolctl import threadpool_info

    def blas_threads() -> int:
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    before = blas_threads()
    seen: list[tuple[str, int]] = []

    class Job(_Job):
        def report(self, fraction: float, message: str) -> None:
            super().report(fraction, message)
            seen.append((threading.current_thread().name, blas_threads()))

    monkeypatch.setattr(pipeline, "machine_busy", lambda: busy)
    px = _hard_image(420, 520)
    handed: list[list[object]] = []
    for lanes in (2, 1):
        seen.clear()
        quick = pipeline.progressive_lanes(px, "rgb", StepProgress(Job()), handed.append, 64, lanes)
        assert [r.n_components for r in quick] == [420] * 3
        counts = [n for name, n in seen if name.startswith("svd-lane")]
        assert len(counts) >= 3 * 3  # ≥ 4 steps per channel, one may meet the hand-over
        if lanes == 2:
            assert counts[0] == 1  # two lanes: one BLAS thread each
        else:  # one lane alone gets the cores from the hand-over of the tops on
            assert counts[0] == 1 and counts[-1] == (1 if busy else (os.cpu_count() or 1))
            assert busy or counts.count(os.cpu_count() or 1) >= len(counts) // 2
        assert blas_threads() == before  # restored after the lanes
    assert [[r.n_components for r in part] for part in handed] == [[64] * 3] * 2
