"""Matrix files and pasted text: every format, every error names the file and the place."""

import os
import pickle
import stat

import numpy as np
import pytest

from svdstudio.io import (
    MATRIX_FILE_FILTER,
    MatrixFileError,
    ParsedText,
    format_matrix_text,
    parse_matrix_bytes,
    parse_matrix_text,
    read_matrix,
    write_matrix,
)

ARTICLE = [[6.0, 6.0, 2.0], [0.0, 1.0, 3.0], [4.0, 0.0, 1.0], [0.0, 6.0, 2.0]]


def _file(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def _error(path, **kwargs) -> MatrixFileError:
    with pytest.raises(MatrixFileError) as info:
        read_matrix(path, **kwargs)
    message = str(info.value)
    assert message.startswith(path.name + ": "), message
    assert "\n" not in message
    return info.value


# --- text formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("a.csv", "6,6,2\n0,1,3\n4,0,1\n0,6,2\n"),
        ("a.csv", "6, 6, 2\n0, 1, 3\n4, 0, 1\n0, 6, 2"),
        ("crlf.csv", "6,6,2\r\n0,1,3\r\n4,0,1\r\n0,6,2\r\n"),
        ("bom.csv", "\ufeff6,6,2\n0,1,3\n4,0,1\n0,6,2\n"),
        ("header.csv", "x,y,z\n6,6,2\n0,1,3\n4,0,1\n0,6,2\n"),
        ("bomheader.csv", "\ufeffcol 1,col 2,col 3\r\n6,6,2\r\n0,1,3\r\n4,0,1\r\n0,6,2\r\n"),
        ("blank.csv", "6,6,2\n0,1,3\n4,0,1\n0,6,2\n\n\n   \n"),
        ("gaps.csv", "# exported by numpy\n6,6,2\n\n0,1,3\n4,0,1\n0,6,2\n"),
        ("trailing.csv", "6,6,2,\n0,1,3,\n4,0,1,\n0,6,2,\n"),
        ("quoted.csv", '"a","b","c"\n"6","6","2"\n0,"1",3\n4,0,1\n0,6,2\n'),
        ("semi.csv", "6;6;2\n0;1;3\n4;0;1\n0;6;2\n"),
        ("a.tsv", "6\t6\t2\n0\t1\t3\n4\t0\t1\n0\t6\t2\n"),
        ("a.txt", "6 6 2\n0 1 3\n4   0 1\n  0 6 2  \n"),
        ("a.dat", "6.0e0 6 2\n0 1 3.0\n4 0 1\n0 6 +2\n"),
        ("noext", "6 6 2\n0 1 3\n4 0 1\n0 6 2\n"),
        ("minus.txt", "6 6 2\n0 1 3\n4 \u22120 1\n0 6 2\n"),
    ],
)
def test_text_formats_read_the_article_matrix(tmp_path, name, content):
    A = read_matrix(_file(tmp_path, name, content))
    assert A.dtype == np.float64 and A.shape == (4, 3)
    assert A.tolist() == ARTICLE


def test_utf16_text_from_excel(tmp_path):
    path = _file(tmp_path, "excel.txt", "\ufeffa\tb\r\n1.5\t2\r\n3\t4\r\n".encode("utf-16-le"))
    assert read_matrix(path).tolist() == [[1.5, 2.0], [3.0, 4.0]]


def test_accepts_str_path_and_single_row_and_column(tmp_path):
    assert read_matrix(str(_file(tmp_path, "row.csv", "1,2,3\n"))).tolist() == [[1, 2, 3]]
    assert read_matrix(_file(tmp_path, "col.txt", "1\n2\n3\n")).tolist() == [[1], [2], [3]]
    assert read_matrix(_file(tmp_path, "one.csv", "3.25")).tolist() == [[3.25]]


def test_exponents_and_full_precision(tmp_path):
    values = [0.1, 1 / 3, -2.5e-300, 1.7976931348623157e308, 5e-324]
    text = ",".join(repr(v) for v in values)
    assert read_matrix(_file(tmp_path, "p.csv", text)).tolist() == [values]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("dc.csv", "1,5;2\n-3,25;4\n"),
        ("dc.tsv", "1,5\t2\n-3,25\t4\n"),
        ("dch.csv", "a;b\n1,5;2\n-3,25;4\n"),
        ("dc.txt", "1,5 2\n-3,25 4\n"),
    ],
)
def test_decimal_comma(tmp_path, name, content):
    path = _file(tmp_path, name, content)
    assert read_matrix(path, decimal_comma=True).tolist() == [[1.5, 2.0], [-3.25, 4.0]]


def test_decimal_comma_without_the_option_hints(tmp_path):
    err = _error(_file(tmp_path, "eu.csv", "1,5;2\n3;4\n"))
    assert "row 1, column 1 holds '1,5'" in str(err)
    assert "decimal-comma option" in str(err)


# --- text errors ------------------------------------------------------------------------------


def test_ragged_row_names_row_and_both_counts(tmp_path):
    err = _error(_file(tmp_path, "ragged.csv", "1,2,3\n4,5,6\n7,8\n"))
    assert str(err) == (
        "ragged.csv: row 3 has 2 values but row 1 has 3; every row needs the same number of values"
    )
    assert (err.row, err.column) == (3, None)


def test_ragged_rows_count_lines_as_in_the_file(tmp_path):
    content = "a,b,c\n1,2,3\n\n# note\n4,5,6,7\n"
    err = _error(_file(tmp_path, "ragged2.csv", content))
    assert "row 5 has 4 values but row 2 has 3" in str(err)
    assert err.row == 5


def test_ragged_single_value_row(tmp_path):
    err = _error(_file(tmp_path, "r.csv", "1;2\n3\n"))
    assert "row 2 has 1 value but row 1 has 2" in str(err)


def test_non_numeric_cell_names_row_column_and_text(tmp_path):
    err = _error(_file(tmp_path, "words.csv", "x,y,z\n1,2,3\n4,abc,6\n"))
    assert str(err) == "words.csv: row 3, column 2 holds 'abc', which is not a number"
    assert (err.row, err.column) == (3, 2)
    assert err.reason == "row 3, column 2 holds 'abc', which is not a number"
    assert err.source == "words.csv"


def test_a_typo_in_the_first_row_is_not_taken_for_a_header(tmp_path):
    err = _error(_file(tmp_path, "typo.csv", "1,2x,3\n4,5,6\n"))
    assert "row 1, column 2 holds '2x'" in str(err)


def test_empty_cell(tmp_path):
    err = _error(_file(tmp_path, "hole.csv", "1,2,3\n4,,6\n"))
    assert "row 2, column 2 is empty" in str(err)


@pytest.mark.parametrize(
    ("content", "what", "row", "col"),
    [
        ("1,2\n3,nan\n", "NaN", 2, 2),
        ("1,inf\n3,4\n", "+inf", 1, 2),
        ("h1,h2\n1,2\n-Infinity,4\n", "-inf", 3, 1),
    ],
)
def test_nan_and_inf_in_text(tmp_path, content, what, row, col):
    err = _error(_file(tmp_path, "bad.csv", content))
    assert f"row {row}, column {col} holds {what}" in str(err)
    assert (err.row, err.column) == (row, col)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty: there are no numbers in it"),
        ("\n\n  \r\n", "is empty: there are no numbers in it"),
        ("# only a comment\n", "is empty: there are no numbers in it"),
        ("a,b,c\n", "has a header row but no rows of numbers"),
    ],
)
def test_empty_files(tmp_path, content, message):
    assert str(_error(_file(tmp_path, "empty.csv", content))) == f"empty.csv: {message}"


def test_binary_file(tmp_path):
    err = _error(_file(tmp_path, "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert str(err) == "photo.csv: is a binary file, not a text or .npy matrix file"


def test_undecodable_text(tmp_path):
    err = _error(_file(tmp_path, "latin.csv", b"temp\n1\n" + "caf\xe9\n".encode("latin-1")))
    assert "is not UTF-8 text (byte 0xE9 on line 3)" in str(err)


def test_zip_archive(tmp_path):
    err = _error(_file(tmp_path, "book.xlsx", b"PK\x03\x04" + b"\x00" * 40))
    assert "is a zip archive" in str(err)


def test_unbalanced_quote(tmp_path):
    err = _error(_file(tmp_path, "q.csv", '1,2\n3,"4\n'))
    assert "q.csv: row 2 cannot be split into cells (" in str(err)
    assert err.row == 2


def test_missing_file_and_folder(tmp_path):
    assert str(_error(tmp_path / "nope.csv")) == "nope.csv: no such file"
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert str(_error(folder)) == "dir.csv: is a folder, not a file"


def test_unreadable_file(tmp_path, monkeypatch):
    # Simulated, so the test means the same when run as root (who can read a mode-0 file).
    path = _file(tmp_path, "secret.csv", "1,2\n")
    real_open = os.open

    def denied(p, flags, *args, **kwargs):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    err = _error(path)
    assert str(err) == (
        "secret.csv: cannot be read (permission denied); check the file's permissions"
    )


# --- .npy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8, np.bool_])
def test_npy_numeric_types(tmp_path, dtype):
    path = tmp_path / "a.npy"
    np.save(path, np.array(ARTICLE).astype(dtype))
    A = read_matrix(path)
    assert A.dtype == np.float64 and A.flags.c_contiguous
    assert A.tolist() == np.array(ARTICLE).astype(dtype).astype(np.float64).tolist()


def test_npy_fortran_order_and_other_extension(tmp_path):
    path = tmp_path / "matrix.bin"
    np.save(path.with_suffix(".npy"), np.asfortranarray(ARTICLE))
    path.with_suffix(".npy").rename(path)  # content decides, not the extension
    assert read_matrix(path).tolist() == ARTICLE


def test_npy_1d_is_one_row(tmp_path):
    np.save(tmp_path / "v.npy", np.array([1.0, 2.0, 3.0]))
    assert read_matrix(tmp_path / "v.npy").tolist() == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 4)), "is 3-D (shape 2×3×4); a matrix must be 2-D"),
        (np.array(5.0), "holds a single number, not a matrix"),
        (np.array([["a", "b"]]), "holds text (strings), not numbers"),
        (np.array([[b"a"]]), "holds text (strings), not numbers"),
        (np.array([[1 + 2j]]), "holds complex numbers; SVD Studio works with real matrices"),
        (np.zeros((0, 3)), "is empty (shape 0×3)"),
        (np.array([[1.0, 2.0], [3.0, np.nan]]), "row 2, column 2 holds NaN"),
        (np.array([[1.0, -np.inf]]), "row 1, column 2 holds -inf"),
        (np.zeros(2, dtype=[("x", "f8"), ("y", "i4")]), "values, not plain numbers"),
    ],
)
def test_npy_rejections(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    assert message in str(_error(path))


def test_npy_object_array_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([[1, "x"]], dtype=object), allow_pickle=True)
    err = _error(path)
    assert str(err) == "obj.npy: holds Python objects; only numeric .npy arrays are read"


def test_npy_truncated_or_fake(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.ones((50, 50)))
    path.write_bytes(path.read_bytes()[:300])
    assert "is not a valid .npy file" in str(_error(path))
    fake = _file(tmp_path, "fake.npy", "1,2\n3,4\n")
    assert str(_error(fake)) == "fake.npy: is not a valid .npy file (no NumPy header)"


# --- writing ----------------------------------------------------------------------------------

TRICKY = np.array(
    [[0.1, 1 / 3, -0.0, 1e-300], [2.5e300, -7.0, 123456789.123456789, 5e-324]], dtype=np.float64
)


@pytest.mark.parametrize("name", ["m.csv", "m.tsv", "m.txt", "m.dat", "m.npy", "UPPER.CSV"])
def test_round_trip_is_exact(tmp_path, name):
    path = tmp_path / name
    write_matrix(path, TRICKY)
    back = read_matrix(path)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, TRICKY)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary left over


def test_written_text_layout(tmp_path):
    write_matrix(tmp_path / "a.csv", ARTICLE)
    assert (
        tmp_path / "a.csv"
    ).read_text() == "6.0,6.0,2.0\n0.0,1.0,3.0\n4.0,0.0,1.0\n0.0,6.0,2.0\n"
    write_matrix(tmp_path / "a.tsv", [[0.1, 2]])
    assert (tmp_path / "a.tsv").read_text() == "0.1\t2.0\n"
    write_matrix(tmp_path / "a.txt", [[0.1, 2]])
    assert (tmp_path / "a.txt").read_text() == "0.1 2.0\n"


def test_write_1d_as_row_and_ints(tmp_path):
    write_matrix(tmp_path / "v.csv", np.array([1, 2, 3]))
    assert read_matrix(tmp_path / "v.csv").tolist() == [[1.0, 2.0, 3.0]]


def test_write_replaces_and_keeps_permissions(tmp_path):
    path = tmp_path / "keep.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    write_matrix(path, [[1.0]])
    assert path.read_text() == "1.0\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "new.csv"
    write_matrix(path, [[1.0]])
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "safe.csv"
    path.write_text("1,2\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(MatrixFileError, match=r"^safe\.csv: cannot be saved \(No space left"):
        write_matrix(path, [[9.0, 9.0]])
    assert path.read_text() == "1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["safe.csv"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("m.xlsx", [[1.0]], "m.xlsx: unknown file type; save as .csv, .tsv, .txt, .dat or .npy"),
        ("m.csv", [[1.0, np.nan]], "m.csv: row 1, column 2 holds NaN"),
        ("m.npy", np.zeros((2, 2, 2)), "m.npy: is 3-D (shape 2×2×2)"),
        ("m.csv", [["a"]], "m.csv: holds text (strings), not numbers"),
        ("m.csv", [[1, 2], [3]], "m.csv: cannot save this data as a matrix"),
        ("m.csv", np.zeros((0, 2)), "m.csv: is empty"),
    ],
)
def test_write_rejects(tmp_path, name, data, message):
    with pytest.raises(MatrixFileError) as info:
        write_matrix(tmp_path / name, data)
    assert str(info.value).startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_write_into_missing_folder(tmp_path):
    with pytest.raises(MatrixFileError, match=r"^m\.csv: cannot be saved: folder .* does not"):
        write_matrix(tmp_path / "nowhere" / "m.csv", [[1.0]])


# --- pasted text ------------------------------------------------------------------------------


def test_spreadsheet_paste():
    parsed = parse_matrix_text("6\t6\t2\r\n0\t1\t3\r\n4\t0\t1\r\n0\t6\t2\r\n")
    assert isinstance(parsed, ParsedText)
    assert parsed.values.tolist() == ARTICLE
    assert parsed.header is None and parsed.padded_rows == () and parsed.delimiter == "\t"


def test_paste_with_header_and_detected_delimiters():
    parsed = parse_matrix_text("x,y\n1,2\n3,4")
    assert parsed.header == ["x", "y"] and parsed.delimiter == ","
    assert parsed.values.tolist() == [[1, 2], [3, 4]]
    assert parse_matrix_text("1 2\n3 4").delimiter == " "
    assert parse_matrix_text("1;2\n3;4").delimiter == ";"
    assert parse_matrix_text("\ufeff7").values.tolist() == [[7.0]]


def test_paste_pads_short_rows_and_empty_cells():
    parsed = parse_matrix_text("1\t2\t3\n4\t\t6\n7\n8\t9\t1\n", ragged="pad")
    assert parsed.values.tolist() == [[1, 2, 3], [4, 0, 6], [7, 0, 0], [8, 9, 1]]
    assert parsed.padded_rows == (2, 3)


def test_paste_pad_widens_to_the_longest_row():
    parsed = parse_matrix_text("1\n2\t3\t4\n", ragged="pad")
    assert parsed.values.tolist() == [[1, 0, 0], [2, 3, 4]]
    assert parsed.padded_rows == (1,)


def test_paste_errors_have_no_file_name_unless_given():
    with pytest.raises(MatrixFileError) as info:
        parse_matrix_text("1\t2\n3\n")
    assert str(info.value) == (
        "row 2 has 1 value but row 1 has 2; every row needs the same number of values"
    )
    with pytest.raises(MatrixFileError, match=r"^clipboard: row 2, column 2 holds 'x'"):
        parse_matrix_text("1\t2\n3\tx\n", source="clipboard")
    with pytest.raises(MatrixFileError, match="row 2, column 1 holds NaN"):
        parse_matrix_text("1\nNaN\n", ragged="pad")
    with pytest.raises(MatrixFileError, match="is empty"):
        parse_matrix_text("   \n")
    with pytest.raises(ValueError, match="ragged must be 'error' or 'pad'"):
        parse_matrix_text("1", ragged="maybe")


def test_paste_decimal_comma():
    parsed = parse_matrix_text("1,5\t2\n3\t4,25\n", decimal_comma=True)
    assert parsed.values.tolist() == [[1.5, 2.0], [3.0, 4.25]]
    assert parsed.delimiter == "\t"


def test_format_matrix_text():
    A = np.array([[1 / 3, -0.0001], [2.0, 1e-20]])
    assert format_matrix_text(A) == "0.3333333333333333\t-0.0001\n2.0\t1e-20"
    assert format_matrix_text(A, decimals=2) == "0.33\t0.00\n2.00\t0.00"
    assert format_matrix_text(A, ",", 3) == "0.333,0.000\n2.000,0.000"
    assert format_matrix_text([[1.5]], decimal_comma=True) == "1,5"
    assert format_matrix_text(np.array([4.0, 5.0])) == "4.0\t5.0"
    np.testing.assert_array_equal(parse_matrix_text(format_matrix_text(A)).values, A)
    with pytest.raises(ValueError, match="comma cannot be both"):
        format_matrix_text(A, ",", decimal_comma=True)


def test_parse_matrix_bytes_for_stdin():
    assert parse_matrix_bytes(b"1 2\n3 4\n", "-").tolist() == [[1, 2], [3, 4]]
    with pytest.raises(MatrixFileError, match=r"^-: row 2, column 1 holds 'a'"):
        parse_matrix_bytes(b"1 1\na 3\n", "-")


def test_filter_and_error_type():
    assert MATRIX_FILE_FILTER.startswith("Matrices (")
    for pattern in ("*.csv", "*.tsv", "*.txt", "*.npy"):
        assert pattern in MATRIX_FILE_FILTER
    assert issubclass(MatrixFileError, ValueError)
    err = MatrixFileError("a.csv: row 2, column 1 holds 'x'", source="a.csv", row=2, column=1)
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and (back.source, back.row, back.column) == ("a.csv", 2, 1)


@pytest.mark.parametrize(
    "text",
    [
        "0.1,1e-300,-2.5E+3\n+7,.5,-0\n",
        "1 2 3\n4   5 6\n",
        "1;2\n3;4\n",
        "x\ty\n0.30000000000000004\t5e-324\n",
        "\t".join(repr(float(v)) for v in np.random.default_rng(3).standard_normal(40)),
    ],
)
def test_fast_and_careful_parsers_agree(text):
    """Well-formed tables go through numpy's C parser; "pad" mode always takes the careful
    Python path.  Both must give the same numbers, bit for bit."""
    fast = parse_matrix_text(text)
    careful = parse_matrix_text(text, ragged="pad")
    np.testing.assert_array_equal(fast.values, careful.values)
    assert fast.header == careful.header and fast.delimiter == careful.delimiter


def test_decimal_comma_fast_path():
    text = "\n".join(";".join(f"{v:.6f}".replace(".", ",") for v in row) for row in np.eye(3))
    assert parse_matrix_text(text, decimal_comma=True).values.tolist() == np.eye(3).tolist()


# --- never a crash ----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CELLISH = st.text(alphabet='0123456789.,;\t -+eEnaifx"#\r\n\u2212\ufeff_', max_size=60)


@settings(max_examples=150, deadline=None, database=None)
@given(text=CELLISH, decimal_comma=st.booleans(), ragged=st.sampled_from(["error", "pad"]))
def test_any_text_parses_or_raises_matrix_file_error(text, decimal_comma, ragged):
    try:
        parsed = parse_matrix_text(text, decimal_comma=decimal_comma, ragged=ragged)
    except MatrixFileError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert parsed.values.ndim == 2 and parsed.values.size > 0
    assert np.isfinite(parsed.values).all()


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_read_or_raise_matrix_file_error(data):
    try:
        values = parse_matrix_bytes(data, "fuzz.csv")
    except MatrixFileError as exc:
        assert str(exc).startswith("fuzz.csv: ")
        return
    assert values.ndim == 2 and np.isfinite(values).all()
