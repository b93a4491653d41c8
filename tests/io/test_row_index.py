"""find_row_index_column: a column that only numbers the rows is found, others are not."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.io.datasets import find_row_index_column, load_bundled, read_dataset


def table(tmp_path, header, first_column, n=30, missing_row=None):
    rng = np.random.default_rng(3)
    lines = [f"{header},a,b,kind"]
    for i in range(n):
        a = "NA" if i == missing_row else f"{rng.normal():.4f}"
        lines.append(f"{first_column[i]},{a},{rng.normal():.4f},{'pq'[i % 2]}")
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    return read_dataset(p)


N = 30


@pytest.mark.parametrize(
    ("header", "values", "missing_row"),
    [
        ("v", list(range(1, N + 1)), None),  # 1…N, any header
        ("v", list(range(N)), None),  # 0…N−1
        ("v", list(range(501, 501 + N)), 4),  # an offset, and a row dropped for a missing value
        ("ID", list(np.random.default_rng(0).permutation(N) + 7), None),  # by name, shuffled
        ("row", [10 * i for i in range(N)], None),  # by name, any distinct whole numbers
        ("Unnamed: 0", list(range(N)), None),  # what pandas writes
    ],
)
def test_row_index_found(tmp_path, header, values, missing_row):
    ds = table(tmp_path, header, values, missing_row=missing_row)
    assert find_row_index_column(ds) == header


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("v", [2 * i for i in range(N)]),  # steps of 2, not a row number, name says nothing
        ("v", [i + 0.5 for i in range(N)]),  # not whole numbers
        ("id", [i % 5 for i in range(N)]),  # named like one but repeats
        ("v", list(np.random.default_rng(1).permutation(N) + 1)),  # shuffled, no telling name
        ("v", list(range(N, 0, -1))),  # counts down
    ],
)
def test_not_a_row_index(tmp_path, header, values):
    ds = table(tmp_path, header, values)
    assert find_row_index_column(ds) is None


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
def test_bundled_tables_have_none(name):
    assert find_row_index_column(load_bundled(name)) is None
