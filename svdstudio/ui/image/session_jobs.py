"""The Image session's job bookkeeping: submit with its state, cancel, what a cancel keeps.

A mixin of :class:`~svdstudio.ui.image.session.ImageSession` (its state and signals are the
session's).  Every job goes through :meth:`JobBookkeeping._submit`, which remembers the job
per channel; the end of a job (result, failure, the user's cancel) updates the state, and a
cancel is remembered so that ``resume`` can compute what it left out.  Failures are
reported by the main window (``runner.failed``); here they only change the state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from svdstudio.ui.image.session import ImageSession

    _Base = ImageSession
else:
    _Base = object

__all__ = ["CHANNELS", "JobBookkeeping"]

# Every channel the session submits on (a new image or colour mode cancels them all).
CHANNELS = (
    "image.preview",
    "image.svd",
    "image.metrics",
    "image.sweep",
    "image.codecs",
    "image.target",
    "image.crop",
)


class JobBookkeeping(_Base):
    """Submitting and cancelling the session's jobs (see the module docstring)."""

    def _submit(
        self,
        channel: str,
        fn: Callable[..., object],
        *args: object,
        on_result: Callable[[object], object],
        on_error: Callable[[str, str], object] | None = None,
        **kwargs: object,
    ) -> None:
        """Submit on ``channel`` and remember the job; its end updates the state."""
        self._jobs.pop(channel, None)  # the replaced job's cancel is ours, not the user's
        self._cancelled.discard(channel)
        self._failed.pop(channel, None)

        def done(value: object) -> None:
            self._jobs.pop(channel, None)
            on_result(value)

        def failed(message: str, details: str) -> None:
            # The main window reports the failure (runner.failed); here only the state.
            self._jobs.pop(channel, None)
            self._failed[channel] = message
            if on_error is not None:
                on_error(message, details)
            self.jobs_changed.emit()

        job_id = self.runner.submit(channel, fn, *args, on_result=done, on_error=failed, **kwargs)
        self._jobs[channel] = job_id

    def _cancel(self, channel: str) -> None:
        self._jobs.pop(channel, None)
        self.runner.cancel(channel)

    def _on_cancelled(self, channel: str, job_id: int) -> None:
        if self._jobs.get(channel) != job_id:
            return  # not ours, or replaced by this session
        del self._jobs[channel]
        if channel == "image.svd":
            self._cache.release()  # its factors will not come (resume reserves again)
        self._codecs_wait = False  # a cancel stops what was queued too (resume restarts it)
        if channel != "image.crop":  # zoom detail is rebuilt on the next view change
            self._cancelled.add(channel)
            self.status.emit(f"Cancelled: {self._cancel_sentence()}")
        self.jobs_changed.emit()

    def _cancel_sentence(self) -> str:
        if {"image.svd", "image.preview"} & self._cancelled:
            f = self._factors
            if f is not None and f.downsample_factor == 1:
                have = (
                    f"the top {f.max_rank} of {f.full_rank} full-resolution ranks"
                    if f.max_rank < f.full_rank
                    else "full-resolution factors with the last vectors approximate"
                )
                return f"keeping {have}; Compute the rest finishes the full-resolution SVD."
            if f is not None:
                return (
                    f"keeping the preview computed on a {f.width}×{f.height} copy; "
                    "Compute the rest finishes the full-resolution SVD."
                )
            return "no factors yet; Compute the rest starts the SVD again."
        return "some figures were not computed; Compute the rest finishes them."

    def cancel(self) -> None:
        """Stop every job of this session (as the user's Cancel would)."""
        for channel in list(self._jobs):
            self.runner.cancel(channel)
