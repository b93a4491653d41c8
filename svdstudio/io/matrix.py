"""Matrix files: CSV, TSV, whitespace-separated text and ``.npy``; pasted spreadsheet text.

Reading rules (files and pasted text alike):

* The delimiter is the one of tab, ``;``, ``,`` found on the most lines (ties in that order),
  else runs of whitespace.  With ``decimal_comma=True`` a comma is the decimal mark and the
  delimiter is a tab or ``;`` (or whitespace).  Fields may be "quoted".
* UTF-8 with or without a byte-order mark, UTF-16 or UTF-32 with a BOM (Excel's "Unicode text"),
  ``\\n``, ``\\r\\n`` or ``\\r`` line ends.  Blank lines, lines holding only delimiters
  (a spreadsheet's empty row) and lines starting with ``#`` are skipped, but still counted,
  so positions match the file.
* Only the first data line may be a header: it is one when at least half of its non-empty
  cells are not numbers.  A first row with one typo among numbers is therefore reported as an
  error rather than silently dropped.  An all-numeric header cannot be told from data.
* Empty fields after the last value of a line are ignored (a trailing delimiter).
* Rows, columns and lines are counted from 1 as in the file: "row 4" is line 4, the row a
  spreadsheet shows as 4.
* ``.npy`` files are recognised by content, whatever their extension; ``allow_pickle`` stays
  off.  A 1-D array is read as a single row (1×n), like a one-line text file; 0-D, 3-D+,
  text, object, complex and structured arrays are refused.  Any numeric dtype becomes
  float64.

Hostile input is refused before it is read (see :mod:`svdstudio.io.safety`): folders, named pipes,
devices, link loops; text above :data:`MAX_MATRIX_FILE_BYTES`; a ``.npy`` header declaring more
than :data:`MAX_MATRIX_VALUES` values or more data than the file holds.

Every problem raises :class:`MatrixFileError` (a ``ValueError``) whose message starts with the
file name.  No Qt here.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from svdstudio.io.atomic import write_with
from svdstudio.io.safety import (
    InputFileError,
    decode_text,
    describe_size,
    open_regular_file,
    read_limited,
    read_npy_header,
)

__all__ = [
    "MATRIX_FILE_FILTER",
    "MAX_MATRIX_FILE_BYTES",
    "MAX_MATRIX_ROWS",
    "MAX_MATRIX_VALUES",
    "MatrixFileError",
    "ParsedText",
    "format_matrix_text",
    "parse_matrix_bytes",
    "parse_matrix_text",
    "read_matrix",
    "read_matrix_stream",
    "write_matrix",
]

#: Name filter for Qt's file dialogs (Open and Save).
MATRIX_FILE_FILTER = "Matrices (*.csv *.tsv *.txt *.dat *.npy)"

#: Largest text matrix file read (the dataset reader's limit is 512 MiB; parsing text costs
#: several times its size in memory, so matrices get half).
MAX_MATRIX_FILE_BYTES = 256 * 2**20
#: Most lines a text matrix may have (memory while parsing grows with the line count).
MAX_MATRIX_ROWS = 2_000_000
#: Largest matrix read from .npy: 64 Mi values, 512 MiB as float64.
MAX_MATRIX_VALUES = 2**26

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_TEXT_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": " ", ".dat": " "}
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-"})


class MatrixFileError(ValueError):
    """A matrix file (or pasted text) that cannot be used; the message names file and place.

    ``source`` is the file name the message starts with (None for unnamed pasted text),
    ``reason`` the message without it, ``row``/``column`` the 1-based position when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        reason: str | None = None,
        row: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.reason = message if reason is None else reason
        self.row = row
        self.column = column

    def __reduce__(self) -> tuple[object, ...]:  # keep the details when sent from a worker
        kwargs = {"source": self.source, "reason": self.reason, "row": self.row}
        kwargs["column"] = self.column
        return (_rebuild_error, (str(self), kwargs))


def _rebuild_error(message: str, kwargs: dict[str, Any]) -> MatrixFileError:
    return MatrixFileError(message, **kwargs)


def _error(
    source: str | None, reason: str, row: int | None = None, column: int | None = None
) -> MatrixFileError:
    message = f"{source}: {reason}" if source else reason
    return MatrixFileError(message, source=source, reason=reason, row=row, column=column)


@dataclass(frozen=True, eq=False)
class ParsedText:
    """Numbers read from text: ``values`` (float64, 2-D), the skipped ``header`` cells (or
    None), ``padded_rows`` (1-based rows whose missing cells were filled with 0) and the
    ``delimiter`` used (``" "`` means runs of whitespace)."""

    values: np.ndarray
    header: list[str] | None
    padded_rows: tuple[int, ...]
    delimiter: str


# ---------------------------------------------------------------------------------------------
# Parsing text


def _to_float(cell: str, decimal_comma: bool) -> float | None:
    """The number in a cell, or None if it is not one (NaN/inf are returned as such)."""
    text = cell.strip().translate(_MINUS_SIGNS)
    if decimal_comma:
        text = text.replace(",", ".")
    if not text or "_" in text:  # float() accepts "1_000"; a spreadsheet would not
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _detect_delimiter(lines: list[str], decimal_comma: bool) -> str:
    # The candidate found on the most lines wins (a ragged row or a header line lacking it
    # does not change the verdict); ties go to the earlier candidate.  None: whitespace.
    sample = lines[:50]
    candidates = ("\t", ";") if decimal_comma else ("\t", ";", ",")
    best, best_count = " ", 0
    for delimiter in candidates:
        count = sum(delimiter in line for line in sample)
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _split(
    lines: list[str], numbers: list[int], delimiter: str, source: str | None
) -> list[list[str]]:
    if delimiter == " ":
        return [line.split() for line in lines]
    rows = []
    for number, line in zip(numbers, lines, strict=True):
        if '"' in line:
            try:
                fields = next(csv.reader([line], delimiter=delimiter, strict=True))
            except csv.Error as exc:
                raise _error(
                    source, f"row {number} cannot be split into cells ({exc})", row=number
                ) from None
        else:
            fields = line.split(delimiter)
        while fields and not fields[-1].strip():
            fields.pop()  # a trailing delimiter is not an empty last column
        rows.append([f.strip() for f in fields])
    return rows


def _is_header(cells: list[str], decimal_comma: bool) -> bool:
    filled = [c for c in cells if c.strip()]
    if not filled:
        return False
    # A cell that reads as a number with a decimal comma is a number the user mis-declared,
    # not a column name: let it fail later with a hint instead of vanishing as a header.
    words = sum(_to_float(c, decimal_comma) is None and _to_float(c, True) is None for c in filled)
    return 2 * words >= len(filled)


def _count(n: int) -> str:
    return "1 value" if n == 1 else f"{n} values"


def _describe(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "+inf" if value > 0 else "-inf"


def _fast_values(lines: list[str], delimiter: str, decimal_comma: bool) -> np.ndarray | None:
    """numpy's C parser for well-formed tables (about 3× faster); None means "take the slow
    path", which finds and names whatever the problem is."""
    if any('"' in line for line in lines):
        return None
    if decimal_comma:
        lines = [line.replace(",", ".") for line in lines]
    try:
        values = np.loadtxt(
            lines,
            dtype=np.float64,
            delimiter=None if delimiter == " " else delimiter,
            comments=None,
            quotechar=None,
            ndmin=2,
        )
    except ValueError:
        return None
    if not np.isfinite(values).all():
        return None
    return values


def _parse(text: str, source: str | None, decimal_comma: bool, ragged: str) -> ParsedText:
    if ragged not in ("error", "pad"):
        raise ValueError(f"ragged must be 'error' or 'pad'; got {ragged!r}")
    numbered = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise _error(source, "is empty: there are no numbers in it")
    lines = [line for _, line in numbered]
    numbers = [number for number, _ in numbered]
    delimiter = _detect_delimiter(lines, decimal_comma)
    if delimiter != " ":
        # ",,," is how spreadsheets export an empty row: skip it like a blank line.
        kept = [i for i, line in enumerate(lines) if line.replace(delimiter, "").strip()]
        if not kept:
            raise _error(source, "is empty: there are no numbers in it")
        lines, numbers = [lines[i] for i in kept], [numbers[i] for i in kept]
    first = _split(lines[:1], numbers[:1], delimiter, source)[0]
    header = None
    if _is_header(first, decimal_comma):
        header = first
        lines, numbers = lines[1:], numbers[1:]
        if not lines:
            raise _error(source, "has a header row but no rows of numbers")
    if ragged == "error":
        fast = _fast_values(lines, delimiter, decimal_comma)
        if fast is not None:
            return ParsedText(fast, header, (), delimiter)
    table = _split(lines, numbers, delimiter, source)

    width = max(len(row) for row in table) if ragged == "pad" else len(table[0])
    if width == 0:
        raise _error(source, "is empty: there are no numbers in it")
    values, padded = _fill(table, numbers, width, numbers[0], ragged, decimal_comma, source)
    return ParsedText(values, header, tuple(padded), delimiter)


def _fill(
    table: list[list[str]],
    numbers: list[int],
    width: int,
    first_row: int,
    ragged: str,
    decimal_comma: bool,
    source: str | None,
) -> tuple[np.ndarray, list[int]]:
    """Cell by cell (the slow path): the values, the padded rows, or an error naming the cell.

    ``first_row`` is the file line the width was taken from (named in a ragged-row error).
    """
    values = np.zeros((len(table), width), dtype=np.float64)
    padded: list[int] = []
    for i, (row_number, cells) in enumerate(zip(numbers, table, strict=True)):
        if len(cells) != width and (ragged == "error" or len(cells) > width):
            raise _error(
                source,
                f"row {row_number} has {_count(len(cells))} but row {first_row} has {width}; "
                "every row needs the same number of values",
                row=row_number,
            )
        was_padded = len(cells) < width
        for j, cell in enumerate(cells):
            value = _to_float(cell, decimal_comma)
            if value is None:
                if not cell and ragged == "pad":
                    was_padded = True
                    continue
                raise _error(
                    source,
                    _bad_cell(cell, row_number, j + 1, decimal_comma),
                    row=row_number,
                    column=j + 1,
                )
            if not math.isfinite(value):
                raise _error(
                    source,
                    f"row {row_number}, column {j + 1} holds {_describe(value)}; "
                    "only finite numbers are allowed",
                    row=row_number,
                    column=j + 1,
                )
            values[i, j] = value
        if was_padded:
            padded.append(row_number)
    return values, padded


def _bad_cell(cell: str, row: int, column: int, decimal_comma: bool) -> str:
    where = f"row {row}, column {column}"
    if not cell:
        return f"{where} is empty"
    shown = cell if len(cell) <= 40 else cell[:37] + "..."
    reason = f"{where} holds {shown!r}, which is not a number"
    if not decimal_comma and "," in cell and _to_float(cell, True) is not None:
        reason += " (if commas are decimal marks, use the decimal-comma option)"
    return reason


def parse_matrix_text(
    text: str, *, decimal_comma: bool = False, ragged: str = "error", source: str | None = None
) -> ParsedText:
    """Parse typed or pasted text (e.g. tab-separated cells copied from a spreadsheet).

    ``ragged="pad"`` fills short rows and empty cells with 0 and lists those rows in
    ``padded_rows``; ``"error"`` rejects them.  Errors are :class:`MatrixFileError`; their
    message starts with ``source`` when given.
    """
    return _parse(text.lstrip("\ufeff"), source, decimal_comma, ragged)


# ---------------------------------------------------------------------------------------------
# Files


def _decode(data: bytes, source: str) -> str:
    try:
        text, _ = decode_text(data, source, hint="save it as UTF-8 CSV or text")
    except InputFileError as exc:
        reason = exc.reason
        if reason.startswith("is a binary file"):
            reason = "is a binary file, not a text or .npy matrix file"
        raise _error(source, reason) from None
    return text


def _from_npy(fh: BinaryIO, source: str, file_size: int) -> np.ndarray:
    """The array of a .npy file, once its header shows it is numeric, fits and is complete."""
    fh.seek(0)
    try:
        shape, dtype = read_npy_header(fh, source)
    except InputFileError as exc:
        raise _error(source, exc.reason) from None
    if dtype.hasobject:
        raise _error(source, "holds Python objects; only numeric .npy arrays are read")
    _check_kind(dtype, source)
    count = math.prod(shape)
    dims = "×".join(str(d) for d in shape) or "a single value"
    if count > MAX_MATRIX_VALUES:
        raise _error(
            source,
            f"declares {dims} = {count:,} values ({describe_size(count * 8)} as float64); "
            f"matrices up to {MAX_MATRIX_VALUES:,} values can be opened",
        )
    need = count * dtype.itemsize
    have = file_size - fh.tell()
    if need > have:
        raise _error(
            source,
            f"is not a valid .npy file (truncated: its header declares {dims} "
            f"{dtype} = {describe_size(need)}, but only {describe_size(max(have, 0))} follow)",
        )
    fh.seek(0)
    try:
        arr = np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _error(source, f"is not a valid .npy file ({exc})") from None
    return _check_array(arr, source)


def _check_kind(dtype: np.dtype, source: str) -> None:
    kind = dtype.kind
    if kind == "c":
        raise _error(source, "holds complex numbers; SVD Studio works with real matrices")
    if kind in "USa":
        raise _error(source, "holds text (strings), not numbers")
    if kind == "O":
        raise _error(source, "holds Python objects, not numbers")
    if kind not in "biuf":
        raise _error(source, f"holds {dtype} values, not plain numbers")


def _check_array(arr: np.ndarray, source: str) -> np.ndarray:
    _check_kind(arr.dtype, source)
    if arr.ndim == 0:
        raise _error(source, "holds a single number, not a matrix")
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim > 2:
        shape = "×".join(str(d) for d in arr.shape)
        raise _error(source, f"is {arr.ndim}-D (shape {shape}); a matrix must be 2-D")
    if arr.size == 0:
        raise _error(source, f"is empty (shape {arr.shape[0]}×{arr.shape[1]})")
    out = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(out)
    if not finite.all():
        r, c = (int(i) for i in np.argwhere(~finite)[0])
        raise _error(
            source,
            f"row {r + 1}, column {c + 1} holds {_describe(out[r, c])}; "
            "only finite numbers are allowed",
            row=r + 1,
            column=c + 1,
        )
    return out


def parse_matrix_bytes(data: bytes, source: str, *, decimal_comma: bool = False) -> np.ndarray:
    """A matrix from a file's bytes (``.npy`` recognised by its magic number, else text)."""
    if data.startswith(_NPY_MAGIC):
        return _from_npy(io.BytesIO(data), source, len(data))
    if data.startswith(_ZIP_MAGIC):
        raise _error(source, "is a zip archive (.npz or .xlsx?); save one matrix as .npy or CSV")
    if len(data) > MAX_MATRIX_FILE_BYTES:
        raise _error(
            source,
            f"holds {describe_size(len(data))} of text; matrix files up to "
            f"{describe_size(MAX_MATRIX_FILE_BYTES)} can be opened",
        )
    _check_line_count(data, source)
    return _parse(_decode(data, source), source, decimal_comma, "error").values


def _check_line_count(data: bytes, source: str) -> None:
    # Parsing holds a Python string per line (~150 bytes each): count lines before decoding.
    lines = max(data.count(b"\n"), data.count(b"\r"))
    if lines > MAX_MATRIX_ROWS:
        raise _error(
            source,
            f"has {lines:,} lines; matrices of up to {MAX_MATRIX_ROWS:,} rows can be read "
            "from text (save a larger one as .npy)",
        )


def read_matrix_stream(fh: BinaryIO, source: str, *, decimal_comma: bool = False) -> np.ndarray:
    """A matrix from an open binary stream (standard input), read up to the size limit."""
    try:
        data = read_limited(fh, source, MAX_MATRIX_FILE_BYTES, what="matrix files")
    except InputFileError as exc:
        raise _error(source, exc.reason) from None
    return parse_matrix_bytes(data, source, decimal_comma=decimal_comma)


def _open_matrix_file(p: Path, source: str) -> tuple[BinaryIO, int]:
    """The regular file ``p`` open for reading, and its size (refusals as MatrixFileError)."""
    try:
        fh = open_regular_file(p, source)
    except InputFileError as exc:
        raise _error(source, exc.reason) from None
    return fh, os.fstat(fh.fileno()).st_size


def _too_big_to_read_at_once(source: str, size: int) -> MatrixFileError:
    return _error(
        source,
        f"the file is {describe_size(size)}; matrix files up to "
        f"{describe_size(MAX_MATRIX_FILE_BYTES)} can be opened (as .npy, up to "
        f"{MAX_MATRIX_VALUES:,} values)",
    )


def read_matrix(path: str | os.PathLike[str], *, decimal_comma: bool = False) -> np.ndarray:
    """Read a float64 2-D matrix from CSV, TSV, whitespace-separated text or ``.npy``.

    Folders, pipes, devices, link loops and unreadable files are refused before reading;
    so are text files above :data:`MAX_MATRIX_FILE_BYTES` and ``.npy`` arrays declaring more
    than :data:`MAX_MATRIX_VALUES` values.
    """
    p = Path(path)
    source = p.name or str(path)
    # A .npy file may hold up to MAX_MATRIX_VALUES values; its header is checked below.
    fh, size = _open_matrix_file(p, source)
    with fh:
        try:
            head = fh.read(len(_NPY_MAGIC))
            if head == _NPY_MAGIC:
                return _from_npy(fh, source, size)  # straight from the file: no second copy
            if size > MAX_MATRIX_FILE_BYTES:
                raise _too_big_to_read_at_once(source, size)
            data = head + read_limited(
                fh, source, MAX_MATRIX_FILE_BYTES - len(head), what="matrix files"
            )
        except InputFileError as exc:
            raise _error(source, exc.reason) from None
        except PermissionError:
            raise _error(source, "cannot be read (permission denied)") from None
        except OSError as exc:
            raise _error(source, f"cannot be read ({exc.strerror or exc})") from None
    if p.suffix.lower() == ".npy":
        raise _error(source, "is not a valid .npy file (no NumPy header)")
    return parse_matrix_bytes(data, source, decimal_comma=decimal_comma)


# ---------------------------------------------------------------------------------------------
# Writing


def _format_cell(x: float, decimals: int | None, decimal_comma: bool) -> str:
    text = repr(x) if decimals is None else f"{x:.{decimals}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # "-0.00" is just zero
    return text.replace(".", ",") if decimal_comma else text


def format_matrix_text(
    A: object, delimiter: str = "\t", decimals: int | None = None, *, decimal_comma: bool = False
) -> str:
    """Cells as text for the clipboard or a file: rows on lines, cells split by ``delimiter``.

    ``decimals=None`` writes each number exactly (shortest repr that reads back the same).
    No trailing newline, so a single value pastes into one cell.
    """
    arr = np.asarray(A, dtype=np.float64)
    if arr.ndim < 2:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(f"can only format a 2-D matrix; got {arr.ndim}-D")
    if decimal_comma and delimiter == ",":
        raise ValueError("a comma cannot be both the delimiter and the decimal mark")
    return "\n".join(
        delimiter.join(_format_cell(x, decimals, decimal_comma) for x in row)
        for row in arr.tolist()
    )


def write_matrix(path: str | os.PathLike[str], A: object) -> None:
    """Write A by extension (.csv, .tsv, .txt/.dat whitespace, .npy), atomically, exactly.

    Text gets every float's shortest exact representation; the file is written to a
    temporary name in the same folder and renamed over the target, so a failed save never
    leaves a half-written file.
    """
    p = Path(path)
    source = p.name or str(path)
    ext = p.suffix.lower()
    if ext != ".npy" and ext not in _TEXT_DELIMITERS:
        raise _error(source, "unknown file type; save as .csv, .tsv, .txt, .dat or .npy")
    try:
        arr = np.asarray(A)
    except ValueError as exc:
        raise _error(source, f"cannot save this data as a matrix ({exc})") from None
    arr = _check_array(arr, source)

    if ext == ".npy":

        def write(fh: IO[bytes]) -> None:
            np.save(fh, arr, allow_pickle=False)

    else:
        text = format_matrix_text(arr, _TEXT_DELIMITERS[ext]) + "\n"

        def write(fh: IO[bytes]) -> None:
            fh.write(text.encode("utf-8"))

    try:
        write_with(p, write)
    except FileNotFoundError:
        raise _error(source, f"cannot be saved: folder {str(p.parent)!r} does not exist") from None
    except PermissionError:
        raise _error(source, "cannot be saved (permission denied)") from None
    except OSError as exc:
        raise _error(source, f"cannot be saved ({exc.strerror or exc})") from None
