"""Reading labelled tables: cleaning, label detection and one-line errors that name the cell."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from svdstudio.io.datasets import (
    BUNDLED,
    DatasetError,
    load_bundled,
    pixel_grid,
    read_dataset,
    read_header,
    resolve_dataset,
    write_projection_csv,
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


GOOD = "a,b,c,kind\n1,2,3,x\n2,1,5,y\n4,4,1,x\n3,0,2,z\n"


def test_label_auto_detected(tmp_path):
    ds = read_dataset(write(tmp_path, "t.csv", GOOD))
    assert ds.feature_names == ("a", "b", "c")
    assert ds.label_name == "kind"
    assert ds.labels.tolist() == ["x", "y", "x", "z"]
    assert ds.classes == ["x", "y", "z"]
    np.testing.assert_array_equal(ds.X[:, 0], [1, 2, 4, 3])
    assert ds.X.dtype == np.float64
    assert ds.dropped_rows == 0 and ds.dropped_columns == () and ds.notices == []
    assert ds.row_numbers.tolist() == [1, 2, 3, 4]
    ds = read_dataset(write(tmp_path, "n.csv", "a,b,k\n1,2,c10\n2,1,c2\n4,4,C1\n"))
    assert ds.classes == ["C1", "c2", "c10"]


def test_label_explicit_by_name_and_index(tmp_path):
    p = write(tmp_path, "t.csv", GOOD)
    ds = read_dataset(p, label_column="c")
    assert ds.label_name == "c"
    assert ds.labels.tolist() == ["3", "5", "1", "2"]
    # The text column that is not the label is left out, with a notice.
    assert ds.feature_names == ("a", "b")
    assert ds.dropped_columns == ("kind",)
    assert any("'kind' is not numeric" in n for n in ds.notices)
    assert read_dataset(p, label_column=0).label_name == "a"
    assert read_dataset(p, label_column="KIND").label_name == "kind"
    with pytest.raises(DatasetError, match="no column named 'species'"):
        read_dataset(p, label_column="species")
    ds = read_dataset(p, no_label=True)
    assert ds.labels is None and ds.label_name is None


def test_numeric_label_found_by_name(tmp_path):
    p = write(tmp_path, "t.csv", "x1,x2,target\n1,2,0\n2,1,1\n5,3,1\n0,0,2\n")
    ds = read_dataset(p)
    assert ds.label_name == "target"
    assert ds.labels.tolist() == ["0", "1", "1", "2"]
    assert any("'target' (by its name)" in n for n in ds.notices)


def test_too_few_rows(tmp_path):
    p = write(tmp_path, "few.csv", "a,b\n1,2\n3,4\n")
    with pytest.raises(DatasetError, match=r"few\.csv: only 2 usable rows; need at least 3"):
        read_dataset(p)


def test_too_few_rows_after_dropping_missing(tmp_path):
    p = write(tmp_path, "m.csv", "a,b\n1,2\nNA,4\n3,?\n5,6\n")
    with pytest.raises(DatasetError, match="only 2 usable rows after dropping 2"):
        read_dataset(p)


def test_fewer_than_two_numeric_columns(tmp_path):
    p = write(tmp_path, "one.csv", "a,name\n1,x\n2,y\n3,z\n")
    with pytest.raises(DatasetError, match=r"one\.csv: only 1 usable numeric column \('a'\)"):
        read_dataset(p)
    # A constant column does not count as usable.
    p = write(tmp_path, "const.csv", "a,b,name\n1,7,x\n2,7,y\n3,7,z\n")
    with pytest.raises(DatasetError, match="only 1 usable numeric column"):
        read_dataset(p)


def test_missing_values_dropped_and_counted(tmp_path):
    text = (
        "a,b,c,kind\n1,2,3,x\n,1,5,y\nNA,4,1,x\n3,NaN,2,z\n4,?,2,z\n5,n/a,1,x\n6,1,,y\n"
        "7,2,3,\n8,3,1,y\n9,9,0,x\n"
    )
    ds = read_dataset(write(tmp_path, "m.csv", text))
    assert ds.dropped_rows == 7
    assert ds.n_rows == 3
    assert ds.row_numbers.tolist() == [1, 9, 10]
    assert any("7 rows with missing values" in n and "row 2" in n for n in ds.notices)


def test_constant_column_dropped_and_named(tmp_path):
    p = write(tmp_path, "c.csv", "a,flat,b,kind\n1,5,2,x\n2,5,1,y\n4,5,4,x\n")
    ds = read_dataset(p)
    assert ds.feature_names == ("a", "b")
    assert ds.dropped_columns == ("flat",)
    assert ds.constant_values == {"flat": 5.0}
    assert any("constant column left out: flat" in n for n in ds.notices)
    assert ds.original_values(1) == {"a": 2.0, "b": 1.0, "flat": 5.0}


def test_non_numeric_cell_named(tmp_path):
    p = write(tmp_path, "bad.csv", "a,b,kind\n1,2,x\n2,oops,y\n4,4,x\n3,0,z\n")
    with pytest.raises(DatasetError) as err:
        read_dataset(p)
    msg = str(err.value)
    assert "bad.csv" in msg and "row 2 (line 3)" in msg and "column 2 'b'" in msg
    assert "'oops'" in msg and "\n" not in msg


def test_infinite_cell_named(tmp_path):
    p = write(tmp_path, "inf.csv", "a,b\n1,2\n2,inf\n4,4\n")
    with pytest.raises(DatasetError, match=r"row 2 \(line 3\), column 2 'b' holds 'inf'"):
        read_dataset(p)


def test_bom_and_tsv(tmp_path):
    p = write(tmp_path, "bom.csv", "\ufeff" + GOOD)
    assert read_dataset(p).feature_names[0] == "a"
    tsv = GOOD.replace(",", "\t")
    ds = read_dataset(write(tmp_path, "t.tsv", tsv))
    assert ds.feature_names == ("a", "b", "c") and ds.label_name == "kind"
    # Tab-separated in a .txt file: sniffed, not guessed from the name.
    assert read_dataset(write(tmp_path, "t.txt", tsv)).n_rows == 4
    semi = GOOD.replace(",", ";").replace("1;2", "1,5;2")
    ds = read_dataset(write(tmp_path, "semi.csv", semi))
    assert ds.n_features == 3 and ds.X[0, 0] == 1.5
    assert any("Decimal commas" in n for n in ds.notices)


def test_headerless_table(tmp_path):
    ds = read_dataset(write(tmp_path, "h.csv", "1,2,3,x\n2,1,5,y\n4,4,1,x\n"))
    assert ds.feature_names == ("column_1", "column_2", "column_3")
    assert ds.label_name == "column_4"
    assert ds.n_rows == 3


def test_quoted_fields_and_blank_lines(tmp_path):
    text = 'a,b,"kind, long"\n1,2,"x, one"\n\n2,1,"y"\n4,4,"x, one"\n'
    ds = read_dataset(write(tmp_path, "q.csv", text))
    assert ds.label_name == "kind, long"
    assert ds.labels.tolist() == ["x, one", "y", "x, one"]


def test_ragged_row_and_empty_file(tmp_path):
    with pytest.raises(DatasetError, match=r"row 2 \(line 3\) has 2 fields; the header has 3"):
        read_dataset(write(tmp_path, "r.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n"))
    # Blank lines and a quoted line break do not shift the line number named.
    with pytest.raises(DatasetError, match=r"row 3 \(line 6\), column 2 'b' holds 'x'"):
        read_dataset(write(tmp_path, "l.csv", 'a,b,n\n1,2,"p\nq"\n\n4,5,r\n6,x,s\n7,8,t\n'))
    with pytest.raises(DatasetError, match="the file is empty"):
        read_dataset(write(tmp_path, "e.csv", "\n\n"))
    with pytest.raises(DatasetError, match="no such file"):
        read_dataset(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="binary file"):
        read_dataset(write(tmp_path, "b.csv", "\x00\x01\x02"))


def test_trailing_delimiter_column_ignored(tmp_path):
    ds = read_dataset(write(tmp_path, "t.csv", "a,b,kind,\n1,2,x,\n2,1,y,\n4,4,x,\n"))
    assert ds.feature_names == ("a", "b")
    assert ds.dropped_rows == 0
    assert "column_4" in ds.dropped_columns


def test_latin1_fallback(tmp_path):
    p = write(tmp_path, "l.csv", "a,b,kind\n1,2,café\n2,1,thé\n4,4,café\n", encoding="latin-1")
    ds = read_dataset(p)
    assert ds.labels.tolist() == ["café", "thé", "café"]
    assert any("Latin-1" in n for n in ds.notices)


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled(name):
    ds = load_bundled(name)
    expected = {"iris": (150, 4, 3), "wine": (178, 13, 3), "digits": (1797, 61, 10)}[name]
    assert (ds.n_rows, ds.n_features, len(ds.classes)) == expected
    path, label = resolve_dataset(name)
    assert path.exists() and label == ds.label_name
    assert read_header(path)[-1] == ds.label_name


def test_digits_pixels_form_a_grid():
    ds = load_bundled("digits")
    assert pixel_grid(ds.all_columns[:-1]) == (8, 8)
    assert pixel_grid(ds.feature_names) is None  # 3 constant pixels were dropped
    values = ds.original_values(0)
    assert len(values) == 64 and values["pixel_r0_c0"] == 0.0
    assert ds.labels[0] == "0"


def test_write_projection_csv(tmp_path):
    out = tmp_path / "proj.csv"
    proj = np.array([[1.5, -2.0], [0.25, 1e-12]])
    write_projection_csv(
        out,
        proj,
        component_names=["PC1", "PC2"],
        labels=np.array(["a", "b, c"]),
        label_name="kind",
        row_numbers=np.array([3, 7]),
    )
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["row", "kind", "PC1", "PC2"]
    assert rows[1] == ["3", "a", "1.5", "-2"]
    assert rows[2][:2] == ["7", "b, c"] and float(rows[2][3]) == 1e-12
    assert [p.name for p in tmp_path.iterdir()] == ["proj.csv"]  # no temp file left
    assert out.stat().st_mode & 0o777 == 0o644


def test_twenty_thousand_rows(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 20))
    p = tmp_path / "big.csv"
    with p.open("w") as f:
        f.write(",".join(f"f{i}" for i in range(20)) + ",cls\n")
        for i, row in enumerate(X):
            f.write(",".join(f"{v:.6f}" for v in row) + f",c{i % 3}\n")
    ds = read_dataset(p)
    assert ds.X.shape == (20000, 20)
    np.testing.assert_allclose(ds.X, X, atol=1e-6)


def test_read_header_names_columns_as_read_dataset_does(tmp_path):
    p = write(tmp_path, "h.csv", "a,a,,kind\n1,2,3,x\n2,1,5,y\n4,4,1,x\n")
    ds = read_dataset(p)
    assert read_header(p) == list(ds.all_columns) == ["a", "a_2", "column_3", "kind"]
    with pytest.raises(DatasetError, match=r"e\.csv: the file is empty"):
        read_header(write(tmp_path, "e.csv", "\n"))
