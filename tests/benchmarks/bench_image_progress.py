"""Benchmark: the Image tab's full-SVD progress line moves about every second; Cancel is quick.

Run: ``.venv/bin/python tests/benchmarks/bench_image_progress.py [--quick]`` (offscreen).
Opens a synthetic photo big enough for the preview + worker-process path, records the gaps
between progress updates of the session and how long a cancel takes to say "cancelled", and
prints each figure beside its goal (OK/MISSED), medians with the spread, and the load average.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication

from tests.benchmarks.machine import load
from tests.benchmarks.qt_wait import wait as _wait

GAP_GOAL_S = 1.5  # "moves at least every second or so"
CANCEL_GOAL_S = 0.5  # from Cancel to the "Cancelled" sentence


def one_run(path: str, watch_s: float) -> tuple[list[float], float, str]:
    from svdstudio.ui.image.tab import ImageTab
    from svdstudio.workers import JobRunner

    runner = JobRunner()
    tab = ImageTab(runner)
    tab.resize(1280, 800)
    tab.show()
    stamps: list[float] = []
    last: list[str] = []
    tab.session.progress.connect(
        lambda p: (stamps.append(time.monotonic()), last.append(p.sentence()))
    )
    said: list[tuple[float, str]] = []
    tab.status_message.connect(lambda t: said.append((time.monotonic(), t)))
    tab.open_file(path)
    _wait(lambda: len(stamps) > 0, 60)
    _wait(lambda: False, watch_s)
    t0 = time.monotonic()
    runner.cancel_all()
    _wait(lambda: any(t.startswith("Cancelled") for _, t in said), 5)
    cancel = min((t - t0 for t, s in said if s.startswith("Cancelled")), default=float("inf"))
    runner.shutdown()
    tab.deleteLater()
    return (
        [b - a for a, b in itertools.pairwise(stamps)],
        cancel,
        last[-1] if last else "",
    )


def main() -> int:
    quick = "--quick" in sys.argv
    app = QApplication.instance() or QApplication(sys.argv)
    side = (1600, 1200) if quick else (3000, 2400)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0 : side[1], 0 : side[0]]
    base = 128 + 60 * np.sin(x / 90.0) * np.cos(y / 70.0)
    rgb = np.stack([base, 255 - base, 0.5 * base + x % 90], -1) + rng.normal(0, 8, (*base.shape, 3))
    path = "/tmp/svdstudio_bench_progress.png"
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    runs = 2 if quick else 3
    gaps: list[float] = []
    cancels: list[float] = []
    sentence = ""
    for _ in range(runs):
        g, c, sentence = one_run(path, 4.0 if quick else 8.0)
        gaps += g
        cancels.append(c)
    load_now = load()
    worst = max(gaps) if gaps else float("inf")
    med = statistics.median(gaps) if gaps else float("inf")
    print(f"image {side[0]}×{side[1]}, {runs} runs, load average {load_now}")
    print(f"last progress line: {sentence}")
    spread = f"{min(gaps):.2f}–{worst:.2f}" if gaps else "–"
    verdict = "OK" if worst <= GAP_GOAL_S else "MISSED"
    print(f"progress gap   median {med:.2f} s (spread {spread}), goal ≤ {GAP_GOAL_S} s: {verdict}")
    cmed = statistics.median(cancels)
    verdict = "OK" if cmed <= CANCEL_GOAL_S else "MISSED"
    print(
        f"cancel → said  median {cmed * 1000:.0f} ms (spread {min(cancels) * 1000:.0f}–"
        f"{max(cancels) * 1000:.0f} ms), goal ≤ {CANCEL_GOAL_S * 1000:.0f} ms: {verdict}"
    )
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
