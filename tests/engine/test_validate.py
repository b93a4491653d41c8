"""Validation at the engine boundary: clear ValueErrors naming the problem and position."""

import numpy as np
import pytest

from svdstudio.engine import as_matrix, check_rank, decompose, decompose_topk, reconstruct


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ([], r"must be 2-D .* got 1-D shape \(0,\)"),
        ([[]], r"is empty \(shape 1×0\)"),
        (np.zeros((0, 3)), r"is empty \(shape 0×3\)"),
        (np.zeros((0, 3), dtype="U2"), r"is empty \(shape 0×3\)"),
        ([1.0, 2.0, 3.0], r"must be 2-D .* got 1-D shape \(3,\)"),
        (np.ones((2, 3, 4)), r"must be 2-D .* got 3-D shape \(2, 3, 4\)"),
        (5.0, r"must be 2-D .* got 0-D"),
        ([["1", "2"], ["3", "x"]], r"not numeric: row 2, column 2 holds 'x'"),
        ([[1, None]], r"not numeric: row 1, column 2 holds None"),
        ([[1, 2], [3]], r"rows of different lengths"),
        ([[1, 2], [3, np.nan]], r"contains NaN at row 2, column 2"),
        ([[1, np.inf, 2]], r"contains \+inf at row 1, column 2"),
        ([[1], [2], [-np.inf]], r"contains -inf at row 3, column 1"),
        ([[1 + 2j]], r"is complex"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), r"unsupported element type"),
    ],
)
def test_bad_input_is_named(value, pattern):
    with pytest.raises(ValueError, match=pattern):
        as_matrix(value)
    with pytest.raises(ValueError, match=pattern):
        decompose(value)


def test_name_appears_in_message():
    with pytest.raises(ValueError, match=r"^weights contains NaN at row 1, column 1$"):
        as_matrix([[np.nan]], name="weights")


def test_numeric_strings_and_ints_become_float64():
    out = as_matrix([["1", "2.5"], ["-3", "4e1"]])
    assert out.dtype == np.float64
    assert out.tolist() == [[1.0, 2.5], [-3.0, 40.0]]
    assert as_matrix(np.arange(6, dtype=np.int16).reshape(2, 3)).dtype == np.float64


def test_float32_kept_only_when_allowed():
    A = np.ones((3, 2), dtype=np.float32)
    assert as_matrix(A).dtype == np.float64
    assert as_matrix(A, allow_float32=True).dtype == np.float32
    res = decompose(A, allow_float32=True)
    assert res.dtype == "float32" and res.s.dtype == np.float32
    assert res.tolerance == pytest.approx(res.s[0] * 3 * np.finfo(np.float32).eps)


def test_topk_validates_too():
    with pytest.raises(ValueError, match="contains NaN at row 1, column 2"):
        decompose_topk([[1.0, np.nan], [0.0, 1.0]], 1)


def test_rank_checks():
    res = decompose(np.eye(3))
    for bad in (0, 4, 2.0, True, "2"):
        with pytest.raises(ValueError, match="rank k must be"):
            check_rank(res, bad)
    assert check_rank(res, np.int64(2)) == 2
    assert reconstruct(res, 0).tolist() == np.zeros((3, 3)).tolist()
    out = np.empty((3, 3))
    assert reconstruct(res, 3, out=out) is out
    np.testing.assert_allclose(out, np.eye(3))


def test_explicit_tolerance():
    res = decompose(np.diag([1.0, 1e-3, 1e-9]), tol=1e-6)
    assert res.tolerance == 1e-6 and res.rank == 2
