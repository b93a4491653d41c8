"""Help › User guide and Help › Keyboard shortcuts.

The guide is the README's "User guide" section, shipped as ``resources/USER_GUIDE.md`` so that
it is there in an installed wheel and a bundle too (a test keeps the copy equal to the README;
``python -m svdstudio.ui.help --write-guide`` refreshes it).  The shortcut list is generated
from the window's actions, so it cannot go stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMenu,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from svdstudio.resources import resource_path

__all__ = [
    "GUIDE_FILE",
    "HelpDialog",
    "guide_from_readme",
    "shortcut_rows",
    "shortcuts_markdown",
    "user_guide_markdown",
]

GUIDE_FILE = "USER_GUIDE.md"
_README = Path(__file__).resolve().parents[2] / "README.md"  # only in a checkout
_IMAGE_LINE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$", re.MULTILINE)

#: Keys that belong to a widget rather than to a menu action (shown after the actions).
WIDGET_KEYS = (
    ("Matrix grid", "Delete / Backspace", "Set the selected cells to 0"),
    ("Matrix grid", "Menu key / right click", "Copy, paste, insert or remove rows and columns"),
    ("Spectrum plot", "← → ↑ ↓", "Move the rank cutoff by one"),
    ("Spectrum plot", "Page Up / Page Down", "Move the rank cutoff by a tenth of the values"),
    ("Spectrum plot", "Home / End", "Keep one singular value / keep them all"),
)


def guide_from_readme(readme: str) -> str:
    """The README's "## User guide" section (up to the next "## " heading), as Markdown."""
    m = re.search(r"^## User guide\s*$(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    if m is None:
        raise ValueError('README.md has no "## User guide" section')
    return "# SVD Studio user guide\n" + m.group(1).rstrip() + "\n"


def user_guide_markdown() -> str:
    """The guide to show: the shipped copy, else the checkout's README; screenshots left out
    (they are not shipped, and a dialog is too narrow for them)."""
    try:
        text = resource_path(GUIDE_FILE).read_text(encoding="utf-8")
    except OSError:
        try:
            text = guide_from_readme(_README.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "# SVD Studio user guide\n\nThe guide is missing from this installation."
    text = re.sub(r"\n{3,}", "\n\n", _IMAGE_LINE.sub("", text))
    return _escape_underscores(text)


def _escape_underscores(text: str) -> str:
    """The guide's maths is plain text (A_k, ‖·‖_F): underscores are not emphasis.  Code spans
    (between backticks) are left alone."""
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("_", "\\_") for i, p in enumerate(parts))


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _keys(act: QAction) -> list[str]:
    """The action's shortcuts as the platform writes them, each once (on some platforms two
    standard keys are the same sequence)."""
    texts = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts()]
    return list(dict.fromkeys(t for t in texts if t))


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, keys, action) for every action of the window that has a shortcut, menu order."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def walk(menu: QMenu, path: str) -> None:
        for act in menu.actions():
            if act.menu() is not None:
                walk(act.menu(), f"{path} › {_plain(act.menu().title())}")
                continue
            keys = _keys(act)
            if keys and id(act) not in seen:
                seen.add(id(act))
                rows.append((path, " or ".join(keys), _plain(act.text())))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.menu().title()))
    for act in window.findChildren(QAction):  # shortcuts outside the menus, if any
        keys = _keys(act)
        if keys and id(act) not in seen and act.text():
            seen.add(id(act))
            rows.append(("Window", " or ".join(keys), _plain(act.text())))
    return rows


def shortcuts_markdown(window: QMainWindow) -> str:
    """The shortcut list as Markdown tables: menu actions, then keys inside widgets."""
    lines = ["# Keyboard shortcuts", "", "| Keys | Action | Menu |", "|---|---|---|"]
    lines += [f"| {keys} | {text} | {menu} |" for menu, keys, text in shortcut_rows(window)]
    lines += ["", "## Inside the views", "", "| Keys | What they do | Where |", "|---|---|---|"]
    lines += [f"| {keys} | {what} | {where} |" for where, keys, what in WIDGET_KEYS]
    return "\n".join(lines) + "\n"


class HelpDialog(QDialog):
    """A scrollable, selectable Markdown page sized for small screens."""

    def __init__(self, name: str, title: str, markdown: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.browser = QTextBrowser(self)
        self.browser.setObjectName(f"{name}Text")
        self.browser.setAccessibleName(title)
        self.browser.setOpenExternalLinks(False)
        self.browser.setMarkdown(markdown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser)
        lay.addWidget(buttons)
        self.resize(760, 540)


def _write_guide() -> int:
    text = guide_from_readme(_README.read_text(encoding="utf-8"))
    target = Path(__file__).resolve().parents[2] / "resources" / GUIDE_FILE
    from svdstudio.io.atomic import atomic_write_text

    atomic_write_text(target, text)
    print(f"wrote {target}")
    return 0


def main() -> int:
    """Preview: ``python -m svdstudio.ui.help`` (``--write-guide`` refreshes the copy)."""
    if "--write-guide" in sys.argv[1:]:
        return _write_guide()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    dialog = HelpDialog("userGuideDialog", "SVD Studio user guide", user_guide_markdown())
    dialog.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
