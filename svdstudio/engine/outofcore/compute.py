"""Where Dask work runs: the threaded scheduler (default) or a ``dask.distributed`` scheduler.

:class:`DaskCompute` is a context manager that owns the connection (a ``Client`` when an address
is given), reports progress from Dask's own callbacks and stops when ``cancelled()`` turns true:
on the threaded scheduler a callback raises :class:`~svdstudio.engine.Cancelled` between tasks
(a running task finishes its chunk, then nothing more starts); on a cluster the futures are
cancelled.  Dask is imported only here and only when used.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from svdstudio.engine.decomposition import Cancelled

__all__ = [
    "DaskCompute",
    "DaskUnavailableError",
    "available_memory",
    "chunk_bytes_for",
    "dask_available",
]

Progress = Callable[[float, str], None]


class DaskUnavailableError(ValueError):
    """The optional Dask extra is not installed, or the scheduler cannot be reached."""


def dask_available() -> bool:
    """True if ``dask.array`` can be imported (the ``svdstudio[big]`` extra is installed)."""
    return importlib.util.find_spec("dask") is not None


def _require_dask() -> None:
    if not dask_available():
        raise DaskUnavailableError(
            'tables larger than memory need the optional extra: pip install "svdstudio[big]"'
        )


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux), a guess elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def chunk_bytes_for(workers: int, free: int | None = None) -> int:
    """Bytes of float64 features per chunk so that all workers' chunks fit in free memory.

    Each running task holds a handful of copies of its chunk (the parsed file data, the float
    array, its centred copy, a QR's factors), so the budget is a 16th of the free memory per
    worker, between 8 MiB and 128 MiB (bigger chunks gain little; smaller ones cost overhead).
    """
    free = available_memory() if free is None else free
    per = free // (16 * max(1, workers))
    return int(min(128 << 20, max(8 << 20, per)))


def _one_blas_thread(wanted: bool) -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread while several Dask threads compute (measured: 2 Dask threads × 2 OpenBLAS
    threads on 2 busy cores made a 25,000 × 50 QR 5-25× slower than 1 × 2)."""
    if not wanted:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class _Callbacks:
    """Dask local-scheduler callbacks: count finished tasks, stop when cancelled."""

    def __init__(self, stage: str, progress: Progress | None, cancelled: Callable[[], bool]):
        self.stage = stage
        self.progress = progress
        self.cancelled = cancelled
        self.total = 0
        self.done = 0
        self._last = 0.0

    def as_tuple(self) -> tuple[Any, ...]:
        """The (start, start_state, pretask, posttask, finish) tuple ``dask.compute`` takes;
        passed per call, not registered globally, so concurrent computations stay apart."""
        return (None, self._start_state, self._pretask, self._posttask, None)

    def _start_state(self, dsk: Any, state: dict[str, Any]) -> None:
        self.total = max(1, sum(len(state[k]) for k in ("ready", "waiting", "running")))
        self.total += len(state.get("finished", ()))

    def _pretask(self, key: Any, dsk: Any, state: dict[str, Any]) -> None:
        if self.cancelled():
            raise Cancelled()

    def _posttask(
        self, key: Any, result: Any, dsk: Any, state: dict[str, Any], worker_id: Any
    ) -> None:
        self.done += 1
        if self.cancelled():
            raise Cancelled()
        now = time.monotonic()
        if self.progress is not None and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            self.progress(min(1.0, self.done / self.total), self.stage)


class DaskCompute:
    """Run Dask collections on threads or on a ``dask.distributed`` cluster.

    ``scheduler`` None uses Dask's threaded scheduler with ``num_workers`` threads (default: the
    CPU count); an address such as ``tcp://10.0.0.5:8786`` connects to a running scheduler.
    ``progress(fraction, stage)`` is called from the computing thread; ``cancelled()`` is polled.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        num_workers: int | None = None,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        _require_dask()
        self.address = scheduler or None
        self.num_workers = num_workers or os.cpu_count() or 1
        self.progress = progress
        self.cancelled = cancelled or (lambda: False)
        self.connect_timeout = connect_timeout
        self.client: Any = None

    # -- lifetime ---------------------------------------------------------------------------
    def __enter__(self) -> DaskCompute:
        if self.address is not None:
            try:
                from distributed import Client
            except ImportError:
                raise DaskUnavailableError(
                    'a cluster needs dask.distributed: pip install "svdstudio[big]"'
                ) from None
            try:
                self.client = Client(
                    self.address, timeout=self.connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise DaskUnavailableError(
                    f"cannot reach the Dask scheduler at {self.address} ({exc}); "
                    "check the address and that the scheduler is running"
                ) from None
            workers = self.client.scheduler_info().get("workers", {})
            self.num_workers = max(1, sum(w.get("nthreads", 1) for w in workers.values()))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    @property
    def description(self) -> str:
        """Where the work runs, in words."""
        if self.address is not None:
            return f"dask.distributed scheduler at {self.address} ({self.num_workers} threads)"
        return f"Dask threaded scheduler ({self.num_workers} threads)"

    # -- running ----------------------------------------------------------------------------
    def check(self) -> None:
        """Raise Cancelled if the caller cancelled."""
        if self.cancelled():
            raise Cancelled()

    def compute(
        self, *collections: Any, stage: str = "computing", report: bool = True
    ) -> tuple[Any, ...]:
        """Compute Dask collections together (shared inputs are read once); a tuple of results.

        ``report`` False keeps this call's progress to the caller (who reports a larger whole).
        """
        self.check()
        progress = self.progress if report else None
        if self.client is not None:
            return tuple(self._compute_distributed(list(collections), stage, progress))
        import dask

        cb = _Callbacks(stage, progress, self.cancelled)
        with _one_blas_thread(self.num_workers > 1):
            return dask.compute(
                *collections,
                scheduler="threads",
                num_workers=self.num_workers,
                callbacks=[cb.as_tuple()],
                optimize_graph=True,
            )

    def map(self, fn: Callable[[int], Any], indices: Sequence[int], stage: str) -> list[Any]:
        """``[fn(i) for i in indices]`` as parallel Dask tasks."""
        from dask import delayed

        tasks = [delayed(fn, pure=False)(i) for i in indices]
        return list(self.compute(*tasks, stage=stage)) if tasks else []

    def map_reduce(
        self,
        fn: Callable[[int], tuple[Any, Any]],
        indices: Sequence[int],
        combine: Callable[..., Any],
        stage: str,
        fan_in: int = 8,
    ) -> tuple[list[Any], Any]:
        """Run ``fn(i) -> (small, big)`` per index; the smalls as a list, and the bigs reduced by
        ``combine(*bigs)`` in a tree of tasks (so at most a few bigs are held at a time)."""
        from dask import delayed

        parts = [delayed(fn, pure=False, nout=2)(i) for i in indices]
        smalls = [part[0] for part in parts]
        bigs = [part[1] for part in parts]
        while len(bigs) > 1:
            bigs = [delayed(combine)(*bigs[j : j + fan_in]) for j in range(0, len(bigs), fan_in)]
        if not parts:
            return [], None
        out = self.compute(*smalls, bigs[0], stage=stage)
        return list(out[:-1]), out[-1]

    def _compute_distributed(
        self, collections: list[Any], stage: str, progress: Progress | None
    ) -> list[Any]:
        futures = self.client.compute(collections)
        total = len(futures)
        while True:
            n_done = sum(f.done() for f in futures)
            if self.cancelled():
                self.client.cancel(futures)
                raise Cancelled()
            if progress is not None:
                progress(n_done / max(total, 1), stage)
            if n_done == total:
                return self.client.gather(futures)
            time.sleep(0.05)
