"""The step-wise full SVD's cost model and its progress reports.

Estimated seconds of each step at this class of machine's rates (:func:`estimate_full_cost`,
:func:`topk_cost`, and the per-step costs the solver announces), and :class:`StepProgress`,
which turns named steps of estimated cost into progress fractions, messages, an ETA and the
cancel checks between steps.
"""

from __future__ import annotations

import time

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.jobs import JobControl

__all__ = ["StepProgress", "estimate_full_cost", "topk_cost"]

# Seconds per unit of work on this class of machine (2 cores, OpenBLAS; DESIGN.md): they split
# the progress bar, give a first ETA before any step has been timed, and (estimate_full_cost)
# decide when an image is too big for a full SVD (engine/image/factors, cli compress).
_RATE_GEMM = 3.0e-12  # per multiply-add of a float32 GEMM
_RATE_EIGH = 4.5e-11  # per q³ of a q×q float32 syevd
_RATE_TOPK = 5.0e-10  # per m·n·k of PROPACK


def estimate_full_cost(m: int, n: int, top: int = 64) -> float:
    """Estimated seconds of :func:`.fast_full_svd` on an m×n channel (idle 2-core machine)."""
    p, q = min(m, n), max(m, n)
    return (
        _RATE_TOPK * p * q * top
        + _gemm_cost(6 * p, q, top)
        + _gemm_cost(p, p, q) * 4.5  # Gram and vectors of the first two levels
        + _RATE_EIGH * p**3 * 1.8  # eigh of level 1 and of a typical level 2 (0.9 p)
    )


def topk_cost(m: int, n: int, k: int) -> float:
    """Estimated seconds of PROPACK's top k of an m×n channel."""
    return _RATE_TOPK * m * n * k * (1 + k / 256)


class StepProgress:
    """Turns named steps of known estimated cost into progress fractions, messages and an ETA.

    ``job`` is a JobContext-like object (``cancelled()``, ``report(fraction, message)``) or
    None; ``span`` = (start, end) is the part of the job's bar this computation covers;
    ``label`` prefixes every message (e.g. "channel G, 2 of 3").
    """

    def __init__(
        self,
        job: JobControl | None = None,
        span: tuple[float, float] = (0.0, 1.0),
        label: str = "",
    ) -> None:
        self.job = job
        self.span = span
        self.label = label
        self.total = 1.0
        self.done = 0.0
        self.t0 = time.perf_counter()
        self.seconds_per_unit: float | None = None  # measured speed against the estimate

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled (call between steps)."""
        if self.check_flag():
            raise Cancelled()

    def check_flag(self) -> bool:
        """Whether the job was cancelled (for solvers that take a ``should_cancel``)."""
        return self.job is not None and bool(self.job.cancelled())

    def plan(self, total: float) -> None:
        """Set the estimated total cost (seconds at the nominal rates) still to come + done."""
        self.total = max(total, self.done + 1e-9)

    def step(self, name: str, cost: float) -> None:
        """Announce the next step (estimated ``cost``), after a cancel check."""
        self.check()
        if self.job is None:
            return
        frac, msg = self.announce(name, self.label)
        self.job.report(frac, msg)
        self._pending = cost

    def announce(self, name: str, label: str) -> tuple[float, str]:
        """The fraction and message to report for step ``name`` of ``label`` now."""
        a, b = self.span
        # Never backwards, and short of the end until the end: the plan is an estimate.
        self._shown = max(getattr(self, "_shown", 0.0), min(0.99, self.done / self.total))
        frac = a + (b - a) * self._shown
        msg = f"{label}: {name}" if label else name
        eta = self.eta()
        if eta is not None:
            msg += f" · about {eta:.0f} s left" if eta >= 1.5 else " · about a second left"
        return frac, msg

    def eta(self) -> float | None:
        """Seconds still to go at the speed measured so far (None before the first step)."""
        elapsed = time.perf_counter() - self.t0
        if self.done <= 0 or elapsed < 0.05:
            return None
        return (self.total - self.done) * elapsed / self.done

    def finish_step(self) -> None:
        self.done += getattr(self, "_pending", 0.0)
        self._pending = 0.0


def _gemm_cost(a: int, b: int, c: int) -> float:
    return _RATE_GEMM * a * b * c
