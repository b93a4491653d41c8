"""Every registered tab keeps the one tab contract; the main window needs nothing else."""

from __future__ import annotations

import inspect

import pytest
from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QWidget

from svdstudio.app import MainWindow
from svdstudio.io.filetypes import classify_path
from svdstudio.ui.tab_contract import Tab, TabSpec
from svdstudio.ui.tabs import TAB_PACKAGES, registered_tabs
from svdstudio.ui.widgets import file_dialogs

CONTRACT = [n for n, _ in inspect.getmembers(Tab, inspect.isfunction) if not n.startswith("_")]


def test_registry_lists_each_tab_package_once():
    specs = registered_tabs()
    assert len(specs) == len(TAB_PACKAGES)
    kinds = [s.kind for s in specs]
    assert len(set(kinds)) == len(kinds)
    opened = [k for s in specs for k in s.opens]
    assert len(set(opened)) == len(opened), "two tabs claim the same file kind"
    assert {"matrix", "image", "factors", "dataset"} <= set(opened)


@pytest.mark.parametrize("spec", registered_tabs(), ids=lambda s: s.kind)
def test_every_registered_tab_keeps_the_contract(qtbot, spec, tmp_path):
    from svdstudio.workers import JobRunner

    runner = JobRunner()
    try:
        tab = spec.build(runner)
        qtbot.addWidget(tab)
        assert isinstance(tab, Tab) and isinstance(tab, QWidget)
        assert tab.objectName() == f"{spec.kind}Tab"
        for name in CONTRACT:
            assert callable(getattr(tab, name)), name
        assert "(*" in tab.file_filter()
        # what File › Open lists for the tab before it is built
        assert spec.file_filter == tab.file_filter()
        assert tab.has_unsaved_changes() is False
        assert tab.maybe_save() is True
        # save/restore through a real settings file round-trips without raising
        s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        tab.save_state(s)
        s.sync()
        assert any(key.startswith(spec.kind) for key in s.allKeys()), s.allKeys()
    finally:
        runner.shutdown()


class _Incomplete(QWidget):
    status_message = Signal(str)
    file_opened = Signal(str)

    def file_filter(self):
        return "x (*.x)"


def test_a_tab_that_breaks_the_contract_is_refused(qtbot):
    spec = TabSpec("broken", "Broken", frozenset({"x"}), lambda runner: _Incomplete())
    with pytest.raises(TypeError, match=r"broken.*missing.*open_file"):
        spec.build(None)


def test_file_kinds_route_to_the_tab_that_opens_them(main_window, tmp_path):
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("L", (4, 3)).save(image)
    matrix = tmp_path / "m.csv"
    matrix.write_text("1,2\n3,4\n")
    assert classify_path(image) == "image"
    assert main_window.kind_for_path(str(image)) == "image"
    assert main_window.kind_for_path(str(matrix)) == "matrix"
    factors = tmp_path / "f.svdz"
    factors.write_bytes(b"PK\x03\x04")
    assert main_window.kind_for_path(str(factors)) == "image"


def test_one_last_folder_for_every_dialog(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    file_dialogs.use_settings(s)
    seen = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda p, c, start, f: (seen.append(start), ("", ""))[1]
    )
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda p, c, start, f: (seen.append(start), ("", ""))[1]
    )
    sub = tmp_path / "data"
    sub.mkdir()
    file_dialogs.remember(sub / "x.csv")
    assert s.value(file_dialogs.LAST_FOLDER_KEY) == str(sub)
    assert file_dialogs.ask_open_path(None, "Open", "*") is None
    assert file_dialogs.ask_save_path(None, "Save", "out.png", "*") is None
    assert seen == [str(sub), str(sub / "out.png")]
    file_dialogs.remember(tmp_path / "gone" / "y.csv")  # a folder that does not exist
    assert file_dialogs.last_folder() == str(__import__("pathlib").Path.home())
    file_dialogs.use_settings(None)


def test_a_fourth_tab_gets_a_view_shortcut_without_code_changes(qtbot, tmp_path):
    from tests.ui.test_main_window_shell import factories

    s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(factories(("matrix", "image", "dataset", "network")), s)
    qtbot.addWidget(w)
    try:
        assert w.tabs.count() == 4
        view = next(a.menu() for a in w.menuBar().actions() if a.text() == "&View")
        shortcuts = [a.shortcut().toString() for a in view.actions()]
        assert "Ctrl+4" in shortcuts
        view.actions()[3].trigger()
        assert w.tabs.currentWidget() is w.tab_by_kind["network"]
    finally:
        w.runner.shutdown()
