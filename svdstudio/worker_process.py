"""Qt-free half of the job runner: what runs inside a worker thread or a spawned process.

Kept apart from :mod:`svdstudio.workers` so that a worker process imports numpy and the job's own
module, not Qt.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import traceback
from collections.abc import Callable
from typing import Any

from svdstudio.shared_buffers import receive_message, send_message, watch_parent

__all__ = [
    "JobContext",
    "describe_error",
    "is_cancel",
    "process_main",
    "wants_job",
]


class JobContext:
    """Handed to a job function that has a parameter named ``job``."""

    def __init__(
        self,
        cancel_event: Any,
        report: Callable[[float, str], None],
        partial: Callable[[Any], None] | None = None,
    ) -> None:
        self._cancel_event = cancel_event
        self._report = report
        self._partial = partial

    def partial(self, value: Any) -> None:
        """Hand over an intermediate result (e.g. the top triplets before the full SVD).

        It reaches the runner's ``partial_ready`` signal and the job's ``on_partial``; the job
        goes on.  Plain data only, as for the final result.
        """
        if self._partial is not None:
            self._partial(value)

    def cancelled(self) -> bool:
        """True once the job was cancelled or superseded: stop at the next step."""
        return self._cancel_event.is_set()

    def report(self, fraction: float, message: str = "") -> None:
        """Report progress: ``fraction`` in 0..1, or -1 when unknown."""
        self._report(float(fraction), str(message))


def wants_job(fn: Callable[..., Any]) -> bool:
    try:
        return "job" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def describe_error(exc: BaseException) -> tuple[str, str]:
    """One plain sentence for the user, and details (a traceback) for unexpected errors."""
    if isinstance(exc, ValueError):
        return str(exc) or type(exc).__name__, ""
    if isinstance(exc, MemoryError):
        return "Not enough memory for this computation; try a smaller input.", ""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"Unexpected error: {type(exc).__name__}: {exc}", details


def is_cancel(exc: BaseException) -> bool:
    # engine.Cancelled, without importing the engine here.
    return type(exc).__name__ == "Cancelled"


def process_main(conn: Any, cancel: Any, gui_pid: int | None = None) -> None:
    """Entry point of a worker process: receive the job, run it, send one final message.

    The job (function and arguments) comes through ``conn`` rather than as process arguments,
    so that starting the process never blocks the GUI thread on a large pickle.  Big arrays
    both ways go through shared memory (:mod:`svdstudio.shared_buffers`).
    """
    # A GUI killed takes its workers along (``gui_pid``: the GUI's, when it is not the parent:
    # a fork server's worker).
    watch_parent(os.getppid() if gui_pid is None else gui_pid)
    try:
        # A spare process warms up while it waits for a job: the engine's imports are the slow
        # part of a spawn (about 0.7 s), and they are done before the user asks for anything.
        # The image engine and PROPACK's module too: the image SVD is the usual job, and
        # importing them after it arrived took another 0.7 s on a busy machine.
        import scipy.sparse.linalg  # noqa: F401

        import svdstudio.engine
        import svdstudio.engine.image  # noqa: F401

        fn, args, kwargs = receive_message(conn)  # big arrays arrive in shared memory
    except (EOFError, OSError, KeyboardInterrupt):
        conn.close()  # the app went away before giving this spare a job: leave quietly
        return
    except BaseException as exc:  # e.g. the job's module cannot be imported here
        _send_quietly(conn, ("error", *describe_error(exc)))
        conn.close()
        return
    try:
        if wants_job(fn):
            kwargs = dict(
                kwargs,
                job=JobContext(
                    cancel,
                    lambda f, m: conn.send(("progress", f, m)),
                    lambda v: send_message(conn, ("partial", v)),
                ),
            )
        value = fn(*args, **kwargs)
        _send_quietly(conn, ("result", value))
    except BaseException as exc:  # everything must reach the GUI
        if is_cancel(exc):
            _send_quietly(conn, ("cancelled",))
        else:
            _send_quietly(conn, ("error", *describe_error(exc)))
    finally:
        conn.close()


def _send_quietly(conn: Any, message: tuple) -> None:
    """Send the final message; if the app has gone away meanwhile there is no one to tell."""
    with contextlib.suppress(BrokenPipeError, EOFError, ConnectionResetError):
        send_message(conn, message)
