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
    queued_start: float = 0.0
    queued_ms: float = 0.0  # time the GUI thread waited for a core during the stall
    stacks: Counter[str] = field(default_factory=Counter)
    # other threads of this process: name → CPU time (ms) at the stall's first sample, then
    # the CPU each used during the stall (a thread that runs while the GUI thread is neither
    # running nor waiting for a core may hold the GIL)
    other_cpu_start: dict[str, float] = field(default_factory=dict)
    other_cpu: dict[str, float] = field(default_factory=dict)
    others: Counter[str] = field(default_factory=Counter)  # other threads running Python
    # the GUI thread's scheduler state at each sample: "R" (running or waiting for a core),
    # "S futex_wait" (the GIL or a lock), "D ..." (the kernel: page faults, mmap_lock)
    kernel: Counter[str] = field(default_factory=Counter)


def _stack_text(frame, depth: int) -> str:
    """The innermost ``depth`` frames that belong to the app or pyqtgraph (else any)."""
    summary = traceback.extract_stack(frame)
    ours = [f for f in summary if "svdstudio" in f.filename or "pyqtgraph" in f.filename]
    chosen = (ours or summary)[-depth:]
    return " < ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(chosen)
    )


def _cpu_ms(tid: int) -> float:
    """Thread ``tid``'s CPU time so far (ms), from the scheduler's statistics."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
            return int(f.read().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return float("nan")


def _others_cpu(skip: set[int]) -> dict[str, float]:
    return {
        f"{t.name} ({t.native_id})": _cpu_ms(t.native_id)
        for t in threading.enumerate()
        if t.native_id is not None and t.native_id not in skip
    }


def _kernel_state(tid: int) -> str:
    """Thread ``tid``'s scheduler state letter and, when not running, the kernel function
    it waits in (``/proc/.../wchan``)."""
    try:
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state == "R":
            return "R"
        with open(f"/proc/self/task/{tid}/wchan", encoding="ascii") as f:
            return f"{state} {f.read().strip() or '?'}"
    except (OSError, IndexError):
        return "?"


def _queued_ms(tid: int) -> float:
    """Thread ``tid``'s total wait in the run queue (ms), from the scheduler's statistics."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return float("nan")


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
        self._gui_tid = threading.get_native_id()
        self._skip: set[int] = {self._gui_tid}  # and the watchdog's own thread, once started
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
        self._skip.add(threading.get_native_id())
        current: Stall | None = None
        while not self._stop.wait(self.sample):
            beat = self._beat
            stalled = time.perf_counter() - beat
            cpu = time.clock_gettime(self._gui_clock)
            busy = stalled if self._cpu_trigger is None else cpu - self._beat_cpu
            if busy < (self.threshold if self._cpu_trigger is None else self._cpu_trigger):
                current = None
                continue
            queued = _queued_ms(self._gui_tid)
            if current is None or current.start != beat:
                current = Stall(beat, phase=self.phase, cpu_start=cpu, queued_start=queued)
                current.other_cpu_start = _others_cpu(self._skip)
                self.stalls.append(current)
                if self._log is not None:
                    self._log.write(f"\n=== stall from t={beat:.3f} ({self.phase}) ===\n")
                    self._log.flush()
                    faulthandler.dump_traceback(file=self._log, all_threads=True)
            current.length_ms = stalled * 1000.0
            current.cpu_ms = (cpu - current.cpu_start) * 1000.0
            current.queued_ms = queued - current.queued_start
            now = _others_cpu(self._skip)
            current.other_cpu = {
                k: v - current.other_cpu_start[k]
                for k, v in now.items()
                if k in current.other_cpu_start
            }
            current.kernel[_kernel_state(self._gui_tid)] += 1
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
                f"{stall.cpu_ms:.0f} ms, waiting for a core {stall.queued_ms:.0f} ms "
                "(from the first sample; the rest: asleep, on the GIL or a lock)"
            )
            total = sum(stall.stacks.values()) or 1
            for stack, count in stall.stacks.most_common(3):
                lines.append(f"      {100 * count / total:3.0f} %  {stack}")
            states = sum(stall.kernel.values()) or 1
            lines.append(
                "      kernel: "
                + ", ".join(f"{100 * n / states:.0f} % {k}" for k, n in stall.kernel.most_common(4))
            )
            for stack, count in stall.others.most_common(2):
                lines.append(f"      other thread ×{count}: {stack}")
            busy = sorted(((v, k) for k, v in stall.other_cpu.items() if v >= 1.0), reverse=True)
            for used, name in busy[:3]:
                lines.append(f"      other thread {name} used {used:.0f} ms CPU in the stall")
        return "\n".join(lines)
