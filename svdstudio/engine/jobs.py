"""What a long engine computation is handed to report progress and notice a cancel.

The job runner passes an object of this shape (``svdstudio.worker_process.JobContext``) as the
``job`` argument; engine code calls ``job.cancelled()`` between steps (raising
:class:`~svdstudio.engine.decomposition.Cancelled`) and ``job.report(fraction, message)``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["JobControl"]


class JobControl(Protocol):
    """Progress and cancel, as seen from the engine."""

    def cancelled(self) -> bool:
        """True once the job was cancelled or superseded: stop at the next step."""
        ...

    def report(self, fraction: float, message: str = "") -> None:
        """Progress ``fraction`` in 0..1 (or -1 when unknown) and what is being done."""
        ...
