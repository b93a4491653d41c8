"""Threads for the job runner, started once and reused: no ``Thread.start()`` per job.

``threading.Thread.start()`` returns only once the new thread has run its first Python code,
which needs the GIL and a free core.  While a full SVD kept both cores busy, the GUI thread
waited there 5-30 ms per job it submitted (the metrics and the sweep after every rank change,
the watcher of each process job, the spawner of each spare): the stall probe
(``tests/benchmarks/probe_app_stalls.py``) found ``JobRunner._start_thread`` in the GUI
thread's samples of 57-143 ms stalls.  A thread that has finished its job waits here for the
next one instead of ending; handing it a job is a queue ``put``, which never waits.

A :class:`Task` answers ``is_alive()`` and ``join()`` like the ``Thread`` it replaces, for the
job it stands for (not for the thread, which lives on).  A thread takes the task's name while
it runs it (stack samples and tests tell the jobs apart by it).  At most :data:`MAX_IDLE`
threads wait, each for :data:`IDLE_SECONDS`, then end.  No Qt here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["IDLE_NAME", "IDLE_SECONDS", "MAX_IDLE", "Task", "ThreadPool"]

MAX_IDLE = 6  # a photo's jobs at once: svd watcher, preview, metrics, sweep, codecs, spawner
IDLE_SECONDS = 60.0
IDLE_NAME = "svdstudio-idle"

_Item = tuple[Callable[[], object], "Task"] | None


class Task:
    """One function run by a :class:`ThreadPool`: alive until it has returned or raised."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._done = threading.Event()

    def is_alive(self) -> bool:
        return not self._done.is_set()

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)


class ThreadPool:
    """Daemon threads that run one function after another (see the module docstring)."""

    def __init__(self, max_idle: int = MAX_IDLE, idle_seconds: float = IDLE_SECONDS) -> None:
        self._max_idle = max_idle
        self._idle_seconds = idle_seconds
        self._idle: list[queue.SimpleQueue[_Item]] = []  # inboxes of the waiting threads
        self._lock = threading.Lock()
        self.threads_started = 0  # for tests

    def start(self, target: Callable[[], object], name: str) -> Task:
        """Run ``target()`` on a waiting thread, or on a new one if none waits."""
        task = Task(name)
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self.threads_started += 1  # under the lock: two threads may start at once
        if inbox is not None:
            inbox.put((target, task))
            return task
        inbox = queue.SimpleQueue()
        inbox.put((target, task))
        threading.Thread(target=self._serve, args=(inbox,), name=name, daemon=True).start()
        return task

    def idle_threads(self) -> int:
        with self._lock:
            return len(self._idle)

    def _serve(self, inbox: queue.SimpleQueue[_Item]) -> None:
        me = threading.current_thread()
        item: _Item = inbox.get()
        while item is not None:
            target, task = item
            me.name = task.name
            try:
                target()
            finally:
                task._done.set()
                # Nothing of the job stays referenced while the thread waits (its arrays).
                del target, task, item
                me.name = IDLE_NAME
            item = self._next(inbox)

    def _next(self, inbox: queue.SimpleQueue[_Item]) -> _Item:
        with self._lock:
            if len(self._idle) >= self._max_idle:
                return None
            self._idle.append(inbox)
        try:
            return inbox.get(timeout=self._idle_seconds)
        except queue.Empty:
            with self._lock:
                if inbox in self._idle:
                    self._idle.remove(inbox)
                    return None
            return inbox.get()  # taken by start() just as the wait ended: its job is coming
