"""The real main window: first start, names for automation, routing files, accessibility."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTabBar,
    QWidget,
)

REQUIRED_NAMES = [
    "mainTabs",
    "matrixTable",
    "rankSpin",
    "spectrumPlot",
    "errorPanel",
    "singularValuesView",
    "reconstructionView",
    "reducedView",
    "imageTab",
    "imageOriginalView",
    "imageReconstructionView",
    "imageRankSpin",
    "imageMetricsTable",
    "imageGallery",
    "datasetTab",
    "datasetScatter",
    "datasetMethodCombo",
    "datasetXComponent",
    "datasetYComponent",
]


@pytest.fixture
def window(main_window):
    return main_window


@pytest.fixture
def every_tab(window):
    """The window with every tab built (a tab is built when first needed)."""
    for kind in window.tab_by_kind:
        window.tab(kind)
    assert len(window.built_tabs()) == window.tabs.count()
    return window


def _error_panel_text(window) -> str:
    panel = window.findChild(QWidget, "errorPanel")
    if isinstance(panel, QLabel):
        return panel.text()
    return " ".join(label.text() for label in panel.findChildren(QLabel))


def test_first_start_shows_the_article_at_rank_two(qtbot, window):
    assert window.tabs.currentWidget() is window.tab_by_kind["matrix"]
    qtbot.waitUntil(lambda: "6.9048" in _error_panel_text(window), timeout=20000)
    text = _error_panel_text(window)
    assert "2.6277" in text
    assert window.findChild(QWidget, "rankSpin").value() == 2
    tab = window.tab_by_kind["matrix"]
    s = np.linalg.svd(np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]]), compute_uv=False)
    np.testing.assert_allclose(tab.result().s, s)
    np.testing.assert_allclose(np.round(s, 2), [10.51, 5.06, 2.63])  # as the article prints
    assert tab.results.error_values()["frobenius_squared"] == "6.9048"
    assert (
        tab.results.error_values()["energy_retained"]
        == f"{100 * (1 - s[2] ** 2 / (s**2).sum()):.2f} %"
    )
    assert window.windowTitle() == "untitled — SVD Studio"
    assert not tab.has_unsaved_changes()
    model = window.findChild(QWidget, "matrixTable").model()
    values = [
        [float(model.index(r, c).data(Qt.ItemDataRole.EditRole)) for c in range(3)]
        for r in range(4)
    ]
    np.testing.assert_array_equal(values, [[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]])


def test_automation_names_exist(every_tab):
    missing = [n for n in REQUIRED_NAMES if every_tab.findChild(QWidget, n) is None]
    assert missing == []


def test_every_control_has_a_tooltip_and_an_accessible_name(every_tab):
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)
    lacking = []
    for widget in every_tab.findChildren(QWidget):
        if not isinstance(widget, kinds):
            continue
        # Qt's own sub-widgets (tab scrollers, spin-box line edits, dialog internals) are not ours.
        if widget.objectName().startswith("qt_"):
            continue
        if isinstance(widget, QLineEdit) and isinstance(
            widget.parent(), QAbstractSpinBox | QComboBox
        ):
            continue
        if isinstance(widget.parent(), QTabBar):  # the tab bar's own scroll arrows
            continue
        if isinstance(widget.parent(), QLineEdit):  # a line edit's own clear button
            continue
        if not widget.toolTip() or not widget.accessibleName():
            lacking.append(widget.objectName() or f"{type(widget).__name__} {widget.toolTip()!r}")
    assert lacking == [], lacking


def test_files_open_in_the_tab_for_their_type(qtbot, window, tmp_path):
    matrix = tmp_path / "m.csv"
    matrix.write_text("1,2\n3,4\n5,6\n")
    assert window.open_path(str(matrix))
    assert window.tabs.currentWidget() is window.tab_by_kind["matrix"]
    assert window.recent_files()[0] == str(matrix)
    dataset = tmp_path / "d.csv"
    dataset.write_text("a,b,label\n1,2,x\n3,5,y\n4,4,x\n7,1,y\n")
    assert window.open_path(str(dataset))
    assert window.tabs.currentWidget() is window.tab_by_kind["dataset"]


def test_unknown_file_type_gets_a_clear_message(qtbot, window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"PK\x03\x04")
    assert not window.open_path(str(odd))
    assert len(shown) == 1 and "notes.docx" in shown[0]


def test_closing_the_window_leaves_no_thread_or_process(qtbot, window):
    from tests import _jobs

    window.runner.warm_up()
    window.runner.submit("test.spin", _jobs.pid_then_spin, 60.0, in_process=True)
    job = window.runner._current["test.spin"]
    qtbot.waitUntil(lambda: job.process.is_alive(), timeout=10000)
    window._reset_pending = True  # keep this test's settings file untouched
    assert window.close()
    assert window.runner.live_workers() == 0
    assert not window.runner.spare_alive()
    assert not job.process.is_alive()


def test_the_window_fits_a_small_screen(every_tab):
    """Every tab lays out in 1024×600 (a netbook, or 1366×768 at 125 % scaling)."""
    hint = every_tab.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 600, hint


def test_about_dialog_fits_the_screen_and_credits_the_data(qtbot, window):
    from PySide6.QtWidgets import QDialog

    window.show_about()
    dialog = window.findChild(QDialog, "aboutDialog")
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    assert dialog.height() <= 600
    text = dialog.browser.toPlainText()
    for credit in ("Qt for Python", "LGPL-3.0", "Iris", "CC BY 4.0", "astronaut.png"):
        assert credit in text
    dialog.close()


def _no_questions(window, monkeypatch):
    monkeypatch.setattr(window.tab_by_kind["matrix"], "_ask_save_changes", lambda: "discard")


def test_menus_and_shortcut_list_come_from_the_actions(qtbot, every_tab):
    from svdstudio.ui.help import shortcut_rows, shortcuts_markdown

    window = every_tab  # so that actions a tab adds are seen too

    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Help"]
    help_menu = window.menuBar().actions()[3].menu()
    assert [a.text() for a in help_menu.actions() if a.text()] == [
        "&User guide",
        "&Keyboard shortcuts",
        "&About SVD Studio",
    ]
    rows = shortcut_rows(window)
    by_action = {text: keys for _menu, keys, text in rows}
    assert by_action["Open"] == "Ctrl+O"
    assert by_action["Undo"] == "Ctrl+Z"
    assert "Ctrl+Y" in by_action["Redo"].split(" or ")  # each key once
    assert len(set(by_action["Redo"].split(" or "))) == len(by_action["Redo"].split(" or "))
    assert by_action["3 Dataset"] == "Ctrl+3"
    assert by_action["Quit"] == "Ctrl+Q"
    # Every action with a shortcut is listed, so a new one cannot be forgotten.
    from PySide6.QtGui import QAction

    with_keys = {
        a.text().replace("&", "").rstrip("…")
        for a in window.findChildren(QAction)
        if any(k.toString() for k in a.shortcuts())
    }
    assert with_keys <= set(by_action)
    text = shortcuts_markdown(window)
    assert "| Ctrl+E | Export | File |" in text and "Home / End" in text


def test_help_dialogs_show_the_guide_and_the_shortcuts(qtbot, window):
    from PySide6.QtWidgets import QDialog

    window.show_user_guide()
    guide = window.findChild(QDialog, "userGuideDialog")
    qtbot.waitUntil(guide.isVisible, timeout=3000)
    text = guide.browser.toPlainText()
    for heading in ("Matrix tab", "Image tab", "Dataset tab", "Keyboard", "Settings"):
        assert heading in text
    assert "resources/screenshots" not in guide.browser.toMarkdown()
    assert guide.height() <= 600
    guide.close()
    window.show_shortcuts()
    keys = window.findChild(QDialog, "shortcutsDialog")
    qtbot.waitUntil(keys.isVisible, timeout=3000)
    assert "Ctrl+O" in keys.browser.toPlainText()
    keys.close()


def test_the_shipped_guide_is_the_readmes():
    """resources/USER_GUIDE.md is what an installed wheel shows; it must equal the README's
    section (refresh it with: python -m svdstudio.ui.help --write-guide)."""
    from pathlib import Path

    from svdstudio.resources import resource_path
    from svdstudio.ui.help import GUIDE_FILE, guide_from_readme

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shipped = resource_path(GUIDE_FILE).read_text(encoding="utf-8")
    assert shipped == guide_from_readme(readme)


def test_title_follows_the_tab_file_and_unsaved_mark(qtbot, window, tmp_path, monkeypatch):
    _no_questions(window, monkeypatch)
    tab = window.tab_by_kind["matrix"]
    assert window.windowTitle() == "untitled — SVD Studio"
    path = tmp_path / "m.csv"
    path.write_text("1,2\n3,4\n")
    assert window.open_path(str(path))
    assert window.windowTitle() == "m.csv — SVD Studio"
    tab.model().set_cell(0, 0, 5)
    assert window.windowTitle() == "m.csv* — SVD Studio"
    tab.undo_stack().undo()
    assert window.windowTitle() == "m.csv — SVD Studio"
    window.tabs.setCurrentWidget(window.tab_by_kind["image"])
    image = window.tab_by_kind["image"]
    qtbot.waitUntil(lambda: image.document_title() != "", timeout=20000)
    assert window.windowTitle() == f"{image.document_title()} — SVD Studio"
    window.tabs.setCurrentWidget(window.tab_by_kind["dataset"])
    assert window.windowTitle().endswith(" — SVD Studio")
    assert window.windowTitle() != "SVD Studio"


def test_bundled_samples_stay_out_of_open_recent(qtbot, window, tmp_path, monkeypatch):
    from svdstudio.resources import resource_path

    _no_questions(window, monkeypatch)
    assert window.recent_files() == []  # the first start opened camera.png and Iris
    window.add_recent_file(str(resource_path("images", "camera.png")))
    assert window.recent_files() == []
    mine = tmp_path / "mine.csv"
    mine.write_text("1,2\n3,4\n")
    window.open_path(str(mine))
    window.settings.setValue(
        "recentFiles", [str(resource_path("datasets", "iris.csv")), str(mine)]
    )  # a list written by an older version
    assert window.recent_files() == [str(mine)]


def test_open_recent_reopens_and_forgets_missing_files(qtbot, window, tmp_path, monkeypatch):
    _no_questions(window, monkeypatch)
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: shown.append(a[2]))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("1,2\n3,4\n")
    b.write_text("5\n")
    window.open_path(str(a))
    window.open_path(str(b))
    acts = [x for x in window.recent_menu.actions() if x.text()]
    assert [x.text() for x in acts] == ["&1 b.csv", "&2 a.csv", "Clear list"]
    acts[1].trigger()
    tab = window.tab_by_kind["matrix"]
    assert tab.model().values().tolist() == [[1, 2], [3, 4]]
    assert window.recent_files() == [str(a), str(b)]
    b.unlink()
    next(x for x in window.recent_menu.actions() if x.text() == "&2 b.csv").trigger()
    assert shown and "no longer exists" in shown[0]
    assert window.recent_files() == [str(a)]


def test_drop_a_file_on_the_window_and_save_as(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from svdstudio.io.matrix import read_matrix
    from svdstudio.ui.widgets import file_dialogs

    _no_questions(window, monkeypatch)
    path = tmp_path / "dropped.tsv"
    path.write_text("1\t2\n3\t4\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    tab = window.tab_by_kind["matrix"]
    assert window.tabs.currentWidget() is tab
    assert tab.model().values().tolist() == [[1, 2], [3, 4]]
    assert window.recent_files()[0] == str(path)
    tab.model().set_cell(1, 1, 40)
    target = tmp_path / "saved"  # no suffix: .csv is added
    monkeypatch.setattr(file_dialogs, "ask_save_path", lambda *a, **k: (str(target), ""))
    window.save_actions["matrix"].trigger()
    assert read_matrix(str(target) + ".csv").tolist() == [[1, 2], [3, 40]]
    assert window.windowTitle() == "saved.csv — SVD Studio"
    assert not tab.has_unsaved_changes()


def test_reset_settings_forgets_everything_on_the_next_start(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from svdstudio.app import create_main_window

    ini = str(tmp_path / "reset.ini")
    w = create_main_window(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    tab = w.tab_by_kind["matrix"]
    tab.results.decimals.setValue(7)
    w.add_recent_file(str(tmp_path / "x.csv"))
    assert w.close()
    w2 = create_main_window(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w2)
    assert w2.tab_by_kind["matrix"].results.decimals.value() == 7
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    w2.reset_settings()
    assert w2.recent_files() == []
    assert w2.close()
    w3 = create_main_window(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w3)
    assert w3.tab_by_kind["matrix"].results.decimals.value() == 4
    assert w3.recent_files() == []
    np.testing.assert_array_equal(
        w3.tab_by_kind["matrix"].model().values(), [[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]]
    )
    for win in (w, w2, w3):
        win.runner.shutdown()
