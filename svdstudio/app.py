"""The application: QApplication, settings, the main window and ``main()``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from svdstudio import __version__
from svdstudio.ui.gc_timer import EventLoopCollector
from svdstudio.ui.main_menus import build_menus
from svdstudio.ui.recent import RecentFiles
from svdstudio.ui.tab_contract import Tab, TabSpec
from svdstudio.ui.widgets import file_dialogs
from svdstudio.ui.widgets.steady_tabs import SteadyTabWidget
from svdstudio.workers import JobRunner

__all__ = ["MainWindow", "create_main_window", "main"]

ORGANIZATION = "SVDStudio"
APPLICATION = "SVD Studio"
# Set to a file path to keep settings out of the user's real ones (tests, smoke runs).
SETTINGS_ENV = "SVDSTUDIO_SETTINGS"


def open_settings() -> QSettings:
    """The app's QSettings: the user's own, or an INI file named by $SVDSTUDIO_SETTINGS."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


# Which tabs have their own state in the settings (a tab never shown has none yet).
TABS_WITH_STATE_KEY = "window/tabsWithState"


class TabsByKind(Mapping[str, Tab]):
    """Every registered tab by kind; looking one up builds it if it was not built yet."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window

    def __getitem__(self, kind: str) -> Tab:
        return self._window.tab(kind)

    def __iter__(self) -> Iterator[str]:
        return iter([spec.kind for spec in self._window.tab_specs])

    def __len__(self) -> int:
        return len(self._window.tab_specs)


class MainWindow(QMainWindow):
    """The registered tabs, menus, a status bar for jobs, and remembered state.

    Tabs are reached only through :class:`~svdstudio.ui.tab_contract.Tab`.  Only the tab on
    show is built at start; another is built the first time it is needed (shown, sent a file,
    asked to save), and then restores its own remembered state (or its defaults, the first
    time): a fast start, and no work for tabs the user does not visit.
    """

    def __init__(
        self,
        tab_specs: Sequence[TabSpec],
        settings: QSettings,
        runner: JobRunner | None = None,
        *,
        start_with: str | None = None,
    ) -> None:
        """``start_with``: a file about to be opened; its tab is the one shown (and built) at
        start instead of the remembered one."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APPLICATION)
        self.setAcceptDrops(True)
        self.settings = settings
        file_dialogs.use_settings(settings)
        from svdstudio.ui.widgets import spectrum_plot

        spectrum_plot.use_settings(settings)  # Bars/Stems and log scale, remembered per plot
        self.runner = runner or JobRunner(self)
        self.tabs = SteadyTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setAccessibleName("Views")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.tab_specs = list(tab_specs)
        self._built: dict[str, Tab] = {}
        self.tab_by_kind = TabsByKind(self)
        self._tab_messages: dict[int, str] = {}  # id(tab) -> its latest status sentence
        self.undo_group = QUndoGroup(self)
        for spec in self.tab_specs:
            # A placeholder page until the tab is first needed (see tab()).
            page = QWidget(self.tabs)
            page.setObjectName(f"{spec.kind}TabPending")
            self.tabs.addTab(page, spec.title)
        self._build_status_bar()
        menus = build_menus(self)
        self.recent_menu = menus.recent_menu
        self.save_actions = menus.save_actions
        self.cancel_action = menus.cancel_action
        self.recent = RecentFiles(
            self.settings, self.recent_menu, self.open_path, self, APPLICATION
        )
        self.recent.rebuild_menu()
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.runner.failed.connect(self._on_job_failed)
        self._closing = False
        self._preloading = False
        self._restore(start_with)
        self._on_tab_changed(self.tabs.currentIndex())

    # ----------------------------------------------------------------- building
    def _build_status_bar(self) -> None:
        from svdstudio.ui.widgets.job_status import JobStatus

        self.job_status = JobStatus(self.runner, self)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().setObjectName("statusBar")

    # ----------------------------------------------------------------- tabs
    def current_tab(self) -> Tab:
        """The tab on show."""
        return self._tab_at(self.tabs.currentIndex())

    def tab(self, kind: str) -> Tab:
        """The tab of ``kind``, built now if this is the first time it is needed."""
        for index, spec in enumerate(self.tab_specs):
            if spec.kind == kind:
                return self._tab_at(index)
        raise KeyError(kind)

    def built_tabs(self) -> list[Tab]:
        """The tabs built so far, in tab order (the others have nothing to save or ask)."""
        return [self._built[s.kind] for s in self.tab_specs if s.kind in self._built]

    def _tab_at(self, index: int) -> Tab:
        spec = self.tab_specs[index]
        built = self._built.get(spec.kind)
        if built is not None:
            return built
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            tab = spec.build(self.runner)
        finally:
            QApplication.restoreOverrideCursor()
        assert isinstance(tab, QWidget)
        page = self.tabs.widget(index)
        current = self.tabs.currentIndex()
        # Swap the placeholder for the tab without telling anyone the current tab changed.
        blocked = self.tabs.blockSignals(True)
        try:
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, tab, spec.title)
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(blocked)
        if page is not None:
            page.deleteLater()
        self._built[spec.kind] = tab
        stack = tab.undo_stack()
        if stack is not None:
            self.undo_group.addStack(stack)
        tab.status_message.connect(lambda text, tab=tab: self._on_tab_message(tab, text))
        tab.file_opened.connect(self.add_recent_file)
        tab.document_changed.connect(lambda _name, _modified, tab=tab: self._update_title(tab))
        if self._tab_has_state(spec.kind):
            tab.restore_state(self.settings)
        else:
            tab.load_defaults()
        return tab

    def preload_tabs(self) -> threading.Thread | None:
        """Import, on a background thread, the Qt-free modules that the tabs not built yet
        name in ``TabSpec.preload``, so that first showing one costs its widgets, not its
        imports.  Once per window; returns the thread (None if there is nothing to import, or
        it was done before)."""
        if self._preloading:
            return None
        self._preloading = True
        names = [
            name
            for spec in self.tab_specs
            if spec.kind not in self._built
            for name in spec.preload
            if name not in sys.modules
        ]
        if not names:
            return None
        thread = threading.Thread(
            target=_import_quietly, args=(names,), name="svdstudio-preload", daemon=True
        )
        thread.start()
        return thread

    def _tab_has_state(self, kind: str) -> bool:
        """Whether the settings hold ``kind``'s state (else the tab starts with its defaults)."""
        s = self.settings
        if not s.value("initialized", False, type=bool):
            return False
        saved = s.value(TABS_WITH_STATE_KEY)
        if saved is None:  # saved by a version that built, and so saved, every tab
            return True
        return kind in ([saved] if isinstance(saved, str) else [str(k) for k in saved])

    def _on_tab_changed(self, index: int) -> None:
        if not 0 <= index < len(self.tab_specs):
            return
        try:
            tab = self._tab_at(index)
        except Exception as exc:  # a tab that cannot be built is a bug: say so, keep the window
            self._report_bug(
                f"The {self.tab_specs[index].title} tab could not be opened: {exc}",
                traceback.format_exc(),
            )
            return
        self.undo_group.setActiveStack(tab.undo_stack())
        self.statusBar().showMessage(self._tab_messages.get(id(tab), ""))
        self._update_title(tab)

    def _update_title(self, tab: QWidget) -> None:
        """ "name* — SVD Studio" for the tab on show (the star: unsaved edits)."""
        if tab is not self.tabs.currentWidget() or not isinstance(tab, Tab):
            return
        name = tab.document_title()
        mark = "*" if tab.has_unsaved_changes() else ""
        self.setWindowTitle(f"{name}{mark} — {APPLICATION}" if name else APPLICATION)

    def update_cancel_action(self, *_args) -> None:
        """Esc (Cancel running job) is enabled only while a job runs."""
        self.cancel_action.setEnabled(self.runner.is_running())

    def _on_tab_message(self, tab: QWidget, text: str) -> None:
        # A tab working in the background must not overwrite what the visible tab says.
        self._tab_messages[id(tab)] = text
        if tab is self.current_tab():
            self.show_message(text)

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        """A plain sentence in the status bar."""
        self.statusBar().showMessage(text, timeout_ms)

    def _on_job_failed(self, channel: str, job_id: int, message: str, details: str) -> None:
        self.show_message(message, 15000)
        if details:  # unexpected: a dialog, with the traceback on demand
            self._report_bug(message, details)

    def _report_bug(self, message: str, details: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Critical, APPLICATION, message, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("errorDialog")
        box.setInformativeText("This looks like a bug in SVD Studio. Details are below.")
        box.setDetailedText(details)
        box.open()

    # ----------------------------------------------------------------- files
    def file_filter(self) -> str:
        """Open-dialog filter: the current tab's types first, then every type."""
        filters = [self.current_tab().file_filter()]
        for spec in self.tab_specs:  # a tab not built yet is not built for its filter
            tab = self._built.get(spec.kind)
            f = tab.file_filter() if tab is not None else spec.file_filter
            if f and f not in filters:
                filters.append(f)
        filters.append("All files (*)")
        return ";;".join(filters)

    def open_dialog(self) -> None:
        """File › Open…: starts in the last folder used."""
        path = file_dialogs.ask_open_path(self, "Open", self.file_filter())
        if path:
            self.open_path(path)

    def kind_for_path(self, path: str) -> str:
        """Which tab opens ``path`` (raises ValueError for types SVD Studio does not know)."""
        from svdstudio.io.filetypes import classify_path

        file_kind = classify_path(path)
        for spec in self.tab_specs:
            if file_kind in spec.opens:
                return spec.kind
        raise ValueError(f"{Path(path).name}: no tab opens {file_kind} files.")

    def open_path(self, path: str) -> bool:
        """Open a file in the tab for its type; a clear message for unknown types."""
        # Classify the path as given (a link loop, a dangling link, a pipe are named as the user
        # knows them); resolve only a path known to be a regular file.
        path = os.path.abspath(os.path.expanduser(path))
        try:
            kind = self.kind_for_path(path)
        except (ValueError, OSError) as exc:
            QMessageBox.warning(self, APPLICATION, str(exc))
            return False
        path = str(Path(path).resolve())
        tab = self.tab(kind)
        self.tabs.setCurrentWidget(tab)
        file_dialogs.remember(path)
        return bool(tab.open_file(path))

    def recent_files(self) -> list[str]:
        """Recent files, newest first."""
        return self.recent.files()

    def add_recent_file(self, path: str) -> None:
        """Put ``path`` first in Open Recent (not the bundled samples)."""
        self.recent.add(path)

    def save_as(self, kind: str) -> None:
        """Show the ``kind`` tab and ask it to save what it holds (File › Save As)."""
        tab = self.tab(kind)
        self.tabs.setCurrentWidget(tab)
        tab.save_as()  # type: ignore[attr-defined]  # TabSpec.build checked it exists

    def export(self) -> None:
        """Export what the tab on show shows (File › Export)."""
        self.current_tab().export()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    # ----------------------------------------------------------------- settings
    def _restore(self, start_with: str | None = None) -> None:
        s = self.settings
        first_start = not s.value("initialized", False, type=bool)
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._default_size()
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        index = 0 if first_start else s.value("window/tab", 0, type=int)
        if start_with:
            try:
                kind = self.kind_for_path(os.path.abspath(os.path.expanduser(start_with)))
            except (ValueError, OSError):
                pass  # open_path says why when it is asked to open it
            else:
                index = next(i for i, spec in enumerate(self.tab_specs) if spec.kind == kind)
        # Only the tab on show is built now (by _on_tab_changed); the rest when first needed.
        self.tabs.setCurrentIndex(index if 0 <= index < self.tabs.count() else 0)

    def _default_size(self) -> None:
        screen = self.screen() or QApplication.primaryScreen()
        avail = screen.availableGeometry() if screen else None
        w, h = 1280, 800
        if avail is not None:
            w, h = min(w, int(avail.width() * 0.92)), min(h, int(avail.height() * 0.9))
            self.resize(w, h)
            self.move(avail.center() - self.rect().center())
        else:
            self.resize(w, h)

    def save_settings(self) -> None:
        """Window layout, current tab and the state of every tab built (the others keep what
        they saved before, untouched)."""
        s = self.settings
        with_state = {
            k.kind for k in self.tab_specs if k.kind in self._built or self._tab_has_state(k.kind)
        }
        s.setValue("initialized", True)
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        for tab in self.built_tabs():
            tab.save_state(s)
        s.setValue(TABS_WITH_STATE_KEY, [k.kind for k in self.tab_specs if k.kind in with_state])
        s.sync()

    def reset_settings(self) -> None:
        """Forget everything remembered; the defaults apply on the next start."""
        answer = QMessageBox.question(
            self,
            APPLICATION,
            "Forget the window layout, recent files and remembered values?\n"
            "SVD Studio starts with its defaults next time; unsaved work is kept for now.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.settings.clear()
        self.settings.sync()
        self._reset_pending = True
        self.recent.rebuild_menu()
        self.show_message("Settings reset; defaults apply on the next start.")

    def show_user_guide(self) -> None:
        """Help › User guide: the README's guide, rendered, offline."""
        from svdstudio.ui.help import HelpDialog, user_guide_markdown

        HelpDialog("userGuideDialog", "SVD Studio user guide", user_guide_markdown(), self).open()

    def show_shortcuts(self) -> None:
        """Help › Keyboard shortcuts: generated from the actions."""
        from svdstudio.ui.help import HelpDialog, shortcuts_markdown

        HelpDialog("shortcutsDialog", "Keyboard shortcuts", shortcuts_markdown(self), self).open()

    def show_about(self) -> None:
        """Help › About: version, licences and data attributions."""
        from svdstudio.ui.about import AboutDialog

        AboutDialog(self).open()

    def closeEvent(self, event: QCloseEvent) -> None:
        for tab in self.built_tabs():
            if not tab.maybe_save():
                self.tabs.setCurrentWidget(tab)
                event.ignore()
                return
        if not getattr(self, "_reset_pending", False):
            self.save_settings()
        self.runner.shutdown()
        event.accept()


def _import_quietly(names: Sequence[str]) -> None:
    # A module that fails here fails again, and is reported, when its tab is built: Python does
    # not keep a module whose import raised.
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # reported when the tab is built, see above
            continue


def create_main_window(
    settings: QSettings | None = None, *, start_with: str | None = None
) -> MainWindow:
    """The main window, ready to show, without running the event loop (needs a QApplication).

    ``start_with``: a file that is opened next; the window starts on its tab.
    """
    from svdstudio.ui.tabs import registered_tabs

    return MainWindow(
        registered_tabs(),
        settings if settings is not None else open_settings(),
        start_with=start_with,
    )


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="svdstudio", description="SVD Studio, the desktop app.")
    parser.add_argument("files", nargs="*", help="matrices, images or datasets to open")
    parser.add_argument("--version", action="version", version=f"SVD Studio {__version__}")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the main window, report, and quit (for packaging checks)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run SVD Studio; returns the exit status."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    QApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication([sys.argv[0], *sys.argv[1:]])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(__version__)
    from svdstudio.desktop import configure_application

    configure_application(app)
    # Start on the first file's tab: the remembered tab is then not built for nothing.
    window = create_main_window(start_with=args.files[0] if args.files else None)
    # Cyclic garbage is collected between events, on the GUI thread (see gc_timer), and what
    # start-up built is frozen out of the full collections, before any file is opened.
    collector = EventLoopCollector(app)
    collector.start()
    window.show()
    collector.freeze_startup()
    # Once the window is up: what the other tabs import (off the GUI thread), then a warm worker
    # process, so that the first big decomposition starts at once.
    QTimer.singleShot(500, window.preload_tabs)
    QTimer.singleShot(1500, window.runner.warm_up)
    for path in args.files:
        window.open_path(path)
    from svdstudio.desktop import run_smoke_test, smoke_test_requested

    if args.smoke_test or smoke_test_requested([]):
        window._reset_pending = True  # a smoke run leaves the user's settings alone
        expected = len(window.tab_specs)
        run_smoke_test(window, ready=lambda: window.tabs.count() == expected)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
