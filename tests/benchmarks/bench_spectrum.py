"""Benchmark: what a new spectrum costs the GUI thread (issue 11 §5).

Goal: ``SpectrumPlot.set_values`` for 10,000 values, its redraw and the paint that follows,
together well under 20 ms.  Every tab sets a new spectrum on each stage of its work (the Image
tab: 3000 values at every stage), on the GUI thread.  Runs the real widget offscreen at
900 × 400, bars and stems, linear and log; prints medians over the runs (wall time and the GUI
thread's own CPU time: on a busy machine the wall time also holds waits for a core), each beside
the goal with OK/MISSED (the goal is judged on the CPU time), and the load average.

    .venv/bin/python tests/benchmarks/bench_spectrum.py [--values 2000 10000] [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOAL_MS = 20.0


def sample(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    return np.sort(np.exp(-np.arange(n) / (n / 8)) * (1 + 0.1 * rng.random(n)))[::-1]


def measure(plot, n: int, log: bool, stems: bool, runs: int) -> dict[str, float]:
    """Medians (ms) of set_values + set_rank + redraw, and of the paint after it."""
    plot.set_log_scale(log)
    plot.set_stems(stems)
    # Older versions (for a before/after in one session) had no drawn(): their flush.
    redraw = getattr(plot, "drawn", None) or plot._flush
    wall: dict[str, list[float]] = {"set": [], "paint": [], "all": []}
    cpu: dict[str, list[float]] = {"set": [], "paint": [], "all": []}
    for i in range(runs + 2):
        s = sample(n, i)
        t0, c0 = time.perf_counter(), time.thread_time()
        plot.set_values(s)
        plot.set_rank(n // 3 + i)
        redraw()  # the coalesced redraw, now
        t1, c1 = time.perf_counter(), time.thread_time()
        plot.plot_widget().viewport().repaint()
        t2, c2 = time.perf_counter(), time.thread_time()
        if i < 2:
            continue  # warm-up
        for store, a, b, c in ((wall, t0, t1, t2), (cpu, c0, c1, c2)):
            store["set"].append((b - a) * 1000)
            store["paint"].append((c - b) * 1000)
            store["all"].append((c - a) * 1000)
    out = {f"wall_{k}": statistics.median(v) for k, v in wall.items()}
    out.update({f"cpu_{k}": statistics.median(v) for k, v in cpu.items()})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, nargs="+", default=[2000, 10_000])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from PySide6.QtWidgets import QApplication

    from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot
    from tests.benchmarks.machine import load

    app = QApplication.instance() or QApplication([])
    load_before = load()
    plot = SpectrumPlot()
    plot.resize(900, 400)
    plot.show()
    app.processEvents()
    print(f"load average before: {load_before}")
    head = f"{'values':>7} {'style':<11}{'set+redraw':>11}{'paint':>8}{'total':>8}"
    print(f"{head}   (ms, wall / GUI-thread CPU)   goal: total CPU ≤ {GOAL_MS:.0f} ms")
    for n in args.values:
        for log in (False, True):
            for stems in (False, True):
                m = measure(plot, n, log, stems, args.runs)
                style = ("stems" if stems else "bars") + (" log" if log else "")
                verdict = "OK" if m["cpu_all"] <= GOAL_MS else "MISSED"
                goal = verdict if n >= 10_000 else "(info)"
                print(
                    f"{n:>7} {style:<11}"
                    f"{m['wall_set']:>6.1f}/{m['cpu_set']:<4.1f}"
                    f"{m['wall_paint']:>6.1f}/{m['cpu_paint']:<4.1f}"
                    f"{m['wall_all']:>6.1f}/{m['cpu_all']:<4.1f}  {goal}"
                )
    load_after = load()
    print(f"load average after:  {load_after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
