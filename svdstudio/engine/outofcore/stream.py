"""The projection of every row, chunk by chunk, in order; a sample and a density for the scatter.

:func:`project_chunks` computes a few chunks at a time (two per worker) as Dask tasks and yields
them in table order, so a writer can stream them to a file and memory stays bounded by the
batch.  :class:`StratifiedSample` picks a uniform random sample of rows within each class (its
size proportional to the class, at least one row per class) from the per-chunk class counts
the reader's scan found, so it is drawn during that same pass.  :class:`Density2D` is a 2-D
histogram of all points, accumulated chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from svdstudio.engine.outofcore.compute import DaskCompute
from svdstudio.engine.outofcore.fit import OutOfCoreFit

__all__ = ["Density2D", "StratifiedSample", "collect_sample", "density_pass", "project_chunks"]


def _project_task(
    load: Callable[[int], tuple[np.ndarray, Any]],
    i: int,
    mean: np.ndarray,
    scale: np.ndarray,
    Vt: np.ndarray,
) -> tuple[np.ndarray, Any]:
    X, payload = load(i)
    W = (Vt / scale).T  # ((X − mean) / scale) Vᵀᵀ without an n × p quotient
    if not mean.any():
        return X @ W, payload
    return (X - mean) @ W, payload


def project_chunks(
    load: Callable[[int], tuple[np.ndarray, Any]],
    indices: Sequence[int],
    fit: OutOfCoreFit,
    compute: DaskCompute,
    *,
    batch: int | None = None,
) -> Iterator[tuple[int, np.ndarray, Any]]:
    """Yield ``(i, coordinates, payload)`` for every chunk ``i``, in order.

    ``load(i)`` returns chunk ``i``'s raw features (float64) and a payload passed through
    untouched (labels, row numbers).  Progress is reported over all chunks.
    """
    from dask import delayed

    todo = list(indices)
    step = batch or 2 * compute.num_workers
    total = max(1, len(todo))
    for start in range(0, len(todo), step):
        part = todo[start : start + step]
        tasks = [
            delayed(_project_task, pure=False)(load, i, fit.mean, fit.scale, fit.components)
            for i in part
        ]
        results = compute.compute(*tasks, stage="projecting rows", report=False)
        for i, (coords, payload) in zip(part, results, strict=True):
            yield i, coords, payload
        if compute.progress is not None:
            compute.progress((start + len(part)) / total, "projecting rows")


class StratifiedSample:
    """A uniform random sample of rows within each class, planned from per-chunk class counts.

    ``chunk_counts[i]`` maps each class to its number of rows in chunk ``i`` (use ``{"": n_i}``
    for a table without labels).  Each class gets a share of ``size`` proportional to its rows
    (at least one); a table of at most ``size`` rows is taken whole.
    """

    def __init__(
        self, chunk_counts: Sequence[Mapping[str, int]], size: int = 100_000, seed: int = 0
    ) -> None:
        totals: dict[str, int] = {}
        for counts in chunk_counts:
            for c, n in counts.items():
                totals[c] = totals.get(c, 0) + int(n)
        self.n_rows = sum(totals.values())
        self.size = min(int(size), self.n_rows)
        self.whole = self.n_rows <= size
        quota = self._quotas(totals, self.size)
        rng = np.random.default_rng(seed)
        self._plan: list[dict[str, np.ndarray]] = [{} for _ in chunk_counts]
        if self.whole:
            return
        for c, q in quota.items():
            picked = np.sort(rng.choice(totals[c], size=q, replace=False))
            start = 0
            for i, counts in enumerate(chunk_counts):
                n = int(counts.get(c, 0))
                lo, hi = np.searchsorted(picked, [start, start + n])
                if hi > lo:
                    self._plan[i][c] = picked[lo:hi] - start
                start += n
        self.size = sum(quota.values())

    @staticmethod
    def _quotas(totals: Mapping[str, int], size: int) -> dict[str, int]:
        n = sum(totals.values())
        if n == 0 or size >= n:
            return dict(totals)
        exact = {c: size * t / n for c, t in totals.items()}
        quota = {c: min(totals[c], max(1, int(v))) for c, v in exact.items()}
        # Largest remainders first, until the sample has its size.
        for c in sorted(exact, key=lambda c: exact[c] - int(exact[c]), reverse=True):
            if sum(quota.values()) >= size:
                break
            if quota[c] < totals[c]:
                quota[c] += 1
        return quota

    def take(self, i: int, labels: np.ndarray | None, n_rows: int) -> np.ndarray:
        """Local indices (sorted) of chunk ``i``'s sampled rows; ``labels`` as the scan saw them."""
        if self.whole:
            return np.arange(n_rows)
        plan = self._plan[i]
        if not plan:
            return np.zeros(0, dtype=np.int64)
        if labels is None:
            return np.asarray(plan.get("", np.zeros(0, dtype=np.int64)), dtype=np.int64)
        parts = [np.nonzero(labels == c)[0][ordinals] for c, ordinals in plan.items()]
        return np.sort(np.concatenate(parts)).astype(np.int64)


class Density2D:
    """A ``bins`` × ``bins`` histogram of all points over fixed ranges, added chunk by chunk.

    ``counts[ix, iy]`` counts points with x in bin ix and y in bin iy; points outside the
    ranges are counted in ``outside``, not drawn.
    """

    def __init__(
        self, x_range: tuple[float, float], y_range: tuple[float, float], bins: int = 256
    ) -> None:
        self.x_range = (float(x_range[0]), float(x_range[1]))
        self.y_range = (float(y_range[0]), float(y_range[1]))
        self.bins = int(bins)
        self.counts = np.zeros((self.bins, self.bins), dtype=np.int64)
        self.outside = 0
        self.total = 0

    @classmethod
    def for_fit(
        cls,
        fit: OutOfCoreFit,
        raw_mean: np.ndarray,
        axes: tuple[int, int] = (0, 1),
        bins: int = 256,
        spread: float = 5.0,
    ) -> Density2D:
        """Ranges of ± ``spread`` standard deviations around each coordinate's mean."""
        centre = ((raw_mean - fit.mean) / fit.scale) @ fit.components.T
        sd = np.sqrt(np.maximum(fit.explained_variance, 1e-300))
        rng = [(centre[a] - spread * sd[a], centre[a] + spread * sd[a]) for a in axes]
        return cls(rng[0], rng[1], bins)

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        """Count the points (x[i], y[i])."""
        h, _, _ = np.histogram2d(x, y, bins=self.bins, range=[self.x_range, self.y_range])
        inside = int(h.sum())
        self.counts += h.astype(np.int64)
        self.total += int(x.size)
        self.outside += int(x.size) - inside


def _sample_task(
    load: Callable[[int], tuple[np.ndarray, np.ndarray | None, np.ndarray]],
    i: int,
    sample: StratifiedSample,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    X, labels, rows = load(i)
    take = sample.take(i, labels, X.shape[0])
    return X[take], (labels[take] if labels is not None else None), rows[take]


def collect_sample(
    load: Callable[[int], tuple[np.ndarray, np.ndarray | None, np.ndarray]],
    indices: Sequence[int],
    sample: StratifiedSample,
    compute: DaskCompute,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The sampled rows in table order: (features, labels or None, row numbers).

    ``load(i)`` returns chunk ``i``'s features, labels (or None) and row numbers.
    """
    from dask import delayed

    tasks = [delayed(_sample_task, pure=False)(load, i, sample) for i in indices]
    parts = compute.compute(*tasks, stage="drawing a sample")
    X = np.concatenate([p[0] for p in parts])
    labels = None if parts[0][1] is None else np.concatenate([p[1] for p in parts])
    return X, labels, np.concatenate([p[2] for p in parts])


def _density_task(
    load: Callable[[int], np.ndarray],
    i: int,
    mean: np.ndarray,
    scale: np.ndarray,
    V2: np.ndarray,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    bins: int,
) -> tuple[np.ndarray, int]:
    xy = ((load(i) - mean) / scale) @ V2.T
    h, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=bins, range=[x_range, y_range])
    return h.astype(np.int64), int(xy.shape[0])


def density_pass(
    load: Callable[[int], np.ndarray],
    indices: Sequence[int],
    fit: OutOfCoreFit,
    axes: tuple[int, int],
    density: Density2D,
    compute: DaskCompute,
) -> Density2D:
    """Add every row's point on components ``axes`` (0-based) to ``density``, chunk by chunk."""
    from dask import delayed

    V2 = fit.components[list(axes)]
    tasks = [
        delayed(_density_task, pure=False)(
            load, i, fit.mean, fit.scale, V2, density.x_range, density.y_range, density.bins
        )
        for i in indices
    ]
    for h, n in compute.compute(*tasks, stage="density of all rows"):
        inside = int(h.sum())
        density.counts += h
        density.total += n
        density.outside += n - inside
    return density
