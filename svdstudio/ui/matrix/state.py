"""Keep the Matrix workbench's matrix between runs: nothing typed is lost.

Small matrices go into QSettings as tab-separated text (invalid cells keep their text);
large ones into an .npy in the application data folder, with the few invalid texts inline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths

from svdstudio.io.matrix import read_matrix, write_matrix
from svdstudio.ui.matrix.model import MatrixModel, split_cells

__all__ = ["INLINE_STATE_CELLS", "restore_matrix", "save_matrix", "to_int"]

INLINE_STATE_CELLS = 20_000  # larger matrices are autosaved to an .npy, not into QSettings
AUTOSAVE_NAME = "matrix-autosave.npy"


def to_int(value: object, default: int) -> int:
    """QSettings values come back as str from INI files; be forgiving."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def save_matrix(settings: QSettings, model: MatrixModel) -> None:
    """Store the model's matrix (with invalid cell texts) under "matrix/…"."""
    s = settings
    m, n = model.matrix_shape()
    if m * n <= INLINE_STATE_CELLS:
        s.setValue("matrix/cells", model.block_text(range(m), range(n)))
        s.remove("matrix/cells_file")
        s.remove("matrix/invalid")
        return
    where = QStandardPaths.StandardLocation.AppDataLocation
    folder = Path(QStandardPaths.writableLocation(where))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / AUTOSAVE_NAME
    write_matrix(str(target), np.nan_to_num(np.array(model.values()), nan=0.0))
    s.setValue("matrix/cells_file", str(target))
    bad = model.invalid_cells().items()
    s.setValue("matrix/invalid", "\n".join(f"{r}\t{c}\t{t}" for (r, c), t in bad))
    s.remove("matrix/cells")


def restore_matrix(settings: QSettings, model: MatrixModel) -> str | None:
    """Put the stored matrix into ``model`` (no undo step).

    Returns None when restored, "" when nothing was stored, else why it failed.
    """
    s = settings
    cells = s.value("matrix/cells")
    if cells:
        values, bad, _ = split_cells(str(cells))
        model.reset_matrix(values, bad)
        return None
    path = s.value("matrix/cells_file")
    if not path or not Path(str(path)).is_file():
        return ""
    try:
        values = read_matrix(str(path))
    except (ValueError, OSError) as exc:
        return f"Could not restore the last matrix: {exc}"
    bad = {}
    for line in str(s.value("matrix/invalid") or "").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            r, c = int(parts[0]), int(parts[1])
            if r < values.shape[0] and c < values.shape[1]:
                bad[(r, c)] = parts[2]
    model.reset_matrix(values, bad)
    return None
