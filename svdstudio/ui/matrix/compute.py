"""The Matrix tab's decomposition: every valid edit submits one SVD of the matrix.

A mixin of :class:`~svdstudio.ui.matrix.tab.MatrixTab` (its model, runner, results panel and
signals are the tab's).  Where the SVD runs (at once without a runner, in a thread, in a
worker process for a big matrix, step-wise with the singular values first for a bigger one),
when (after a pause in typing for a big matrix), and what the results say meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from svdstudio.engine import decompose
from svdstudio.engine.stepwise import (
    STEPWISE_MIN_SIZE,
    decompose_stepwise,
    estimate_seconds,
    values_only_result,
)
from svdstudio.ui.matrix.jobs import SVD_CHANNEL

if TYPE_CHECKING:
    from svdstudio.ui.matrix.tab import MatrixTab

    _Base = MatrixTab
else:
    _Base = object

__all__ = ["BIG_EDIT_DELAY_MS", "PROCESS_ELEMENTS", "Decomposition"]

# scipy's SVD holds the GIL in a thread: measured here, a 500×500 froze the GUI for its whole
# run (≈ 1.2 s under load), a worker process for ≈ 66 ms.  From about 300×300 up, pay the
# process start (≈ 0.8 s) instead, and wait for a pause in typing before starting it.
PROCESS_ELEMENTS = 90_000
BIG_EDIT_DELAY_MS = 300


class Decomposition(_Base):
    """Submitting the matrix's SVD and showing what comes back (see the module docstring)."""

    def _schedule(self) -> None:
        m, n = self._model.matrix_shape()
        self._compute_later.trigger(BIG_EDIT_DELAY_MS if m * n >= PROCESS_ELEMENTS else 0)

    def _compute(self) -> None:
        bad = self._model.first_invalid()
        if bad is not None:
            if self._runner is not None:
                if self._forget_long_job(SVD_CHANNEL):  # the banner says why
                    self.progress.stop()
                self._runner.cancel(SVD_CHANNEL)
            r, c, why = bad
            n_bad = len(self._model.invalid_cells())
            more = f" ({n_bad} invalid cells)" if n_bad > 1 else ""
            msg = f"Results wait: cell ({r + 1}, {c + 1}) is not a number{more} — {why}."
            self.results.set_waiting(msg)
            self.status_message.emit(msg)
            self._waiting = True
            return
        if self._waiting:  # an edit or an undo fixed the cells: the old sentence is stale
            self._waiting = False
            self.status_message.emit("Every cell is a number again; the results are current.")
        a = self._model.snapshot()  # never written again: the job's own, without a copy
        m, n = a.shape
        if self._runner is None:
            try:
                res = decompose(a)
            except ValueError as exc:
                self._on_error(str(exc))
                return
            self.results.set_result(res, a)
            return
        stepwise = min(m, n) >= STEPWISE_MIN_SIZE
        if a.size >= PROCESS_ELEMENTS and not stepwise:
            self.results.set_banner(f"Computing the SVD of the {m}×{n} matrix…")
        what = f"SVD of the {m}×{n} matrix"
        self._forget_long_job(SVD_CHANNEL)  # replaced, not cancelled: the new job's row takes over
        try:
            job_id = self._runner.submit(
                SVD_CHANNEL,
                decompose_stepwise if stepwise else decompose,
                a,
                description=what,
                # A process: LAPACK cannot be stopped inside a thread, a process can be killed.
                in_process=a.size >= PROCESS_ELEMENTS,
                on_result=lambda res, a=a: self._on_svd_result(res, a),
                on_partial=(lambda values, a=a: self._on_values(values, a)) if stepwise else None,
                on_error=self._on_error,
            )
        except RuntimeError:
            # The window closed (its runner is shut down) while an edit waited for the
            # typing pause: nothing is left to show the result in.
            return
        if stepwise:
            self._long_job = (SVD_CHANNEL, job_id)
            self.progress.start(what, estimate_seconds((m, n)))
            previous = " The results below are of the previous matrix."
            self.results.set_banner(
                f"Computing the SVD of the {m}×{n} matrix: the singular values come first, "
                "then U and Vᵀ." + (previous if self.results.state() != "none" else "")
            )

    def _on_values(self, values, a: np.ndarray) -> None:
        """The step-wise SVD's σ: spectrum, Σ and errors now; U, Vᵀ, A_k pending."""
        self.results.set_values(values_only_result(values), a)
        m, n = values.shape
        self.status_message.emit(
            f"Singular values of the {m}×{n} matrix ready after "
            f"{values.seconds:.1f} s; U and Vᵀ follow."
        )

    def _on_svd_result(self, res, a: np.ndarray) -> None:
        self.results.set_result(res, a)

    def _on_error(self, message: str, details: str = "") -> None:
        self.results.set_waiting(f"Could not decompose the matrix: {message}")
        self.status_message.emit(f"Could not decompose the matrix: {message}")
