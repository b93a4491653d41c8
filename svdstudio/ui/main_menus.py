"""The main window's menus: File, Edit, View and Help, with their shortcuts and tips.

Built once by :class:`svdstudio.app.MainWindow`; every action calls back into the window (or the
tab on show), so the menus hold no state of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

__all__ = ["MenuHost", "Menus", "add_action", "build_menus"]


class MenuHost(Protocol):
    """What the menus call on the main window (:class:`svdstudio.app.MainWindow`)."""

    tab_specs: list[Any]
    tabs: Any  # QTabWidget
    undo_group: Any  # QUndoGroup
    job_status: Any  # JobStatus
    runner: Any  # JobRunner

    def menuBar(self) -> Any: ...
    def open_dialog(self) -> None: ...
    def save_as(self, kind: str) -> None: ...
    def export(self) -> None: ...
    def reset_settings(self) -> None: ...
    def close(self) -> bool: ...
    def current_tab(self) -> Any: ...
    def update_cancel_action(self, *_args: object) -> None: ...
    def show_user_guide(self) -> None: ...
    def show_shortcuts(self) -> None: ...
    def show_about(self) -> None: ...


@dataclass(frozen=True)
class Menus:
    """The entries the window changes later: Open Recent's submenu, Save As per tab, Cancel."""

    recent_menu: QMenu
    save_actions: dict[str, QAction]
    cancel_action: QAction


def add_action(
    window: MenuHost,
    menu: QMenu,
    text: str,
    slot: Callable[[], object],
    shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    tip: str = "",
    name: str = "",
) -> QAction:
    """A menu entry calling ``slot``, with an optional shortcut, tip and object name."""
    act = QAction(text, window)  # type: ignore[call-overload]  # the QMainWindow is a QObject
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(tip)
    if name:
        act.setObjectName(name)
    act.triggered.connect(lambda _checked=False: slot())
    menu.addAction(act)
    return act


def build_menus(window: MenuHost) -> Menus:
    """The File, Edit, View and Help menus of ``window``, with their shortcuts."""
    bar = window.menuBar()
    std_key = QKeySequence.StandardKey
    file_menu = bar.addMenu("&File")
    add_action(
        window,
        file_menu,
        "&Open…",
        window.open_dialog,
        std_key.Open,
        "Open a matrix, an image or a dataset",
        "actionOpen",
    )
    recent_menu = file_menu.addMenu("Open &Recent")
    recent_menu.setObjectName("recentMenu")
    file_menu.addSeparator()
    save_actions: dict[str, QAction] = {}
    for spec in window.tab_specs:
        if spec.save_title:
            save_actions[spec.kind] = add_action(
                window,
                file_menu,
                spec.save_title,
                lambda kind=spec.kind: window.save_as(kind),
                std_key.SaveAs if not save_actions else None,
                f"Save what the {spec.title} tab holds",
                f"actionSave{spec.kind.title()}",
            )
    add_action(
        window,
        file_menu,
        "&Export…",
        window.export,
        "Ctrl+E",
        "Export what the current tab shows",
        "actionExport",
    )
    file_menu.addSeparator()
    add_action(
        window,
        file_menu,
        "Reset settings…",
        window.reset_settings,
        None,
        "Forget window layout, recent files and remembered values",
        "actionResetSettings",
    )
    file_menu.addSeparator()
    add_action(window, file_menu, "&Quit", window.close, "Ctrl+Q", "Quit SVD Studio", "actionQuit")

    edit = bar.addMenu("&Edit")
    undo = window.undo_group.createUndoAction(window, "&Undo")
    undo.setShortcut(QKeySequence(std_key.Undo))
    undo.setObjectName("actionUndo")
    redo = window.undo_group.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence(std_key.Redo), QKeySequence("Ctrl+Y")])
    redo.setObjectName("actionRedo")
    edit.addAction(undo)
    edit.addAction(redo)
    edit.addSeparator()
    for text, slot, key, name in (
        ("&Copy", lambda: window.current_tab().copy(), std_key.Copy, "actionCopy"),
        ("&Paste", lambda: window.current_tab().paste(), std_key.Paste, "actionPaste"),
        (
            "Select &all",
            lambda: window.current_tab().select_all(),
            std_key.SelectAll,
            "actionSelectAll",
        ),
    ):
        act = add_action(window, edit, text, slot, key, name=name)
        # Shortcuts act only when the focus is not in an editor that handles them itwindow.
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        window.tabs.addAction(act)

    view = bar.addMenu("&View")
    for i in range(window.tabs.count()):
        add_action(
            window,
            view,
            f"&{i + 1} {window.tabs.tabText(i)}",
            lambda i=i: window.tabs.setCurrentIndex(i),
            f"Ctrl+{i + 1}",
            f"Show the {window.tabs.tabText(i)} tab",
        )
    view.addSeparator()
    cancel_action = add_action(
        window,
        view,
        "Cancel running job",
        window.job_status.cancel,
        "Esc",
        "Stop the computation that is running",
        "actionCancelJob",
    )
    # Enabled only while something runs, so Esc keeps its usual meaning (leave a cell editor).
    cancel_action.setEnabled(False)
    window.runner.started.connect(window.update_cancel_action)
    window.runner.finished.connect(window.update_cancel_action)

    help_menu = bar.addMenu("&Help")
    add_action(
        window,
        help_menu,
        "&User guide",
        window.show_user_guide,
        std_key.HelpContents,
        "How to use each tab (works offline)",
        "actionUserGuide",
    )
    add_action(
        window,
        help_menu,
        "&Keyboard shortcuts",
        window.show_shortcuts,
        "Ctrl+/",
        "Every keyboard shortcut of SVD Studio",
        "actionShortcuts",
    )
    help_menu.addSeparator()
    add_action(
        window,
        help_menu,
        "&About SVD Studio",
        window.show_about,
        None,
        "Version, licences and data attributions",
        "actionAbout",
    )
    return Menus(recent_menu, save_actions, cancel_action)
