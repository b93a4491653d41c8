"""Dragging the cutoff: the panes are drawn at their own resolution, once per event-loop turn,
and a drag step relays out nothing beyond its captions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from svdstudio.ui.image import render as image_render
from svdstudio.ui.image.render import pane_grid
from svdstudio.ui.image.tab import ImageTab
from svdstudio.workers import JobRunner
from tests.ui.qt_events import LayoutRequests

TIMEOUT = 30_000


def photo(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = 120 + 60 * np.sin(x / 23.0) * np.cos(y / 17.0) + 15 * np.cos((x + 3 * y) / 7.0)
    return np.clip(np.stack([base, 255 - base, 0.5 * base + x % 70], -1), 0, 255).astype(np.uint8)


@pytest.fixture
def tab(qtbot, messages):
    runner = JobRunner()
    w = ImageTab(runner)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    runner.shutdown()


@pytest.fixture
def opened(qtbot, tab, tmp_path):
    path = tmp_path / "photo.png"
    # 200 singular values: a whole rank is more than a pixel of the spectrum plot.
    Image.fromarray(photo(200, 720)).save(path)
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        assert tab.open_file(str(path))
    qtbot.waitUntil(lambda: tab.session.full, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not tab.session.computing(), timeout=TIMEOUT)
    return tab


def test_pane_grid_rules():
    # 4000×3000 in a 574×446 pane: 6.97 image px per screen px → stride 6 (never coarser).
    rows, cols = pane_grid(3000, 4000, [(574, 446)], 1600)
    assert rows == slice(0, 3000, 6) and cols == slice(0, 4000, 6)
    # The finest pane decides; the max_side cap still applies; tiny or no panes: the cap.
    assert pane_grid(3000, 4000, [(574, 446), (1200, 900)], 1600)[0].step == 3
    assert pane_grid(3000, 4000, [(3000, 2000)], 1600)[0].step == 3
    assert pane_grid(3000, 4000, [(20, 20)], 1600)[0].step == 3
    assert pane_grid(3000, 4000, [], 1600)[0].step == 3
    # An image smaller than twice the pane keeps every pixel.
    assert pane_grid(512, 512, [(400, 300)], 1600) == (slice(0, 512, 1), slice(0, 512, 1))


def test_grid_follows_the_pane_size(qtbot, opened):
    tab = opened
    pane = tab.ui.recon_pane
    shape = pane.item.image.shape
    vw, vh = pane.view.width(), pane.view.height()
    step = int(max(720 / vw, 200 / vh))
    assert step >= 2 and shape[:2] == (len(range(0, 200, step)), len(range(0, 720, step)))
    # Not a thumbnail: at least one sample per screen pixel of the fitted image.
    assert shape[1] >= min(vw, vh * 720 / 200) - 1
    assert tab.ui.original_pane.item.image.shape == shape
    assert tab.ui.error_pane.item.image.shape == shape[:2]
    tab.resize(2400, 1300)
    qtbot.waitUntil(lambda: pane.item.image.shape[1] > shape[1], timeout=5000)
    big = pane.item.image.shape
    vw, vh = pane.view.width(), pane.view.height()
    assert big[1] >= min(vw, vh * 720 / 200) - 1
    assert tab.ui.original_pane.item.image.shape == big


def test_preview_frames_are_coalesced(qtbot, opened, monkeypatch):
    tab = opened
    calls = []
    real = tab.renderer.display.render
    monkeypatch.setattr(
        tab.renderer.display, "render", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    for k in (5, 6, 7, 8, 9):
        tab.session.set_rank(k, preview=True)
    assert calls == []  # nothing drawn until control returns to the event loop
    qtbot.waitUntil(lambda: bool(calls), timeout=5000)
    QtCore.QCoreApplication.processEvents()
    assert [a[0] for a in calls] == [9]
    assert tab.ui.recon_pane.title.text().startswith("Rank k = 9")
    # A committed rank is drawn at once.
    tab.session.set_rank(12)
    assert [a[0] for a in calls] == [9, 12]


def test_mouse_drag_relayouts_nothing_and_shows_the_rank_under_the_mouse(qtbot, opened):
    tab = opened
    plot = tab.ui.spectrum
    view = plot.plot_widget().viewport()
    y0, y1 = plot.plot_widget().getPlotItem().getViewBox().viewRange()[1]

    def at(k: int) -> QtCore.QPoint:
        return plot.viewport_point(k + 0.5, (y0 + y1) / 2)

    requests = LayoutRequests(tab)
    previews = []
    tab.ui.spectrum.rank_previewed.connect(previews.append)
    QTest.mouseMove(view, at(10))
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(10))
    # pyqtgraph takes a press moved sooner than GraphicsScene.minDragTime (0.5 s) and
    # closer than its move distance for a click: hold it as a hand would.
    qtbot.wait(int(plot.plot_widget().scene().minDragTime * 1000) + 100)
    QtCore.QCoreApplication.processEvents()
    requests.count = 0
    QTest.mouseMove(view, at(60))  # past the drag threshold: the drag has started
    QtCore.QCoreApplication.processEvents()
    assert previews and tab.ui.recon_pane.title.text().startswith(f"Rank k = {previews[-1]}")
    for k in range(61, 81):
        QTest.mouseMove(view, at(k))
        QtCore.QCoreApplication.processEvents()
        # The rank under the mouse (as the plot maps the pixel) is the one on show.
        under = previews[-1]
        assert tab.ui.recon_pane.title.text().startswith(f"Rank k = {under}")
        assert tab.session.k == under
    # How many moves pyqtgraph turns into drag steps depends on timing; the captions changed
    # at least once (32 → the rank at 60), and the tab's layout was never asked to run again
    # (each QLabel.setText used to relayout and repaint the whole window).
    assert requests.count == 0
    # The release commits: the metrics follow (they stayed stale after a mouse drag before).
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(80))
    k = tab.session.k
    assert k == plot.rank() and tab.session.metrics.rank == k


def test_grid_is_capped_by_max_display_side(qtbot, tab, tmp_path, monkeypatch):
    monkeypatch.setattr(image_render, "MAX_DISPLAY_SIDE", 100)
    path = tmp_path / "p.png"
    Image.fromarray(photo(300, 400)).save(path)
    with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
        assert tab.open_file(str(path))
    assert tab.ui.recon_pane.item.image.shape[:2] == (75, 100)
