"""Benchmark: the window keeps serving while a big job runs; cancel stops a process fast.

Run: ``.venv/bin/python tests/benchmarks/bench_workers.py`` (offscreen).  Prints each figure
beside its goal (OK/MISSED), medians over several runs with the spread, and the load average.
These were timed unit tests once; timings belong here, where a busy machine is visible.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from svdstudio import engine
from svdstudio.workers import JobRunner
from tests import _jobs
from tests.benchmarks.qt_wait import wait as _wait

GAP_GOAL_MS = 250.0
CANCEL_GOAL_S = 3.0


def worst_gap_during_svd(runner: JobRunner, n: int) -> float:
    A = np.random.default_rng(2).standard_normal((n, n))
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    done: list[object] = []
    timer.start()
    runner.submit("big", engine.decompose, A, on_result=done.append)
    _wait(lambda: bool(done), 300)
    timer.stop()
    return max(gaps)


def cancel_time(runner: JobRunner) -> float:
    runner.submit("p", _jobs.pid_then_spin, 60.0, in_process=True)
    job = runner._current["p"]
    _wait(lambda: job.process is not None and job.process.is_alive(), 30)
    t0 = time.monotonic()
    runner.cancel("p")
    _wait(lambda: not job.process.is_alive(), 30)
    return time.monotonic() - t0


def _line(name: str, values: list[float], goal: float, unit: str) -> None:
    med = statistics.median(values)
    status = "OK" if med <= goal else "MISSED"
    print(
        f"{name:<48} median {med:8.3f} {unit} (min {min(values):.3f}, max {max(values):.3f}, "
        f"n={len(values)})  goal ≤ {goal} {unit}  {status}"
    )


def main() -> int:
    app = QApplication.instance() or QApplication([])
    print(f"load average before: {os.getloadavg()}")
    runner = JobRunner()
    runner.warm_up()
    try:
        gaps = [worst_gap_during_svd(runner, 2000) for _ in range(3)]
        cancels = [cancel_time(runner) for _ in range(5)]
    finally:
        runner.shutdown()
    _line("worst GUI timer gap during a 2000×2000 SVD", gaps, GAP_GOAL_MS, "ms")
    _line("cancel → worker process reaped", cancels, CANCEL_GOAL_S, "s")
    print(f"load average after: {os.getloadavg()}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
