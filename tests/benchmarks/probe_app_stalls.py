"""bench_app's run with a stall watchdog: where the GUI thread is in each phase's long gaps.

    python tests/benchmarks/probe_app_stalls.py            # 1600×1200
    python tests/benchmarks/probe_app_stalls.py --full     # 4000×3000

Runs :func:`bench_app.one_run` once with each phase's gap meter paired with a
:class:`StallWatch` (40 ms), and prints per phase (open, until full, drag, cancel) the worst
gap, the CPU time of the GUI thread and of the GUI process's other threads (job threads,
watchers, the unmapper: what competes with the GUI thread for the GIL and the two cores;
less noisy than the gaps on a busy machine), and the GUI thread's most frequent call sites
while it was blocked.  A diagnosis tool,
not a benchmark: the figures to report come from ``bench_app.py``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication

from tests.benchmarks import bench_app
from tests.benchmarks.bench_image import load, make_photo
from tests.benchmarks.rss import RssPeak, rss_now
from tests.benchmarks.stall_watch import StallWatch

PHASES = ("open", "until full", "drag", "cancel")


class RssTimeline:
    """Resident MiB of this process and its workers every 0.25 s, with the phase marks."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.rows: list[str] = []
        self.mark = "start"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            workers = [rss_now(c.pid or 0) for c in multiprocessing.active_children()]
            self.rows.append(
                f"{time.perf_counter() - self.t0:7.2f} s  GUI {rss_now('self') / 2**20:5.0f} MiB  "
                f"workers {' '.join(f'{w / 2**20:.0f}' for w in workers) or '-'}  [{self.mark}]"
            )
            time.sleep(0.25)


TIMELINE: RssTimeline | None = None


class WatchedGapMeter(bench_app.GapMeter):
    """bench_app's gap meter, with a stall watchdog and an RSS peak while it measures."""

    reports: ClassVar[list[str]] = []
    depth = 6

    def __init__(self) -> None:
        super().__init__()
        self.watch: StallWatch | None = None
        self.rss = RssPeak()
        self.cpu = (0.0, 0.0, 0.0)  # wall, process CPU, GUI thread CPU at start

    def start(self) -> None:
        super().start()
        self.watch = StallWatch(threshold_ms=40.0, depth=self.depth)  # one per phase
        self.watch.start()
        self.rss.start()
        self.cpu = (time.perf_counter(), time.process_time(), time.thread_time())
        if TIMELINE is not None:
            TIMELINE.mark = PHASES[min(len(self.reports), len(PHASES) - 1)]

    def stop(self) -> float:
        assert self.watch is not None
        self.watch.stop()
        rss = self.rss.stop()
        wall, proc, gui = (
            now - then
            for now, then in zip(
                (time.perf_counter(), time.process_time(), time.thread_time()),
                self.cpu,
                strict=True,
            )
        )
        worst = super().stop()
        if TIMELINE is not None:
            TIMELINE.mark = "between phases"
        name = PHASES[len(self.reports)] if len(self.reports) < len(PHASES) else "?"
        self.reports.append(
            f"--- {name}: worst gap {worst * 1000:.0f} ms, {rss}\n"
            f"    {wall:.2f} s: GUI thread CPU {gui * 1000:.0f} ms, the GUI process's other "
            f"threads {(proc - gui) * 1000:.0f} ms\n" + self.watch.report()
        )
        return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="4000×3000 instead of 1600×1200")
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--timeline", action="store_true", help="print RSS every 0.25 s")
    args = ap.parse_args()
    global TIMELINE
    width, height = (4000, 3000) if args.full else (1600, 1200)
    print(f"load average before: {load()}")
    app = QApplication.instance() or QApplication([])
    from svdstudio.io.images import load_image

    bench_app.GapMeter = WatchedGapMeter  # type: ignore[misc]
    WatchedGapMeter.depth = args.depth
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "photo.jpg"
        make_photo(width, height, path)
        t = time.perf_counter()
        load_image(path)
        if args.timeline:
            TIMELINE = RssTimeline()
        out = bench_app.one_run(app, path, time.perf_counter() - t, d)
    print("\n".join(WatchedGapMeter.reports))
    if TIMELINE is not None:
        print("\n".join(TIMELINE.rows))
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()})
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
