"""``svdstudio-cli project`` on tables larger than memory: ``--engine``, ``--scheduler``,
``--chunk-rows``, the JSON rule for long tables and the streaming export.

Kept apart from :mod:`svdstudio.commands.project` (which calls in here) so the in-memory command
stays as it was.  The Dask path makes two passes over the file: the reader's scan (missing
rows, constant columns, means and scales, class counts, and the R factor of the exact TSQR),
then the projection of every row, streamed to ``-o`` (CSV, or Parquet by the suffix)
atomically.  Tables wider than ``EXACT_MAX_COLUMNS`` take a randomized SVD pass in between.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.commands.common import CliError, print_json
from svdstudio.engine.outofcore.compute import (
    DaskCompute,
    DaskUnavailableError,
    available_memory,
    chunk_bytes_for,
    dask_available,
)
from svdstudio.engine.projection import component_names
from svdstudio.io.datasets import DatasetError

__all__ = [
    "JSON_MAX_ROWS",
    "add_big_arguments",
    "choose_engine",
    "fit_table",
    "omit_long_lists",
    "projection_writer",
    "run_chunked",
    "scan_table",
    "uses_chunked_reader",
    "wants_parquet",
    "write_parquet_projection",
]

#: Above this many rows, ``--json`` leaves the per-row lists out (write them with ``-o``).
JSON_MAX_ROWS = 100_000
_CHUNKED_SUFFIXES = (".parquet", ".pq", ".npy")


def add_big_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--engine``, ``--scheduler`` and ``--chunk-rows`` options."""
    g = p.add_argument_group("tables larger than memory (needs the svdstudio[big] extra)")
    g.add_argument(
        "--engine",
        choices=("auto", "memory", "dask"),
        default="auto",
        help="auto (default): Dask when the table would not fit comfortably in memory "
        "(above 1 GB or a quarter of the free memory); memory: refuse tables that will not fit; "
        "dask: always chunk by chunk",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a dask.distributed scheduler (e.g. tcp://10.0.0.5:8786) instead of local "
        "threads; the workers must see the table at the same path",
    )
    g.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help="rows per chunk (default: sized from the free memory)",
    )


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def choose_engine(args: argparse.Namespace, path: Path) -> str:
    """``"memory"`` or ``"dask"`` for this table and these options; CliError if impossible."""
    engine = getattr(args, "engine", "auto") or "auto"
    if getattr(args, "scheduler", None) and engine == "memory":
        raise CliError("--scheduler runs on Dask; it cannot be combined with --engine memory")
    if getattr(args, "scheduler", None) or getattr(args, "chunk_rows", None) is not None:
        engine = "dask" if engine == "auto" else engine
    if not path.is_file():
        return "memory" if engine == "auto" else engine  # the reader says what is wrong
    from svdstudio.io.bigtables import advise_out_of_core

    free = available_memory()
    advised, need = advise_out_of_core(path, free)
    if engine == "memory":
        if need > free // 2:
            raise CliError(
                f"{path}: the table needs about {_gib(need)} in memory and {_gib(free)} is free; "
                "use --engine dask to process it chunk by chunk"
            )
        return "memory"
    if engine == "auto":
        engine = "dask" if advised else "memory"
        if engine == "dask":
            if not dask_available():
                raise CliError(
                    f"{path}: the table needs about {_gib(need)} in memory; tables this large "
                    'need the optional extra: pip install "svdstudio[big]"'
                )
            # Said once the file has opened: a bad file gets its one error line only.
            args.engine_note = (
                f"the table needs about {_gib(need)} in memory; "
                "processing it chunk by chunk with Dask"
            )
    return engine


def omit_long_lists(out: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """The JSON rule for long tables: per-row lists out, ``projection_omitted`` and ``rows`` in."""
    if n_rows > JSON_MAX_ROWS:
        for key in ("projection", "labels", "row_numbers"):
            out.pop(key, None)
        out["projection_omitted"] = True
        out["rows"] = int(n_rows)
    return out


def uses_chunked_reader(path: Path) -> bool:
    """Parquet and ``.npy`` files are always read by the chunked reader."""
    return path.suffix.lower() in _CHUNKED_SUFFIXES


def wants_parquet(output: str | None) -> bool:
    """True if ``-o`` names a Parquet file."""
    return bool(output) and Path(str(output)).suffix.lower() in (".parquet", ".pq")


def write_parquet_projection(
    path: str,
    projection: np.ndarray,
    *,
    component_names: list[str],
    labels: Any = None,
    label_name: str | None = None,
    row_numbers: Any = None,
) -> None:
    """``write_projection_csv``'s twin for ``-o x.parquet``: the same columns, atomically."""
    from svdstudio.io.bigtables import ProjectionWriter

    rows = row_numbers if row_numbers is not None else np.arange(1, len(projection) + 1)
    with ProjectionWriter(path, component_names, label_name, with_labels=labels is not None) as w:
        w.write(np.asarray(rows), np.asarray(projection, dtype=np.float64), labels)


def projection_writer(output: str, csv_writer: Callable[..., None]) -> Callable[..., None]:
    """The writer for ``-o``: Parquet by the suffix, else ``csv_writer``."""
    return write_parquet_projection if wants_parquet(output) else csv_writer


class _StderrProgress:
    """Progress on stderr, one updating line, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = ""

    def __call__(self, fraction: float, stage: str) -> None:
        if not self.enabled:
            return
        text = f"\r{stage}: {100 * fraction:3.0f} %"
        if text != self._last:
            self._last = text
            sys.stderr.write(text.ljust(40))
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self._last:
            sys.stderr.write("\r" + " " * 40 + "\r")
            sys.stderr.flush()


def _open_table(path: Path, label: str | None, chunk_rows: int | None, workers: int) -> Any:
    from svdstudio.io.bigtables import open_big_table

    kw: dict[str, Any] = {"chunk_rows": chunk_rows, "chunk_bytes": chunk_bytes_for(workers)}
    try:
        return open_big_table(path, label_column=label, **kw)  # a number typed is 1-based
    except DatasetError as exc:
        raise CliError(str(exc)) from None


def scan_table(table: Any, compute: DaskCompute) -> Any:
    """Pass 1 over a big table: the reader's rules and moments, and (up to EXACT_MAX_COLUMNS
    features) the table's R factor for the exact SVD, reduced by a tree of Dask tasks."""
    from svdstudio.engine.outofcore import EXACT_MAX_COLUMNS, combine_factors

    indices = range(table.n_chunks)
    if len(table.feature_cols) <= EXACT_MAX_COLUMNS:
        stats, factor = compute.map_reduce(
            table.scan_chunk_factored, indices, combine_factors, "reading the table"
        )
        return table.finish_scan(stats, factor)
    return table.finish_scan(compute.map(table.scan_chunk, indices, "reading the table"))


def fit_table(table: Any, method: str, k: int, compute: DaskCompute) -> Any:
    """The fit of a scanned table: exact from its R factor (no pass), or randomized on Dask."""
    from svdstudio.engine.outofcore import chunked_array, fit_from_factor, fit_projection

    scan = table.scan
    if scan.factor is not None:
        return fit_from_factor(
            scan.factor, method, k, columns=scan.keep_columns, where=compute.description
        )
    features = chunked_array(table.load_features, scan.chunk_rows, scan.n_features)
    return fit_projection(
        features, method, k, compute, mean=scan.mean, variance=scan.variance, exact=False
    )


def _method_key(method: Any) -> str:
    """The method's key ("tsvd", "pca", "standardized") from --method's parsed value."""
    return str(getattr(method, "key", method))


def run_chunked(args: argparse.Namespace, path: Path, label: str | None, engine: str) -> int:
    """Run ``project`` reading the table chunk by chunk (Dask, or memory for Parquet/.npy)."""
    from svdstudio.engine.outofcore import project_chunks
    from svdstudio.io.bigtables import ProjectionWriter

    progress = _StderrProgress()
    scheduler = getattr(args, "scheduler", None)
    try:
        compute = DaskCompute(scheduler, progress=progress)
    except DaskUnavailableError as exc:
        raise CliError(f"{path}: {exc}") from None
    try:
        with compute:
            table = _open_table(path, label, getattr(args, "chunk_rows", None), compute.num_workers)
            if getattr(args, "engine_note", None):
                print(f"svdstudio-cli: note: {args.engine_note}", file=sys.stderr)
            try:
                scan = scan_table(table, compute)
            except DatasetError as exc:
                raise CliError(str(exc)) from None
            kmax = min(scan.n_rows, scan.n_features)
            if not 1 <= args.components <= kmax:
                raise CliError(
                    f"{path}: --components must be between 1 and {kmax} for this "
                    f"{scan.n_rows}×{scan.n_features} table; got {args.components}"
                )
            try:
                fit = fit_table(table, _method_key(args.method), args.components, compute)
            except ValueError as exc:
                raise CliError(f"{path}: {exc}") from None
            for notice in scan.notices:
                print(f"svdstudio-cli: note: {notice}", file=sys.stderr)
            names = component_names(fit.method, fit.n_components)
            keep_rows = args.json and scan.n_rows <= JSON_MAX_ROWS
            kept: list[tuple[np.ndarray, Any, np.ndarray]] = []
            chunks = [i for i, r in enumerate(scan.chunk_rows) if r > 0]

            def load(i: int) -> tuple[np.ndarray, Any]:
                c = table.load_chunk(i)
                return c.X, (c.labels, c.row_numbers)

            stream = project_chunks(load, chunks, fit, compute)
            if args.output:
                try:
                    with ProjectionWriter(
                        args.output, names, scan.label_name, with_labels=scan.label_name is not None
                    ) as writer:
                        for _, coords, (labels, rows) in stream:
                            writer.write(rows, coords, labels)
                            if keep_rows:
                                kept.append((coords, labels, rows))
                except OSError as exc:
                    raise CliError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
            elif keep_rows:
                kept = [(coords, labels, rows) for _, coords, (labels, rows) in stream]
    except DaskUnavailableError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        # Ctrl+C: Dask stops between tasks and the atomic writer removes its temporary file.
        progress.done()
        print("svdstudio-cli: cancelled; no output file was written", file=sys.stderr)
        return 130
    finally:
        progress.done()

    if args.json:
        out: dict[str, Any] = {
            "dataset": str(path),
            "method": fit.method,
            "n_samples": fit.n_samples,
            "feature_names": list(scan.feature_names),
            "singular_values": fit.singular_values,
            "explained_variance": fit.explained_variance,
            "explained_variance_ratio": fit.explained_variance_ratio,
            "components": fit.components,
            "label_name": scan.label_name,
            "dropped_rows": scan.dropped_rows,
            "dropped_columns": list(scan.dropped_columns),
            "notices": scan.notices,
            "engine": engine,
            "algorithm": fit.algorithm,
            "scheduler": fit.where,
        }
        if keep_rows:
            out["projection"] = np.concatenate([k[0] for k in kept]) if kept else []
            out["labels"] = (
                np.concatenate([k[1] for k in kept]).tolist() if scan.label_name else None
            )
            out["row_numbers"] = np.concatenate([k[2] for k in kept]) if kept else []
        print_json(omit_long_lists(out, scan.n_rows))
        return 0
    print(
        f"{path}: {fit.n_samples} rows × {fit.n_features} features, method {fit.method} "
        f"({fit.algorithm}, on the {fit.where})"
    )
    for name, sv, r in zip(names, fit.singular_values, fit.explained_variance_ratio, strict=True):
        print(f"  {name}: singular value {sv:.6g}, explained variance ratio {r:.4f}")
    if args.output:
        print(f"wrote {args.output}")
    return 0
