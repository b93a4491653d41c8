"""The Network session's job plumbing: one job in flight per channel, and the long jobs by kind.

Helpers composed by :class:`~svdstudio.ui.network.session.NetworkSession`; they know channels
and the job runner, not networks.  :class:`OneInFlight` keeps one scoring job running per
channel and only the newest request waiting behind it (a fast drag never piles up threads).
:class:`LongJobs` names the long channels by kind (sweep, budget, latency, factors), cancels
them and relays their start, end and progress as that kind.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore

from svdstudio.workers import JobRunner

__all__ = ["LONG_CHANNELS", "LongJobs", "OneInFlight"]

# The long jobs' channels and the kind each is shown as.
LONG_CHANNELS = {
    "network.sweep": "sweep",
    "network.budget": "budget",
    "network.latency": "latency",
    "network.factors": "factors",
}


class OneInFlight:
    """One job at a time on ``channel``; while it runs only the newest request waits."""

    def __init__(self, runner: JobRunner, channel: str) -> None:
        self._runner = runner
        self.channel = channel
        self._busy: int | None = None
        self._pending: tuple | None = None
        runner.finished.connect(self._on_finished)

    def request(self, fn: Callable, args: tuple, on_result: Callable, description: str) -> None:
        if self._busy is not None:
            self._pending = (fn, args, on_result, description)
            return
        self._start(fn, args, on_result, description)

    def _start(self, fn: Callable, args: tuple, on_result: Callable, description: str) -> None:
        self._busy = self._runner.submit(
            self.channel, fn, *args, description=description, on_result=on_result
        )

    def _on_finished(self, channel: str, job_id: int) -> None:
        if channel != self.channel or job_id != self._busy:
            return
        self._busy = None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start(*pending)

    def reset(self) -> None:
        """Forget the waiting request and cancel the running one."""
        self._pending = None
        self._runner.cancel(self.channel)
        self._busy = None


class LongJobs(QtCore.QObject):
    """The long channels (:data:`LONG_CHANNELS`): cancelled, queried and relayed by kind.

    ``job_state(kind, running)`` and ``job_progress(kind, fraction)`` are called as the
    runner starts, ends and advances a long job.  A child of the session it reports to: its
    connections to the runner end with it.
    """

    def __init__(
        self,
        runner: JobRunner,
        job_state: Callable[[str, bool], object],
        job_progress: Callable[[str, float], object],
        parent: QtCore.QObject,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._job_state = job_state
        self._job_progress = job_progress
        runner.started.connect(self._on_job_started)
        runner.finished.connect(self._on_job_finished)
        runner.progress.connect(self._on_job_progress)

    def cancel(self, kind: str) -> None:
        """Stop the long job of ``kind``."""
        for channel, k in LONG_CHANNELS.items():
            if k == kind:
                self._runner.cancel(channel)

    def cancel_all(self) -> None:
        """Stop every long job."""
        for channel in LONG_CHANNELS:
            self._runner.cancel(channel)

    def running(self, kind: str) -> bool:
        return any(self._runner.is_running(c) for c, k in LONG_CHANNELS.items() if k == kind)

    def _on_job_started(self, channel: str, _job_id: int, _description: str) -> None:
        if channel in LONG_CHANNELS:
            self._job_state(LONG_CHANNELS[channel], True)

    def _on_job_finished(self, channel: str, _job_id: int) -> None:
        if channel in LONG_CHANNELS and not self._runner.is_running(channel):
            self._job_state(LONG_CHANNELS[channel], False)

    def _on_job_progress(self, channel: str, _job_id: int, fraction: float, _msg: str) -> None:
        if channel in LONG_CHANNELS:
            self._job_progress(LONG_CHANNELS[channel], fraction)
