"""The Dask path agrees with the in-memory engine; cluster, progress, cancel, sample, density."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.array")

from svdstudio.engine import Cancelled
from svdstudio.engine.outofcore import (
    DaskCompute,
    Density2D,
    StratifiedSample,
    chunked_array,
    fit_projection,
    project_chunks,
)
from svdstudio.engine.projection import METHOD_KEYS, project


def table(n=1500, p=7, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, p)) @ rng.normal(size=(p, p))) * rng.uniform(0.1, 20, p) + 50


def as_dask(data, rows):
    bounds = np.concatenate([[0], np.cumsum(rows)])
    return chunked_array(lambda i: data[bounds[i] : bounds[i + 1]], rows, data.shape[1])


def project_all(data, rows, fit, compute):
    bounds = np.concatenate([[0], np.cumsum(rows)])
    out = list(
        project_chunks(
            lambda i: (data[bounds[i] : bounds[i + 1]], i), range(len(rows)), fit, compute
        )
    )
    assert [i for i, _, _ in out] == [pl for _, _, pl in out] == list(range(len(rows)))
    return np.concatenate([c for _, c, _ in out])


@pytest.mark.parametrize("method", METHOD_KEYS)
@pytest.mark.parametrize("rows", [[1500], [400, 3, 600, 497], [100] * 15])
def test_exact_path_agrees_with_the_in_memory_engine(method, rows):
    X = table()
    ref = project(X, method, 3)
    with DaskCompute(num_workers=2) as c:
        fit = fit_projection(as_dask(X, rows), method, 3, c)  # moments by its own pass
        coords = project_all(X, rows, fit, c)
    assert fit.exact and "TSQR" in fit.algorithm
    np.testing.assert_allclose(fit.singular_values, ref.singular_values, rtol=1e-8)
    np.testing.assert_allclose(fit.explained_variance, ref.explained_variance, rtol=1e-8)
    np.testing.assert_allclose(
        fit.explained_variance_ratio, ref.explained_variance_ratio, rtol=1e-8
    )
    np.testing.assert_allclose(fit.total_variance, ref.total_variance, rtol=1e-10)
    np.testing.assert_allclose(fit.components, ref.components, atol=1e-9)  # same sign rule
    scale = np.abs(ref.projection).max()
    np.testing.assert_allclose(coords, ref.projection, atol=1e-6 * scale)
    np.testing.assert_allclose(fit.loadings, ref.loadings, rtol=1e-7, atol=1e-12)


def test_sign_convention_largest_entry_of_each_component_positive():
    X = table(seed=5)
    with DaskCompute(num_workers=1) as c:
        fit = fit_projection(as_dask(X, [500, 500, 500]), "pca", 5, c)
    V = fit.components
    assert np.all(V[np.arange(5), np.argmax(np.abs(V), axis=1)] > 0)


def test_precomputed_moments_give_the_same_fit():
    X = table(seed=2)
    with DaskCompute() as c:
        a = fit_projection(as_dask(X, [750, 750]), "standardized", 2, c)
        b = fit_projection(
            as_dask(X, [750, 750]), "standardized", 2, c, mean=X.mean(0), variance=X.var(0)
        )
    np.testing.assert_allclose(a.singular_values, b.singular_values, rtol=1e-12)
    np.testing.assert_allclose(a.scale, X.std(axis=0), rtol=1e-12)


@pytest.mark.parametrize("method", ["tsvd", "pca"])
def test_randomized_path_on_a_low_rank_table(method):
    rng = np.random.default_rng(3)
    n, p, r = 2000, 60, 4
    X = rng.normal(size=(n, r)) @ rng.normal(size=(r, p)) * 3 + rng.normal(size=(1, p))
    X += 1e-9 * rng.normal(size=(n, p))
    ref = project(X, method, 3)
    with DaskCompute() as c:
        fit = fit_projection(as_dask(X, [500] * 4), method, 3, c, exact=False, n_power_iter=2)
        coords = project_all(X, [500] * 4, fit, c)
    assert not fit.exact and "2 power iterations" in fit.algorithm
    np.testing.assert_allclose(fit.singular_values, ref.singular_values, rtol=1e-6)
    np.testing.assert_allclose(np.abs(fit.components), np.abs(ref.components), atol=1e-6)
    np.testing.assert_allclose(coords, ref.projection, atol=1e-5 * np.abs(coords).max())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "nope", "n_components": 2}, "unknown projection method"),
        ({"method": "pca", "n_components": 0}, "between 1 and 3"),
        ({"method": "pca", "n_components": 4}, "between 1 and 3"),
    ],
)
def test_bad_requests(kwargs, message):
    X = table(n=20, p=3)
    with DaskCompute() as c, pytest.raises(ValueError, match=message):
        fit_projection(as_dask(X, [10, 10]), compute=c, **kwargs)


def test_constant_column_cannot_be_standardised():
    X = table(n=30, p=3)
    X[:, 1] = 4.0
    with DaskCompute() as c, pytest.raises(ValueError, match="column 2 is constant"):
        fit_projection(as_dask(X, [15, 15]), "standardized", 2, c)


def test_progress_reaches_one_and_cancel_stops():
    X = table()
    seen = []
    with DaskCompute(progress=lambda f, s: seen.append((f, s))) as c:
        fit_projection(as_dask(X, [100] * 15), "pca", 2, c)
    stages = {s for _, s in seen}
    assert {"means and scales", "SVD"} <= stages
    assert max(f for f, s in seen if s == "SVD") == pytest.approx(1.0)
    assert all(0 <= f <= 1 for f, _ in seen)

    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3  # cancel a few tasks in

    with DaskCompute(cancelled=cancelled) as c, pytest.raises(Cancelled):
        fit_projection(as_dask(X, [100] * 15), "pca", 2, c)
    assert len(calls) < 40  # stopped soon, not after every task of the graph


def test_local_cluster_agrees_with_threads():
    distributed = pytest.importorskip("distributed")
    X = table(n=900, p=5, seed=9)
    rows = [300, 300, 300]
    with DaskCompute() as c:
        ref = fit_projection(as_dask(X, rows), "pca", 2, c)
        ref_coords = project_all(X, rows, ref, c)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        seen = []
        with DaskCompute(cluster.scheduler_address, progress=lambda f, s: seen.append(f)) as c:
            assert c.num_workers == 2 and "127.0.0.1" in c.description
            fit = fit_projection(as_dask(X, rows), "pca", 2, c)
            coords = project_all(X, rows, fit, c)
    np.testing.assert_allclose(fit.singular_values, ref.singular_values, rtol=1e-12)
    np.testing.assert_allclose(coords, ref_coords, atol=1e-10)
    assert seen and seen[-1] == 1.0


def test_unreachable_scheduler_is_a_clear_error():
    from svdstudio.engine.outofcore import DaskUnavailableError

    with (
        pytest.raises(
            DaskUnavailableError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
        ),
        DaskCompute("tcp://127.0.0.1:9", connect_timeout=1.0),
    ):
        pass


def test_stratified_sample_is_proportional_uniform_and_keeps_small_classes():
    counts = [{"a": 600, "b": 390, "c": 10}, {"a": 1400, "b": 610}, {"a": 0, "b": 0, "c": 1}]
    s = StratifiedSample(counts, size=300, seed=1)
    assert s.size == 300
    labels = [
        np.array(["a"] * 600 + ["b"] * 390 + ["c"] * 10),
        np.array(["b", "a"] * 610 + ["a"] * 790),
        np.array(["c"]),
    ]
    taken = [s.take(i, labels[i], len(labels[i])) for i in range(3)]
    picked = np.concatenate([labels[i][t] for i, t in enumerate(taken)])
    n = {c: int((picked == c).sum()) for c in "abc"}
    assert n == {"a": 199, "b": 99, "c": 2} or sum(n.values()) == 300
    assert abs(n["a"] - 200) <= 1 and abs(n["b"] - 100) <= 1 and n["c"] >= 1
    assert all(np.all(np.diff(t) > 0) for t in taken if t.size)  # sorted, no repeats
    # Uniform within a class: the first chunk holds 30 % of class a, so about 30 % of its picks.
    first_a = int((labels[0][taken[0]] == "a").sum())
    assert 40 <= first_a <= 80


def test_small_table_is_taken_whole_and_unlabelled_tables_work():
    s = StratifiedSample([{"": 10}, {"": 5}], size=100)
    assert s.whole and s.size == 15
    np.testing.assert_array_equal(s.take(1, None, 5), np.arange(5))
    s2 = StratifiedSample([{"": 1000}, {"": 1000}], size=50, seed=0)
    assert sum(s2.take(i, None, 1000).size for i in range(2)) == 50


def test_density_counts_every_point_inside_or_outside():
    d = Density2D((0.0, 1.0), (0.0, 2.0), bins=4)
    d.add(np.array([0.1, 0.9, 0.9, 5.0]), np.array([0.1, 1.9, 1.9, 0.5]))
    d.add(np.array([0.3]), np.array([1.0]))
    assert d.total == 5 and d.outside == 1 and d.counts.sum() == 4
    assert d.counts[0, 0] == 1 and d.counts[3, 3] == 2 and d.counts[1, 2] == 1
