"""The job runner's reused threads (svdstudio.job_threads)."""

from __future__ import annotations

import threading
import time

import pytest

from svdstudio.job_threads import IDLE_NAME, ThreadPool


def _wait_until(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_a_finished_thread_runs_the_next_task_without_a_new_thread():
    pool = ThreadPool(max_idle=2, idle_seconds=5.0)
    seen: list[tuple[int, str]] = []

    def record() -> None:
        seen.append((threading.get_native_id(), threading.current_thread().name))

    first = pool.start(record, "svdstudio-a")
    first.join(5.0)
    assert not first.is_alive()
    _wait_until(lambda: pool.idle_threads() == 1)
    started = threading.active_count()
    second = pool.start(record, "svdstudio-b")
    second.join(5.0)
    assert not second.is_alive()
    assert pool.threads_started == 1
    assert threading.active_count() == started
    assert seen[0][0] == seen[1][0]  # the same OS thread
    assert [name for _tid, name in seen] == ["svdstudio-a", "svdstudio-b"]
    _wait_until(lambda: pool.idle_threads() == 1)
    assert IDLE_NAME in [t.name for t in threading.enumerate()]


def test_a_task_is_alive_until_its_function_returns():
    pool = ThreadPool(max_idle=1, idle_seconds=5.0)
    go = threading.Event()
    task = pool.start(go.wait, "svdstudio-wait")
    assert task.is_alive()
    task.join(0.05)  # times out like Thread.join
    assert task.is_alive()
    go.set()
    task.join(5.0)
    assert not task.is_alive()


def test_busy_threads_are_never_shared_and_at_most_max_idle_wait():
    pool = ThreadPool(max_idle=2, idle_seconds=5.0)
    go = threading.Event()
    tids: list[int] = []
    lock = threading.Lock()

    def hold() -> None:
        with lock:
            tids.append(threading.get_native_id())
        go.wait()

    tasks = [pool.start(hold, f"svdstudio-{i}") for i in range(4)]
    _wait_until(lambda: len(tids) == 4)
    assert len(set(tids)) == 4  # each waiting task on a thread of its own
    assert pool.threads_started == 4
    go.set()
    for t in tasks:
        t.join(5.0)
    assert not any(t.is_alive() for t in tasks)
    _wait_until(lambda: pool.idle_threads() == 2)
    time.sleep(0.05)
    assert pool.idle_threads() == 2  # the other two ended


def test_an_idle_thread_ends_after_its_idle_time():
    pool = ThreadPool(max_idle=3, idle_seconds=0.1)
    pool.start(lambda: None, "svdstudio-once").join(5.0)
    _wait_until(lambda: pool.idle_threads() == 1)
    _wait_until(lambda: pool.idle_threads() == 0, timeout=5.0)
    assert pool.start(lambda: None, "svdstudio-again").is_alive() in (True, False)
    assert pool.threads_started == 2


def test_a_function_that_raises_ends_its_task(monkeypatch):
    hooked: list[type[BaseException]] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: hooked.append(args.exc_type))
    pool = ThreadPool(max_idle=1, idle_seconds=5.0)

    def boom() -> None:
        raise ValueError("no")

    task = pool.start(boom, "svdstudio-boom")
    task.join(5.0)
    assert not task.is_alive()
    _wait_until(lambda: hooked == [ValueError])
    assert pool.idle_threads() == 0  # that thread ended; the next task gets a new one
    ok = pool.start(lambda: None, "svdstudio-ok")
    ok.join(5.0)
    assert not ok.is_alive() and pool.threads_started == 2


@pytest.mark.parametrize("n", [50])
def test_many_short_tasks_reuse_few_threads(n):
    pool = ThreadPool(max_idle=2, idle_seconds=5.0)
    out: list[int] = []
    for i in range(n):
        pool.start(lambda i=i: out.append(i), "svdstudio-short").join(5.0)
    assert out == list(range(n))
    assert pool.threads_started <= 2
