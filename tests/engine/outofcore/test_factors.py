"""Chunk R factors combine exactly; the fit from the table's factor equals the in-memory engine."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from svdstudio.engine.outofcore import chunk_factor, combine_factors, fit_from_factor
from svdstudio.engine.outofcore.factors import raw_factor
from svdstudio.engine.projection import METHOD_KEYS, project


def table(n=3000, p=6, seed=0, offset=1e4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + offset * rng.uniform(-1, 1, p)


@pytest.mark.parametrize("bounds", [[0, 3000], [0, 1, 2, 1000, 1000, 2999, 3000], [0, 5, 3000]])
def test_combined_factor_is_the_centred_r_of_the_whole_table(bounds):
    X = table()
    parts = [chunk_factor(X[a:b], block_rows=64) for a, b in itertools.pairwise(bounds)]
    f = combine_factors(*parts)
    assert f.n == 3000
    np.testing.assert_allclose(f.mean, X.mean(axis=0), rtol=1e-13)
    Xc = X - X.mean(axis=0)
    # Same singular values as the centred table: no Gram matrix, so to working precision.
    s_ref = np.linalg.svd(Xc, compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(f.R, compute_uv=False), s_ref, rtol=1e-10)
    np.testing.assert_allclose(f.sum_squares, (Xc**2).sum(axis=0), rtol=1e-10)
    s_raw = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(raw_factor(f), compute_uv=False), s_raw, rtol=1e-10)


def test_pairwise_tree_equals_one_flat_combination():
    X = table(seed=3)
    parts = [chunk_factor(X[i : i + 250]) for i in range(0, 3000, 250)]
    flat = combine_factors(*parts)
    tree = combine_factors(combine_factors(*parts[:5]), combine_factors(*parts[5:]))
    np.testing.assert_allclose(np.abs(tree.R), np.abs(flat.R), rtol=1e-9, atol=1e-9)
    assert combine_factors(chunk_factor(X[:0]), parts[0]).n == 250


@pytest.mark.parametrize("method", METHOD_KEYS)
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_fit_from_factor_agrees_with_the_in_memory_engine(method, offset):
    X = table(offset=offset, seed=7)
    f = combine_factors(*[chunk_factor(X[i : i + 700]) for i in range(0, 3000, 700)])
    fit = fit_from_factor(f, method, 4)
    ref = project(X, method, 4)
    np.testing.assert_allclose(fit.singular_values, ref.singular_values, rtol=1e-8)
    np.testing.assert_allclose(
        fit.explained_variance_ratio, ref.explained_variance_ratio, rtol=1e-8
    )
    np.testing.assert_allclose(fit.components, ref.components, atol=1e-8)
    scale = np.abs(ref.projection).max()
    np.testing.assert_allclose(fit.transform(X), ref.projection, atol=1e-6 * scale)
    assert fit.exact and "TSQR" in fit.algorithm


def test_fit_from_factor_column_subset_and_errors():
    X = table(p=5, seed=2)
    X[:, 2] = 3.0
    f = chunk_factor(X)
    fit = fit_from_factor(f, "standardized", 2, columns=[0, 1, 3, 4])
    ref = project(X[:, [0, 1, 3, 4]], "standardized", 2)
    np.testing.assert_allclose(fit.singular_values, ref.singular_values, rtol=1e-8)
    with pytest.raises(ValueError, match="column 3 is constant"):
        fit_from_factor(f, "standardized", 2)
    with pytest.raises(ValueError, match="between 1 and 4"):
        fit_from_factor(f, "pca", 5, columns=[0, 1, 3, 4])
