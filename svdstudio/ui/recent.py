"""File › Open Recent: the user's own files, newest first, remembered in the settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from svdstudio.ui.widgets import file_dialogs

__all__ = ["MAX_RECENT", "RECENT_KEY", "RecentFiles", "is_bundled"]

MAX_RECENT = 10
RECENT_KEY = "recentFiles"


def is_bundled(path: str) -> bool:
    """True for the samples shipped with SVD Studio (they have their own menus)."""
    from svdstudio.resources import resources_root

    try:
        return Path(path).resolve().is_relative_to(resources_root().resolve())
    except (OSError, RuntimeError):  # no resources folder, or a symlink loop
        return False


class RecentFiles:
    """The list in ``settings`` and the menu that shows it; ``open_path`` opens a chosen one."""

    def __init__(
        self,
        settings: QSettings,
        menu: QMenu,
        open_path: Callable[[str], object],
        parent: QWidget,
        title: str,
    ) -> None:
        self._settings = settings
        self._menu = menu
        self._open_path = open_path
        self._parent = parent
        self._title = title

    def files(self) -> list[str]:
        """Recent files, newest first."""
        value = self._settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if not is_bundled(str(v))]

    def add(self, path: str) -> None:
        """Put ``path`` first (bundled samples stay out: the list is for the user's own files)."""
        if is_bundled(path):
            return
        files = [p for p in self.files() if p != path]
        files.insert(0, path)
        self._settings.setValue(RECENT_KEY, files[:MAX_RECENT])
        file_dialogs.remember(path)
        self.rebuild_menu()

    def clear(self) -> None:
        self._settings.setValue(RECENT_KEY, [])
        self.rebuild_menu()

    def rebuild_menu(self) -> None:
        menu = self._menu
        menu.clear()
        files = self.files()
        for i, path in enumerate(files):
            label = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
            act = menu.addAction(label)
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _c=False, p=path: self._open(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear list", self.clear)
        else:
            none = menu.addAction("(no recent files)")
            none.setEnabled(False)

    def _open(self, path: str) -> None:
        if not Path(path).exists():
            QMessageBox.warning(
                self._parent,
                self._title,
                f"{path} no longer exists; it is removed from the recent files.",
            )
            self._settings.setValue(RECENT_KEY, [p for p in self.files() if p != path])
            self.rebuild_menu()
            return
        self._open_path(path)
