"""The event-loop garbage collector: off automatically, due generations collected on the GUI
thread's timer, start-up objects frozen, the automatic collector given back."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt

from svdstudio.ui.gc_timer import EventLoopCollector

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collector(qtbot):
    was = gc.isenabled()
    c = EventLoopCollector()
    yield c
    c.stop()
    gc.unfreeze()
    if was:
        gc.enable()


def test_start_turns_the_automatic_collector_off_and_stop_gives_it_back(collector):
    gc.enable()
    collector.start()
    assert not gc.isenabled() and collector.active()
    collector.stop()
    assert gc.isenabled() and not collector.active()


def test_stop_leaves_a_collector_that_was_off_off(collector):
    gc.disable()
    collector.start()
    collector.stop()
    assert not gc.isenabled()


def test_thresholds_are_the_automatic_collectors(collector):
    t0, t1, t2 = gc.get_threshold()[:3]
    assert collector.thresholds == (t0, t1, t2 if t2 > 0 else 10)


def test_due_generations_escalate_as_the_automatic_collector_would(collector):
    collector.start()
    collector.thresholds = (5, 0, 0)
    gc.collect()  # all counts 0
    assert collector.collect_due() == -1  # nothing allocated yet
    keep = [[] for _ in range(50)]  # young count 50 > 5; no generation-1 pass counted yet
    assert collector.collect_due() == 0
    keep += [[] for _ in range(50)]  # one generation-0 pass since the last generation-1 pass
    assert collector.collect_due() == 1
    keep += [[] for _ in range(50)]  # the generation-1 pass reset that count
    assert collector.collect_due() == 0
    assert collector.collections == [2, 1, 0]
    assert len(keep) == 150


def test_nothing_due_under_the_thresholds(collector):
    collector.start()
    collector.thresholds = (10**9, 10, 10)
    assert collector.collect_due() == -1
    assert collector.collections == [0, 0, 0]


def test_a_cycle_dropped_by_a_helper_thread_is_destroyed_on_the_gui_thread(collector, qtbot):
    """The automatic collector could run in whichever thread allocated; with the timer, the
    QObject in a cycle dies on the GUI thread, between events."""
    collector.thresholds = (100, 10, 10)
    collector.start()
    died_in: list[int] = []
    gc.collect()  # the cycle below is young: a generation-0 pass frees it

    class Holder:
        pass

    holder = Holder()
    holder.me = holder  # a cycle: only the collector frees it
    holder.obj = QObject()
    holder.obj.destroyed.connect(
        lambda: died_in.append(threading.get_ident()), Qt.ConnectionType.DirectConnection
    )
    box = [holder]
    del holder

    junk: list[list] = []

    def drop_and_allocate() -> None:
        box.clear()
        junk.extend([] for _ in range(5000))  # far past generation 0's threshold, here

    t = threading.Thread(target=drop_and_allocate)
    t.start()
    t.join()
    assert died_in == []  # nothing collected in the helper thread
    qtbot.waitUntil(lambda: bool(died_in), timeout=2000)
    assert died_in == [threading.get_ident()]
    assert collector.collections[0] >= 1
    assert len(junk) == 5000


def test_freeze_startup_freezes_once(collector):
    assert collector.freeze_startup() is True
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the test process's modules, classes, functions
    assert collector.freeze_startup() is False
    assert gc.get_freeze_count() == frozen


def test_the_app_runs_with_the_event_loop_collector(tmp_path):
    """main(): the automatic collector is off while the window runs, start-up is frozen."""
    code = (
        "import gc, sys\n"
        "import svdstudio.app as a\n"
        "code = a.main(['--smoke-test'])\n"
        "print('gc', gc.isenabled(), gc.get_freeze_count())\n"
        "sys.exit(code)\n"
    )
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last[:2] == ["gc", "False"]
    assert int(last[2]) > 10_000
