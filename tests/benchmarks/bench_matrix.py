"""Benchmark: the Matrix tab with big matrices (these were timed unit tests once).

Run: ``.venv/bin/python tests/benchmarks/bench_matrix.py`` (offscreen).  Prints each figure
beside its goal (OK/MISSED), the median over several runs with the spread, and the load average.
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
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from svdstudio.engine import decompose
from svdstudio.ui.matrix.model import MatrixModel
from svdstudio.ui.matrix.tab import MatrixTab

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


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
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
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
