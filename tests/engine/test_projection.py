"""Projection methods on Iris against scikit-learn's definitions, written out in plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.projection import (
    METHOD_EXPLANATIONS,
    METHODS,
    component_names,
    project,
)
from svdstudio.io.datasets import load_bundled


@pytest.fixture(scope="module")
def iris() -> np.ndarray:
    return load_bundled("iris").X


def same_up_to_sign(a: np.ndarray, b: np.ndarray, axis: int) -> None:
    """Columns (axis=0) or rows (axis=1) of a and b agree up to one sign each."""
    a = np.atleast_2d(a)
    b = np.atleast_2d(b)
    a2 = a if axis == 0 else a.T
    b2 = b if axis == 0 else b.T
    for j in range(a2.shape[1]):
        sign = np.sign(a2[:, j] @ b2[:, j])
        np.testing.assert_allclose(a2[:, j], sign * b2[:, j], rtol=1e-9, atol=1e-9)


def test_truncated_svd_matches_sklearn_definition(iris):
    # TruncatedSVD: X_new = X V_k (= U_k Σ_k); explained_variance_ = var(X_new, ddof=0);
    # explained_variance_ratio_ = explained_variance_ / var(X, ddof=0).sum().
    X = iris
    _, S, Vt = np.linalg.svd(X, full_matrices=False)
    X_new = X @ Vt[:2].T
    ev = X_new.var(axis=0)
    ratio = ev / X.var(axis=0).sum()

    res = project(X, "tsvd", 2)
    assert res.method == "tsvd"
    np.testing.assert_allclose(res.singular_values, S[:2], rtol=1e-12)
    np.testing.assert_allclose(res.explained_variance, ev, rtol=1e-10)
    np.testing.assert_allclose(res.explained_variance_ratio, ratio, rtol=1e-10)
    same_up_to_sign(res.components, Vt[:2], axis=1)
    same_up_to_sign(res.projection, X_new, axis=0)
    np.testing.assert_array_equal(res.mean, np.zeros(4))
    np.testing.assert_array_equal(res.scale, np.ones(4))
    # Iris: the first two raw-SVD components explain ≈ 52.9 % and 44.8 % of the variance.
    np.testing.assert_allclose(res.explained_variance_ratio, [0.52875, 0.44846], atol=5e-5)
    assert res.singular_values[0] == pytest.approx(95.9599, abs=1e-4)


def test_pca_matches_sklearn_definition_and_published_ratios(iris):
    # PCA: Xc = X − mean; X_new = Xc V_k; explained_variance_ = S²/(n−1); ratio over the sum.
    X = iris
    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    ev = S**2 / (n - 1)

    res = project(X, "pca")
    assert res.n_components == 4
    np.testing.assert_allclose(res.singular_values, S, rtol=1e-12)
    np.testing.assert_allclose(res.explained_variance, ev, rtol=1e-10)
    np.testing.assert_allclose(res.explained_variance_ratio, ev / ev.sum(), rtol=1e-10)
    same_up_to_sign(res.components, Vt, axis=1)
    same_up_to_sign(res.projection, Xc @ Vt.T, axis=0)
    np.testing.assert_allclose(res.mean, X.mean(axis=0))
    # Widely published figures for PCA on Iris.
    np.testing.assert_allclose(
        res.explained_variance_ratio, [0.92461872, 0.05306648, 0.01710261, 0.00521218], atol=1e-7
    )
    assert res.explained_variance_ratio.sum() == pytest.approx(1.0)


def test_standardized_matches_standard_scaler_then_pca(iris):
    X = iris
    n = X.shape[0]
    Z = (X - X.mean(axis=0)) / X.std(axis=0)  # StandardScaler: ddof 0
    _, S, Vt = np.linalg.svd(Z, full_matrices=False)
    ev = S**2 / (n - 1)

    res = project(X, "standardized", 3)
    np.testing.assert_allclose(res.singular_values, S[:3], rtol=1e-12)
    np.testing.assert_allclose(res.explained_variance_ratio, ev[:3] / ev.sum(), rtol=1e-10)
    same_up_to_sign(res.projection, Z @ Vt[:3].T, axis=0)
    np.testing.assert_allclose(res.scale, X.std(axis=0))
    np.testing.assert_allclose(res.explained_variance_ratio, [0.7296, 0.2285, 0.0367], atol=1e-4)
    # Loadings of standardised PCA are correlations (up to the n/(n−1) factor): |.| ≤ 1.
    assert np.all(np.abs(res.loadings) <= 1.0 + 1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_sign_convention_and_shapes(iris, method):
    res = project(iris, method, 2)
    assert res.components.shape == (2, 4)
    assert res.projection.shape == (150, 2)
    assert res.loadings.shape == (4, 2)
    for v in res.components:
        assert v[np.argmax(np.abs(v))] > 0
    # The projection is the (prepared) data times the components.
    A = (iris - res.mean) / res.scale
    np.testing.assert_allclose(res.projection, A @ res.components.T, atol=1e-10)
    np.testing.assert_allclose(
        res.loadings, res.components.T * np.sqrt(res.explained_variance), rtol=1e-12
    )
    assert METHOD_EXPLANATIONS[method]


def test_component_names():
    assert component_names("tsvd", 3) == ["SVD1", "SVD2", "SVD3"]
    assert component_names("pca", 2) == ["PC1", "PC2"]


def test_article_4x3_reduced_matrix():
    # The article's truncated SVD of its 4×3 example: U_k Σ_k, signs as printed up to sign.
    A = np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]], dtype=float)
    res = project(A, "tsvd", 2)
    expected = np.array([[-8.58, -1.43], [-1.73, 1.02], [-2.55, -3.15], [-5.23, 3.54]])
    for j in range(2):
        sign = np.sign(res.projection[:, j] @ expected[:, j])
        np.testing.assert_allclose(sign * res.projection[:, j], expected[:, j], atol=0.006)


def test_errors():
    X = np.arange(12.0).reshape(4, 3) ** 2
    with pytest.raises(ValueError, match="unknown projection method"):
        project(X, "lda")
    with pytest.raises(ValueError, match="between 1 and 3"):
        project(X, "pca", 4)
    with pytest.raises(ValueError, match="at least 2 rows"):
        project(X[:1], "pca")
    Y = np.column_stack([X, np.ones(4)])
    with pytest.raises(ValueError, match="column 4 is constant"):
        project(Y, "standardized")
    with pytest.raises(ValueError, match="NaN at row 2, column 1"):
        project(np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 3.0]]), "tsvd")
