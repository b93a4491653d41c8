"""One BLAS thread on a busy machine: the limit is really applied, and the results keep the
accuracy stated against LAPACK in float64 either way."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from svdstudio.engine.image import busy_machine, decompose_image
from svdstudio.engine.image.factors import PROGRESSIVE_TOP
from svdstudio.engine.image.fast_svd import SIGMA_TOL, fast_full_svd, lean_blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


def test_lean_blas_limits_blas_to_one_thread_only_when_busy(monkeypatch):
    before = _blas_threads()
    with lean_blas(force=True) as on:
        assert on and _blas_threads() == {1}
    assert _blas_threads() == before  # restored
    with lean_blas(force=False) as on:
        assert not on and _blas_threads() == before
    monkeypatch.setattr(busy_machine, "machine_busy", lambda: True)
    with lean_blas() as on:
        assert on and _blas_threads() == {1}
    monkeypatch.setattr(busy_machine, "machine_busy", lambda: False)
    with lean_blas() as on:
        assert not on


def test_machine_busy_compares_the_load_with_the_cores(monkeypatch):
    monkeypatch.setattr(busy_machine.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(busy_machine.os, "getloadavg", lambda: (2.9, 0.0, 0.0))
    assert not busy_machine.machine_busy()  # this job's own two threads and a little more
    monkeypatch.setattr(busy_machine.os, "getloadavg", lambda: (3.0, 0.0, 0.0))
    assert busy_machine.machine_busy()


def _tricky(m: int = 400, n: int = 520) -> np.ndarray:
    rng = np.random.default_rng(5)
    s = np.r_[np.full(20, 40.0), np.logspace(1, -1, 380)]  # a cluster across the top-k cut
    Q1, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return ((Q1 * s) @ Q2.T).astype(np.float32)


@pytest.mark.parametrize("busy", [True, False])
def test_both_thread_settings_keep_the_stated_accuracy(monkeypatch, busy):
    monkeypatch.setattr(busy_machine, "machine_busy", lambda: busy)
    A = _tricky()
    exact = scipy.linalg.svd(A.astype(np.float64), compute_uv=False)
    res = fast_full_svd(A)
    cover = exact >= 1e-3 * exact[0]
    rel = np.abs(res.s[cover] - exact[cover]) / exact[cover]
    assert rel.max() <= SIGMA_TOL
    V = res.Vt.astype(np.float64)
    assert np.abs(V @ V.T - np.eye(V.shape[0])).max() <= 1e-4

    # The progressive image path (PROPACK top PROGRESSIVE_TOP under the same setting) agrees too.
    class Job:
        def __init__(self):
            self.stages = []

        def cancelled(self):
            return False

        def report(self, _f, _m):
            pass

        def partial(self, v):
            self.stages.append(v)

    pixels = np.clip(np.stack([A, A[::-1], A[:, ::-1]], -1) * 2 + 128, 0, 255)
    job = Job()
    f = decompose_image(pixels.astype(np.float32), "rgb", job=job)
    assert [st.max_rank for st in job.stages] == [PROGRESSIVE_TOP, 400]
    for c in range(3):
        ch = pixels[..., c].astype(np.float64)
        want = scipy.linalg.svd(ch, compute_uv=False)
        keep = want >= 1e-3 * want[0]
        got = f.channels[c].s.astype(np.float64)
        assert (np.abs(got[keep] - want[keep]) / want[keep]).max() <= SIGMA_TOL
