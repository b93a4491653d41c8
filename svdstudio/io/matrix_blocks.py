"""Big text matrix files read a block of lines at a time, with progress and cancel.

Split from :mod:`svdstudio.io.matrix` (whose rules and messages it follows exactly: the row and
column of a bad cell are those of the file, as :func:`~svdstudio.io.matrix.read_matrix` says
them).  Memory is the matrix plus one block; no copy of the whole text is held.  The numpy
parser holds the GIL, so a GUI should call :func:`read_matrix_in_blocks` in a worker process
(the Matrix tab does), not in a thread.  No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.jobs import JobControl
from svdstudio.io import matrix as _matrix
from svdstudio.io.matrix import (
    _NPY_MAGIC,
    _ZIP_MAGIC,
    _detect_delimiter,
    _error,
    _fast_values,
    _fill,
    _is_header,
    _open_matrix_file,
    _split,
    _too_big_to_read_at_once,
    read_matrix,
)
from svdstudio.io.safety import describe_size

__all__ = [
    "BLOCK_READ_BYTES",
    "MAX_BLOCK_READ_BYTES",
    "check_matrix_size",
    "read_matrix_in_blocks",
]

#: Text files above this size are read by :func:`read_matrix_in_blocks` a block of lines at a
#: time (progress, cancel, no copy of the whole text); smaller ones in one go.
BLOCK_READ_BYTES = 8 * 2**20
#: Largest text matrix file read in blocks (memory is then the matrix plus one block): a
#: 5000×5000 matrix written with exact digits is about 480 MB of CSV.
MAX_BLOCK_READ_BYTES = 2**30
# One block of lines: about 25 k cells, ≈ 10 ms to parse, between two progress reports and
# cancel checks.  The parser holds the GIL: in a thread of the GUI's process even such blocks
# gave 0.25-0.7 s event-loop gaps on a busy machine, hence a worker process in the Matrix tab.
_BLOCK_BYTES = 2**19
_UTF8_BOM = b"\xef\xbb\xbf"


def read_matrix_in_blocks(
    path: str | os.PathLike[str],
    *,
    job: JobControl | None = None,
    decimal_comma: bool = False,
    blocks_from: int | None = None,
    block_bytes: int | None = None,
) -> np.ndarray:
    """:func:`read_matrix`, for big text files a block of lines at a time.

    Same rules and messages (the row and column of a bad cell are those of the file), with
    progress reported to ``job`` (fraction of the file's bytes) and its cancel flag checked
    between blocks (raising :class:`~svdstudio.engine.Cancelled`).  ``.npy`` files and text up to
    :data:`BLOCK_READ_BYTES` go to :func:`read_matrix`; text is read in blocks up to
    :data:`MAX_BLOCK_READ_BYTES`.  ``blocks_from`` and ``block_bytes`` replace
    :data:`BLOCK_READ_BYTES` and the block size (a caller in another process cannot patch them).
    """
    p = Path(path)
    source = p.name or str(path)
    fh, size = _open_matrix_file(p, source)
    with fh:
        if _in_blocks(fh, source, size, blocks_from):
            fh.seek(0)
            return _read_blocks(fh, source, size, job, decimal_comma, block_bytes)
    if job is not None:
        job.report(-1, f"Reading {source}")
    return read_matrix(path, decimal_comma=decimal_comma)


def check_matrix_size(path: str | os.PathLike[str]) -> None:
    """Refuse at once (MatrixFileError, the reader's own message) a file that
    :func:`read_matrix_in_blocks` would refuse for its size: a caller that reads in the
    background can then say so before it starts, and keep what is on show."""
    p = Path(path)
    source = p.name or str(path)
    fh, size = _open_matrix_file(p, source)
    with fh:
        if not _in_blocks(fh, source, size):
            fh.seek(0)
            if fh.read(len(_NPY_MAGIC)) != _NPY_MAGIC and size > _matrix.MAX_MATRIX_FILE_BYTES:
                raise _too_big_to_read_at_once(source, size)


def _in_blocks(fh: BinaryIO, source: str, size: int, blocks_from: int | None = None) -> bool:
    """Whether a file of ``size`` bytes open in ``fh`` is read a block of lines at a time
    (big line-based text), refusing one above :data:`MAX_BLOCK_READ_BYTES`."""
    head = fh.read(2**20)
    simple = (
        size <= (BLOCK_READ_BYTES if blocks_from is None else blocks_from)
        or head.startswith((_NPY_MAGIC, _ZIP_MAGIC))
        or b"\n" not in head  # one huge line, or old Mac line ends: the one-go path
        or (b"\x00" in head)  # UTF-16/32 or binary: decode_text knows what to say
    )
    if not simple and size > MAX_BLOCK_READ_BYTES:
        raise _error(
            source,
            f"the file is {describe_size(size)}; text matrix files up to "
            f"{describe_size(MAX_BLOCK_READ_BYTES)} can be opened (as .npy, up to "
            f"{_matrix.MAX_MATRIX_VALUES:,} values)",
        )
    return not simple


def _read_blocks(
    fh: BinaryIO,
    source: str,
    size: int,
    job: JobControl | None,
    decimal_comma: bool,
    block_bytes: int | None = None,
) -> np.ndarray:
    read_size = _BLOCK_BYTES if block_bytes is None else block_bytes
    out = np.empty((0, 0))  # rows are copied in as they come: no concatenation at the end
    delimiter: str | None = None
    header: bool | None = None
    width = first_row = 0
    line_base = rows = done = 0
    carry = b""
    while True:
        if job is not None and job.cancelled():
            raise Cancelled()
        try:
            chunk = fh.read(read_size)
        except OSError as exc:
            raise _error(source, f"cannot be read ({exc.strerror or exc})") from None
        done += len(chunk)
        data = carry + chunk
        cut = data.rfind(b"\n") + 1 if chunk else len(data)
        block, carry = data[:cut], data[cut:]
        if line_base == 0 and block.startswith(_UTF8_BOM):
            block = block[len(_UTF8_BOM) :]
        if block:
            text = _decode_block(block, source, line_base)
            all_lines = text.splitlines()
            numbered = [
                (line_base + i + 1, line)
                for i, line in enumerate(all_lines)
                if line.strip() and not line.lstrip().startswith("#")
            ]
            line_base += len(all_lines)
            if delimiter is None and numbered:
                delimiter = _detect_delimiter([line for _, line in numbered], decimal_comma)
            if delimiter is not None and delimiter != " ":
                numbered = [(k, ln) for k, ln in numbered if ln.replace(delimiter, "").strip()]
            if numbered and delimiter is not None:
                lines = [line for _, line in numbered]
                numbers = [number for number, _ in numbered]
                if header is None:  # only the first data line may be a header
                    first = _split(lines[:1], numbers[:1], delimiter, source)[0]
                    header = _is_header(first, decimal_comma)
                    if header:
                        lines, numbers = lines[1:], numbers[1:]
                if not width and lines:
                    width = len(_split(lines[:1], numbers[:1], delimiter, source)[0])
                    first_row = numbers[0]
                if lines:
                    values = _block_values(
                        lines, numbers, delimiter, width, first_row, decimal_comma, source
                    )
                    _check_block_limits(rows + values.shape[0], width, source)
                    out = _append_rows(out, rows, values, size, done)
                    rows += values.shape[0]
        if job is not None:
            job.report(done / max(size, 1), f"Reading {source}: {rows:,} rows so far")
        if not chunk:
            break
    if not rows:
        if header:
            raise _error(source, "has a header row but no rows of numbers")
        raise _error(source, "is empty: there are no numbers in it")
    return out[:rows] if rows == out.shape[0] else out[:rows].copy()


def _append_rows(
    out: np.ndarray, used: int, values: np.ndarray, size: int, read: int
) -> np.ndarray:
    """Copy ``values`` below the ``used`` rows of ``out``, growing it when full.

    The first guess of the row count comes from the bytes read so far and the file's size
    (numpy.empty is lazy, so a guess on the high side costs address space, not memory).
    """
    need = used + values.shape[0]
    if need > out.shape[0]:
        guess = int(need * max(size / max(read, 1), 1.0) * 1.02) + 16
        grown = np.empty((max(guess, 2 * out.shape[0], need), values.shape[1]))
        if used:
            grown[:used] = out[:used]
        out = grown
    out[used:need] = values
    return out


def _decode_block(block: bytes, source: str, line_base: int) -> str:
    if b"\x00" in block:
        raise _error(source, "is a binary file, not a text or .npy matrix file")
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_base + block.count(b"\n", 0, exc.start) + 1
        raise _error(
            source,
            f"is not UTF-8 text (byte 0x{block[exc.start]:02x} on line {line}); "
            "save it as UTF-8 CSV or text",
            row=line,
        ) from None


def _block_values(
    lines: list[str],
    numbers: list[int],
    delimiter: str,
    width: int,
    first_row: int,
    decimal_comma: bool,
    source: str,
) -> np.ndarray:
    fast = _fast_values(lines, delimiter, decimal_comma)
    if fast is not None and fast.shape[1] == width:
        return fast
    table = _split(lines, numbers, delimiter, source)
    return _fill(table, numbers, width, first_row, "error", decimal_comma, source)[0]


def _check_block_limits(rows: int, width: int, source: str) -> None:
    max_rows, max_values = _matrix.MAX_MATRIX_ROWS, _matrix.MAX_MATRIX_VALUES
    if rows > max_rows:
        raise _error(
            source,
            f"has more than {max_rows:,} rows; matrices of up to {max_rows:,} "
            "rows can be read from text (save a larger one as .npy)",
        )
    if rows * width > max_values:
        raise _error(
            source,
            f"holds more than {max_values:,} values ({rows:,} rows of {width:,} so far); "
            f"matrices up to {max_values:,} values can be opened",
        )
