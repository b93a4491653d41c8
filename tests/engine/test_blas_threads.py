"""The BLAS thread count is probed again as a long SVD runs, and restored after it."""

from __future__ import annotations

import numpy as np
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

from svdstudio.engine import blas_threads, stepwise  # noqa: E402
from svdstudio.engine.blas_threads import FastestBlasThreads  # noqa: E402


def blas_counts() -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(blas_threads.os, "cpu_count", lambda: 2)


def test_the_count_follows_each_probe_and_is_restored(monkeypatch, two_cores):
    answers = iter([1, 2, 2, 1])
    monkeypatch.setattr(blas_threads, "probe_fastest", lambda cores: next(answers))
    before = blas_counts()
    clock = [100.0]
    monkeypatch.setattr(blas_threads.time, "monotonic", lambda: clock[0])
    with FastestBlasThreads(interval=2.0) as blas:
        assert blas.choice == 1 and blas.probes == 1
        assert set(blas_counts()) == {1}
        clock[0] += 1.0
        assert blas.update() == 1 and blas.probes == 1  # too soon: no probe
        clock[0] += 1.5
        assert blas.update() == 2 and blas.probes == 2
        assert set(blas_counts()) == {2}
        clock[0] += 2.5
        assert blas.update() == 2 and blas.probes == 3
        assert blas.update(force=True) == 1 and blas.probes == 4
        assert set(blas_counts()) == {1}
    assert blas_counts() == before


def test_one_core_leaves_blas_alone(monkeypatch):
    monkeypatch.setattr(blas_threads.os, "cpu_count", lambda: 1)
    monkeypatch.setattr(blas_threads, "probe_fastest", lambda cores: pytest.fail("probed"))
    before = blas_counts()
    with FastestBlasThreads() as blas:
        assert blas.update(force=True) is None and blas.probes == 0
        assert blas_counts() == before


def test_probe_answers_one_or_every_core():
    assert blas_threads.probe_fastest(2) in (1, 2)


def test_the_stepwise_svd_probes_between_steps_and_panels(monkeypatch, two_cores):
    seen: list[int] = []

    def probe(cores: int) -> int:
        seen.append(cores)
        return 2 if len(seen) % 2 else 1  # the machine changes its mind at every probe

    monkeypatch.setattr(blas_threads, "probe_fastest", probe)
    monkeypatch.setattr(blas_threads, "REPROBE_SECONDS", 0.0)
    monkeypatch.setattr(FastestBlasThreads.__init__, "__defaults__", (0.0,))
    a = np.random.default_rng(3).standard_normal((300, 200))
    before = blas_counts()
    res = stepwise.decompose_stepwise(a)
    # Five steps and the reduction's panels each asked again; the result is still exact.
    assert len(seen) > 5 and set(seen) == {2}
    np.testing.assert_allclose(res.s, np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose((res.U * res.s) @ res.Vt, a, atol=1e-10)
    assert blas_counts() == before
