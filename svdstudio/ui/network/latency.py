"""Measured latency of the original and the compressed network, in a child process.

Why a child process: the BLAS thread count can only be set before OpenBLAS loads (threadpoolctl
is not a dependency), and two threads were 4–140× erratic on a busy 2-core machine; a child with
``OPENBLAS_NUM_THREADS=1`` also keeps the GUI thread's work out of the timed loop, and it can be
killed at once on cancel.  The networks travel as state dicts and architecture JSON in an
``.npz`` stream (never a pickle); the child prints one JSON object.

The child runs :func:`child_main` (started only by :func:`latency_job`; it reads the networks
from its standard input).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.network import LatencyStats, Network, load_average
from svdstudio.engine.network.timing import ONE_THREAD_ENV

__all__ = ["RUNS", "LatencyReport", "child_main", "latency_job"]

RUNS = 30  # timed runs per case (after 3 untimed warm-ups)
BATCH = 256  # the "batch" case; batch 1 is the other


@dataclass(frozen=True)
class LatencyReport:
    """Seconds per forward pass: ``stats[(which, batch)]`` for which in original/compressed."""

    stats: dict[tuple[str, int], LatencyStats]
    batch: int
    cores: int
    load_before: float | None
    load_after: float | None
    blas_threads: str

    def speedup(self, batch: int) -> float:
        """Original median time over compressed median time at ``batch``."""
        comp = self.stats[("compressed", batch)].median
        return self.stats[("original", batch)].median / comp if comp > 0 else float("inf")


def _pack(networks: dict[str, Network], x: np.ndarray) -> bytes:
    from svdstudio.io.networks import architecture_of, state_dict_of

    arrays: dict[str, np.ndarray] = {"x": np.ascontiguousarray(x)}
    meta = {}
    for which, net in networks.items():
        meta[which] = architecture_of(net)
        for key, value in state_dict_of(net).items():
            arrays[f"{which}/{key}"] = value
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _unpack(data: bytes) -> tuple[dict[str, Network], np.ndarray]:
    from svdstudio.io.networks import build_network, parse_architecture

    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes().decode())
        x = npz["x"]
        nets = {}
        for which, arch in meta.items():
            state = {k.split("/", 1)[1]: npz[k] for k in npz.files if k.startswith(f"{which}/")}
            parsed = parse_architecture(json.dumps(arch), which)
            nets[which] = build_network(state, parsed, which)
    return nets, x


def latency_job(
    original: Network, compressed: Network, x: np.ndarray, runs: int = RUNS, job=None
) -> LatencyReport:
    """Time ``forward`` of both networks at batch 1 and a batch of ``x`` (raw samples) in a
    child process with one BLAS thread; cancelling kills the child."""
    batch = int(min(BATCH, x.shape[0]))
    payload = _pack({"original": original, "compressed": compressed}, x[:batch])
    env = dict(os.environ, **ONE_THREAD_ENV)
    code = "import sys; from svdstudio.ui.network.latency import child_main as m; m(sys.argv[1])"
    cmd = [sys.executable, "-c", code, str(int(runs))]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
        while proc.poll() is None:
            if job is not None and job.cancelled():
                from svdstudio.engine.network import Cancelled

                raise Cancelled()
            time.sleep(0.02)  # a worker thread polling its child, not a GUI wait
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"the timing process failed: {tail[0]}")
    result = json.loads(out.decode())
    stats = {(which, int(b)): LatencyStats(**s) for which, b, s in result["stats"]}
    return LatencyReport(
        stats=stats,
        batch=batch,
        cores=int(result["cores"]),
        load_before=result["load_before"],
        load_after=result["load_after"],
        blas_threads=result["blas_threads"],
    )


def child_main(runs: int | str) -> int:
    """The timing process: networks and samples on stdin, one JSON object on stdout."""
    runs = int(runs)
    from dataclasses import asdict

    from svdstudio.engine.network import compare_latency

    nets, x = _unpack(sys.stdin.buffer.read())
    load_before = load_average()
    comparison = compare_latency(
        nets["original"], nets["compressed"], x, batches=(1, x.shape[0]), runs=runs
    )
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    out = []
    for batch, orig, comp in comparison.rows:
        for which, st in (("original", orig), ("compressed", comp)):
            d = asdict(st)
            # This process was started with one BLAS thread: say so (the engine cannot know).
            d["blas_threads"] = threads
            out.append((which, batch, d))
    json.dump(
        {
            "stats": out,
            "cores": os.cpu_count() or 1,
            "load_before": load_before,
            "load_after": load_average(),
            "blas_threads": threads,
        },
        sys.stdout,
    )
    return 0
