"""A stall watchdog for benchmarks: where the GUI thread is when its event loop stops turning.

A 5 ms timer on the GUI thread stamps a heartbeat; a watchdog thread looks every few ms, and
while the heartbeat is older than the threshold (40 ms) it samples the GUI thread's stack
(``sys._current_frames``) and, once per stall, has :mod:`faulthandler` dump every thread's
stack to a log file.  :meth:`StallWatch.report` lists the longest stalls with the frames seen
most often in each: the code that blocked the loop.  Samples are taken only when the GUI
thread lets the interpreter run (a C call holding the GIL shows as the frame that called it).

    watch = StallWatch(log_path="/tmp/stalls.log")
    watch.start()
    ...  # the phases to examine
    watch.stop()
    print(watch.report())
"""

from __future__ import annotations

import faulthandler
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Stall", "StallWatch"]

# Innermost frames of threads that wait (not running Python, not holding the GIL for long).
_IDLE = frozenset({"wait", "_wait_for_tstate_lock", "select", "poll", "accept", "_recv"})


@dataclass
class Stall:
    """One pause of the event loop: when it began, how long it lasted, the stacks sampled."""

    start: float
    length_ms: float = 0.0
    phase: str = ""
    cpu_start: float = 0.0
    cpu_ms: float = 0.0  # CPU time the GUI thread used during the stall
    stacks: Counter[str] = field(default_factory=Counter)
    others: Counter[str] = field(default_factory=Counter)  # other threads running Python


def _stack_text(frame, depth: int) -> str:
    """The innermost ``depth`` frames that belong to the app or pyqtgraph (else any)."""
    summary = traceback.extract_stack(frame)
    ours = [f for f in summary if "svdstudio" in f.filename or "pyqtgraph" in f.filename]
    chosen = (ours or summary)[-depth:]
    return " < ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(chosen)
    )


class StallWatch:
    """Samples the GUI thread's stack while its event loop is stalled past ``threshold_ms``."""

    def __init__(
        self,
        threshold_ms: float = 40.0,
        sample_ms: float = 4.0,
        depth: int = 4,
        log_path: str | None = None,
        cpu_ms: float | None = None,
    ) -> None:
        """``cpu_ms``: trigger on the GUI thread's own CPU time since the last heartbeat
        instead of the wall time (finds the GUI thread's work on a machine so busy that
        every pause is long)."""
        from PySide6.QtCore import QTimer

        self.threshold = threshold_ms / 1000.0
        self.sample = sample_ms / 1000.0
        self.depth = depth
        self.phase = ""
        self.stalls: list[Stall] = []
        self._gui = threading.get_ident()
        # The GUI thread's CPU clock: a stall with little CPU time is a wait (for the GIL, a
        # lock, or a core on a busy machine), not work on the GUI thread.
        self._gui_clock = time.pthread_getcpuclockid(self._gui)
        self._beat = time.perf_counter()
        self._beat_cpu = time.thread_time()
        self._cpu_trigger = None if cpu_ms is None else cpu_ms / 1000.0
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall-watch", daemon=True)
        self._log = open(log_path, "w", encoding="utf-8") if log_path else None  # noqa: SIM115

    def start(self) -> None:
        self._beat = time.perf_counter()
        self._timer.start()
        self._thread.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()
        self._thread.join(2.0)
        if self._log is not None:
            self._log.close()

    def _tick(self) -> None:
        self._beat = time.perf_counter()
        self._beat_cpu = time.thread_time()

    def _watch(self) -> None:
        current: Stall | None = None
        while not self._stop.wait(self.sample):
            beat = self._beat
            stalled = time.perf_counter() - beat
            cpu = time.clock_gettime(self._gui_clock)
            busy = stalled if self._cpu_trigger is None else cpu - self._beat_cpu
            if busy < (self.threshold if self._cpu_trigger is None else self._cpu_trigger):
                current = None
                continue
            if current is None or current.start != beat:
                current = Stall(beat, phase=self.phase, cpu_start=cpu)
                self.stalls.append(current)
                if self._log is not None:
                    self._log.write(f"\n=== stall from t={beat:.3f} ({self.phase}) ===\n")
                    self._log.flush()
                    faulthandler.dump_traceback(file=self._log, all_threads=True)
            current.length_ms = stalled * 1000.0
            current.cpu_ms = (cpu - current.cpu_start) * 1000.0
            me = threading.get_ident()
            for ident, frame in sys._current_frames().items():
                if ident == self._gui:
                    current.stacks[_stack_text(frame, self.depth)] += 1
                elif ident != me and frame.f_code.co_name not in _IDLE:
                    current.others[_stack_text(frame, 2)] += 1

    def report(self, top: int = 8) -> str:
        """The longest stalls, each with its most sampled stacks."""
        lines = [f"{len(self.stalls)} stalls over {self.threshold * 1000:.0f} ms"]
        for stall in sorted(self.stalls, key=lambda s: -s.length_ms)[:top]:
            lines.append(
                f"  {stall.length_ms:6.0f} ms  [{stall.phase}]  GUI thread CPU "
                f"{stall.cpu_ms:.0f} ms (from the first sample)"
            )
            total = sum(stall.stacks.values()) or 1
            for stack, count in stall.stacks.most_common(3):
                lines.append(f"      {100 * count / total:3.0f} %  {stack}")
            for stack, count in stall.others.most_common(2):
                lines.append(f"      other thread ×{count}: {stack}")
        return "\n".join(lines)
