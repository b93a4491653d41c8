"""A table file's text split into records, its header found and its columns named.  No Qt.

The first half of reading a CSV/TSV table (:func:`svdstudio.io.datasets.read_dataset` does the
rest): the file is read whole under a size limit and decoded (UTF-8, else Latin-1), the
delimiter sniffed (comma, tab, semicolon, bar, else runs of blanks), the records split with the
csv module and a header row detected.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from svdstudio.io.dataset_model import MISSING_TOKENS, DatasetError, _display_name
from svdstudio.io.safety import InputFileError, decode_text, open_regular_file, read_limited

__all__ = ["MAX_ROWS", "read_header"]

_DELIMITERS = (",", "\t", ";", "|")
_MAX_BYTES = 512 * 1024 * 1024
#: Most lines a table may have (parsing keeps a list of strings per row).
MAX_ROWS = 2_000_000


def _read_text(path: Path) -> tuple[str, list[str]]:
    notices: list[str] = []
    src = _display_name(path)
    try:
        with open_regular_file(path, src, max_bytes=_MAX_BYTES, what="tables") as fh:
            raw = read_limited(fh, src, _MAX_BYTES, what="tables")
        text, encoding = decode_text(raw, src, latin1=True)
    except InputFileError as exc:
        reason = exc.reason
        if reason.startswith("is a binary file"):
            reason = "this is a binary file, not a CSV or TSV table"
        elif reason.startswith("is a folder"):
            reason = "is a folder, not a table file"
        raise DatasetError(f"{src}: {reason}") from None
    lines = max(text.count("\n"), text.count("\r"))
    if lines > MAX_ROWS:
        # The csv module holds a list of strings per row: refuse before building them.
        raise DatasetError(
            f"{src}: the table has {lines:,} lines; tables of up to {MAX_ROWS:,} rows can be opened"
        )
    if encoding == "Latin-1":
        notices.append("The file is not UTF-8; it was read as Latin-1.")
    return text, notices


def _sniff_delimiter(lines: list[str], suffix: str) -> str:
    """The delimiter that splits the first lines into the same number (≥ 2) of fields;
    ``" "`` (runs of blanks) when none of comma, tab, semicolon and bar splits the first line."""
    sample = [ln for ln in lines[:50] if ln.strip()]
    if not sample:
        return "\t" if suffix == ".tsv" else ","
    best, best_score = None, 0
    order = ("\t", ",", ";", "|") if suffix in (".tsv", ".tab") else _DELIMITERS
    for d in order:
        try:
            counts = [len(next(csv.reader([ln], delimiter=d))) for ln in sample]
        except csv.Error:
            continue
        if counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = d, score
    if best is None and len(sample[0].split()) >= 2:
        return " "
    return best or ("\t" if suffix in (".tsv", ".tab") else ",")


def _split_blanks(text: str) -> tuple[list[list[str]], list[int]]:
    """Records of a table separated by runs of spaces, if every line has as many fields."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if rows and len(fields) != len(rows[0]):
            raise DatasetError(
                f"cannot split the table into columns: it has no comma, tab, semicolon or "
                f"bar, and split at spaces line {lines[0]} has {len(rows[0])} fields but line "
                f"{number} has {len(fields)} (names with spaces?); save it as CSV or TSV"
            )
        rows.append(fields)
        lines.append(number)
    return rows, lines


def read_header(path: str | os.PathLike[str]) -> list[str]:
    """Column names of a table as :func:`read_dataset` names them (``column_N`` where the
    file has no header or a blank name, ``name_2`` for a repeated one)."""
    rows, _, _, _ = _read_records(Path(path))
    header, _ = _split_header(rows)
    return _column_names(header, len(rows[0]))


def _read_records(p: Path) -> tuple[list[list[str]], list[int], str, list[str]]:
    """A table file's non-blank records, the line each starts on, the delimiter and notices."""
    text, notices = _read_text(p)
    try:
        rows, line_of, delim = _records(text, p.suffix.lower())
    except DatasetError as exc:
        raise DatasetError(f"{_display_name(p)}: {exc}") from None
    if not rows:
        raise DatasetError(f"{_display_name(p)}: the file is empty; expected a table of numbers")
    if delim == " ":
        notices.append("No comma, tab or semicolon found: columns were split at spaces.")
    return rows, line_of, delim, notices


def _records(text: str, suffix: str) -> tuple[list[list[str]], list[int], str]:
    """Non-blank records, the file line each starts on, and the delimiter."""
    # \r\n and a lone \r (old Mac exports) end lines as \n does.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = text[:65536].splitlines()
    if len(text) > 65536:
        head = head[:-1]  # possibly cut in the middle
    delim = _sniff_delimiter(head[:50], suffix)
    if delim == " ":
        rows_, lines_ = _split_blanks(text)
        return rows_, lines_, delim
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    # Blank lines are not rows (a line of only delimiters is, and counts as missing values).
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            if row and (len(row) > 1 or row[0].strip()):
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"line {start} cannot be split into fields ({exc})") from None
    return rows, lines, delim


def _looks_numeric(cell: str) -> bool:
    s = cell.strip()
    if s.lower() in MISSING_TOKENS:
        return True
    try:
        float(s)
    except ValueError:
        return False
    return True


def _split_header(rows: list[list[str]]) -> tuple[list[str] | None, list[list[str]]]:
    """First row is a header if a cell of it is text above a mostly numeric column."""
    first = rows[0]
    body = rows[1:21]
    if not body:
        # One row only: a header if any cell is text.
        if any(not _looks_numeric(c) for c in first):
            return [c.strip() for c in first], rows[1:]
        return None, rows
    for j, cell in enumerate(first):
        if _looks_numeric(cell):
            continue
        below = [r[j] for r in body if j < len(r)]
        numeric = sum(_looks_numeric(c) for c in below)
        if below and numeric * 2 > len(below):
            return [c.strip() for c in first], rows[1:]
    if all(not _looks_numeric(c) for c in first) and len(set(first)) == len(first):
        # Every column is text, e.g. a header over a table of words: still a header.
        return [c.strip() for c in first], rows[1:]
    return None, rows


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for j, n in enumerate(names):
        n = n or f"column_{j + 1}"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 1
        out.append(n)
    return out


def _column_names(header: list[str] | None, width: int) -> list[str]:
    """Unique names for ``width`` columns: the header's, else ``column_1`` … ``column_N``."""
    return _unique_names(
        header if header is not None else [f"column_{j + 1}" for j in range(width)]
    )
