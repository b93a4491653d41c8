"""Text tables in every encoding and line end spreadsheets write, long fields, odd separators."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.io.datasets import DatasetError, read_dataset, read_header
from svdstudio.io.filetypes import classify_path
from svdstudio.io.matrix import MatrixFileError, read_matrix

ENCODINGS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8-bom": lambda t: t.encode("utf-8-sig"),
    "utf-16-le-bom": lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
    "utf-16-be-bom": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    "utf-32-le-bom": lambda t: b"\xff\xfe\x00\x00" + t.encode("utf-32-le"),
    "utf-32-be-bom": lambda t: b"\x00\x00\xfe\xff" + t.encode("utf-32-be"),
}
LINE_ENDS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}

MATRIX_ROWS = [["x", "y", "z"], ["1.5", "-2", "3e2"], ["4", "5", "6"], ["7", "8", "9.25"]]
MATRIX_VALUES = [[1.5, -2.0, 300.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.25]]
DATASET_ROWS = [
    ["längd", "breite", "klass"],
    ["1.0", "2.0", "ä"],
    ["2.5", "1.0", "ö"],
    ["3.0", "4.5", "ä"],
    ["0.5", "3.0", "ö"],
]


def _table(rows: list[list[str]], delimiter: str, end: str) -> str:
    return end.join(delimiter.join(r) for r in rows) + end


@pytest.mark.parametrize("end", sorted(LINE_ENDS))
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_matrix_in_every_encoding_and_line_end(tmp_path, encoding, end):
    path = tmp_path / "m.csv"
    path.write_bytes(ENCODINGS[encoding](_table(MATRIX_ROWS, ",", LINE_ENDS[end])))
    assert read_matrix(path).tolist() == MATRIX_VALUES
    assert classify_path(path) == "matrix"


@pytest.mark.parametrize("end", sorted(LINE_ENDS))
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_dataset_in_every_encoding_and_line_end(tmp_path, encoding, end):
    path = tmp_path / "d.csv"
    path.write_bytes(ENCODINGS[encoding](_table(DATASET_ROWS, ",", LINE_ENDS[end])))
    ds = read_dataset(path)
    assert ds.feature_names == ("längd", "breite")
    assert ds.labels.tolist() == ["ä", "ö", "ä", "ö"]
    np.testing.assert_array_equal(ds.X[:, 0], [1.0, 2.5, 3.0, 0.5])
    assert not any("Latin-1" in n for n in ds.notices)
    assert read_header(path) == ["längd", "breite", "klass"]
    assert classify_path(path) == "dataset"


def test_utf16_without_bom_is_named_not_called_plain_binary(tmp_path):
    path = tmp_path / "nobom.csv"
    path.write_bytes("1,2\n3,4\n".encode("utf-16-le"))
    with pytest.raises(MatrixFileError, match="looks like UTF-16 text without its byte-order mark"):
        read_matrix(path)
    with pytest.raises(DatasetError, match="looks like UTF-16 text without its byte-order mark"):
        read_dataset(path)


def test_broken_utf16_is_named(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe" + "1,2\n".encode("utf-16-le") + b"\x00\xd8")  # lone surrogate
    with pytest.raises(MatrixFileError, match=r"^broken\.csv: is not valid UTF-16 text"):
        read_matrix(path)


@pytest.mark.parametrize("length", [200_000, 2_000_000])
def test_very_long_label_field(tmp_path, length):
    path = tmp_path / "long.csv"
    label = "x" * length
    path.write_text(f'a,b,label\n1,2,"{label}"\n3,5,y\n4,4,{label}\n7,1,y\n')
    ds = read_dataset(path)
    assert ds.n_rows == 4 and len(ds.labels[0]) == length


def test_very_long_matrix_cell_is_named_shortened(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("1,2\n3," + "9" * 300_000 + "z\n")
    with pytest.raises(MatrixFileError) as err:
        read_matrix(path)
    assert "row 2, column 2 holds '999" in str(err.value) and len(str(err.value)) < 200


def test_unbalanced_quote_in_dataset_named_by_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('a,b,label\n1,2,x\n3,4,"y\n' + "5,6,z\n" * 3)
    # An open quote swallows the rest of the file; at worst that is one long, odd field.
    with pytest.raises(DatasetError) as err:
        read_dataset(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


@pytest.mark.parametrize("blanks", [" ", "   "])
def test_space_separated_table_is_split(tmp_path, blanks):
    path = tmp_path / "spaced.txt"
    rows = [
        ["a", "b", "c", "label"],
        ["1", "2", "3", "x"],
        ["4", "5", "7", "y"],
        ["7", "9", "0", "x"],
    ]
    path.write_text("\n".join(blanks.join(r) for r in rows) + "\n")
    ds = read_dataset(path)
    assert ds.feature_names == ("a", "b", "c") and ds.labels.tolist() == ["x", "y", "x"]
    assert any("split at spaces" in n for n in ds.notices)


def test_space_separated_table_that_cannot_be_split_says_so(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("sepal length sepal width species\n5.1 3.5 setosa\n4.9 3.0 setosa\n")
    with pytest.raises(DatasetError) as err:
        read_dataset(path)
    message = str(err.value)
    assert "cannot split the table into columns" in message
    assert "line 1 has 5 fields but line 2 has 3" in message and "CSV or TSV" in message


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("99", "label column 99 does not exist: the table has 3 columns (numbered 1 to 3"),
        ("0", "label column 0 does not exist"),
        ("spieces", "no column named 'spieces'; the columns are 1 'a', 2 'b', 3 'kind'"),
    ],
)
def test_label_column_message_names_what_was_typed(tmp_path, typed, words):
    path = tmp_path / "t.csv"
    path.write_text("a,b,kind\n1,2,x\n3,5,y\n4,4,x\n7,1,y\n")
    with pytest.raises(DatasetError) as err:
        read_dataset(path, label_column=typed)
    assert words in str(err.value)


def test_label_column_by_one_based_number(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("kind,a,b\nx,1,2\ny,3,5\nx,4,4\ny,7,1\n")
    ds = read_dataset(path, label_column="1")
    assert ds.label_name == "kind" and ds.feature_names == ("a", "b")


def test_very_long_quoted_matrix_cell(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('1,2\n3,"4.' + "0" * 300_000 + '"\n')
    assert read_matrix(path).tolist() == [[1.0, 2.0], [3.0, 4.0]]
