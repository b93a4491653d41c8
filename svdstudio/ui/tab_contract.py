"""The one contract between the main window and a tab.

The main window knows tabs only through this: a :class:`TabSpec` registered in
:mod:`svdstudio.ui.tabs` (its kind, title, the file kinds it opens, how to build it) and the
methods and signals of :class:`Tab`.  It never looks a method up by name, never counts tabs and
never lists their kinds.

Rules every tab keeps:

- **State lives in a session** (a ``QObject`` with signals and no widgets) inside the tab's
  package; widgets write through the session's methods and redraw from its signals.
- **Errors are reported once.**  A job that fails reaches the main window through
  ``JobRunner.failed``; the main window shows the sentence in the status bar, and unexpected
  errors in a non-blocking dialog with the details.  A tab reacts to a failed job only by
  updating its own state (clearing a "computing…" note); it does not report it again.  Errors
  that are not jobs (a file that cannot be read) a tab reports itself, once, through
  ``status_message`` and, where the user must act, a message box.
- **Every file dialog** goes through :mod:`svdstudio.ui.widgets.file_dialogs` (one last-folder
  policy for the whole app).
- Every file the tab writes goes through :mod:`svdstudio.io.atomic`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings, SignalInstance
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QWidget

    from svdstudio.workers import JobRunner

__all__ = ["Tab", "TabSpec"]


@runtime_checkable
class Tab(Protocol):
    """What the main window asks of a tab (the tab is a ``QWidget`` that also has these)."""

    #: One plain sentence for the status bar (shown while the tab is on show).
    status_message: SignalInstance
    #: A user's file was opened (absolute path): it goes into Open Recent.
    file_opened: SignalInstance
    #: (name, modified): what the window title shows for this tab ("m.csv", True → "m.csv*").
    document_changed: SignalInstance

    def document_title(self) -> str:
        """The name of what the tab shows ("camera.png", "untitled"); "" for nothing."""
        ...

    def file_filter(self) -> str:
        """The open-dialog filter for the files this tab opens (``"Images (*.png *.jpg)"``)."""
        ...

    def open_file(self, path: str) -> bool:
        """Open ``path``; on failure say why (once) and keep what was on show."""
        ...

    def export(self) -> object:
        """Ask where to save what the tab shows, and save it."""
        ...

    def undo_stack(self) -> QUndoStack | None:
        """The tab's undo stack, or None when nothing in it is edited."""
        ...

    def copy(self) -> None:
        """Edit › Copy."""
        ...

    def paste(self) -> object:
        """Edit › Paste (may do nothing, but says so)."""
        ...

    def select_all(self) -> None:
        """Edit › Select all."""
        ...

    def has_unsaved_changes(self) -> bool:
        """True when closing now would lose something the user made."""
        ...

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled (stay open)."""
        ...

    def load_defaults(self) -> None:
        """The first start's state (built-in example)."""
        ...

    def save_state(self, settings: QSettings) -> None:
        """Remember the tab's options and what it shows."""
        ...

    def restore_state(self, settings: QSettings) -> None:
        """Bring back what :meth:`save_state` remembered (defaults for what is missing)."""
        ...


@dataclass(frozen=True)
class TabSpec:
    """A registered tab: who it is, which files it opens, and how to build it.

    The main window builds a tab only when it is first needed, so importing a ``spec`` module
    must stay cheap: the factory imports the tab's widgets, not the module.
    """

    kind: str  # stable id, also the settings prefix: "matrix"
    title: str  # the tab's label: "Matrix"
    opens: frozenset[str]  # file kinds of io.filetypes.classify_path that this tab opens
    factory: Callable[[JobRunner], QWidget]  # the tab, given the app's job runner
    save_title: str | None = None  # "Save matrix as…": the tab has a File › Save as action
    # The open-dialog filter while the tab is not built yet (tabs are built when first needed);
    # the same text as the built tab's file_filter() (the contract test checks it).
    file_filter: str = ""
    # Qt-free modules (engine, io, numpy/scipy/Pillow) the tab's build imports, slow enough to
    # be worth importing on a background thread after start, before the tab is first shown.
    preload: tuple[str, ...] = ()

    def build(self, runner: JobRunner) -> QWidget:
        """The tab widget; raises TypeError if it does not keep the contract."""
        tab = self.factory(runner)
        if not isinstance(tab, Tab):
            missing = [n for n in _MEMBERS if not hasattr(tab, n)]
            raise TypeError(f"tab {self.kind!r} does not keep the Tab contract: missing {missing}")
        if self.save_title and not callable(getattr(tab, "save_as", None)):
            raise TypeError(f"tab {self.kind!r} has a save_title but no save_as()")
        return tab


_MEMBERS = (
    "status_message",
    "file_opened",
    "document_changed",
    "document_title",
    "file_filter",
    "open_file",
    "export",
    "undo_stack",
    "copy",
    "paste",
    "select_all",
    "has_unsaved_changes",
    "maybe_save",
    "load_defaults",
    "save_state",
    "restore_state",
)
