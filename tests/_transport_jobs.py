"""Module-level jobs for the hand-over tests and benchmark (importable by a spawned worker)."""

from __future__ import annotations

import os
import time

import numpy as np

from svdstudio.engine.decomposition import SVDResult
from svdstudio.engine.image.factors import ImageFactors


def factors_like(height: int, width: int, fill: float = 1.0) -> ImageFactors:
    """Full RGB factors of an ``height``×``width`` image, laid out as the engine lays them out
    (Fortran-ordered float32 U and Vt), filled with ``fill``: about 229 MiB at 3000×4000."""
    r = min(height, width)
    channels = []
    for c in range(3):
        U = np.full((height, r), fill + c, dtype=np.float32, order="F")
        Vt = np.full((r, width), fill - c, dtype=np.float32, order="F")
        s = np.linspace(r, 1, r, dtype=np.float32)
        channels.append(
            SVDResult(
                U=U,
                s=s,
                Vt=Vt,
                shape=(height, width),
                dtype="float32",
                rank=r,
                tolerance=0.0,
                condition_number=float(r),
                total_energy=float(np.sum(s.astype(np.float64) ** 2)),
                driver="test",
            )
        )
    return ImageFactors("rgb", height, width, ("R", "G", "B"), tuple(channels))


def timed_factors(height: int, width: int, stages: int = 0, job=None) -> tuple[float, object]:
    """Hand over ``stages`` partial factors, then return (wall-clock time of the return, factors).

    Each partial is ``(time.time() when handed over, factors)``, so that the receiver can time
    the hand-over itself, apart from the job's own work.
    """
    f = factors_like(height, width)
    for _ in range(stages):
        job.partial((time.time(), f))
    return time.time(), f


def stage_then_spin(height: int, width: int, pid_file: str, job=None) -> None:
    """Hand over one big partial, write this worker's pid to ``pid_file``, then spin (only a
    kill stops it)."""
    job.partial(factors_like(height, width))
    with open(pid_file, "w") as fh:
        fh.write(str(os.getpid()))
    while True:
        time.sleep(0.01)


def array_stats(*arrays: np.ndarray) -> list[tuple[tuple[int, ...], str, float, bool]]:
    """(shape, dtype, sum, writeable) of each argument as the worker received it."""
    return [
        (a.shape, str(a.dtype), float(a.sum(dtype=np.float64)), a.flags.writeable) for a in arrays
    ]


def scale_in_place(a: np.ndarray, by: float) -> np.ndarray:
    """Multiply the received argument in place and return it (the worker owns its copy)."""
    a *= by
    return a


def mixed_sizes(n_big: int) -> dict:
    """Small and big arrays together, some non-contiguous, with plain objects beside them."""
    big = np.arange(n_big, dtype=np.float64)
    return {
        "big": big,
        "big_f": np.asfortranarray(np.arange(n_big, dtype=np.float32).reshape(-1, 1000)),
        "small": np.arange(10, dtype=np.int64),
        "strided": big[::2],
        "bytes": b"x" * 5,
        "text": "ok",
    }


def send_then_die(conn) -> None:
    """Send a message with one big (shared) and one small (pipe) buffer, but die after the
    shared buffer went and before the small one: a worker killed mid-send."""
    from svdstudio import shared_buffers

    def die(_data) -> None:
        os._exit(9)

    conn.send_bytes = die
    shared_buffers.send_message(conn, ("partial", (np.ones(1 << 20), np.arange(5))))


def mapping_of(a: np.ndarray) -> tuple[str, int, float]:
    """(path, inode) of the mapping the received ``a`` lies in, as /proc/self/maps names it,
    and its sum: where the worker's copy of an argument lives."""
    start = a.__array_interface__["data"][0]
    with open("/proc/self/maps") as fh:
        for line in fh:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= start < hi:
                path = fields[5] if len(fields) > 5 else ""
                return path, int(fields[4]), float(a.sum(dtype=np.float64))
    return "", 0, float(a.sum(dtype=np.float64))


def niceness() -> int:
    """The niceness of the thread (or process) running the job (Linux: per thread)."""
    import threading

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def churn(seconds: float, job=None) -> int:
    """Numpy work that releases the GIL (as a metrics or preview job's does) for ``seconds``
    or until cancelled; returns the passes made."""
    a = np.ones(1 << 20, dtype=np.float32)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and not (job is not None and job.cancelled()):
        for _ in range(20):
            np.multiply(a, 1.0000001, out=a)
        n += 1
    return n
