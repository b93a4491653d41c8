"""Big buffers between the GUI and worker processes go through shared memory (memfd), not the
pipe: the arrays are backed by the mapping, and nothing is left behind however a job ends."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from svdstudio import shared_buffers
from svdstudio.engine.image import decompose_image
from svdstudio.shared_buffers import MIN_SHARED_BYTES, receive_message, send_message
from tests import _transport_jobs

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="memfd and /proc are Linux's"
)
ROOT = Path(__file__).resolve().parents[1]


def _shared_mappings() -> list[tuple[int, int]]:
    """Address ranges of this process's mappings of message buffers."""
    ranges = []
    with open("/proc/self/maps") as fh:
        for line in fh:
            if "/memfd:svdstudio-buffers" in line:
                lo, hi = line.split()[0].split("-")
                ranges.append((int(lo, 16), int(hi, 16)))
    return ranges


def _shared_fds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor
        if "svdstudio-buffers" in target:
            found.append(target)
    return found


def _in_shared_memory(a: np.ndarray) -> bool:
    start = a.__array_interface__["data"][0]
    return any(lo <= start < hi for lo, hi in _shared_mappings())


def _dev_shm() -> set[str]:
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


def _nothing_left(qtbot, before: set[str]) -> None:
    """No mapping and no descriptor of a message buffer in this process, no new file in
    /dev/shm (mappings are unmapped by a background thread: wait for it)."""
    gc.collect()
    qtbot.waitUntil(lambda: _shared_mappings() == [], timeout=5000)
    assert _shared_fds() == []
    assert not {n for n in _dev_shm() - before if not n.startswith("sem.")}


@pytest.fixture(autouse=True)
def shared_memory_on(monkeypatch):
    monkeypatch.delenv(shared_buffers.DISABLE_ENV, raising=False)


# --------------------------------------------------------------------- within one process
def _round_trip(message, *, duplex: bool = True):
    a, b = multiprocessing.Pipe(duplex=duplex)
    # A pipe (duplex=False) holds 64 KiB: send from a thread while this one receives.
    sender = threading.Thread(target=send_message, args=(b, message))
    sender.start()
    try:
        return receive_message(a)
    finally:
        sender.join()
        a.close()
        b.close()


def test_big_buffers_come_mapped_small_ones_and_the_rest_by_pipe(qtbot):
    before = _dev_shm()
    sent = _transport_jobs.mixed_sizes(1_000_000)
    got = _round_trip(sent)
    assert set(got) == set(sent)
    for key in ("big", "big_f", "small", "strided"):
        np.testing.assert_array_equal(got[key], sent[key])
        assert got[key].dtype == sent[key].dtype and got[key].flags.writeable
    assert got["big_f"].flags.f_contiguous and not got["big_f"].flags.c_contiguous
    assert got["bytes"] == b"xxxxx" and got["text"] == "ok"
    assert got["big"].nbytes >= MIN_SHARED_BYTES and _in_shared_memory(got["big"])
    assert _in_shared_memory(got["big_f"])
    assert not _in_shared_memory(got["small"])  # under 1 MiB: the pipe
    assert not _in_shared_memory(got["strided"])  # not contiguous: pickled in band
    got["big"][0] = -1.0  # the receiver's own memory: the sender's array is untouched
    assert sent["big"][0] == 0.0
    del got
    _nothing_left(qtbot, before)


def test_the_mapping_lives_as_long_as_any_array_over_it(qtbot):
    unmapped = shared_buffers.background_unmaps()
    got = _round_trip({"a": np.ones(1 << 18), "b": np.full(1 << 18, 2.0)})
    view = got["a"].reshape(512, 512)[:10, 3]
    b = got["b"]
    del got
    gc.collect()
    qtbot.wait(100)
    assert len(_shared_mappings()) == 1  # the views still need it
    assert view.sum() == 10.0
    del view
    qtbot.wait(100)
    assert len(_shared_mappings()) == 1 and b[7] == 2.0
    del b
    # Unmapped (its pages freed: 150-300 ms at 240 MiB) by the background thread, not here.
    qtbot.waitUntil(lambda: shared_buffers.background_unmaps() == unmapped + 1, timeout=5000)
    _nothing_left(qtbot, set())


def test_a_plain_pipe_connection_keeps_the_pipe(qtbot):
    got = _round_trip({"big": np.ones(1 << 18)}, duplex=False)  # no socket: no descriptors
    assert got["big"].sum() == 1 << 18 and got["big"].flags.writeable
    assert not _in_shared_memory(got["big"])


def test_the_switch_turns_shared_memory_off(qtbot, monkeypatch):
    monkeypatch.setenv(shared_buffers.DISABLE_ENV, "1")
    got = _round_trip({"big": np.ones(1 << 18)})
    assert got["big"].sum() == 1 << 18 and not _in_shared_memory(got["big"])


def test_no_room_for_shared_memory_falls_back_to_the_pipe(qtbot, monkeypatch):
    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "memfd_create", full)
    got = _round_trip({"big": np.arange(1 << 18, dtype=np.float64)})
    np.testing.assert_array_equal(got["big"], np.arange(1 << 18, dtype=np.float64))
    assert not _in_shared_memory(got["big"])


def test_a_sender_killed_mid_message_leaves_nothing(qtbot):
    before = _dev_shm()
    ctx = multiprocessing.get_context("spawn")
    a, b = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=_transport_jobs.send_then_die, args=(b,))
    proc.start()
    b.close()
    with pytest.raises(EOFError):
        receive_message(a)  # the shared buffer came, the pipe buffer never did
    proc.join(30)
    assert proc.exitcode == 9
    a.close()
    _nothing_left(qtbot, before)


# --------------------------------------------------------------------- through the JobRunner
def test_a_result_of_a_worker_is_backed_by_shared_memory_and_writable(qtbot, runner):
    before = _dev_shm()
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _transport_jobs.factors_like, 600, 800, 5.0, in_process=True)
    f = blocker.args[2]
    assert (f.height, f.width, f.max_rank) == (600, 800, 600)
    for c, ch in enumerate(f.channels):
        assert ch.U.shape == (600, 600) and ch.Vt.shape == (600, 800)  # 1.4 and 1.9 MB
        assert ch.U.flags.f_contiguous and ch.U.flags.writeable and ch.Vt.flags.writeable
        assert float(ch.U[0, 0]) == 5.0 + c and float(ch.Vt[-1, -1]) == 5.0 - c
        assert _in_shared_memory(ch.U) and _in_shared_memory(ch.Vt)
        assert not _in_shared_memory(ch.s)  # 2.4 KB: by pipe
    U = f.channels[0].U
    U *= 2.0  # the session may work in place, as before
    assert float(f.channels[0].U[5, 5]) == 10.0
    del f, U, ch, blocker
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)
    _nothing_left(qtbot, before)


def test_big_arguments_reach_the_worker_as_its_own_writable_copy(qtbot, runner):
    A = np.arange(1 << 18, dtype=np.float64)  # 2 MiB: shared memory
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _transport_jobs.array_stats, A, A[:10], in_process=True)
    (shape, dtype, total, writeable), small = blocker.args[2]
    assert (shape, dtype, total, writeable) == ((1 << 18,), "float64", float(A.sum()), True)
    assert small == ((10,), "float64", 45.0, True)
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _transport_jobs.scale_in_place, A, 3.0, in_process=True)
    np.testing.assert_array_equal(blocker.args[2], 3.0 * np.arange(1 << 18))
    np.testing.assert_array_equal(A, np.arange(1 << 18))  # the GUI's array is untouched


def test_progressive_stages_come_in_shared_memory_and_go_with_their_arrays(qtbot, runner):
    before = _dev_shm()
    picture = np.random.default_rng(0).uniform(0, 255, (600, 700, 3)).astype(np.float32)
    parts, results = [], []
    runner.submit(
        "image.svd",
        decompose_image,
        picture,
        "rgb",
        in_process=True,
        on_partial=parts.append,
        on_result=results.append,
    )
    qtbot.waitUntil(lambda: len(results) == 1, timeout=60000)
    assert [p.is_partial for p in parts] == [True, False]
    full = results[0]
    assert _in_shared_memory(parts[1].channels[0].Vt) and _in_shared_memory(full.channels[2].U)
    ch = full.channels[0]
    rebuilt = (ch.U * ch.s) @ ch.Vt
    np.testing.assert_allclose(rebuilt, picture[:, :, 0], atol=0.05)
    parts.clear()  # the runner may keep the finished job's callbacks (these lists) a while
    results.clear()
    del full, ch
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)
    _nothing_left(qtbot, before)


def _start_stage_then_spin(runner, tmp_path, sink: list):
    """A worker job that hands over a 1000×1200 stage, writes its pid, then spins (channel
    "p"); its partials go to ``sink``.  Returns the pid file (written once it spins)."""
    pid_file = tmp_path / "pid"
    runner.submit(
        "p",
        _transport_jobs.stage_then_spin,
        1000,
        1200,
        str(pid_file),
        in_process=True,
        on_partial=sink.append,
    )
    return pid_file


def test_cancel_with_a_stage_in_flight_leaves_nothing(qtbot, runner, tmp_path):
    before = _dev_shm()
    applied: list = []
    pid_file = _start_stage_then_spin(runner, tmp_path, applied)
    qtbot.waitUntil(pid_file.exists, timeout=30000)
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.cancel("p")  # the stage may be in the socket, in the watcher, or shown already
    shown = len(applied)
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)
    qtbot.wait(50)
    assert len(applied) == shown  # nothing of a cancelled job arrives after the cancel
    applied.clear()
    _nothing_left(qtbot, before)


def test_a_killed_worker_is_reported_and_leaves_nothing(qtbot, runner, tmp_path):
    before = _dev_shm()
    stages: list = []
    pid_file = _start_stage_then_spin(runner, tmp_path, stages)
    qtbot.waitUntil(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=30000)
    qtbot.waitUntil(lambda: len(stages) == 1, timeout=10000)
    assert _in_shared_memory(stages[0].channels[0].U)
    with qtbot.waitSignal(runner.failed, timeout=10000) as blocker:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert "stopped unexpectedly" in blocker.args[2]
    assert stages[0].channels[1].U[3, 3] == 2.0  # a stage already shown stays usable
    stages.clear()
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10000)
    _nothing_left(qtbot, before)


GUI_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from svdstudio.workers import JobRunner
    from tests import _transport_jobs
    runner = JobRunner()
    runner.submit("p", _transport_jobs.stage_then_spin, 1000, 1200, sys.argv[1], in_process=True)
    time.sleep(120)
    """
)


def test_a_worker_whose_gui_was_killed_exits(tmp_path):
    before = _dev_shm()
    pid_file = tmp_path / "pid"
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    # Its resource tracker says that it cleaned up the killed GUI's semaphores: keep it quiet.
    gui = subprocess.Popen(
        [sys.executable, "-c", GUI_SCRIPT, str(pid_file)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(pid_file.read_text())
    finally:
        gui.kill()
        gui.wait(10)

    def gone() -> bool:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return True
        # a zombie (its parent is gone; init reaps it) counts as gone
        with open(f"/proc/{worker}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"

    deadline = time.monotonic() + 10
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone()
    assert not {n for n in _dev_shm() - before if not n.startswith("sem.")}
