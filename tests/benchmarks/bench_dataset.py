"""Benchmark: the Dataset tab opening a 100,000 × 64 table, then changing its view (issue 11 §5).

Goal: no event-loop gap above 50 ms in any phase, from "open" until the scatter of the
projection has been painted, and likewise for a change of method, of axes and of the label
(colour) column on that table.  A 10 ms timer on the GUI thread records every gap; the phases
are named by the tab's own signals:

* reading     open → the table is read (a worker process parses it)
* projecting  the table is on show → its projection is computed (a worker process)
* showing     the projection arrived → spectrum and scatter drawn and painted
* method      the method changed to PCA → recomputed, drawn and painted
* axes        components 2 and 3 on show → drawn and painted
* colour      no label column chosen → read again, projected, drawn and painted

Runs the real DatasetTab offscreen.  Beside each phase's worst gap it prints the most CPU time
the GUI thread used between two ticks: on a busy machine the gap also holds the time the
thread waited for a core, the CPU figure only the GUI thread's own work.

    .venv/bin/python tests/benchmarks/bench_dataset.py [--rows 100000] [--cols 64] [--runs 3]
    .venv/bin/python tests/benchmarks/bench_dataset.py --quick   # one run, no colour phase
    .venv/bin/python tests/benchmarks/bench_dataset.py --quick --stalls /tmp/stalls.log

``--stalls`` also runs a watchdog (``stall_watch.py``) that samples the GUI thread's stack
whenever the event loop stalls over 40 ms, and prints where each of the longest stalls was.

Prints each figure beside its goal with OK/MISSED, medians with the spread over the runs, and
the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GAP_GOAL_MS = 50.0
SPLIT = ("cpu", "queued", "blocked")
PHASES = ("reading", "projecting", "showing", "method", "axes", "colour")


def write_table(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    """A labelled table: ``cols`` numeric columns of low-rank data plus noise, 5 classes
    (written in blocks of rows, so that a wide table needs little memory)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(5, 8))
    mixing = rng.normal(size=(8, cols))
    header = ",".join(f"f{j + 1}" for j in range(cols)) + ",kind"
    block = max(1, 2_000_000 // cols)
    with path.open("w", encoding="utf-8") as f:
        f.write(header + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            classes = rng.integers(0, 5, size=n)
            latent = centres[classes] + rng.normal(size=(n, 8))
            X = latent @ mixing + 0.3 * rng.normal(size=(n, cols))
            body = np.char.mod("%.5g", X)
            for i in range(n):
                f.write(",".join(body[i]) + f",class_{classes[i]}\n")


def sched_times(tid: int) -> tuple[float, float]:
    """Thread ``tid``'s CPU time and its time waiting in the run queue for a core (ms), from
    ``/proc/self/task/TID/schedstat``; (nan, nan) where the kernel does not give them."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
            run, wait, _slices = f.read().split()
    except (OSError, ValueError):
        return float("nan"), float("nan")
    return int(run) / 1e6, int(wait) / 1e6


class GapProbe:
    """Records the longest pause between 10 ms timer ticks, per named phase; and the most CPU
    time the GUI thread spent between two ticks (its own work, without the waits for a core
    that a busy machine adds to the pause).

    Each phase's longest pause is split by the kernel's scheduler statistics into the GUI
    thread's CPU time, its wait in the run queue (for a core: a busy machine) and the rest,
    when it slept beyond the timer's period: blocked on the GIL held by another thread of
    the process (or on a lock)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.phase = "idle"
        self.worst: dict[str, float] = {}
        self.worst_cpu: dict[str, float] = {}
        # phase → (CPU, run-queue wait, blocked) of its longest pause (ms)
        self.split: dict[str, tuple[float, float, float]] = {}
        self._tid = threading.get_native_id()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._last_sched = sched_times(self._tid)
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._last_sched = sched_times(self._tid)
        self._timer.start()

    def stop(self) -> None:
        self._tick()
        self._timer.stop()

    def set_phase(self, name: str) -> None:
        self._tick()
        self.phase = name

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0 - 10.0  # beyond the timer's own period
        sched = sched_times(self._tid)
        if gap > self.worst.get(self.phase, -1.0):
            self.worst[self.phase] = gap
            run = sched[0] - self._last_sched[0]
            queued = sched[1] - self._last_sched[1]
            self.split[self.phase] = (run, queued, max(0.0, gap - run - queued))
        self._last = now
        self._last_sched = sched
        cpu = time.thread_time()
        used = (cpu - self._last_cpu) * 1000.0
        self.worst_cpu[self.phase] = max(self.worst_cpu.get(self.phase, 0.0), used)
        self._last_cpu = cpu


def one_run(path: Path, colour: bool = True, stalls=None) -> dict[str, float]:
    """Open ``path`` in a fresh Dataset tab and change its view; the worst gap per phase and
    the times (ms)."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from svdstudio.ui.dataset.tab import DatasetTab
    from svdstudio.ui.dataset.text import NO_LABEL
    from svdstudio.workers import JobRunner
    from tests.benchmarks.qt_wait import wait

    QApplication.instance() or QApplication([])
    runner = JobRunner()
    runner.warm_up()  # as the app does at start: the first process job finds a warm worker
    tab = DatasetTab(runner)
    tab.resize(1280, 800)
    tab.show()
    loop = QEventLoop()
    tab.projection_ready.connect(loop.quit)
    tab.load_defaults()
    loop.exec()
    tab.projection_ready.disconnect(loop.quit)

    def settle(seconds: float) -> None:
        wait(lambda: False, seconds)  # the event loop, asleep between events (not spinning)

    settle(3.0)  # let the spare worker process finish starting before the clock runs

    probe = GapProbe()
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    s = tab.session
    painted: list[float] = []
    done = QEventLoop()

    def mark(name: str) -> None:
        marks.setdefault(name, (time.perf_counter() - t0) * 1000.0)
        probe.set_phase(name)
        if stalls is not None:
            stalls.phase = name

    class PaintWatch(QObject):
        """Ends a phase at the end of the scatter's first paint after its drawing finished,
        and a moment after (what follows a paint belongs to the phase too)."""

        armed = False

        def eventFilter(self, obj, ev):
            if self.armed and ev.type() == QEvent.Type.Paint:
                self.armed = False
                QTimer.singleShot(0, lambda: painted.append(time.perf_counter()))
                QTimer.singleShot(400, done.quit)
            return False

    watch = PaintWatch()
    tab.scatter.viewport().installEventFilter(watch)

    def arm() -> None:
        watch.armed = True
        tab.scatter.viewport().update()

    # Older versions drew at once (no drawing steps): the benchmark runs on them too, for a
    # before/after comparison in one session.
    drawing = getattr(tab.view, "drawing", lambda: False)

    def when_drawn() -> None:
        # Axes changes emit no projection_ready: poll the view's drawing steps.
        if drawing():
            QTimer.singleShot(5, when_drawn)
        else:
            arm()

    def phase(name: str, start) -> None:
        painted.clear()
        mark(name)
        start()
        QTimer.singleShot(120_000, done.quit)
        done.exec()
        if not painted:
            raise SystemExit(f"{name}: nothing painted within 120 s")
        marks[f"painted_{name}"] = (painted[0] - t0) * 1000.0

    s.dataset_changed.connect(lambda *_: mark("projecting") if "projecting" not in marks else None)
    s.result_ready.connect(lambda: mark("showing") if "showing" not in marks else None)
    tab.projection_ready.connect(arm)
    probe.start()

    def open_table() -> None:
        if not tab.open_file(str(path)):
            raise SystemExit(f"{path}: the tab refused the table")

    phase("reading", open_table)
    n = tab.dataset().n_rows
    assert n > 0 and tab.scatter.point_count() == n
    marks["t_painted"] = marks.pop("painted_reading")
    phase("method", lambda: s.set_method("pca"))
    assert tab.result().method == "pca" and tab.scatter.point_count() == n

    def axes() -> None:
        s.set_axes(2, 3)
        when_drawn()

    phase("axes", axes)

    def no_label() -> None:
        combo = tab.label_combo  # as a user picks "(no label)" in the label list
        i = combo.findText(NO_LABEL)
        combo.setCurrentIndex(i)
        combo.activated.emit(i)

    if colour:
        phase("colour", no_label)
        assert tab.dataset().labels is None and tab.scatter.point_count() == n
    probe.stop()
    out = {f"gap_{k}": v for k, v in probe.worst.items() if k != "idle"}
    out["gap_worst"] = max(out.values())
    cpu = {f"cpu_{k}": v for k, v in probe.worst_cpu.items() if k != "idle"}
    out.update(cpu)
    out["cpu_worst"] = max(cpu.values())
    for k, (run, queued, blocked) in probe.split.items():
        if k != "idle":
            out[f"split_{k}_cpu"], out[f"split_{k}_queued"] = run, queued
            out[f"split_{k}_blocked"] = blocked
    out["t_table"] = marks.get("projecting", float("nan"))
    out["t_result"] = marks.get("showing", float("nan"))
    out["t_painted"] = marks["t_painted"]
    out["t_method"] = marks["painted_method"] - marks["method"]
    out["t_axes"] = marks["painted_axes"] - marks["axes"]
    tab.close()
    runner.shutdown()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run, no colour phase")
    parser.add_argument(
        "--stalls", metavar="LOG", help="watch for stalls over 40 ms; thread dumps go to LOG"
    )
    parser.add_argument(
        "--stall-cpu",
        type=float,
        metavar="MS",
        help="with --stalls: a stall is MS of the GUI thread's own CPU time (busy machines)",
    )
    args = parser.parse_args()
    runs_wanted = 1 if args.quick else args.runs
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.benchmarks.machine import load

    # The table is generated once and kept in the temporary folder for later runs.
    path = Path(tempfile.gettempdir()) / f"svdstudio-bench-dataset-{args.rows}x{args.cols}.csv"
    if not path.is_file():
        t = time.perf_counter()
        part = path.with_suffix(".part")
        write_table(part, args.rows, args.cols)
        part.replace(path)
        print(f"(table written in {time.perf_counter() - t:.1f} s)")
    size = path.stat().st_size / 2**20
    print(f"table: {args.rows:,} rows × {args.cols} columns + label, {size:.1f} MiB ({path})")
    load_before = load()
    watch = None
    if args.stalls:
        from PySide6.QtWidgets import QApplication

        from tests.benchmarks.stall_watch import StallWatch

        app = QApplication.instance() or QApplication([])  # noqa: F841 (the timer needs it)
        watch = StallWatch(log_path=args.stalls, cpu_ms=args.stall_cpu)
        watch.start()
    runs = [one_run(path, colour=not args.quick, stalls=watch) for _ in range(runs_wanted)]
    if watch is not None:
        watch.stop()
        print(watch.report())
    load_after = load()

    def stat(key: str) -> tuple[float, float, float]:
        vals = [r[key] for r in runs if key in r]
        return statistics.median(vals), min(vals), max(vals)

    print(f"load average before: {load_before}")
    print(f"{'figure':<46}{'median':>10}{'min':>10}{'max':>10}  goal")
    keys = [f"gap_{p}" for p in PHASES if f"gap_{p}" in runs[0]] + ["gap_worst"]
    keys += [f"cpu_{p}" for p in PHASES if f"cpu_{p}" in runs[0]] + ["cpu_worst"]
    keys += ["t_table", "t_result", "t_painted", "t_method", "t_axes"]
    names = {f"gap_{p}": f"event-loop gap, {p} (ms)" for p in PHASES}
    names.update({f"cpu_{p}": f"  GUI-thread CPU between ticks, {p} (ms)" for p in PHASES})
    names["cpu_worst"] = "  GUI-thread CPU between ticks, worst (ms)"
    names.update(
        {
            "gap_worst": "worst event-loop gap, every phase (ms)",
            "t_table": "table read (ms after open)",
            "t_result": "projection ready (ms after open)",
            "t_painted": "scatter painted (ms after open)",
            "t_method": "method → PCA painted (ms)",
            "t_axes": "axes → 2, 3 painted (ms)",
        }
    )
    for key in keys:
        med, lo, hi = stat(key)
        goal = ""
        if key.startswith("gap_"):
            goal = f"≤ {GAP_GOAL_MS:.0f} ms  " + ("OK" if med <= GAP_GOAL_MS else "MISSED")
        print(f"{names.get(key, key):<46}{med:>10.1f}{lo:>10.1f}{hi:>10.1f}  {goal}")
    print("each phase's longest pause split (medians, ms): GUI-thread CPU + waiting for a core")
    print("  + blocked (asleep beyond the timer: the GIL held by another thread, or a lock)")
    for p in PHASES:
        if f"split_{p}_cpu" in runs[0]:
            run, queued, blocked = (stat(f"split_{p}_{part}")[0] for part in SPLIT)
            print(f"  {p:<12}{run:>8.1f} cpu {queued:>8.1f} core {blocked:>8.1f} blocked")
    print(f"load average after:  {load_after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
