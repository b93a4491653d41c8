"""Reading big text matrices a block of lines at a time: same values and messages as read_matrix,
with progress and cancel.  Small block sizes stand in for big files."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine import Cancelled
from svdstudio.io import matrix, matrix_blocks
from svdstudio.io.matrix import MatrixFileError, read_matrix, write_matrix
from svdstudio.io.matrix_blocks import read_matrix_in_blocks


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch):
    monkeypatch.setattr(matrix_blocks, "BLOCK_READ_BYTES", 200)
    monkeypatch.setattr(matrix_blocks, "_BLOCK_BYTES", 150)


class _Job:
    def __init__(self, cancel_at: float = 2.0) -> None:
        self.fractions: list[float] = []
        self.messages: list[str] = []
        self._cancel_at = cancel_at

    def cancelled(self) -> bool:
        return bool(self.fractions) and self.fractions[-1] >= self._cancel_at

    def report(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)
        self.messages.append(message)


def _rows(n_rows: int, n_cols: int, sep: str = ",") -> list[str]:
    return [sep.join(f"{r * n_cols + c}.25" for c in range(n_cols)) for r in range(n_rows)]


@pytest.mark.parametrize(
    "text",
    [
        "\n".join(_rows(60, 7)) + "\n",
        "a,b,c,d,e,f,g\n" + "\n".join(_rows(60, 7)),  # header
        "# exported\n\n" + "\r\n".join(_rows(60, 7)) + "\r\n",  # comment, blank, CRLF
        "\n".join(_rows(60, 7, "\t")) + "\n",
        "\n".join(_rows(60, 7, "   ")) + "\n",  # whitespace
        "\n".join(r + "," for r in _rows(60, 7)) + "\n,,,,,,\n",  # trailing delimiters
        "\ufeff" + "\n".join(_rows(60, 7, ";")),  # UTF-8 BOM, semicolons
        "\n".join('"' + r.replace(",", '","') + '"' for r in _rows(60, 7)),  # quoted
    ],
)
def test_blocks_read_what_read_matrix_reads(tmp_path, text):
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode("utf-8"))
    job = _Job()
    got = read_matrix_in_blocks(path, job=job)
    np.testing.assert_array_equal(got, read_matrix(path))
    assert got.shape == (60, 7) and got[59, 6] == 59 * 7 + 6 + 0.25
    assert len(job.fractions) > 5  # many blocks, each reported
    assert job.fractions == sorted(job.fractions) and job.fractions[-1] == 1.0
    assert job.messages[-1] == "Reading m.csv: 60 rows so far"


def _bad_file(tmp_path, line: int, new: str) -> str:
    lines = _rows(80, 6)
    lines[line - 1] = new
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("new", "message", "row", "column"),
    [
        ("1,2,abc,4,5,6", "row 57, column 3 holds 'abc', which is not a number", 57, 3),
        ("1,2,3,4,5", "row 57 has 5 values but row 1 has 6", 57, None),
        ("1,2,3,4,5,6,7", "row 57 has 7 values but row 1 has 6", 57, None),
        ("1,2,3,nan,5,6", "row 57, column 4 holds NaN; only finite numbers", 57, 4),
        ("1,2,3,4,-inf,6", "row 57, column 5 holds -inf", 57, 5),
        ("1,2,,4,5,6", "row 57, column 3 is empty", 57, 3),
    ],
)
def test_a_bad_cell_in_a_late_block_is_named_as_in_the_file(tmp_path, new, message, row, column):
    path = _bad_file(tmp_path, 57, new)
    with pytest.raises(MatrixFileError) as info:
        read_matrix_in_blocks(path)
    assert str(info.value).startswith("bad.csv: ") and message in str(info.value)
    assert (info.value.row, info.value.column) == (row, column)
    with pytest.raises(MatrixFileError) as whole:
        read_matrix(path)
    assert str(whole.value) == str(info.value)  # the one-go reader says the same


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path):
    data = ("\n".join(_rows(70, 5)) + "\n").encode()
    lines = data.split(b"\n")
    lines[49] = b"1,2,\xe9,4,5"
    path = tmp_path / "latin.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(MatrixFileError, match=r"byte 0xe9 on line 50"):
        read_matrix_in_blocks(path)


def test_empty_and_header_only_files(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("# nothing\n" + "\n" * 300, encoding="utf-8")
    with pytest.raises(MatrixFileError, match="is empty: there are no numbers"):
        read_matrix_in_blocks(path)
    path.write_text("# nothing here\n" * 20 + "alpha,beta,gamma\n", encoding="utf-8")
    with pytest.raises(MatrixFileError, match="has a header row but no rows of numbers"):
        read_matrix_in_blocks(path)


def test_cancel_between_blocks(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("\n".join(_rows(200, 5)), encoding="utf-8")
    job = _Job(cancel_at=0.3)
    with pytest.raises(Cancelled):
        read_matrix_in_blocks(path, job=job)
    assert 0.3 <= job.fractions[-1] < 1.0


def test_size_limit_and_npy(tmp_path, monkeypatch):
    path = tmp_path / "m.csv"
    path.write_text("\n".join(_rows(50, 5)), encoding="utf-8")
    monkeypatch.setattr(matrix_blocks, "MAX_BLOCK_READ_BYTES", 1000)
    with pytest.raises(MatrixFileError, match="text matrix files up to 1000 bytes"):
        read_matrix_in_blocks(path)
    a = np.arange(12.0).reshape(3, 4)
    write_matrix(tmp_path / "a.npy", a)
    job = _Job()
    np.testing.assert_array_equal(read_matrix_in_blocks(tmp_path / "a.npy", job=job), a)
    assert job.messages == ["Reading a.npy"]


def test_row_and_value_limits(tmp_path, monkeypatch):
    path = tmp_path / "m.csv"
    path.write_text("\n".join(_rows(100, 5)), encoding="utf-8")
    monkeypatch.setattr(matrix, "MAX_MATRIX_VALUES", 200)
    with pytest.raises(MatrixFileError, match="holds more than 200 values"):
        read_matrix_in_blocks(path)


@pytest.mark.parametrize(
    ("head", "size", "words"),
    [
        # Line-based text above the block reader's limit (read in blocks, refused by size).
        (b"1,2\n3,4\n" * 200_000, 3 * 2**30, "text matrix files up to 1.0 GiB"),
        # Text the block reader hands to read_matrix (a hole of zero bytes after the head).
        (b"1,2\n3,4\n", 5 * 2**30, "matrix files up to 256 MiB"),
        (b"1,2,3,4" * 10, 300 * 2**20, "matrix files up to 256 MiB"),  # no line end
    ],
)
def test_check_matrix_size_refuses_what_the_reader_would(tmp_path, head, size, words):
    from tests._hostile import sparse_file

    path = sparse_file(tmp_path / "big.csv", size, head=head)
    with pytest.raises(MatrixFileError) as caught:
        matrix_blocks.check_matrix_size(path)
    assert words in str(caught.value) and "big.csv" in str(caught.value)
    with pytest.raises(MatrixFileError) as again:  # the reader itself says the same
        read_matrix_in_blocks(path)
    assert str(again.value) == str(caught.value)


def test_check_matrix_size_passes_what_the_reader_reads(tmp_path):
    text = tmp_path / "a.csv"
    text.write_text("\n".join(_rows(40, 5)) + "\n")
    npy = tmp_path / "a.npy"
    np.save(npy, np.arange(12.0).reshape(3, 4))
    for path in (text, npy):
        assert matrix_blocks.check_matrix_size(path) is None
    with pytest.raises(MatrixFileError, match="is a folder"):
        matrix_blocks.check_matrix_size(tmp_path)


def test_block_sizes_passed_as_arguments_read_the_same(tmp_path, monkeypatch):
    # A worker process cannot see a monkeypatch: the Matrix tab passes the sizes instead.
    monkeypatch.setattr(matrix_blocks, "BLOCK_READ_BYTES", 10**9)
    monkeypatch.setattr(matrix_blocks, "_BLOCK_BYTES", 10**9)
    a = np.random.default_rng(12).standard_normal((80, 7))
    path = tmp_path / "a.csv"
    write_matrix(path, a)
    job = _Job()
    got = read_matrix_in_blocks(path, job=job, blocks_from=100, block_bytes=300)
    np.testing.assert_array_equal(got, read_matrix(path))
    assert len(job.fractions) > 10 and job.fractions[-1] == 1.0  # block by block
    bad = path.read_text().splitlines()
    bad[61] = bad[61].replace(",", ",x", 1)
    path.write_text("\n".join(bad))
    with pytest.raises(MatrixFileError) as at_once:
        read_matrix(path)
    with pytest.raises(MatrixFileError) as in_blocks:
        read_matrix_in_blocks(path, blocks_from=100, block_bytes=300)
    assert str(in_blocks.value) == str(at_once.value)
    assert (in_blocks.value.row, in_blocks.value.column) == (62, 2)
