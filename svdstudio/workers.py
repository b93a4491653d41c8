"""Background jobs: the one place that owns threads and processes.

Every tab submits work through a :class:`JobRunner`.  The rules (after napari's layer slicer and
Orange's concurrent helpers):

* **Latest request wins.**  Jobs run on named channels ("matrix.svd", "image.svd", ...).  Each job
  gets an increasing id; submitting on a channel cancels the channel's previous job, and a result
  whose id is no longer current is dropped, never shown.
* **Cancellation that really stops.**  A LAPACK call cannot be interrupted inside a thread, so a
  big job runs in a spawned worker process that is killed on cancel.  Small jobs run on a thread;
  a thread job may poll ``job.cancelled()`` between steps.
* **Errors are never silent.**  A worker catches everything and the runner emits ``failed`` with
  one plain sentence and, for unexpected errors, the traceback as details.

Workers receive copies of their inputs and emit plain data; they never touch widgets.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from svdstudio.job_threads import Task, ThreadPool
from svdstudio.shared_buffers import lower_thread_priority, receive_message, send_message
from svdstudio.worker_process import (
    JobContext,
    describe_error,
    is_cancel,
    process_main,
    wants_job,
)

__all__ = ["AUTO_PROCESS_ELEMENTS", "JobContext", "JobRunner"]

# Above this many array elements in a job's arguments, a picklable job runs in a worker process
# (a 2000×2000 SVD in a thread can hold the GIL for about a second with scipy).
AUTO_PROCESS_ELEMENTS = 250_000
# The threads of every runner's jobs and watchers, reused (see job_threads); they run at
# BACKGROUND_NICE.  The spawners have their own, never niced: a worker process inherits its
# spawner's niceness, and a worker's SVD must not lose to every other program.
_THREADS = ThreadPool()
_SPAWNERS = ThreadPool(max_idle=1)
# Set (to anything) to start every worker process afresh ("spawn") instead of from the server.
SPAWN_ENV = "SVDSTUDIO_SPAWN_WORKERS"
# What the fork server imports once, so that no worker pays for it: the worker's own module,
# numpy, SciPy's PROPACK and the engine (0.7 s of a core per spawned worker, 1.4 s busy), and
# the program's main module, which every worker imports again as ``__mp_main__`` (for the
# ``svdstudio`` launcher: svdstudio.app, and with it Qt).
_PRELOAD = [
    "__main__",
    "svdstudio.worker_process",
    "scipy.sparse.linalg",
    "svdstudio.engine",
    "svdstudio.engine.image",
]


def _process_context() -> Any:
    """Where worker processes come from: a fork server on Linux, else spawned interpreters.

    A spawned worker starts a new interpreter and imports numpy, SciPy and the engine before it
    can take a job: 0.7 s of a core, at the priority of the job it is kept for, and a spare
    was started again after every process job (on a busy 2-core machine it stretched the
    decoding of a photo opened meanwhile from 0.25 s to 0.75 s).  The fork server (started
    with the first spare) imports them once and forks each worker from itself: no threads of
    its own, none of the GUI's memory.  A frozen bundle, or ``SVDSTUDIO_SPAWN_WORKERS`` set,
    keeps spawning.
    """
    usable = (
        sys.platform.startswith("linux")
        and not getattr(sys, "frozen", False)
        and not os.environ.get(SPAWN_ENV)
        and "forkserver" in multiprocessing.get_all_start_methods()
    )
    if not usable:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _count_elements(values: Any) -> int:
    total = 0
    for v in values:
        if isinstance(v, np.ndarray):
            total += v.size
        elif isinstance(v, list | tuple):
            total += _count_elements(v)
    return total


def _picklable_function(fn: Callable[..., Any]) -> bool:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    return module not in (None, "__main__") and "<" not in qualname


@dataclass
class _Job:
    channel: str
    job_id: int
    description: str
    on_result: Callable[[Any], None] | None
    on_error: Callable[[str, str], None] | None
    cancel_event: Any
    on_partial: Callable[[Any], None] | None = None
    thread: Task | None = None
    process: Any = None
    conn: Any = None
    done: bool = False
    extra: dict = field(default_factory=dict)


class _Bridge(QObject):
    """Carries messages from worker threads to the GUI thread (queued connection)."""

    message = Signal(object)


class JobRunner(QObject):
    """Runs jobs off the GUI thread; latest request per channel wins."""

    started = Signal(str, int, str)
    progress = Signal(str, int, float, str)
    partial_ready = Signal(str, int, object)  # an intermediate result; the job goes on
    result_ready = Signal(str, int, object)
    failed = Signal(str, int, str, str)
    cancelled = Signal(str, int)
    finished = Signal(str, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._current: dict[str, _Job] = {}
        self._all: dict[int, _Job] = {}
        self._bridge = _Bridge()
        self._bridge.message.connect(self._on_message)
        self._mp = _process_context()
        self._spare: tuple[Any, Any, Any] | None = None  # (process, connection, cancel event)
        self._spawners: dict[int, Task] = {}  # id(process) → the thread starting it
        self._closed = False

    # ----------------------------------------------------------------- public API
    def submit(
        self,
        channel: str,
        fn: Callable[..., Any],
        *args: Any,
        description: str = "",
        in_process: bool | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> int:
        """Start ``fn(*args, **kwargs)`` on ``channel``, cancelling that channel's previous job.

        ``in_process`` None chooses a worker process for a module-level function whose array
        arguments exceed :data:`AUTO_PROCESS_ELEMENTS` elements.  ``on_partial`` receives
        what the job hands over with ``job.partial(value)`` before its result (same
        latest-request-wins rule).  Returns the job id.
        """
        if self._closed:
            raise RuntimeError("JobRunner has been shut down")
        self.cancel(channel)
        self._all = {i: j for i, j in self._all.items() if not j.done or self._alive(j)}
        job_id = next(self._ids)
        if in_process is None:
            big = _count_elements(list(args) + list(kwargs.values())) >= AUTO_PROCESS_ELEMENTS
            in_process = big and _picklable_function(fn)
        cancel_event = None if in_process else threading.Event()
        job = _Job(channel, job_id, description, on_result, on_error, cancel_event, on_partial)
        self._current[channel] = job
        self._all[job_id] = job
        self.started.emit(channel, job_id, description)
        if in_process:
            self._start_process(job, fn, args, kwargs)
        else:
            self._start_thread(job, fn, args, kwargs)
        return job_id

    def cancel(self, channel: str) -> None:
        """Cancel the channel's current job (if any): its result will never be applied."""
        job = self._current.pop(channel, None)
        if job is None or job.done:
            return
        job.cancel_event.set()
        if job.process is not None:
            # Kill, and let the watcher thread reap it: a worker holding a gigabyte took
            # 20-110 ms to exit on a busy machine, and the GUI thread waited for it.
            self._kill(job, wait=False)
        self._finish(job, "cancelled")

    def cancel_all(self) -> None:
        """Cancel every running job."""
        for channel in list(self._current):
            self.cancel(channel)

    def current_id(self, channel: str) -> int | None:
        """Id of the channel's current job, or None."""
        job = self._current.get(channel)
        return job.job_id if job is not None else None

    def is_running(self, channel: str | None = None) -> bool:
        """Whether a job (on ``channel``, or on any channel) is still running."""
        jobs = [self._current.get(channel)] if channel else list(self._current.values())
        return any(j is not None and not j.done for j in jobs)

    def live_workers(self) -> int:
        """Threads and processes of this runner still alive (for tests and shutdown)."""
        alive = 0
        for job in self._all.values():
            if job.thread is not None and job.thread.is_alive():
                alive += 1
            if job.process is not None and job.process.is_alive():
                alive += 1
        return alive

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel everything, kill worker processes and wait for threads (up to ``timeout`` s)."""
        self._closed = True
        self.cancel_all()
        if self._spare is not None:
            spare = self._spare[0]
            self._spare = None
            if self._spawned(spare, timeout):
                if spare.is_alive():
                    spare.kill()
                spare.join(2.0)
        for job in list(self._all.values()):
            if job.process is not None and self._spawned(job.process, timeout):
                self._kill(job)
            if job.thread is not None:
                job.thread.join(timeout)
        self._all = {j.job_id: j for j in self._all.values() if self._alive(j)}

    # ----------------------------------------------------------------- threads
    def _start_thread(self, job: _Job, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        post = self._bridge.message.emit
        if wants_job(fn):
            kwargs = dict(
                kwargs,
                job=JobContext(
                    job.cancel_event,
                    lambda f, m: post(("progress", job.job_id, f, m)),
                    lambda v: post(("partial", job.job_id, v)),
                ),
            )

        def run() -> None:
            lower_thread_priority()  # the GUI thread first (shared_buffers.BACKGROUND_NICE)
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # everything must reach the GUI
                if is_cancel(exc):
                    post(("cancelled", job.job_id))
                else:
                    post(("error", job.job_id, *describe_error(exc)))
            else:
                post(("result", job.job_id, value))

        job.thread = _THREADS.start(run, f"svdstudio-{job.channel}")

    # ----------------------------------------------------------------- processes
    def warm_up(self) -> None:
        """Start a spare worker process now, so that the next process job starts at once.

        The process is started by a thread: spawning it (fork, exec, the start-up data sent)
        held the GUI thread 20-30 ms, the main part of a stall when a photo is opened.
        """
        if self._closed or self._spare_coming():
            return
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        cancel_event = self._mp.Event()
        proc = self._mp.Process(
            target=process_main,
            args=(child_conn, cancel_event, os.getpid()),
            name="svdstudio-worker",
            daemon=True,
        )

        def spawn() -> None:
            try:
                proc.start()
            finally:
                child_conn.close()  # the child has its own (or there is no child)

        self._spawners[id(proc)] = _SPAWNERS.start(spawn, "svdstudio-spawn")
        self._spare = (proc, parent_conn, cancel_event)

    def _spawned(self, proc: Any, timeout: float | None = None) -> bool:
        """Wait until ``proc``'s spawning thread is done; True if the process was started."""
        spawner = self._spawners.get(id(proc))
        if spawner is not None:
            spawner.join(timeout)
            if spawner.is_alive():
                return False
            self._spawners.pop(id(proc), None)
        return getattr(proc, "_popen", None) is not None

    def spare_alive(self) -> bool:
        """Whether an idle spare worker process is waiting (started, not yet given a job)."""
        return self._spare is not None and self._spare[0].is_alive()

    def _spare_coming(self) -> bool:
        """Whether a spare is waiting or being started (a job may take it either way)."""
        if self._spare is None:
            return False
        proc = self._spare[0]
        spawner = self._spawners.get(id(proc))
        return proc.is_alive() or (spawner is not None and spawner.is_alive())

    def _start_process(self, job: _Job, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        if not self._spare_coming():
            self.warm_up()
        assert self._spare is not None
        proc, parent_conn, job.cancel_event = self._spare
        self._spare = None
        job.process, job.conn = proc, parent_conn
        # The next spare is started when this job ends (_finish), not now: its start-up and
        # imports (spawned: 0.4 s of a core with a warm disk, 0.8 s cold) took a core from the job
        # that had just started, on a machine of two (the full SVD of a photo runs on both).
        post = self._bridge.message.emit

        def watch() -> None:
            # Send the job, then forward everything the process sends; EOF means it ended.
            lower_thread_priority()
            final = False
            if not self._spawned(proc):
                parent_conn.close()
                if not job.cancel_event.is_set():
                    post(("error", job.job_id, "The worker process could not be started.", ""))
                return
            if job.cancel_event.is_set():
                proc.kill()  # cancelled while it was being started: the GUI could not kill it
            try:
                # Big arrays go through shared memory: pickling a 50 MB argument in band held
                # the GIL (and so the window) for about 0.5 s on a busy machine.
                send_message(parent_conn, (fn, args, kwargs))
                while True:
                    # Big buffers arrive mapped, not copied (shared_buffers): receiving 240 MiB
                    # of factors through the pipe took 0.9-1.9 s of this thread.
                    msg = receive_message(parent_conn)
                    post((msg[0], job.job_id, *msg[1:]))
                    if msg[0] not in ("progress", "partial"):
                        final = True
                        break
            except (EOFError, ConnectionError):
                pass
            except Exception as exc:  # an argument that cannot be pickled, a lost buffer, ...
                if not job.cancel_event.is_set():
                    post(("error", job.job_id, *describe_error(exc)))
                final = True
                proc.kill()
            proc.join()
            parent_conn.close()  # with it any shared buffer still in flight
            if not final and not job.cancel_event.is_set():
                post(
                    (
                        "error",
                        job.job_id,
                        f"The worker process stopped unexpectedly (exit code {proc.exitcode}).",
                        "The computation may have run out of memory.",
                    )
                )

        job.thread = _THREADS.start(watch, f"svdstudio-watch-{job.channel}")

    def _kill(self, job: _Job, *, wait: bool = True) -> None:
        proc = job.process
        if proc is not None and proc.is_alive():
            proc.kill()
            if wait:
                proc.join(2.0)

    @staticmethod
    def _alive(job: _Job) -> bool:
        return (job.thread is not None and job.thread.is_alive()) or (
            job.process is not None and job.process.is_alive()
        )

    # ----------------------------------------------------------------- GUI-thread side
    @Slot(object)
    def _on_message(self, msg: tuple) -> None:
        kind, job_id = msg[0], msg[1]
        job = self._all.get(job_id)
        if job is None or job.done:
            return  # superseded or cancelled: drop it
        current = self._current.get(job.channel)
        if current is not job:
            return
        if kind == "progress":
            self.progress.emit(job.channel, job_id, float(msg[2]), str(msg[3]))
            return
        if kind == "partial":
            self.partial_ready.emit(job.channel, job_id, msg[2])
            if job.on_partial is not None:
                self._call_back(job, job.on_partial, msg[2])
            return
        self._current.pop(job.channel, None)
        if kind == "result":
            self._finish(job, "result", msg[2])
        elif kind == "error":
            self._finish(job, "error", (msg[2], msg[3]))
        else:
            self._finish(job, "cancelled")

    def _finish(self, job: _Job, outcome: str, payload: Any = None) -> None:
        job.done = True
        channel, job_id = job.channel, job.job_id
        if outcome == "result":
            self.result_ready.emit(channel, job_id, payload)
            if job.on_result is not None:
                self._call_back(job, job.on_result, payload)
        elif outcome == "error":
            message, details = payload
            self.failed.emit(channel, job_id, message, details)
            if job.on_error is not None:
                self._call_back(job, job.on_error, message, details)
        else:
            self.cancelled.emit(channel, job_id)
        self.finished.emit(channel, job_id)
        if not self._alive(job):
            self._all.pop(job_id, None)
        if job.process is not None and not self._closed:
            self.warm_up()  # the next process job finds a warm process too

    def _call_back(self, job: _Job, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a broken view must not kill the runner
            message, details = describe_error(exc)
            self.failed.emit(job.channel, job.job_id, message, details)
