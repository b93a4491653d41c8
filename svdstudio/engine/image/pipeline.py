"""The progressive full SVD of an image's channels on two lanes (two channels at once).

One channel's steps are bound by a single core far more than by BLAS: PROPACK's Lanczos
steps are memory-bound matrix-vector products, and the symmetric eigensolver scaled from
2.0 s on one BLAS thread to only 1.3 s on two (3000×3000 float32).  So instead of one channel
after another on two BLAS threads, two Python threads ("lanes") each take the next step of
the queue — the top triplets of R, G, B, then their quick full SVD — on one BLAS thread
each; once one lane has nothing left to take, the other gets every BLAS thread for the
rest of its channel (unless the machine is busy, see :func:`.fast_svd.lean_blas`).  That
needs every long call to release the GIL: numpy's GEMMs and PROPACK's do, and the
eigensolver does through :mod:`.lapack`.

The refinement stays one channel at a time, on every BLAS thread, after the lanes: two
refinements at once held both their work arrays (measured: worker peak RSS 903 MiB, against
683 MiB one channel at a time; the two quick stages at once stayed below that).

The caller's thread hands over the top triplets as soon as every channel has them while the
lanes go on, and is the only one that calls ``partial``; the lanes' progress reports share
the job under a lock and are skipped, not waited for, while a hand-over holds it.  A cancel
(or an error) in one lane stops the other at its next step; the first error is raised once
both have stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import sys
import threading
from collections.abc import Callable

import numpy as np

from svdstudio.engine.decomposition import SVDResult, decompose_topk
from svdstudio.engine.image.color import CHANNEL_NAMES, channel
from svdstudio.engine.image.fast_svd import (
    StepProgress,
    fast_full_svd,
    machine_busy,
    topk_cost,
)
from svdstudio.engine.image.lapack import gil_free

__all__ = ["LANES", "lanes_available", "progressive_lanes"]

# Channels decomposed at once (1: one after another, every BLAS thread on the one channel).
LANES = 2
_STAGES = ("top", "quick")


def lanes_available(channels: int) -> int:
    """How many lanes :func:`progressive_lanes` would use here for that many channels.

    One, unless there are two cores, the eigensolver releases the GIL and threadpoolctl
    can hold BLAS to one thread per lane (two lanes of two BLAS threads each on two cores
    would oversubscribe them).
    """
    lanes = min(LANES, os.cpu_count() or 1, channels)
    if lanes < 2 or not gil_free(np.float32):
        return 1
    try:
        import threadpoolctl  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return 1
    return lanes


class _Lane(StepProgress):
    """One lane's view of the shared progress: its own pending step, the shared counters."""

    def __init__(
        self,
        shared: StepProgress,
        state: threading.Lock,
        job_lock: threading.Lock,
        stop: threading.Event,
    ) -> None:
        super().__init__(shared.job, shared.span, shared.label)
        self._shared = shared
        self._state = state
        self._job_lock = job_lock
        self._stop = stop

    def check_flag(self) -> bool:
        return self._stop.is_set() or self._shared.check_flag()

    def plan(self, total: float) -> None:
        """The shared plan already covers every lane's steps."""

    def step(self, name: str, cost: float) -> None:
        self.check()
        self._pending = cost
        if self.job is None:
            return
        with self._state:
            frac, msg = self._shared.announce(name, self.label)
        # Progress is advisory: while the caller's thread hands a stage over, skip it.
        if self._job_lock.acquire(blocking=False):
            try:
                self.job.report(frac, msg)
            finally:
                self._job_lock.release()

    def finish_step(self) -> None:
        with self._state:
            self._shared.done += getattr(self, "_pending", 0.0)
        self._pending = 0.0


def _trim_heap() -> None:
    """Give the lanes' freed heap back to the system (glibc only; elsewhere nothing).

    Each lane thread allocates from its own malloc arena, and glibc keeps freed blocks of up
    to 32 MB there (its mmap threshold grows after the first large free): the live peak was
    the same as one channel at a time (tracemalloc, 482 MiB), the process's RSS 63 MiB more.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (e.g. musl): no trim
        ctypes.CDLL(None).malloc_trim(0)


def _widen_when_alone(
    threads: list[threading.Thread], running: list[int], state: threading.Lock
) -> None:
    """Wait for the lanes; once one is left, give it every BLAS thread (machine not busy).

    From this thread, the one that set the limit: OpenBLAS ignored a raise of its thread
    count asked for from another thread after this one had lowered it (measured here).
    The limit is process-wide; the caller's ``threadpool_limits`` block restores it.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-not-found, unused-ignore]

    widened = False
    while alive := [t for t in threads if t.is_alive()]:
        alive[0].join(0.02)
        with state:
            alone = running[0] == 1
        if alone and not widened:
            widened = True
            if not machine_busy():
                threadpool_limits(limits=os.cpu_count() or 1, user_api="blas")


def _wait(event: threading.Event, stop: threading.Event) -> bool:
    """Wait for ``event``; False as soon as ``stop`` is set instead."""
    while not event.wait(0.02):
        if stop.is_set():
            return False
    return True


def progressive_lanes(
    arr: np.ndarray,
    mode: str,
    prog: StepProgress,
    hand_over: Callable[[list[SVDResult]], None],
    top: int,
    lanes: int = LANES,
) -> list[SVDResult]:
    """Every channel's top ``top`` triplets, then its quick full SVD (``refine=False``), on
    ``lanes`` threads of one BLAS thread each; ``hand_over`` gets the top triplets of all
    channels (from the calling thread, while the lanes go on); returns the quick factors."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-not-found, unused-ignore]

    names = CHANNEL_NAMES[mode]
    nc = len(names)
    h, w = arr.shape[:2]
    results: dict[str, list[SVDResult | None]] = {s: [None] * nc for s in _STAGES}
    done = {s: [threading.Event() for _ in range(nc)] for s in _STAGES}
    tasks: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()
    for stage in _STAGES:
        for c in range(nc):
            tasks.put((stage, c))
    state, job_lock, stop = threading.Lock(), threading.Lock(), threading.Event()
    errors: list[BaseException] = []

    def run(stage: str, c: int, lane: _Lane) -> None:
        lane.label = f"channel {names[c]} ({c + 1} of {nc})"
        if stage == "top":
            lane.step(f"top {top} singular triplets (PROPACK)", topk_cost(h, w, top))
            res = decompose_topk(
                channel(arr, mode, c),
                top,
                method="propack",
                allow_float32=True,
                should_cancel=lane.check_flag,
            )
            lane.finish_step()
        else:
            if not _wait(done["top"][c], stop):
                return
            ch = channel(arr, mode, c)
            if np.may_share_memory(ch, arr):  # a grey float32 image is its own channel
                ch = ch.copy()
            start = results["top"][c]
            res = fast_full_svd(ch, start=start, refine=False, progress=lane, overwrite=True)
        results[stage][c] = res
        done[stage][c].set()

    running = [max(1, lanes)]  # lanes still taking work

    def lane_loop() -> None:
        lane = _Lane(prog, state, job_lock, stop)
        try:
            while not stop.is_set():
                try:
                    stage, c = tasks.get_nowait()
                except queue.Empty:
                    return
                try:
                    run(stage, c, lane)
                except BaseException as exc:  # handed to the caller's thread, which raises it
                    with state:
                        errors.append(exc)
                    stop.set()
                    return
        finally:
            with state:
                running[0] -= 1

    threads = [
        threading.Thread(target=lane_loop, name=f"svd-lane-{i + 1}", daemon=True)
        for i in range(max(1, lanes))
    ]
    with threadpool_limits(limits=1, user_api="blas"):
        for t in threads:
            t.start()
        try:
            if all(_wait(ev, stop) for ev in done["top"]):
                with job_lock:
                    hand_over([r for r in results["top"] if r is not None])
            _widen_when_alone(threads, running, state)
        except BaseException:
            stop.set()
            raise
        finally:
            for t in threads:
                t.join()
            _trim_heap()
    if errors:
        raise errors[0]
    quick = results["quick"]
    if any(r is None for r in quick):  # cannot happen without an error; never return less
        raise RuntimeError("a channel's decomposition did not finish")
    return [r for r in quick if r is not None]
