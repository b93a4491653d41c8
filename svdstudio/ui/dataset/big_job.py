"""The Dataset lab's jobs for tables larger than memory (no Qt: they run in a worker process).

Each function is one job on the :class:`~svdstudio.workers.JobRunner`, with the runner's
``job`` context for progress and cancel, over the chunked reader and the Dask engine:

- :func:`load_big_table`: the scan (rules, moments, class counts), then a uniform random sample
  of up to :data:`SAMPLE_SIZE` rows stratified by class: two passes over the file.
- :func:`fit_big_table`: the SVD of the whole table for a method (exact: from the scan's R
  factor, at once; randomized: a pass); the sample's
  coordinates are then computed from the sampled rows by :func:`sample_projection`, at once.
- :func:`big_density`: a 2-D histogram of every row on two components (one pass).
- :func:`export_big_table`: every row's coordinates to CSV or Parquet, streamed, atomic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdstudio.commands.project_big import fit_table, scan_table
from svdstudio.engine.outofcore import (
    DaskCompute,
    Density2D,
    OutOfCoreFit,
    StratifiedSample,
    available_memory,
    chunk_bytes_for,
    collect_sample,
    density_pass,
    fit_from_factor,
    project_chunks,
)
from svdstudio.engine.projection import Projection, component_names
from svdstudio.io.bigtables import BigTable, open_big_table
from svdstudio.io.datasets import Dataset
from svdstudio.io.projection_writer import ProjectionWriter

__all__ = [
    "DENSITY_BINS",
    "SAMPLE_SIZE",
    "SampledDataset",
    "big_density",
    "drawn_text",
    "export_big_table",
    "fit_big_table",
    "load_big_table",
    "sample_projection",
]

#: Points drawn in the scatter for a big table (a stratified uniform random sample).
SAMPLE_SIZE = 100_000
#: Bins per axis of the density image.
DENSITY_BINS = 200
#: Components kept on the randomized path (the exact path keeps them all; TSQR gives them).
_RANDOMIZED_COMPONENTS = 20


@dataclass(frozen=True, eq=False)
class SampledDataset(Dataset):
    """A sample of a big table: ``X``, ``labels``, ``row_numbers`` are the drawn rows only
    (row numbers count in the full table); ``n_rows`` is the full table's row count."""

    table_rows: int = 0

    @property
    def n_rows(self) -> int:
        """Rows of the whole table (kept after the rules)."""
        return self.table_rows or int(self.X.shape[0])

    @property
    def n_drawn(self) -> int:
        """Rows in the sample."""
        return int(self.X.shape[0])


def _report(job: Any) -> Any:
    return None if job is None else job.report


def _cancelled(job: Any) -> Any:
    return None if job is None else job.cancelled


def _triple(table: BigTable, i: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    c = table.load_chunk(i)
    return c.X, c.labels, c.row_numbers


def _pair(table: BigTable, i: int) -> tuple[np.ndarray, tuple[Any, np.ndarray]]:
    c = table.load_chunk(i)
    return c.X, (c.labels, c.row_numbers)


def _chunks(table: BigTable) -> list[int]:
    return [i for i, r in enumerate(table.scan.chunk_rows) if r > 0]


def load_big_table(
    path: str,
    label: str | None,
    no_label: bool,
    scheduler: str | None,
    sample_size: int = SAMPLE_SIZE,
    chunk_rows: int | None = None,
    job: Any = None,
) -> tuple[BigTable, SampledDataset]:
    """Scan ``path`` chunk by chunk and draw the sample; DatasetError for bad input."""
    with DaskCompute(scheduler, progress=_report(job), cancelled=_cancelled(job)) as compute:
        table = open_big_table(
            path,
            label_column=label,
            no_label=no_label,
            chunk_rows=chunk_rows,
            chunk_bytes=chunk_bytes_for(compute.num_workers, available_memory()),
        )
        scan = scan_table(table, compute)
        counts = (
            scan.chunk_class_counts
            if scan.label_name is not None
            else tuple({"": r} for r in scan.chunk_rows)
        )
        sample = StratifiedSample(counts, size=sample_size, seed=0)
        sampled, labels, rows = collect_sample(
            functools.partial(_triple, table), _chunks(table), sample, compute
        )
    notices = list(scan.notices)
    notices.append(f"Read chunk by chunk with Dask ({compute.description}).")
    ds = SampledDataset(
        X=np.ascontiguousarray(sampled),
        labels=labels,
        feature_names=scan.feature_names,
        label_name=scan.label_name,
        dropped_rows=scan.dropped_rows,
        dropped_columns=scan.dropped_columns,
        notices=notices,
        source=str(path),
        row_numbers=rows,
        constant_values=scan.constant_values,
        all_columns=tuple(table.names),
        table_rows=scan.n_rows,
    )
    return table, ds


def fit_big_table(
    table: BigTable, method: str, scheduler: str | None, job: Any = None
) -> OutOfCoreFit:
    """The SVD of the whole (scanned) table for ``method``: every component on the exact path
    (from the scan's R factor, no pass), the first 20 on the randomized one (one pass or more)."""
    scan = table.scan
    k = min(scan.n_rows, scan.n_features)
    if scan.factor is not None:
        return fit_from_factor(scan.factor, method, k, columns=scan.keep_columns)
    with DaskCompute(scheduler, progress=_report(job), cancelled=_cancelled(job)) as compute:
        return fit_table(table, method, min(k, _RANDOMIZED_COMPONENTS), compute)


def sample_projection(ds: SampledDataset, fit: OutOfCoreFit) -> Projection:
    """The fit as a :class:`Projection` whose ``projection`` holds the sampled rows only."""
    return Projection(
        method=fit.method,
        singular_values=fit.singular_values,
        explained_variance=fit.explained_variance,
        explained_variance_ratio=fit.explained_variance_ratio,
        components=fit.components,
        projection=fit.transform(ds.X),
        mean=fit.mean,
        scale=fit.scale,
        loadings=fit.loadings,
        total_variance=fit.total_variance,
        n_samples=fit.n_samples,
        n_features=fit.n_features,
    )


def big_density(
    table: BigTable,
    fit: OutOfCoreFit,
    axes: tuple[int, int],
    scheduler: str | None,
    bins: int = DENSITY_BINS,
    job: Any = None,
) -> Density2D:
    """A ``bins`` × ``bins`` histogram of every row on components ``axes`` (0-based)."""
    density = Density2D.for_fit(fit, table.scan.mean, axes, bins=bins)
    with DaskCompute(scheduler, progress=_report(job), cancelled=_cancelled(job)) as compute:
        return density_pass(table.load_features, _chunks(table), fit, axes, density, compute)


def export_big_table(
    table: BigTable,
    fit: OutOfCoreFit,
    path: str,
    k: int,
    scheduler: str | None,
    job: Any = None,
) -> int:
    """Write every row's first ``k`` coordinates to ``path`` (CSV or Parquet); rows written."""
    names = component_names(fit.method, k)
    label = table.scan.label_name
    with (
        DaskCompute(scheduler, progress=_report(job), cancelled=_cancelled(job)) as compute,
        ProjectionWriter(path, names, label, with_labels=label is not None) as writer,
    ):
        for _, coords, (labels, rows) in project_chunks(
            functools.partial(_pair, table), _chunks(table), fit, compute
        ):
            writer.write(rows, coords[:, :k], labels)
    return writer.rows_written


def drawn_text(ds: SampledDataset, density: Density2D | None = None) -> str:
    """What the scatter shows, in one or two sentences."""
    n, m = ds.n_rows, ds.n_drawn
    if m >= n:
        text = f"Drawn: all {n:,} rows."
    elif ds.label_name:
        text = (
            f"Drawn: {m:,} of {n:,} rows, a uniform random sample within each class "
            f"(classes in proportion)."
        )
    else:
        text = f"Drawn: {m:,} of {n:,} rows, a uniform random sample."
    if density is not None:
        text += f" Shading: the density of all {density.total:,} rows"
        if density.outside:
            text += f" ({density.outside:,} beyond ±5 standard deviations not shaded)"
        text += "."
    return text
