"""One "last folder" policy for every open and save dialog of every tab.

Every dialog starts in the folder of the file most recently opened or saved anywhere in the
app (remembered between runs under the main window's ``lastFolder`` setting), or the home
folder.  The main window calls :func:`use_settings` once; tabs call :func:`ask_open_path` and
:func:`ask_save_path` and never keep a folder of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

__all__ = [
    "LAST_FOLDER_KEY",
    "ask_open_path",
    "ask_save_path",
    "last_folder",
    "remember",
    "use_settings",
]

LAST_FOLDER_KEY = "lastFolder"
_state: dict[str, object] = {"settings": None, "folder": None}


def use_settings(settings: QSettings | None) -> None:
    """Keep the last folder in ``settings`` (None: in memory only, e.g. a preview)."""
    _state["settings"] = settings
    _state["folder"] = None


def last_folder() -> str:
    """The folder the next dialog starts in: the last one used if it still exists, else home."""
    settings = _state["settings"]
    folder = (
        settings.value(LAST_FOLDER_KEY, "") if isinstance(settings, QSettings) else _state["folder"]
    )
    folder = str(folder or "")
    return folder if folder and os.path.isdir(folder) else str(Path.home())


def remember(path: str | os.PathLike[str]) -> None:
    """A file was opened or saved at ``path``: its folder is where the next dialog starts."""
    p = Path(path)
    folder = str(p if p.is_dir() else p.parent)
    settings = _state["settings"]
    if isinstance(settings, QSettings):
        settings.setValue(LAST_FOLDER_KEY, folder)
    else:
        _state["folder"] = folder


def ask_open_path(parent: QWidget | None, caption: str, file_filter: str) -> str | None:
    """Ask for a file to open, starting in :func:`last_folder`; None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, caption, last_folder(), file_filter)
    if not path:
        return None
    remember(path)
    return path


def ask_save_path(
    parent: QWidget | None, caption: str, file_name: str, file_filter: str
) -> tuple[str, str] | None:
    """Ask where to save ``file_name`` (a bare name, placed in :func:`last_folder`).

    Returns (path, the chosen filter) or None when cancelled.
    """
    start = os.path.join(last_folder(), Path(file_name).name)
    path, chosen = QFileDialog.getSaveFileName(parent, caption, start, file_filter)
    if not path:
        return None
    remember(path)
    return path, chosen
