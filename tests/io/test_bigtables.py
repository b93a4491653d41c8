"""The chunked reader applies the in-memory reader's rules chunk by chunk (CSV, Parquet, .npy)."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.io.bigtables import BigTable, ScanResult, open_big_table
from svdstudio.io.datasets import DatasetError, read_dataset
from svdstudio.io.projection_writer import ProjectionWriter

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def read_all(table: BigTable) -> tuple[ScanResult, np.ndarray, np.ndarray | None, np.ndarray]:
    """Scan and load every chunk serially (no Dask): what the engine's passes see."""
    scan = table.finish_scan([table.scan_chunk(i) for i in range(table.n_chunks)])
    chunks = [table.load_chunk(i) for i in range(table.n_chunks)]
    X = np.concatenate([c.X for c in chunks])
    labels = None if chunks[0].labels is None else np.concatenate([c.labels for c in chunks])
    rows = np.concatenate([c.row_numbers for c in chunks])
    return scan, X, labels, rows


def write_table(path, header, rows, delim=","):
    lines = [delim.join(header)] if header else []
    lines += [delim.join(str(c) for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sample_rows(n=400, seed=0, missing_every=37):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1, 10, 0.1, 3] + [0, 5, -2, 100]
    labels = np.where(np.arange(n) < n // 2, "setosa", "virginica")  # classes split by chunks
    rows = []
    for i in range(n):
        cells = [f"{v:.17g}" for v in X[i]]
        if missing_every and i % missing_every == 3:
            cells[i % 4] = ["NA", "", "?", "nan"][i % 4]
        rows.append([cells[0], cells[1], "7.5", labels[i], cells[2], cells[3]])
    return rows


HEADER = ["a", "b", "const", "species", "c", "d"]


@pytest.mark.parametrize("chunk_rows", [7, 50, 1000])
def test_csv_chunks_agree_with_the_in_memory_reader(tmp_path, chunk_rows):
    path = write_table(tmp_path / "t.csv", HEADER, sample_rows())
    ds = read_dataset(path)
    table = open_big_table(path, chunk_rows=chunk_rows)
    assert table.n_chunks >= (400 * 2 // 3) // chunk_rows or chunk_rows == 1000
    scan, X, labels, rows = read_all(table)
    np.testing.assert_array_equal(X, ds.X)
    np.testing.assert_array_equal(labels, ds.labels)
    np.testing.assert_array_equal(rows, ds.row_numbers)
    assert scan.feature_names == ds.feature_names == ("a", "b", "c", "d")
    assert scan.label_name == ds.label_name == "species"
    assert scan.notices == ds.notices
    assert scan.dropped_rows == ds.dropped_rows == 11
    assert scan.dropped_columns == ds.dropped_columns == ("const",)
    assert scan.constant_values == ds.constant_values == {"const": 7.5}
    np.testing.assert_allclose(scan.mean, ds.X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(scan.variance, ds.X.var(axis=0), rtol=1e-12)
    assert scan.class_counts == {"setosa": 194, "virginica": 195}
    assert sum(scan.chunk_rows) == ds.n_rows


@pytest.mark.parametrize(
    ("name", "delim", "header", "text_fn"),
    [
        ("tsv", "\t", True, None),
        ("semicolon_decimal_comma", ";", True, lambda s: s.replace(".", ",")),
        ("no_header", ",", False, None),
    ],
)
def test_csv_variants(tmp_path, name, delim, header, text_fn):
    rows = sample_rows(120, seed=3, missing_every=0)
    if text_fn:
        rows = [[text_fn(c) for c in r] for r in rows]
    suffix = ".tsv" if delim == "\t" else ".csv"
    path = write_table(tmp_path / f"{name}{suffix}", HEADER if header else None, rows, delim)
    ds = read_dataset(path)
    scan, X, labels, rows_out = read_all(open_big_table(path, chunk_rows=25))
    np.testing.assert_array_equal(X, ds.X)
    np.testing.assert_array_equal(labels, ds.labels)
    np.testing.assert_array_equal(rows_out, ds.row_numbers)
    assert scan.notices == ds.notices
    assert scan.feature_names == ds.feature_names


def test_trailing_delimiter_and_blank_lines(tmp_path):
    rows = sample_rows(60, seed=4, missing_every=0)
    text = ",".join(HEADER) + "\n"
    for i, r in enumerate(rows):
        text += ",".join(r) + ("," if i % 5 == 0 else "") + "\n" + ("\n" if i % 9 == 0 else "")
    path = tmp_path / "quirks.csv"
    path.write_text(text)
    ds = read_dataset(path)
    _scan, X, _, rows_out = read_all(open_big_table(path, chunk_rows=8))
    np.testing.assert_array_equal(X, ds.X)
    np.testing.assert_array_equal(rows_out, ds.row_numbers)


@pytest.mark.parametrize(
    ("row", "col", "value"),
    [(3, 1, "abc"), (250, 4, "1.2.3"), (399, 5, "inf")],
)
def test_bad_cell_names_the_row_and_column_like_the_in_memory_reader(tmp_path, row, col, value):
    rows = sample_rows(400, missing_every=0)
    rows[row - 1][col] = value
    path = write_table(tmp_path / "bad.csv", HEADER, rows)
    with pytest.raises(DatasetError) as mem:
        read_dataset(path)
    table = open_big_table(path, chunk_rows=30)
    with pytest.raises(DatasetError) as big:
        read_all(table)
    assert str(big.value) == str(mem.value)
    assert f"row {row} (line {row + 1})" in str(big.value)


def test_ragged_row_in_a_later_chunk(tmp_path):
    rows = sample_rows(200, missing_every=0)
    rows[150] = rows[150][:4]
    path = write_table(tmp_path / "ragged.csv", HEADER, rows)
    with pytest.raises(DatasetError) as mem:
        read_dataset(path)
    with pytest.raises(DatasetError) as big:
        read_all(open_big_table(path, chunk_rows=40))
    assert str(big.value) == str(mem.value)
    assert "row 151 (line 152) has 4 fields; the header has 6" in str(big.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"a,b,label\n1,2,x\n3,4,y\n", "only 2 usable rows"),
        (b"a,b,label\n1,2,x\n3,2,y\n5,2,x\n", "only 1 usable numeric column ('a')"),
        (b"a,b\n", "header but no data rows"),
    ],
)
def test_bad_files_get_the_in_memory_readers_message(tmp_path, content, message):
    path = tmp_path / "x.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_all(open_big_table(path, chunk_rows=1))


def test_label_column_by_name_and_errors(tmp_path):
    path = write_table(tmp_path / "t.csv", HEADER, sample_rows(50, missing_every=0))
    table = open_big_table(path, label_column="a")
    assert table.label_name == "a"
    with pytest.raises(DatasetError, match="no column named 'zz'"):
        open_big_table(path, label_column="zz")
    nolab = open_big_table(path, no_label=True)
    assert nolab.label_name is None
    assert "species" in nolab.head_dropped


def write_parquet(path, n=500, group=64, seed=1, nulls=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [2, 1, 5]
    cols = {f"x{j}": X[:, j].copy() for j in range(3)}
    mask = np.zeros(n, bool)
    if nulls:
        mask[[5, 63, 64, 65, 300]] = True
    arrays = {
        "x0": pa.array(cols["x0"], mask=mask),
        "x1": pa.array(cols["x1"]),
        "flat": pa.array(np.full(n, 2.0)),
        "kind": pa.array(np.where(np.arange(n) % 3 == 0, "a", "b").tolist()),
        "x2": pa.array(cols["x2"]),
        "count": pa.array(np.arange(n, dtype=np.int64)),
    }
    pq.write_table(pa.table(arrays), path, row_group_size=group)
    return X, mask


def test_parquet_row_groups_nulls_label_and_constants(tmp_path):
    path = tmp_path / "t.parquet"
    X, mask = write_parquet(path)
    table = open_big_table(path, chunk_rows=100)
    assert table.label_name == "kind"
    assert table.n_chunks > 3
    scan, Xr, labels, rows = read_all(table)
    assert scan.feature_names == ("x0", "x1", "x2", "count")
    assert scan.dropped_rows == 5 and "the first is row 6" in scan.notices[0]
    assert scan.constant_values == {"flat": 2.0}
    keep = ~mask
    np.testing.assert_array_equal(rows, np.nonzero(keep)[0] + 1)
    np.testing.assert_array_equal(Xr[:, :3], X[keep])
    np.testing.assert_array_equal(Xr[:, 3], np.arange(500)[keep])
    assert labels[0] == "a" and set(labels) == {"a", "b"}


def test_parquet_damaged_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        open_big_table(path)


def test_npy_memory_mapped_nan_rows_dropped(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 5))
    X[[0, 99, 100, 299], [1, 2, 0, 4]] = np.nan
    X[:, 3] = 1.0  # constant
    path = tmp_path / "a.npy"
    np.save(path, X)
    table = open_big_table(path, chunk_rows=100)
    assert table.n_chunks == 3
    scan, Xr, labels, rows = read_all(table)
    assert labels is None and scan.dropped_rows == 4
    assert scan.dropped_columns == ("column_4",)
    keep = ~np.isnan(X).any(axis=1)
    np.testing.assert_array_equal(Xr, X[keep][:, [0, 1, 2, 4]])
    np.testing.assert_array_equal(rows, np.nonzero(keep)[0] + 1)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 4)), "expected a 2-D array"),
        (np.array([["a", "b"], ["c", "d"]]), "not numbers"),
        (np.array([[1, None], [2, 3]], dtype=object), "not a plain numeric .npy"),
    ],
)
def test_npy_bad_arrays(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array, allow_pickle=True)  # the object array needs it to be written at all
    with pytest.raises(DatasetError, match=message):
        open_big_table(path)


def test_npy_infinite_value_named(tmp_path):
    X = np.arange(60, dtype=float).reshape(20, 3)
    X[17, 2] = np.inf
    np.save(tmp_path / "inf.npy", X)
    with pytest.raises(DatasetError, match=r"row 18, column 3 'column_3' holds inf"):
        read_all(open_big_table(tmp_path / "inf.npy", chunk_rows=5))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_projection_writer_streams_chunks(tmp_path, suffix):
    out = tmp_path / f"proj{suffix}"
    rng = np.random.default_rng(0)
    parts = [
        (np.arange(1, 6) + 5 * i, rng.normal(size=(5, 2)), np.array(["a"] * 5)) for i in range(3)
    ]
    with ProjectionWriter(out, ["PC1", "PC2"], "kind", with_labels=True) as w:
        for rows, coords, labels in parts:
            w.write(rows, coords, labels)
    assert w.rows_written == 15
    if suffix == ".parquet":
        t = pq.read_table(out)
        assert t.column_names == ["row", "kind", "PC1", "PC2"]
        np.testing.assert_array_equal(t.column("row").to_numpy(), np.arange(1, 16))
        np.testing.assert_array_equal(
            t.column("PC2").to_numpy(), np.concatenate([p[1][:, 1] for p in parts])
        )
    else:
        lines = out.read_text().splitlines()
        assert lines[0] == "row,kind,PC1,PC2" and len(lines) == 16
        assert lines[6].startswith("6,a,")
        np.testing.assert_allclose(float(lines[15].split(",")[3]), parts[2][1][4, 1], rtol=1e-9)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_projection_writer_failure_leaves_nothing(tmp_path, suffix):
    out = tmp_path / f"proj{suffix}"
    with pytest.raises(RuntimeError), ProjectionWriter(out, ["PC1"]) as w:
        w.write(np.array([1, 2]), np.zeros((2, 1)), None)
        raise RuntimeError("cancelled half-way")
    assert list(tmp_path.iterdir()) == []
