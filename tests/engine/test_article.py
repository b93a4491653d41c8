"""The article's 4×3 example, reproduced to the precision it prints."""

import numpy as np
import pytest

from svdstudio.engine import decompose, rank_errors, rank_one_term, reconstruct, reduced

A = np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]], dtype=float)

ARTICLE_RANK2 = [[5.97, 5.8, 2.51], [0.12, 1.87, 0.72], [4.04, 0.26, 0.31], [-0.01, 5.91, 2.25]]
ARTICLE_RANK1 = [[4.79, 6.57, 2.75], [0.96, 1.32, 0.55], [1.43, 1.95, 0.82], [2.92, 4.01, 1.67]]
ARTICLE_U2S2 = [[-8.58, -1.43], [-1.73, 1.02], [-2.55, -3.15], [-5.23, 3.54]]
# The article's U and Vᵀ (scipy's signs); ours may differ by a sign per component.
ARTICLE_U = [[-0.82, -0.28, 0.21], [-0.16, 0.2, -0.93], [-0.24, -0.62, -0.28], [-0.5, 0.7, 0.1]]
ARTICLE_VT = [[-0.56, -0.77, -0.32], [-0.83, 0.54, 0.16], [0.05, 0.36, -0.93]]


@pytest.fixture(scope="module")
def res():
    return decompose(A)


def _printed(x):
    """What numpy prints with precision=2 (and -0.00 is 0.00)."""
    return np.round(x, 2) + 0.0


def test_singular_values_as_printed(res):
    assert _printed(res.s).tolist() == [10.51, 5.06, 2.63]
    assert res.rank == 3
    assert res.shape == (4, 3)
    assert res.U.shape == (4, 3) and res.Vt.shape == (3, 3)
    assert res.condition_number == pytest.approx(res.s[0] / res.s[2])
    assert res.driver == "gesdd" and not res.is_partial


def test_vectors_match_article_up_to_sign(res):
    signs = np.sign(np.asarray(ARTICLE_VT)[:, 0]) * np.sign(res.Vt[:, 0])
    assert _printed(res.Vt * signs[:, None]).tolist() == ARTICLE_VT
    assert _printed(res.U * signs).tolist() == ARTICLE_U


def test_full_rank_rebuilds_A_exactly(res):
    np.testing.assert_allclose(reconstruct(res, 3), A, atol=1e-12)
    assert _printed(reconstruct(res, 3)).tolist() == A.tolist()


def test_rank2_reconstruction_as_printed(res):
    assert _printed(reconstruct(res, 2)).tolist() == ARTICLE_RANK2


def test_rank1_reconstruction_as_printed(res):
    assert _printed(reconstruct(res, 1)).tolist() == ARTICLE_RANK1
    np.testing.assert_allclose(rank_one_term(res, 1), reconstruct(res, 1), atol=1e-12)


def test_rank2_squared_error_is_article_figure_and_sigma3_squared(res):
    err = rank_errors(res, 2)
    measured = float(np.sum(np.square(A - reconstruct(res, 2))))
    assert measured == pytest.approx(6.904768216213785, rel=1e-12)
    assert err.frobenius_squared == pytest.approx(6.904768216213785, rel=1e-12)
    assert round(err.frobenius_squared, 4) == 6.9048
    assert err.frobenius_squared == pytest.approx(res.s[2] ** 2, rel=1e-12)
    assert round(float(res.s[2]), 2) ** 2 == pytest.approx(6.9169)  # "square of 2.63"
    assert err.frobenius == pytest.approx(res.s[2], rel=1e-12)
    assert err.spectral == pytest.approx(res.s[2], rel=1e-12)


def test_rank1_error_is_sum_of_dropped_squares(res):
    err = rank_errors(res, 1)
    measured = float(np.sum(np.square(A - reconstruct(res, 1))))
    assert measured == pytest.approx(res.s[1] ** 2 + res.s[2] ** 2, rel=1e-12)
    assert err.frobenius_squared == pytest.approx(measured, rel=1e-12)
    assert err.frobenius_squared == pytest.approx(32.4649264368181, rel=1e-12)
    assert err.spectral == pytest.approx(res.s[1], rel=1e-12)
    assert err.energy_retained == pytest.approx(res.s[0] ** 2 / np.sum(res.s**2))


def test_reduced_representation_up_to_column_sign(res):
    ours = reduced(res, 2)
    assert ours.shape == (4, 2)
    signs = np.sign(np.asarray(ARTICLE_U2S2)[0]) * np.sign(ours[0])
    assert _printed(ours * signs).tolist() == ARTICLE_U2S2
    np.testing.assert_allclose(ours, A @ res.Vt[:2].T, atol=1e-12)


def test_rank_one_terms_sum_to_A(res):
    total = sum(rank_one_term(res, i) for i in (1, 2, 3))
    np.testing.assert_allclose(total, A, atol=1e-12)
    with pytest.raises(ValueError, match="between 1 and 3"):
        rank_one_term(res, 4)
