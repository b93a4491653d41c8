"""Keep the Matrix workbench's matrix between runs: nothing typed is lost.

A matrix is stored under a name ("cells": what the grid shows; "saved": the last saved or
opened matrix, kept while the grid has unsaved edits, so that Discard can bring it back).
Small matrices go into QSettings as tab-separated text (invalid cells keep their text);
large ones into an .npy in the autosave folder, with the few invalid texts inline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings

from svdstudio.io.matrix import read_matrix, write_matrix
from svdstudio.ui.matrix.autosave import autosave_folder
from svdstudio.ui.matrix.model import cell_text_of, split_cells

__all__ = ["INLINE_STATE_CELLS", "Cells", "forget_cells", "load_cells", "save_cells", "to_int"]

INLINE_STATE_CELLS = 20_000  # larger matrices go to an .npy, not into QSettings
Cells = tuple[np.ndarray, dict[tuple[int, int], str]]


def to_int(value: object, default: int) -> int:
    """QSettings values come back as str from INI files; be forgiving."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _text(values: np.ndarray, invalid: dict[tuple[int, int], str]) -> str:
    m, n = values.shape
    rows = (
        "\t".join(invalid.get((r, c)) or cell_text_of(values[r, c]) for c in range(n))
        for r in range(m)
    )
    return "\n".join(rows) + "\n"


def forget_cells(settings: QSettings, name: str) -> None:
    """Remove a stored matrix (its keys; the .npy is overwritten next time)."""
    for suffix in ("", "_file", "_invalid"):
        settings.remove(f"matrix/{name}{suffix}")


def save_cells(settings: QSettings, name: str, cells: Cells) -> None:
    """Store a matrix (values with invalid cell texts) under "matrix/NAME…"."""
    values, invalid = cells
    m, n = values.shape
    forget_cells(settings, name)
    if m * n <= INLINE_STATE_CELLS:
        settings.setValue(f"matrix/{name}", _text(values, invalid))
        return
    target = autosave_folder() / f"matrix-{name}.npy"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_matrix(str(target), np.nan_to_num(values, nan=0.0))
    settings.setValue(f"matrix/{name}_file", str(target))
    lines = "\n".join(f"{r}\t{c}\t{t}" for (r, c), t in sorted(invalid.items()))
    settings.setValue(f"matrix/{name}_invalid", lines)


def load_cells(settings: QSettings, name: str) -> Cells | str:
    """The stored matrix NAME, or "" when nothing was stored, or why it could not be read."""
    text = settings.value(f"matrix/{name}")
    if text:
        values, bad, _ = split_cells(str(text))
        for pos in bad:
            values[pos] = np.nan
        return values, bad
    path = settings.value(f"matrix/{name}_file")
    if not path or not Path(str(path)).is_file():
        return ""
    try:
        values = read_matrix(str(path))
    except (ValueError, OSError) as exc:
        return f"Could not restore the last matrix: {exc}"
    bad: dict[tuple[int, int], str] = {}
    legacy = settings.value("matrix/invalid") if name == "cells" else None
    for line in str(settings.value(f"matrix/{name}_invalid") or legacy or "").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            r, c = int(parts[0]), int(parts[1])
            if r < values.shape[0] and c < values.shape[1]:
                bad[(r, c)] = parts[2]
                values[r, c] = np.nan
    return values, bad
