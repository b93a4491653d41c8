"""SteadyTabWidget: a relayout inside a page that moves nothing repaints only what changed;
one that changes the page's size hints still reaches the layouts above, and tab changes,
resizes and new pages still lay out as QTabWidget does."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from svdstudio.ui.widgets.steady_label import WIDEST_RANK, hold_width
from svdstudio.ui.widgets.steady_tabs import SteadyTabWidget
from tests.ui.qt_events import PaintRegions


def page_with_label():
    page = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(page)
    label = QtWidgets.QLabel("short")
    big = QtWidgets.QFrame()  # stands for the panes and plots beside the label
    big.setMinimumSize(300, 200)
    lay.addWidget(label)
    lay.addWidget(big, 1)
    return page, label, big


def shown(qtbot, tabs_class):
    window = QtWidgets.QWidget()
    outer = QtWidgets.QVBoxLayout(window)
    tabs = tabs_class()
    page, label, big = page_with_label()
    tabs.addTab(page, "Page")
    tabs.addTab(QtWidgets.QLabel("other"), "Other")
    outer.addWidget(tabs)
    qtbot.addWidget(window)
    window.resize(500, 400)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(30)
    return window, tabs, label, big


def paints_after(qtbot, widget, change):
    regions = PaintRegions(widget)
    change()
    qtbot.wait(60)
    return len(regions.regions)


@pytest.mark.parametrize(
    "change",
    [
        lambda label: label.setText("a longer line of text than before"),
        lambda label: label.setText("<b>bold</b> now"),
        lambda label: label.setToolTip("x") or label.updateGeometry(),
    ],
)
def test_a_new_label_text_repaints_the_label_not_the_page(qtbot, change):
    plain = shown(qtbot, QtWidgets.QTabWidget)
    steady = shown(qtbot, SteadyTabWidget)
    # Qt's own tab widget repaints its whole page for it (what this class is for) ...
    assert paints_after(qtbot, plain[3], lambda: change(plain[2])) >= 1
    # ... this one leaves the rest of the page alone, and its tab bar and stack stay put.
    _window, tabs, label, big = steady
    bar, stack = tabs.tabBar().geometry(), tabs.currentWidget().parentWidget().geometry()
    before = tabs.steady_requests
    assert paints_after(qtbot, big, lambda: change(label)) == 0
    assert tabs.steady_requests > before
    assert (tabs.tabBar().geometry(), tabs.currentWidget().parentWidget().geometry()) == (
        bar,
        stack,
    )


def test_a_page_that_needs_more_room_still_grows_the_window_above(qtbot):
    window, tabs, _label, big = shown(qtbot, SteadyTabWidget)
    before = window.minimumSizeHint()
    big.setMinimumSize(700, 600)
    qtbot.waitUntil(lambda: window.minimumSizeHint().width() > before.width(), timeout=2000)
    assert window.minimumSizeHint().height() > before.height()
    assert tabs.minimumSizeHint().width() >= 700


def test_tab_changes_and_resizes_lay_out_as_before(qtbot):
    window, tabs, _label, _big = shown(qtbot, SteadyTabWidget)
    width = tabs.tabBar().sizeHint().width()
    tabs.setTabText(1, "A much longer tab title than before")
    qtbot.waitUntil(lambda: tabs.tabBar().width() > width, timeout=2000)
    tabs.addTab(QtWidgets.QLabel("third"), "Third")
    qtbot.wait(30)
    assert tabs.count() == 3 and tabs.tabBar().count() == 3
    window.resize(640, 480)
    qtbot.waitUntil(lambda: tabs.width() > 600, timeout=2000)
    stack = tabs.currentWidget().parentWidget()
    assert stack.geometry().width() >= tabs.width() - 10  # the page follows the tab widget
    tabs.setCurrentIndex(1)
    qtbot.wait(30)
    assert tabs.currentWidget().isVisible()


def test_a_held_spin_box_keeps_its_width_whatever_its_range(qtbot):
    spin = QtWidgets.QSpinBox()
    spin.setRange(1, 1)
    hold_width(spin)
    widths = []
    for hi in (1, 64, 3000, WIDEST_RANK):
        spin.setRange(1, hi)
        widths.append(max(spin.sizeHint().width(), spin.minimumWidth()))
    assert len(set(widths)) == 1
    assert (spin.minimum(), spin.maximum(), spin.value()) == (1, WIDEST_RANK, 1)
    free = QtWidgets.QSpinBox()
    free.setRange(1, 1)
    narrow = free.sizeHint().width()
    free.setRange(1, 3000)
    assert free.sizeHint().width() > narrow  # what it is held against
    received = []
    spin2 = QtWidgets.QSpinBox()
    spin2.setRange(0, 5)
    spin2.setValue(3)
    spin2.valueChanged.connect(received.append)
    hold_width(spin2)
    assert (spin2.minimum(), spin2.maximum(), spin2.value(), received) == (0, 5, 3, [])
    assert spin2.minimumWidth() >= spin.minimumWidth() - 1


def test_the_main_windows_tabs_are_steady(qtbot, tmp_path):
    from svdstudio.app import create_main_window

    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = create_main_window(settings)
    qtbot.addWidget(w)
    try:
        assert isinstance(w.tabs, SteadyTabWidget)
    finally:
        w.runner.shutdown()
