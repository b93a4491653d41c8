"""JobRunner: latest request wins, errors reported, cancel really stops, nothing left running."""

from __future__ import annotations

import multiprocessing
import sys
import threading

import numpy as np
import pytest

from svdstudio import engine
from svdstudio.workers import JobRunner
from tests import _jobs


def test_thread_job_delivers_result(qtbot, runner):
    got = []
    with qtbot.waitSignal(runner.result_ready, timeout=5000) as blocker:
        job_id = runner.submit("t", _jobs.add, 2, 3, on_result=got.append)
    assert blocker.args == ["t", job_id, 5]
    assert got == [5]
    assert not runner.is_running("t")


def test_superseded_result_is_never_applied(qtbot, runner):
    gate = threading.Event()

    def slow():
        gate.wait(5)
        return "old"

    applied, signalled = [], []
    runner.result_ready.connect(lambda ch, jid, value: signalled.append((jid, value)))
    first = runner.submit("t", slow, on_result=applied.append)
    with qtbot.waitSignal(runner.cancelled, timeout=2000) as cancelled:
        second = runner.submit("t", _jobs.add, 1, 1, on_result=applied.append)
    assert cancelled.args == ["t", first]
    qtbot.waitUntil(lambda: applied == [2], timeout=5000)
    gate.set()  # the old job now finishes; its result must be dropped
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=5000)
    qtbot.wait(50)  # let any queued message arrive
    assert applied == [2]
    assert signalled == [(second, 2)]


def test_channels_are_independent(qtbot, runner):
    got = {}
    runner.submit("a", _jobs.add, 1, 2, on_result=lambda v: got.__setitem__("a", v))
    runner.submit("b", _jobs.add, 10, 20, on_result=lambda v: got.__setitem__("b", v))
    qtbot.waitUntil(lambda: got == {"a": 3, "b": 30}, timeout=5000)


def test_value_error_becomes_plain_message(qtbot, runner):
    errors = []
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit(
            "t",
            _jobs.fail_value,
            "row 2, column 3 is NaN",
            on_error=lambda m, d: errors.append((m, d)),
        )
    assert blocker.args[2] == "row 2, column 3 is NaN"
    assert blocker.args[3] == ""
    assert errors == [("row 2, column 3 is NaN", "")]


def test_unexpected_error_has_details(qtbot, runner):
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("t", _jobs.fail_unexpected)
    message, details = blocker.args[2], blocker.args[3]
    assert message == "Unexpected error: RuntimeError: boom"
    assert "Traceback" in details and "fail_unexpected" in details


def test_engine_validation_error_reaches_the_user(qtbot, runner):
    bad = np.array([[1.0, np.nan], [0.0, 1.0]])
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("t", engine.decompose, bad)
    assert blocker.args[2] == "matrix contains NaN at row 1, column 2"


def test_thread_job_progress_and_cooperative_cancel(qtbot, runner):
    progress = []
    runner.progress.connect(lambda ch, jid, f, m: progress.append((f, m)))
    applied = []
    runner.submit("t", _jobs.busy_until_cancelled, 10.0, on_result=applied.append)
    qtbot.waitUntil(lambda: len(progress) >= 2, timeout=5000)
    assert all(0 <= f <= 1 and m == "spinning" for f, m in progress)
    with qtbot.waitSignal(runner.cancelled, timeout=1000):
        runner.cancel("t")
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=2000)
    assert applied == []


def test_process_job_result(qtbot, runner):
    A = np.random.default_rng(1).standard_normal((60, 40))
    with qtbot.waitSignal(runner.result_ready, timeout=30000) as blocker:
        runner.submit("p", engine.decompose, A, in_process=True)
    res = blocker.args[2]
    assert isinstance(res, engine.SVDResult)
    np.testing.assert_allclose(res.s, np.linalg.svd(A, compute_uv=False), rtol=1e-12)


def test_process_error_and_crash_are_reported(qtbot, runner):
    with qtbot.waitSignal(runner.failed, timeout=30000) as blocker:
        runner.submit("p", _jobs.fail_value, "bad cell", in_process=True)
    assert blocker.args[2] == "bad cell"
    with qtbot.waitSignal(runner.failed, timeout=30000) as blocker:
        runner.submit("p", _jobs.die_hard, in_process=True)
    assert "stopped unexpectedly (exit code 3)" in blocker.args[2]


def test_cancel_kills_a_process_that_never_checks(qtbot, runner):
    applied = []
    runner.submit("p", _jobs.pid_then_spin, 60.0, in_process=True, on_result=applied.append)
    job = runner._current["p"]
    qtbot.waitUntil(lambda: job.process.is_alive(), timeout=10000)
    with qtbot.waitSignal(runner.cancelled, timeout=5000) as cancelled:
        runner.cancel("p")
    assert cancelled.args == ["p", job.job_id]
    qtbot.waitUntil(lambda: not job.process.is_alive(), timeout=10000)
    assert job.process.exitcode is not None and job.process.exitcode < 0  # killed by a signal
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)
    assert applied == []
    assert not runner.is_running("p")


def test_big_job_runs_in_a_worker_process_and_small_one_in_a_thread(qtbot, runner):
    """Above AUTO_PROCESS_ELEMENTS a module-level job goes to another process by itself."""
    import os

    from svdstudio.workers import AUTO_PROCESS_ELEMENTS

    A = np.random.default_rng(2).standard_normal((600, 500))
    assert A.size >= AUTO_PROCESS_ELEMENTS
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("big", _jobs.singular_values_and_pid, A)
    pid, s = blocker.args[2]
    assert pid != os.getpid()
    np.testing.assert_allclose(s, np.linalg.svd(A, compute_uv=False), rtol=1e-10)
    small = A[:10, :10]
    with qtbot.waitSignal(runner.result_ready, timeout=10000) as blocker:
        runner.submit("small", _jobs.singular_values_and_pid, small)
    assert blocker.args[2][0] == os.getpid()


def test_shutdown_leaves_nothing_running(qtbot):
    runner = JobRunner()
    runner.submit("p", _jobs.pid_then_spin, 60.0, in_process=True)
    runner.submit("t", _jobs.busy_until_cancelled, 60.0)
    job = runner._current["p"]
    qtbot.waitUntil(lambda: job.process.is_alive(), timeout=10000)
    runner.shutdown()
    assert runner.live_workers() == 0
    with pytest.raises(RuntimeError):
        runner.submit("t", _jobs.add, 1, 2)


def test_spare_process_is_warm_and_reused(qtbot, runner):
    runner.warm_up()
    spare = runner._spare[0]
    qtbot.waitUntil(runner.spare_alive, timeout=30000)  # started by a thread
    with qtbot.waitSignal(runner.result_ready, timeout=30000) as blocker:
        runner.submit("p", _jobs.pid, in_process=True)
    assert blocker.args[2] == spare.pid  # the warm spare did the job
    qtbot.waitUntil(runner.spare_alive, timeout=30000)
    assert runner._spare[0].pid != spare.pid  # a fresh one waits
    runner.shutdown()
    assert not runner.spare_alive() and runner.live_workers() == 0


def test_the_next_spare_starts_when_the_process_job_ends(qtbot, runner):
    # Its imports would take the cores from the job that has just started.
    runner.warm_up()
    qtbot.waitUntil(runner.spare_alive, timeout=30000)
    first = runner._spare[0]
    with qtbot.waitSignal(runner.result_ready, timeout=30000) as blocker:
        runner.submit("p", _jobs.busy_until_cancelled, 1.0, in_process=True)
        assert runner._spare is None  # taken, and no successor while the job runs
        qtbot.wait(500)
        job = runner._current["p"]
        workers = [p for p in multiprocessing.active_children() if p.name == "svdstudio-worker"]
        assert runner._spare is None and workers == [job.process]
    assert blocker.args[2] == "done"
    assert runner._spare is not None and runner._spare[0].pid != first.pid
    qtbot.waitUntil(runner.spare_alive, timeout=30000)  # started when the job ended
    with qtbot.waitSignal(runner.cancelled, timeout=30000):
        runner.submit("p", _jobs.busy_until_cancelled, 60.0, in_process=True)
        second = runner._current["p"].process
        runner.cancel("p")
    assert runner._spare is not None and runner._spare[0] is not second  # after a cancel too


def test_the_spare_is_spawned_off_the_gui_thread(qtbot, runner, monkeypatch):
    starters: list[str] = []
    cls = runner._mp.Process
    start = cls.start

    def recording(proc) -> None:
        starters.append(threading.current_thread().name)
        start(proc)

    monkeypatch.setattr(cls, "start", recording)  # on the class: the instance is pickled
    runner.warm_up()
    spare = runner._spare[0]
    runner.warm_up()  # one is being started: a second call starts no other
    assert runner._spare[0] is spare
    # A job submitted at once waits for that spare in its watcher thread, not here.
    with qtbot.waitSignal(runner.result_ready, timeout=30000) as blocker:
        runner.submit("p", _jobs.pid, in_process=True)
    assert blocker.args[2] == spare.pid
    qtbot.waitUntil(runner.spare_alive, timeout=30000)  # its successor
    assert starters == ["svdstudio-spawn", "svdstudio-spawn"]
    assert threading.current_thread().name not in starters


def test_a_job_cancelled_while_its_process_starts_is_killed(qtbot, runner):
    with qtbot.waitSignal(runner.cancelled, timeout=5000) as blocker:
        job_id = runner.submit("p", _jobs.pid_then_spin, 60.0, in_process=True)
        job = runner._current["p"]
        runner.cancel("p")  # the spawning thread may not have started it yet
    assert blocker.args == ["p", job_id]
    qtbot.waitUntil(lambda: job.process.exitcode is not None, timeout=30000)
    assert job.process.exitcode == -9  # killed, not left spinning
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="niceness per thread: Linux")
def test_job_threads_yield_to_the_gui_thread_and_workers_do_not(qtbot, runner):
    from svdstudio.shared_buffers import BACKGROUND_NICE
    from tests import _transport_jobs

    own = _transport_jobs.niceness()
    with qtbot.waitSignal(runner.result_ready, timeout=10000) as blocker:
        runner.submit("t", _transport_jobs.niceness, in_process=False)
    assert blocker.args[2] == max(own, BACKGROUND_NICE)
    assert _transport_jobs.niceness() == own  # the GUI thread keeps its own
    with qtbot.waitSignal(runner.result_ready, timeout=30000) as blocker:
        runner.submit("p", _transport_jobs.niceness, in_process=True)
    assert blocker.args[2] == own  # a worker's SVD must not lose to every other program


def test_big_process_result_arrives_intact_and_writable(qtbot, runner):
    """Large arrays travel out of band (pickle 5) and land in writable memory."""
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _jobs.big_array, 8_000_000, in_process=True)
    value = blocker.args[2]
    assert value.dtype == np.float32 and value.shape == (8_000_000,)
    assert value.flags.writeable
    assert float(value.sum(dtype=np.float64)) == 8_000_000.0
    value[0] = 2.0  # the GUI side may work in place
    assert value[0] == 2.0


def test_cancel_leaves_the_reaping_of_a_process_to_the_watcher_thread(qtbot, runner):
    """The GUI thread kills and goes on: a worker holding a gigabyte takes a while to exit."""
    runner.submit("p", _jobs.pid_then_spin, 60.0, in_process=True)
    job = runner._current["p"]
    qtbot.waitUntil(lambda: job.process.is_alive(), timeout=10000)
    joins = []
    join = job.process.join

    def recorded_join(*args, **kwargs):
        joins.append(threading.current_thread() is threading.main_thread())
        return join(*args, **kwargs)

    job.process.join = recorded_join
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.cancel("p")
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)
    qtbot.waitUntil(lambda: len(joins) > 0, timeout=10000)
    assert not any(joins)  # joined by the watcher thread only
    assert job.process.exitcode is not None and job.process.exitcode < 0


def test_workers_come_from_the_fork_server_on_linux(qtbot, runner, monkeypatch):
    import os

    from svdstudio import workers

    if not sys.platform.startswith("linux"):
        pytest.skip("the fork server is used on Linux only")
    assert runner._mp.get_start_method() == "forkserver"
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _jobs.parent_pid, in_process=True)
    parent = blocker.args[2]
    assert parent != os.getpid()  # the server's child, not the GUI's
    with open(f"/proc/{parent}/cmdline", "rb") as f:
        assert b"multiprocessing.forkserver" in f.read()
    # The way back to fresh interpreters: the environment variable, or a frozen bundle.
    monkeypatch.setenv(workers.SPAWN_ENV, "1")
    assert workers._process_context().get_start_method() == "spawn"
    monkeypatch.delenv(workers.SPAWN_ENV)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert workers._process_context().get_start_method() == "spawn"


def test_a_spawned_worker_still_works(qtbot, monkeypatch):
    from svdstudio import workers

    monkeypatch.setenv(workers.SPAWN_ENV, "1")
    r = JobRunner()
    try:
        assert r._mp.get_start_method() == "spawn"
        with qtbot.waitSignal(r.result_ready, timeout=60000) as blocker:
            r.submit("p", _jobs.add, 2, 3, in_process=True)
        assert blocker.args[2] == 5
    finally:
        r.shutdown()
    assert r.live_workers() == 0
