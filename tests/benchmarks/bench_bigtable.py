"""Out-of-core PCA on Dask: a table larger than memory, and one that fits; figures beside goals.

    python tests/benchmarks/bench_bigtable.py              # 20,000,000 × 50 Parquet (≈ 8 GB)
    python tests/benchmarks/bench_bigtable.py --rows 2e6   # a quicker run of the same steps
    python tests/benchmarks/bench_bigtable.py --dir /data  # generate the table there
    python tests/benchmarks/bench_bigtable.py --dir /data/b --keep  # keep it for the next run

Not part of pytest.  The table is generated chunk by chunk into a temporary folder on disk (it
never exists in memory whole): 50 float64 columns, rank-8 structure plus noise, written as
Parquet row groups of 250,000 rows without compression (random floats do not compress).  Then,
each in its own process so that peak memory is measured per run (``wait4``'s ru_maxrss):

1. one plain read of the file with pyarrow (``pyarrow.parquet.read_table``), the yardstick;
2. ``svdstudio-cli project TABLE --method pca --components 3 -o coords.parquet`` (Dask path:
   scan, TSQR, projection of every row streamed to Parquet);

and for a table that fits in memory (200,000 × 50 CSV), the Dask path's time over the
in-memory engine's, end to end through the CLI and for the computation alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.machine import load  # noqa: E402 (after the path)

GROUP_ROWS = 250_000


def line(what: str, value: str, goal: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"{what:<58} {value:>22}   {('goal ' + goal) if goal else ''}{mark}", flush=True)


def generate_parquet(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    """Rank-8 signal plus noise, one row group at a time (bounded memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(8, cols)) * np.linspace(5, 0.5, 8)[:, None]
    offset = rng.normal(size=cols) * 10
    schema = pa.schema([pa.field(f"f{j + 1:02d}", pa.float64()) for j in range(cols)])
    with pq.ParquetWriter(path, schema, compression="none") as w:
        done = 0
        while done < rows:
            n = min(GROUP_ROWS, rows - done)
            block = rng.standard_normal((n, 8)) @ basis + offset
            block += rng.standard_normal((n, cols))
            w.write_table(
                pa.Table.from_arrays([pa.array(block[:, j]) for j in range(cols)], schema=schema),
                row_group_size=GROUP_ROWS,
            )
            done += n


def run_measured(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in GiB, exit status, stderr) of a child process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    return wall, usage.ru_maxrss / 2**20, proc.returncode, err


def median_spread(values: list[float]) -> str:
    v = np.asarray(values)
    if v.size == 1:
        return f"{v[0]:.2f} s"
    return f"{np.median(v):.2f} s ({v.min():.2f}–{v.max():.2f})"


def big_table(folder: Path, rows: int, cols: int, repeat: int) -> None:
    path = folder / "big.parquet"
    t = time.perf_counter()
    if not path.exists():  # --dir with --keep reuses the table of an earlier run
        generate_parquet(path, rows, cols)
    size = path.stat().st_size
    line(
        f"generated {rows:,} × {cols} Parquet",
        f"{size / 2**30:.2f} GiB",
        f"(in {time.perf_counter() - t:.0f} s, not counted)",
    )
    read = [sys.executable, "-c", f"import pyarrow.parquet as pq; pq.read_table({str(path)!r})"]
    out = folder / "coords.parquet"
    pca = [
        sys.executable,
        "-m",
        "svdstudio.cli",
        "project",
        str(path),
        "--method",
        "pca",
        "--components",
        "3",
        "-o",
        str(out),
    ]
    reads, pcas, peaks, read_peaks = [], [], [], []
    for _ in range(repeat):
        print(f"  (load average {load()})", flush=True)
        wall, peak, code, err = run_measured(read)
        if code != 0:
            raise SystemExit(f"plain read failed: {err}")
        reads.append(wall)
        read_peaks.append(peak)
        wall, peak, code, err = run_measured(pca)
        if code != 0:
            raise SystemExit(f"PCA failed: {err}")
        pcas.append(wall)
        peaks.append(peak)
    import pyarrow.parquet as pq

    written = pq.ParquetFile(out).metadata.num_rows
    line("plain pyarrow read of the file (whole table in memory)", median_spread(reads))
    line("  its peak resident memory", f"{max(read_peaks):.2f} GiB")
    line("PCA to 3 components, every row's coordinates written", median_spread(pcas))
    line("  rows written to coords.parquet", f"{written:,}", f"{rows:,}", written == rows)
    line("  peak resident memory", f"{max(peaks):.2f} GiB", "< 2 GiB", max(peaks) < 2)
    ratio = float(np.median(pcas) / np.median(reads))
    line("  PCA time / plain read time", f"{ratio:.2f} ×", "≤ 3 ×", ratio <= 3)
    print(f"  (load average {load()})", flush=True)


def fits_in_memory(folder: Path, repeat: int) -> None:
    from svdstudio.engine.outofcore import (
        DaskCompute,
        chunk_factor,
        combine_factors,
        fit_from_factor,
        project_chunks,
    )
    from svdstudio.engine.projection import project

    rng = np.random.default_rng(1)
    n, p = 200_000, 50
    X = rng.standard_normal((n, 8)) @ rng.normal(size=(8, p)) + rng.standard_normal((n, p))
    csv = folder / "fits.csv"
    np.savetxt(
        csv, X, delimiter=",", fmt="%.10g", header=",".join(f"f{j}" for j in range(p)), comments=""
    )
    base = [
        sys.executable,
        "-m",
        "svdstudio.cli",
        "project",
        str(csv),
        "--method",
        "pca",
        "--components",
        "3",
        "-o",
        str(folder / "fits_out.csv"),
    ]
    mem, dsk = [], []
    for _ in range(repeat):
        mem.append(run_measured([*base, "--engine", "memory"])[0])
        dsk.append(run_measured([*base, "--engine", "dask"])[0])
    ratio = float(np.median(dsk) / np.median(mem))
    line(f"{n:,} × {p} CSV, CLI end to end: in-memory engine", median_spread(mem))
    line("  Dask path", median_spread(dsk))
    line("  Dask / in-memory (end to end)", f"{ratio:.2f} ×", "≤ 1.5 ×", ratio <= 1.5)

    rows = [25_000] * 8
    bounds = np.concatenate([[0], np.cumsum(rows)])
    t_mem, t_dask = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        project(X, "pca", 3)
        t_mem.append(time.perf_counter() - t)
        t = time.perf_counter()
        with DaskCompute() as c:
            # The app's path: R factors per chunk reduced on Dask, then the exact p × p SVD.
            _, factor = c.map_reduce(
                lambda i: (None, chunk_factor(X[bounds[i] : bounds[i + 1]])),
                range(8),
                combine_factors,
                "factors",
            )
            fit = fit_from_factor(factor, "pca", 3)
            for _ in project_chunks(
                lambda i: (X[bounds[i] : bounds[i + 1]], None), range(8), fit, c
            ):
                pass
        t_dask.append(time.perf_counter() - t)
    ratio = float(np.median(t_dask) / np.median(t_mem))
    line("  computation alone (array in memory): engine.project", median_spread(t_mem))
    line("  computation alone: Dask R factors + fit + projection", median_spread(t_dask))
    line("  Dask / in-memory (computation)", f"{ratio:.2f} ×", "≤ 1.5 ×", ratio <= 1.5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=float, default=20e6, help="rows of the big table (20e6)")
    ap.add_argument("--cols", type=int, default=50, help="float columns (50)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the big table (median)")
    ap.add_argument("--dir", help="folder for the generated files (default: a temporary one)")
    ap.add_argument("--skip-big", action="store_true", help="only the table that fits")
    ap.add_argument("--keep", action="store_true", help="keep the generated files (with --dir)")
    args = ap.parse_args()
    rows = int(args.rows)
    need = rows * args.cols * 8 * 1.1 + 300e6
    if args.keep and args.dir:
        folder = Path(args.dir)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="svdstudio-bench-", dir=args.dir))
    free_disk = shutil.disk_usage(folder).free
    cpus = f"{os.cpu_count()} CPUs, load average {load()}"
    print(f"SVD Studio out-of-core benchmark in {folder} ({cpus})")
    try:
        if not args.skip_big:
            if free_disk < need:
                raise SystemExit(
                    f"{folder}: {free_disk / 2**30:.1f} GiB free on disk, need {need / 2**30:.1f}"
                )
            big_table(folder, rows, args.cols, args.repeat)
        fits_in_memory(folder, 3)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
