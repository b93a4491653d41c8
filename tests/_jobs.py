"""Module-level job functions for the worker tests (importable by a spawned process; no Qt)."""

from __future__ import annotations

import os
import time

import numpy as np


def add(a: float, b: float) -> float:
    return a + b


def busy_until_cancelled(seconds: float, job=None) -> str:
    """Spin in short steps, reporting progress, until cancelled or ``seconds`` pass."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if job is not None and job.cancelled():
            from svdstudio.engine import Cancelled

            raise Cancelled()
        if job is not None:
            job.report((time.monotonic() - start) / seconds, "spinning")
        time.sleep(0.005)
    return "done"


def pid_then_spin(seconds: float) -> int:
    """Spin on the CPU without checking any flag: only a kill stops it."""
    end = time.monotonic() + seconds
    x = np.random.default_rng(0).standard_normal((200, 200))
    while time.monotonic() < end:
        x = x @ x.T
        x /= np.abs(x).max()
    return os.getpid()


def fail_value(message: str) -> None:
    raise ValueError(message)


def fail_unexpected() -> None:
    raise RuntimeError("boom")


def die_hard() -> None:
    os._exit(3)


def big_array(n: int) -> np.ndarray:
    """A float32 array of n elements (for transfer timings)."""
    return np.ones(n, dtype=np.float32)


def pid() -> int:
    """The process id of whoever runs the job."""
    return os.getpid()


def singular_values_and_pid(a: np.ndarray) -> tuple[int, np.ndarray]:
    """(the worker's pid, σ of a): shows where a job ran, and that it computed."""
    return os.getpid(), np.linalg.svd(a, compute_uv=False)


def environment(name: str) -> str | None:
    """The worker's value of environment variable ``name``."""
    return os.environ.get(name)


def parent_pid() -> int:
    """The parent process of whoever runs the job."""
    return os.getppid()
