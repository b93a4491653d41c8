"""Resident memory of the benchmark's process and its worker processes, sampled while it runs.

``ru_maxrss`` is a high-water mark over the whole process lifetime, so a second run of a
benchmark in the same process (or numpy's reference between runs) would inherit the first's
peak; :class:`RssPeak` samples ``/proc/PID/statm`` every 20 ms between ``start`` and ``stop``.
"""

from __future__ import annotations

import os
import threading

__all__ = ["RssPeak", "child_pids", "rss_now"]


def rss_now(pid: int | str) -> int:
    """Resident bytes of a process now (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def child_pids() -> list[int]:
    """This process's live child processes, read from /proc (Linux).

    Not ``multiprocessing.active_children()``: it reaps finished children as a side effect,
    from this sampler thread, racing the job runner's own join of its worker processes.
    """
    pids: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return pids


class RssPeak:
    """Peak resident memory of this process and, separately, of its worker processes."""

    def __init__(self) -> None:
        self.gui = self.worker = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.gui = max(self.gui, rss_now("self"))
            for pid in child_pids():
                self.worker = max(self.worker, rss_now(pid))

    def start(self) -> None:
        self.gui = self.worker = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> str:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return f"peak RSS GUI {self.gui / 2**20:.0f} MiB, worker {self.worker / 2**20:.0f} MiB"

    @property
    def peak(self) -> int:
        """The larger of the two peaks, in bytes (the memory goal is per process)."""
        return max(self.gui, self.worker)
