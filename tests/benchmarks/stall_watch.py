"""Where the GUI thread is when the event loop stalls: a sampling watchdog for the benches.

    from tests.benchmarks.stall_watch import StallWatch
    watch = StallWatch(threshold=0.04)
    watch.start()
    ...                      # drive the window
    watch.stop()
    print(watch.report())    # the GUI thread's innermost frames, most frequent first

A 10 ms QTimer in the GUI thread stamps a heartbeat; a watchdog thread wakes every 10 ms
and, while the heartbeat is older than ``threshold``, takes the GUI thread's stack
(``sys._current_frames``) as one sample.  The watchdog needs the GIL to look, so a stall
inside a C call that holds the GIL is seen at the Python line that made the call, once the
call returns (``faulthandler.dump_traceback_later`` would see it inside, but its dump of
running threads crashed this interpreter).  A tool for finding GUI-thread work, not a
measurement.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
import traceback

from PySide6.QtCore import QTimer

__all__ = ["StallWatch"]


class StallWatch:
    """Samples the GUI thread's stack whenever the event loop is blocked past ``threshold``."""

    def __init__(self, threshold: float = 0.04) -> None:
        self.threshold = threshold
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._beat)
        self._main = threading.main_thread().ident
        self._samples: list[list[str]] = []
        self._others: list[str] = []  # other threads' innermost frames at each sample
        self._times: list[float] = []  # when each sample was taken
        self._beat_at = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _beat(self) -> None:
        self._beat_at = time.perf_counter()

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            if time.perf_counter() - self._beat_at < self.threshold:
                continue
            frames = sys._current_frames()
            frame = frames.get(self._main)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)[::-1]  # innermost first
            self._samples.append([_where(f) for f in stack])
            self._times.append(time.perf_counter())
            # The thread that held the GIL just let the watchdog in: it is among these.
            me = threading.get_ident()
            for tid, f in frames.items():
                if tid not in (self._main, me):
                    inner = traceback.extract_stack(f)[::-1][:3]
                    self._others.append(" <- ".join(_where(x) for x in inner))

    def start(self) -> None:
        self._samples = []
        self._others = []
        self._times = []
        self._beat()
        self._stop.clear()
        self._timer.start()
        self._thread = threading.Thread(target=self._watch, name="stall-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def samples(self) -> list[list[str]]:
        """Each sample: the GUI thread's frames, innermost first ("file:line in fn")."""
        return list(self._samples)

    def report(self, depth: int = 6, top: int = 12) -> str:
        """The most frequent call sites (``depth`` frames, innermost first) over the samples."""
        count = collections.Counter(" <- ".join(s[:depth]) for s in self._samples if s)
        lines = [f"{len(self._samples)} stall samples (about 10 ms each)"]
        for where, n in count.most_common(top):
            lines.append(f"{n:4d}  {where}")
        worst = self._worst_stall()
        if worst:
            lines.append(f"  longest stall: {len(worst)} samples in a row, at")
            for where, n in collections.Counter(" <- ".join(s[:depth]) for s in worst).most_common(
                4
            ):
                lines.append(f"  {n:4d}  {where}")
        others = collections.Counter(self._others)
        if others:
            lines.append("  other threads at those moments (one of them held the GIL):")
            for where, n in others.most_common(top // 2):
                lines.append(f"  {n:4d}  {where}")
        return "\n".join(lines)

    def _worst_stall(self) -> list[list[str]]:
        """The samples of the longest run taken less than 30 ms apart (one stall)."""
        best: list[list[str]] = []
        run: list[list[str]] = []
        last = -1.0
        for t, sample in zip(self._times, self._samples, strict=True):
            run = [*run, sample] if t - last < 0.03 else [sample]
            last = t
            if len(run) > len(best):
                best = run
        return best


def _where(f: traceback.FrameSummary) -> str:
    name = f.filename
    if "svdstudio" in name or "tests" in name:
        name = os.path.relpath(name)
    else:
        name = os.path.basename(name)
    return f"{name}:{f.lineno} {f.name}"
