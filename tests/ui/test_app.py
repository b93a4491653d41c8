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
    model = window.findChild(QWidget, "matrixTable").model()
    values = [
        [float(model.index(r, c).data(Qt.ItemDataRole.EditRole)) for c in range(3)]
        for r in range(4)
    ]
    np.testing.assert_array_equal(values, [[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]])


def test_automation_names_exist(window):
    missing = [n for n in REQUIRED_NAMES if window.findChild(QWidget, n) is None]
    assert missing == []


def test_every_control_has_a_tooltip_and_an_accessible_name(window):
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)
    lacking = []
    for widget in window.findChildren(QWidget):
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


def test_the_window_fits_a_small_screen(window):
    """Every tab lays out in 1024×600 (a netbook, or 1366×768 at 125 % scaling)."""
    hint = window.minimumSizeHint()
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
