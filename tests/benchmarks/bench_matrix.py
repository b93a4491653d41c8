"""Benchmark: the Matrix tab with big matrices (these were timed unit tests once).

Run: ``.venv/bin/python tests/benchmarks/bench_matrix.py`` (offscreen).  Prints each figure
beside its goal (OK/MISSED), the median over several runs with the spread, and the load average.

``--big N`` (default 5000; ``--quick`` uses 1500) then drives the real tab with a real
JobRunner through a big matrix: open it from .npy and from CSV (off the GUI thread), time to
the singular values on screen and to the full factors, each against scipy's ``gesdd`` on the
same matrix in the same run (before and after the tab, so a busy machine hits both alike), the
longest event-loop gap (a 10 ms timer) in every phase, and Esc during the vectors.
``--big 0`` skips it.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import scipy.linalg
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from svdstudio.engine import decompose
from svdstudio.io.matrix import write_matrix
from svdstudio.ui.matrix.model import MatrixModel
from svdstudio.ui.matrix.tab import MatrixTab
from svdstudio.workers import JobRunner
from tests.benchmarks.bench_dataset import sched_times
from tests.benchmarks.machine import load, speed
from tests.benchmarks.qt_wait import wait

RUNS = 5


def _median(fn) -> tuple[float, float, float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def _report(name: str, goal_s: float, figures: tuple[float, float, float]) -> None:
    med, lo, hi = figures
    verdict = "OK" if med <= goal_s else "MISSED"
    print(
        f"{name:<52} median {med * 1000:8.1f} ms  (min {lo * 1000:.1f}, max {hi * 1000:.1f})"
        f"  goal ≤ {goal_s * 1000:.0f} ms  {verdict}"
    )


def _load() -> str:
    return f"load average: {load()}"


class _Gaps:
    """The longest gap between 10 ms timer ticks, per phase (what a user feels as a freeze),
    split by the kernel's scheduler statistics into the GUI thread's CPU time, its wait for a
    core, and the rest (asleep beyond the timer: the GIL held by another thread, or a lock)."""

    def __init__(self) -> None:
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)
        self._tid = threading.get_native_id()
        self._last = 0
        self._last_sched = sched_times(self._tid)
        self.worst = 0.0
        self.split = (0.0, 0.0, 0.0)

    def _tick(self) -> None:
        now = self._clock.elapsed()
        sched = sched_times(self._tid)
        gap = (now - self._last) / 1000
        if gap > self.worst:
            self.worst = gap
            run = sched[0] - self._last_sched[0]
            queued = sched[1] - self._last_sched[1]
            self.split = (run, queued, max(0.0, gap * 1000 - 10 - run - queued))
        self._last = now
        self._last_sched = sched

    def note(self) -> str:
        run, queued, blocked = self.split
        return f"(GUI thread: {run:.0f} ms CPU, {queued:.0f} for a core, {blocked:.0f} blocked)"

    def start(self) -> None:
        self._clock.start()
        self._last = 0
        self._last_sched = sched_times(self._tid)
        self.worst = 0.0
        self.split = (0.0, 0.0, 0.0)
        self._timer.start()

    def stop(self) -> float:
        self._tick()
        self._timer.stop()
        return self.worst


def _wait(app: QApplication, done, timeout: float) -> float:
    """Run the event loop until ``done()``; the seconds it took (inf on timeout).

    The loop sleeps between events (``qt_wait.wait``), as the app's does: a loop of
    ``processEvents`` calls kept a core busy, the worker's probe then found two BLAS threads
    no faster than one, and a 5000×5000 SVD ran on one thread (σ at 1.35 × gesdd).
    """
    start = time.perf_counter()
    if not wait(done, timeout):
        return float("inf")
    return time.perf_counter() - start


def _line(name: str, value: float, goal: float, unit: str = "s", note: str = "") -> None:
    verdict = "OK" if value <= goal else "MISSED"
    if unit == "ms":
        shown, goal_shown = f"{value * 1000:8.0f} ms", f"{goal * 1000:.0f} ms"
    else:
        shown, goal_shown = f"{value:8.2f} s ", f"{goal:.2f} s"
    print(f"{name:<52} {shown}  goal ≤ {goal_shown}  {verdict}{'  ' + note if note else ''}")


def bench_big(app: QApplication, n: int, with_csv: bool, one_reference: bool = False) -> None:
    """The real tab with a real runner through an n×n matrix (see the module docstring)."""
    print(f"--- {n}×{n} float64 in the Matrix tab ({_load()})")
    a = np.random.default_rng(1).standard_normal((n, n))
    folder = Path(tempfile.mkdtemp(prefix="bench-matrix-"))
    os.environ["SVDSTUDIO_SETTINGS"] = str(folder / "settings.ini")  # the autosave goes there
    npy = folder / "big.npy"
    write_matrix(npy, a)
    csv = folder / "big.csv"
    if with_csv:
        np.savetxt(csv, a, delimiter=",", fmt="%.17g")
        print(f"CSV: {csv.stat().st_size / 1e6:.0f} MB")

    def reference() -> float:
        start = time.perf_counter()
        scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesdd", check_finite=False)
        return time.perf_counter() - start

    ref_before = reference()
    print(f"scipy gesdd (U, σ, Vᵀ) before the tab: {ref_before:.2f} s  ({_load()})")
    runner = JobRunner()
    runner.warm_up()
    tab = MatrixTab(runner)
    tab.resize(1280, 760)
    tab.show()
    gaps = _Gaps()
    _wait(app, lambda: tab.result() is not None, 60)
    _wait(app, runner.spare_alive, 30)
    gaps.start()
    _wait(app, lambda: False, 3.0)
    floor = gaps.stop()
    print(
        f"longest event-loop gap with nothing running (this machine's floor): {floor * 1000:.0f} ms"
    )

    if with_csv:
        gaps.start()
        tab.open_file(str(csv))
        took = _wait(app, lambda: tab.model().matrix_shape() == (n, n), 600)
        gap = gaps.stop()
        note_gap = gaps.note()
        start = time.perf_counter()
        np.loadtxt(csv, delimiter=",")
        loadtxt = time.perf_counter() - start
        _line(
            f"open a {csv.stat().st_size / 1e6:.0f} MB CSV → grid filled",
            took,
            1.2 * loadtxt,
            note=f"= {took / loadtxt:.2f} × numpy.loadtxt ({loadtxt:.1f} s); goal ≤ 1.2 ×",
        )
        _line("  longest event-loop gap while opening the CSV", gap, 0.05, "ms", note=note_gap)
        runner.cancel("matrix.svd")
        tab.load_defaults()
        _wait(app, lambda: tab.result() is not None and tab.result().shape == (4, 3), 60)
        _wait(app, runner.spare_alive, 30)

    gaps.start()
    t0 = time.perf_counter()
    tab.open_file(str(npy))
    opened = _wait(app, lambda: tab.model().matrix_shape() == (n, n), 120)
    gap_open = gaps.stop()
    note_gap_open = gaps.note()
    gaps.start()
    sigma = _wait(app, lambda: tab.results.state() == "values", 900) + opened
    gap_sigma = gaps.stop()
    note_gap_sigma = gaps.note()
    gaps.start()
    full = _wait(app, lambda: tab.results.state() == "full", 900) + sigma
    gap_full = gaps.stop()
    note_gap_full = gaps.note()
    gaps.start()
    _wait(app, lambda: not tab.progress.isVisible(), 10)
    app.processEvents()
    gap_after = gaps.stop()
    note_gap_after = gaps.note()
    del t0
    if one_reference:
        ref = ref_before
    else:
        ref_after = reference()
        ref = (ref_before + ref_after) / 2
        print(f"scipy gesdd after the tab: {ref_after:.2f} s; mean {ref:.2f} s  ({_load()})")
    _line("open the .npy → grid filled", opened, 1.0)
    _line("  longest event-loop gap while opening", gap_open, 0.05, "ms", note=note_gap_open)
    _line(
        "open → σ on screen (spectrum, Σ, errors)",
        sigma,
        0.6 * ref,
        note=f"= {sigma / ref:.2f} × gesdd; goal ≤ 0.6 ×",
    )
    _line("  longest event-loop gap until σ", gap_sigma, 0.05, "ms", note=note_gap_sigma)
    _line(
        "open → full factors on screen (U, Vᵀ, A_k)",
        full,
        1.1 * ref,
        note=f"= {full / ref:.2f} × gesdd; goal ≤ 1.1 ×",
    )
    _line(
        "  longest event-loop gap from σ to the factors", gap_full, 0.05, "ms", note=note_gap_full
    )
    _line(
        "  longest event-loop gap showing the factors", gap_after, 0.05, "ms", note=note_gap_after
    )

    # Esc while the vectors are computed: the process is killed, the σ stay.
    tab.model().load_matrix(a * 2.0)
    _wait(app, lambda: tab.results.state() == "values", 900)
    _wait(app, lambda: False, 0.5)
    start = time.perf_counter()
    QTest.keyClick(tab, Qt.Key.Key_Escape)
    stopped = _wait(app, lambda: not tab.job_running() and runner.live_workers() <= 1, 10)
    _line(
        "Esc during the vectors → worker stopped, row says so",
        time.perf_counter() - start if np.isfinite(stopped) else stopped,
        0.25,
        "ms",
        note=f"state {tab.results.state()!r}: {tab.progress.text()[:40]}…",
    )
    # The autosave of the unsaved n×n matrix (3 s after an edit): the GUI thread goes on.
    written: list[float] = []
    signal = getattr(tab.autosave, "written", None)  # older versions wrote in the GUI thread
    if signal is not None:
        signal.connect(lambda: written.append(time.perf_counter()))
    gaps.start()
    start = time.perf_counter()
    tab.autosave.write_now()
    if signal is None:
        written.append(time.perf_counter())
    took = _wait(app, lambda: bool(written), 60)
    took = written[0] - start if written else took
    gap_save = gaps.stop()
    note_gap_save = gaps.note()
    size = tab.autosave.target().stat().st_size / 1e6
    _line(f"autosave of the unsaved matrix ({size:.0f} MB) written", took, 5.0)
    _line("  longest event-loop gap while autosaving", gap_save, 0.05, "ms", note=note_gap_save)
    tab.autosave.remove()
    runner.shutdown()
    tab.close()
    for f in (npy, csv):
        f.unlink(missing_ok=True)
    folder.rmdir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1500×1500 big case")
    parser.add_argument("--big", type=int, default=None, help="size of the big case (0: skip)")
    parser.add_argument("--no-csv", action="store_true", help="skip opening the CSV")
    parser.add_argument(
        "--one-reference", action="store_true", help="time gesdd before the tab only"
    )
    args = parser.parse_args()
    big_n = args.big if args.big is not None else (1500 if args.quick else 5000)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(_load())
    print(speed())
    a = np.arange(250_000, dtype=float).reshape(500, 500) / 7
    model = MatrixModel(a)

    def show_cells() -> None:
        for r in range(0, 500, 5):
            for c in range(0, 500, 5):
                model.data(model.index(r, c), Qt.ItemDataRole.DisplayRole)

    _report("500×500: display text of 10 000 cells", 1.0, _median(show_cells))

    def edit_undo_insert() -> None:
        model.setData(model.index(499, 499), "1.5", Qt.ItemDataRole.EditRole)
        model.undo_stack().undo()
        model.insert_rows(0)
        model.undo_stack().undo()

    _report("500×500: edit, undo, insert a row, undo", 0.5, _median(edit_undo_insert))

    tab = MatrixTab(None)  # synchronous: the rank change is what is timed
    rng = np.random.default_rng(0)
    big = rng.standard_normal((500, 500))
    tab.results.set_result(decompose(big), big)
    ranks = iter([50, 60, 70, 80, 90, 100, 110])
    _report(
        "500×500: rank change k → k+10 (slice, all grids)",
        1.0,
        _median(lambda: tab.results.set_rank(next(ranks))),
    )

    text = "\n".join(
        "\t".join(f"x{i % 50}" if (i + j) % 2 else "n/a" for j in range(200)) for i in range(200)
    )

    def paste() -> None:
        tab.load_defaults()
        tab.table.setCurrentIndex(tab.model().index(0, 0))
        tab.paste_text(text)
        app.processEvents()

    _report("paste 200×200 non-numeric cells (40 000)", 0.5, _median(paste))
    print(_load())
    if big_n:
        bench_big(app, big_n, with_csv=not args.no_csv, one_reference=args.one_reference)
        print(_load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
