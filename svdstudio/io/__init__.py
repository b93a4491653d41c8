"""File formats (no Qt): matrices as CSV/TSV/text/.npy and pasted text."""

from svdstudio.io.matrix import (
    MATRIX_FILE_FILTER,
    MatrixFileError,
    ParsedText,
    format_matrix_text,
    parse_matrix_bytes,
    parse_matrix_text,
    read_matrix,
    write_matrix,
)

__all__ = [
    "MATRIX_FILE_FILTER",
    "MatrixFileError",
    "ParsedText",
    "format_matrix_text",
    "parse_matrix_bytes",
    "parse_matrix_text",
    "read_matrix",
    "write_matrix",
]
