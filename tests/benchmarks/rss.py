"""Resident memory of the benchmark's process and its worker processes, sampled while it runs.

``ru_maxrss`` is a high-water mark over the whole process lifetime, so a second run of a
benchmark in the same process (or numpy's reference between runs) would inherit the first's
peak; :class:`RssPeak` samples ``/proc/PID/statm`` every 20 ms between ``start`` and ``stop``,
from a process of its own (not a thread competing for this process's GIL).
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["RssPeak", "child_pids", "descendant_pids", "rss_now"]


def rss_now(pid: int | str) -> int:
    """Resident bytes of a process now (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def child_pids(pid: int | str = "self") -> list[int]:
    """The live child processes of process ``pid``, read from /proc (Linux).

    Not ``multiprocessing.active_children()``: it reaps finished children as a side effect,
    racing the job runner's own join of its worker processes.
    """
    pids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                pids.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return pids


def descendant_pids(pid: int | str = "self") -> list[int]:
    """The live children of process ``pid``, their children, and so on (a fork server's
    workers are the GUI's grandchildren)."""
    found: list[int] = []
    todo = child_pids(pid)
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(child_pids(p))
    return found


class RssPeak:
    """Peak resident memory of this process and, separately, of its worker processes.

    Sampled by a separate process: a sampler thread in this one held the GIL for a
    millisecond or two every 20 ms (0.2-0.3 s of CPU per benchmark phase), and the window
    being measured waited for it.
    """

    def __init__(self) -> None:
        self.gui = self.worker = 0
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.gui = self.worker = 0
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(os.getpid())],  # runs _sample_until_eof below
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> str:
        if self._proc is not None:
            out, _ = self._proc.communicate("", timeout=30)  # EOF on stdin: report and exit
            gui, worker = out.split()
            self.gui, self.worker = int(gui), int(worker)
            self._proc = None
        return f"peak RSS GUI {self.gui / 2**20:.0f} MiB, worker {self.worker / 2**20:.0f} MiB"

    @property
    def peak(self) -> int:
        """The larger of the two peaks, in bytes (the memory goal is per process)."""
        return max(self.gui, self.worker)


def _sample_until_eof(pid: str) -> None:
    """The sampler process: every 20 ms the resident bytes of process ``pid`` and of each of
    its descendants (the workers, a fork server) but this one, until standard input closes;
    then "GUI_PEAK WORKER_PEAK"."""
    import threading

    me = os.getpid()  # this sampler is a child too: not a worker
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    gui = worker = 0
    while True:
        gui = max(gui, rss_now(pid))
        for child in descendant_pids(pid):
            if child != me:
                worker = max(worker, rss_now(child))
        if done.wait(0.02):
            break
    print(gui, worker, flush=True)


if __name__ == "__main__":
    _sample_until_eof(sys.argv[1])
