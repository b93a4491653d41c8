"""The main window's own mechanics, with stand-in tabs: menus, undo routing, settings, jobs."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QWidget

from svdstudio.app import MainWindow
from svdstudio.ui.tab_contract import TabSpec
from tests.ui.qt_events import LayoutRequests


class FakeTab(QWidget):
    status_message = Signal(str)
    file_opened = Signal(str)
    document_changed = Signal(str, bool)

    def __init__(self, runner, kind):
        super().__init__()
        self.kind = kind
        self.runner = runner
        self.stack = QUndoStack(self)
        self.calls: list[str] = []
        self.allow_close = True
        self.value = 0

    def undo_stack(self):
        return self.stack

    def load_defaults(self):
        self.calls.append("load_defaults")
        self.value = 42

    def save_state(self, settings):
        settings.setValue(f"{self.kind}/value", self.value)

    def restore_state(self, settings):
        self.calls.append("restore_state")
        self.value = settings.value(f"{self.kind}/value", 0, type=int)

    def open_file(self, path):
        self.calls.append(f"open:{path}")
        self.file_opened.emit(path)
        return True

    def copy(self):
        self.calls.append("copy")

    def paste(self):
        self.calls.append("paste")

    def select_all(self):
        self.calls.append("select_all")

    def export(self):
        self.calls.append("export")

    def has_unsaved_changes(self):
        return not self.allow_close

    def maybe_save(self):
        return self.allow_close

    def file_filter(self):
        return f"{self.kind} files (*.{self.kind})"

    def document_title(self):
        return f"{self.kind}.{self.kind}" if self.value else ""


def factories(kinds=("matrix", "image", "dataset")):
    return [
        TabSpec(k, k.title(), frozenset({k}), lambda runner, k=k: FakeTab(runner, k)) for k in kinds
    ]


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    w = MainWindow(factories(), settings)
    qtbot.addWidget(w)
    yield w
    w.runner.shutdown()


def test_first_start_loads_defaults_and_names(window):
    assert window.tabs.objectName() == "mainTabs"
    assert [window.tabs.tabText(i) for i in range(3)] == ["Matrix", "Image", "Dataset"]
    assert window.tabs.currentIndex() == 0
    assert [t.kind for t in window.built_tabs()] == ["matrix"]  # the others when first needed
    assert all(t.calls == ["load_defaults"] for t in window.tab_by_kind.values())
    assert [t.kind for t in window.built_tabs()] == ["matrix", "image", "dataset"]
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Help"]
    assert window.width() <= 1280 and window.height() <= 800


def test_settings_round_trip(qtbot, settings):
    w = MainWindow(factories(), settings)
    qtbot.addWidget(w)
    w.tab_by_kind["image"].value = 7
    w.tabs.setCurrentIndex(2)
    w.resize(700, 500)
    w.add_recent_file("/tmp/a.csv")
    w.close()
    w2 = MainWindow(factories(), settings)
    qtbot.addWidget(w2)
    assert w2.tab_by_kind["image"].calls == ["restore_state"]
    assert w2.tab_by_kind["image"].value == 7
    assert w2.tabs.currentIndex() == 2
    assert (w2.width(), w2.height()) == (700, 500)
    assert w2.recent_files() == ["/tmp/a.csv"]
    w2.runner.shutdown()


def test_recent_files_newest_first_and_capped(window):
    for i in range(12):
        window.add_recent_file(f"/tmp/f{i}.csv")
    window.add_recent_file("/tmp/f3.csv")
    files = window.recent_files()
    assert files[0] == "/tmp/f3.csv" and len(files) == 10 and files.count("/tmp/f3.csv") == 1
    labels = [a.text() for a in window.recent_menu.actions() if a.text()]
    assert labels[0] == "&1 f3.csv" and labels[-1] == "Clear list"


def test_undo_follows_the_current_tab(window):
    a = window.tab_by_kind["matrix"]
    b = window.tab_by_kind["image"]
    a.stack.push(QUndoCommand("edit cell"))
    assert window.undo_group.activeStack() is a.stack
    assert window.undo_group.canUndo()
    window.tabs.setCurrentWidget(b)
    assert window.undo_group.activeStack() is b.stack
    assert not window.undo_group.canUndo()


def test_close_is_refused_while_a_tab_keeps_unsaved_work(window):
    window.tab_by_kind["image"].allow_close = False
    window.show()
    assert not window.close()
    assert window.tabs.currentWidget() is window.tab_by_kind["image"]
    window.tab_by_kind["image"].allow_close = True
    assert window.close()


def test_failed_job_message_reaches_the_status_bar(qtbot, window):
    def bad():
        raise ValueError("row 3 has 2 values, expected 3")

    with qtbot.waitSignal(window.runner.failed, timeout=5000):
        window.runner.submit("matrix.svd", bad)
    assert window.statusBar().currentMessage() == "row 3 has 2 values, expected 3"


def test_long_job_shows_progress_and_cancel(qtbot, window):
    window.show()
    gate = threading.Event()

    def slow(job=None):
        while not job.cancelled():
            gate.wait(0.01)
        from svdstudio.engine import Cancelled

        raise Cancelled()

    assert not window.cancel_action.isEnabled()  # Esc is free for editors while idle
    window.runner.submit("image.svd", slow, description="Decomposing camera.png…")
    assert window.cancel_action.isEnabled()
    status = window.job_status
    qtbot.waitUntil(lambda: status.cancel_button.isVisible(), timeout=3000)
    assert status.label.text().startswith("Decomposing camera.png…")
    assert status.bar.isVisible()
    with qtbot.waitSignal(window.runner.cancelled, timeout=2000):
        status.cancel_button.click()
    qtbot.waitUntil(lambda: not status.cancel_button.isVisible(), timeout=2000)
    assert status.label.text() == ""
    assert not window.cancel_action.isEnabled()
    qtbot.waitUntil(lambda: window.runner.live_workers() == 0, timeout=3000)


def test_a_running_jobs_ticking_label_relays_out_nothing(qtbot, window):
    """The job label's text changes ten times a second; its size stays put while jobs run, so
    the main window is not relaid out each time (5-7 ms of CPU each); a long description is
    elided to the label and whole in its tooltip."""
    window.show()
    qtbot.waitExposed(window)
    gate = threading.Event()

    def slow(job=None):
        while not job.cancelled() and not gate.is_set():
            gate.wait(0.01)

    long = "Decomposing " + "a very long file name " * 8 + "at full resolution…"
    window.runner.submit("image.svd", slow, description=long)
    status = window.job_status
    qtbot.waitUntil(lambda: status.cancel_button.isVisible(), timeout=3000)
    qtbot.wait(50)
    relayouts = LayoutRequests(window)
    first = status.label.text()
    qtbot.waitUntil(lambda: status.label.text() != first, timeout=2000)  # the clock ticked
    qtbot.wait(350)
    assert relayouts.count == 0
    shown = status.label.text()
    assert "…" in shown and len(shown) < len(long)
    assert status.label.fontMetrics().horizontalAdvance(shown) <= status.label.width()
    assert status.full_text().startswith(long) and status.full_text().endswith(" s")
    gate.set()
    qtbot.waitUntil(lambda: not status.cancel_button.isVisible(), timeout=3000)
    assert status.label.text() == "" and status.full_text() == ""
    assert status.label.maximumWidth() > 10_000  # free to shrink while idle


def test_cancel_appearing_and_going_moves_no_pane(qtbot, window):
    """The status bar is as tall idle as with the progress bar and Cancel shown: when they
    appeared half a second into a job the bar grew 5 px, the central widget shrank, and every
    pane and plot was relaid out and repainted (30-50 ms, the longest event-loop gap of each
    phase of opening a photo); the same again when the job ended."""
    from PySide6.QtCore import QEvent, QObject

    class Resizes(QObject):
        def __init__(self, widget):
            super().__init__()
            self.count = 0
            widget.installEventFilter(self)

        def eventFilter(self, _obj, ev):
            if ev.type() == QEvent.Type.Resize:
                self.count += 1
            return False

    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    central, bar, status = window.centralWidget(), window.statusBar(), window.job_status
    idle = (central.geometry(), bar.height(), status.height())
    assert status.height() >= status.cancel_button.sizeHint().height()
    assert status.height() >= status.bar.sizeHint().height()
    resizes = Resizes(central)
    gate = threading.Event()

    def slow(job=None):
        while not job.cancelled() and not gate.is_set():
            gate.wait(0.01)

    window.runner.submit("image.svd", slow, description="Decomposing camera.png…")
    qtbot.waitUntil(lambda: status.cancel_button.isVisible(), timeout=3000)
    qtbot.wait(50)
    assert status.bar.isVisible()
    assert (central.geometry(), bar.height(), status.height()) == idle
    gate.set()
    qtbot.waitUntil(lambda: not status.cancel_button.isVisible(), timeout=3000)
    qtbot.wait(50)
    assert not status.bar.isVisible()
    assert (central.geometry(), bar.height(), status.height()) == idle
    assert resizes.count == 0


def test_about_names_version_and_licences(window):
    from svdstudio import __version__
    from svdstudio.ui.about import about_text

    text = about_text()
    assert f"SVD Studio {__version__}" in text
    for lib in ("Qt for Python", "LGPL-3.0", "pyqtgraph", "NumPy", "SciPy", "Pillow"):
        assert lib in text


def test_status_messages_belong_to_their_tab(window):
    matrix, image = window.tab_by_kind["matrix"], window.tab_by_kind["image"]
    matrix.status_message.emit("matrix ready")
    assert window.statusBar().currentMessage() == "matrix ready"
    image.status_message.emit("k = 32: PSNR 26.60 dB")  # a background tab
    assert window.statusBar().currentMessage() == "matrix ready"
    window.tabs.setCurrentWidget(image)
    assert window.statusBar().currentMessage() == "k = 32: PSNR 26.60 dB"
    window.tabs.setCurrentWidget(matrix)
    assert window.statusBar().currentMessage() == "matrix ready"
