"""The Image lab inside the real main window: every view shows the whole image, fitted."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from svdstudio.resources import resource_path

TIMEOUT = 30_000


@pytest.fixture
def window(qtbot, main_window):
    main_window.resize(900, 640)
    qtbot.waitExposed(main_window)
    return main_window


def _image_tab(qtbot, window):
    tab = window.tab_by_kind["image"]
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.session.factors is not None and tab.session.full, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: tab.ui.recon_pane.item.image is not None, timeout=TIMEOUT)
    return tab


def _fit_problem(pane) -> str:
    """'' if the pane shows all of its image, centred and large; else what is wrong."""
    w, h = pane.source_size()
    (x0, x1), (y0, y1) = pane.view.viewRange()
    if not (x0 <= 0 and x1 >= w and y0 <= 0 and y1 >= h):
        return f"{pane.objectName()}: range {x0:.0f}..{x1:.0f} × {y0:.0f}..{y1:.0f} cuts {w}×{h}"
    if max(w / (x1 - x0), h / (y1 - y0)) < 0.95:
        return f"{pane.objectName()}: image fills under 95 % of the pane either way"
    if abs((x0 + x1) - w) > 1 or abs((y0 + y1) - h) > 1:
        return f"{pane.objectName()}: not centred"
    return ""


def _all_fitted(*panes) -> bool:
    return all(_fit_problem(p) == "" for p in panes)


def _wheel(pane, steps: int) -> None:
    """A real mouse-wheel zoom over the middle of a pane."""
    viewport = pane.graphics.viewport()
    pos = QtCore.QPointF(viewport.width() / 2, viewport.height() / 2)
    ev = QtGui.QWheelEvent(
        pos,
        viewport.mapToGlobal(pos),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120 * steps),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(viewport, ev)


def test_compare_views_fit_the_whole_image_when_shown_and_resized(qtbot, window):
    tab = _image_tab(qtbot, window)
    panes = (tab.ui.original_pane, tab.ui.recon_pane, tab.ui.error_pane)
    assert tab.ui.original_pane.source_size() == (512, 512)
    qtbot.waitUntil(lambda: _all_fitted(*panes), timeout=5000)
    before = tab.ui.original_pane.view.width()
    window.resize(1280, 760)
    qtbot.waitUntil(lambda: tab.ui.original_pane.view.width() > before + 20, timeout=5000)
    qtbot.waitUntil(lambda: _all_fitted(*panes), timeout=5000)
    assert [_fit_problem(p) for p in panes] == ["", "", ""]
    # The error pane is its own size: still all of the image, not a strip.
    (x0, x1), (y0, y1) = tab.ui.error_pane.view.viewRange()
    assert x0 <= 0 and x1 >= 512 and y0 <= 0 and y1 >= 512


def test_user_zoom_is_kept_until_fit(qtbot, window):
    tab = _image_tab(qtbot, window)
    panes = (tab.ui.original_pane, tab.ui.recon_pane, tab.ui.error_pane)
    qtbot.waitUntil(lambda: _all_fitted(*panes), timeout=5000)
    _wheel(tab.ui.recon_pane, 3)
    (x0, x1), (y0, y1) = tab.ui.recon_pane.view.viewRange()
    assert x1 - x0 < 400  # zoomed in
    assert not tab.ui.compare_group.auto_fit
    # The other panes follow: same centre, same scale.
    for pane in (tab.ui.original_pane, tab.ui.error_pane):
        (a0, a1), (b0, b1) = pane.view.viewRange()
        assert (a0 + a1) / 2 == pytest.approx((x0 + x1) / 2, abs=0.5)
        assert (b0 + b1) / 2 == pytest.approx((y0 + y1) / 2, abs=0.5)
        per_px = (a1 - a0) / pane.view.width()
        assert per_px == pytest.approx((x1 - x0) / tab.ui.recon_pane.view.width(), rel=1e-3)
    # A resize keeps the user's zoom; a new rank keeps it too.
    window.resize(1200, 720)
    qtbot.waitUntil(lambda: window.width() == 1200, timeout=5000)
    (x0, x1), _ = tab.ui.recon_pane.view.viewRange()
    assert x1 - x0 < 400
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.set_rank(8)
    assert not _all_fitted(*panes)
    tab.findChild(QtWidgets.QToolButton, "imageFitButton").click()
    assert [_fit_problem(p) for p in panes] == ["", "", ""]
    assert tab.ui.compare_group.auto_fit
    # Zoom again, then a new image fits again.
    _wheel(tab.ui.original_pane, 2)
    assert not _all_fitted(*panes)
    with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
        assert tab.open_file(str(resource_path("images", "coffee.png")))
    assert tab.ui.original_pane.source_size() == (600, 400)
    qtbot.waitUntil(lambda: _all_fitted(*panes), timeout=5000)


def test_layers_and_gallery_show_the_whole_image(qtbot, window):
    tab = _image_tab(qtbot, window)
    tab.ui.view_tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: tab.ui.cumulative_pane.item.image is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: _all_fitted(tab.ui.layer_pane, tab.ui.cumulative_pane), timeout=5000)
    before = tab.ui.layer_pane.view.width()
    window.resize(1280, 760)
    qtbot.waitUntil(lambda: tab.ui.layer_pane.view.width() > before + 20, timeout=5000)
    qtbot.waitUntil(lambda: _all_fitted(tab.ui.layer_pane, tab.ui.cumulative_pane), timeout=5000)
    tab.ui.view_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: bool(tab.session.sweep), timeout=TIMEOUT)

    def thumbnails_fill_cards() -> bool:
        for card in tab.ui.cards:
            pix = card.picture.pixmap()
            box = card.picture.size()
            if pix.isNull() or box.width() < 100:
                return False
            # Aspect kept, and the picture fills its box in one direction.
            if max(pix.width() / box.width(), pix.height() / box.height()) < 0.95:
                return False
        return True

    qtbot.waitUntil(thumbnails_fill_cards, timeout=5000)


def test_image_tab_fits_a_small_screen(qtbot, window):
    tab = _image_tab(qtbot, window)
    hint = tab.minimumSizeHint()
    # A 1024×600 screen, minus window frame, menu, tab bar and status bar.
    assert hint.width() <= 1000 and hint.height() <= 520, hint
