"""The rank-k pane during and after a drag: exact pixels, packed frames drawn as they are,
the error map at a lower rate mid-drag (and not while hidden), no copy of every component
when factors arrive, and a line that follows the mouse from its first pixel."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from svdstudio.engine.image import mode_reference, reconstruct_image
from svdstudio.engine.image.crop import ErrorMapper
from svdstudio.engine.image.display import BLOCK
from svdstudio.ui.image import render as image_render
from svdstudio.ui.image.layout import VIEW_INDEX
from svdstudio.ui.image.panes import pack_rgb32
from svdstudio.ui.image.tab import ImageTab
from svdstudio.ui.image.views import ERROR_LUT
from svdstudio.workers import JobRunner
from tests.ui.image.test_drag import photo

TIMEOUT = 30_000


@pytest.fixture
def opened(qtbot, messages, tmp_path):
    runner = JobRunner()
    tab = ImageTab(runner)
    qtbot.addWidget(tab)
    tab.resize(1000, 700)
    tab.show()
    qtbot.waitExposed(tab)
    path = tmp_path / "photo.png"
    Image.fromarray(photo(200, 720)).save(path)  # 200 values: a rank is > 1 px of the plot
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        assert tab.open_file(str(path))
    qtbot.waitUntil(lambda: tab.session.full, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not tab.session.computing(), timeout=TIMEOUT)
    yield tab
    runner.shutdown()


def qimage_rgb(img: QtGui.QImage) -> np.ndarray:
    """H×W×3 uint8 of a QImage (converted to RGB888, rows unpadded)."""
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    raw = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h)
    return raw.reshape(h, img.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


def grid_of(tab):
    return tab.renderer._grid


def assert_shows_a_k(tab, k):
    s = tab.session
    rows, cols = grid_of(tab)
    want = np.rint(reconstruct_image(s.factors, k, s.chroma_arg(), rows=rows, cols=cols))
    pane = tab.ui.recon_pane
    got = np.asarray(pane.item.image).astype(np.float64)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1.0  # float32 rank-1 updates: ties may round apart
    assert np.mean(got != want) < 0.01
    # What is drawn is those pixels, as RGB32 words (no per-paint conversion).
    frame = pane.item.frame()
    assert frame is not None and frame.format() == QtGui.QImage.Format.Format_RGB32
    np.testing.assert_array_equal(qimage_rgb(frame), pane.item.image)
    return got


def drag(tab, qtbot, ranks, *, release=True):
    plot = tab.ui.spectrum
    view = plot.plot_widget().viewport()
    y0, y1 = plot.plot_widget().getPlotItem().getViewBox().viewRange()[1]

    def at(k: float) -> QtCore.QPoint:
        return plot.viewport_point(k + 0.5, (y0 + y1) / 2)

    start = at(tab.session.k)
    QTest.mouseMove(view, start)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in ranks:  # at once: no waiting for pyqtgraph's drag threshold
        QTest.mouseMove(view, at(k))
        QtCore.QCoreApplication.processEvents()
    if release:
        with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
            QTest.mouseRelease(
                view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(ranks[-1])
            )
    return at


def test_after_a_drag_the_rank_k_pane_is_exactly_a_k(qtbot, opened):
    tab = opened
    drag(tab, qtbot, list(range(tab.session.k + 1, 90)) + list(range(90, 60, -1)))
    k = tab.session.k
    # The grabbed line keeps the press's sub-pixel offset to the pointer: 60 ± 1.
    assert abs(k - 60) <= 1 and k == tab.ui.spectrum.rank()
    assert tab.ui.recon_pane.title.text().startswith(f"Rank k = {k}")
    shown = assert_shows_a_k(tab, k)
    # The error map is of those pixels, against the original on the same grid.
    rows, cols = grid_of(tab)
    ref = mode_reference(tab.session.metric_original[rows, cols], tab.session.mode)
    want = ErrorMapper(ref).compute(shown.astype(np.uint8))
    np.testing.assert_array_equal(tab.ui.error_pane.item.image, want)
    frame = tab.ui.error_pane.item.frame()
    assert frame is not None and frame.format() == QtGui.QImage.Format.Format_RGB32
    np.testing.assert_array_equal(qimage_rgb(frame), ERROR_LUT[want])


def test_the_line_follows_the_mouse_from_its_first_pixel(qtbot, opened):
    tab = opened
    k0 = tab.session.k
    plot = tab.ui.spectrum
    view = plot.plot_widget().viewport()
    y0, y1 = plot.plot_widget().getPlotItem().getViewBox().viewRange()[1]
    start = plot.viewport_point(k0 + 0.5, (y0 + y1) / 2)
    QTest.mouseMove(view, start)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    pw = plot.plot_widget()
    vb = pw.getPlotItem().getViewBox()

    def data_x(p: QtCore.QPoint) -> float:
        return vb.mapSceneToView(pw.mapToScene(p)).x()

    offset = k0 + 0.5 - data_x(start)  # the grabbed line keeps its distance to the pointer
    seen, under = [], []
    for dx in range(1, 16):  # one pixel at a time, sooner than 10 ms apart, no 0.5 s hold
        p = start + QtCore.QPoint(dx, 0)
        QTest.mouseMove(view, p)
        QtCore.QCoreApplication.processEvents()
        seen.append(tab.session.k)
        under.append(int(np.floor(data_x(p) + offset)))
    # Every pixel moved is followed (pyqtgraph held the first 5 px as a click and dropped
    # moves that came within 10 ms of the last one).
    assert seen == under and seen[-1] > k0 + 3
    assert tab.ui.recon_pane.title.text().startswith(f"Rank k = {seen[-1]}")
    QTest.mouseRelease(
        view,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        start + QtCore.QPoint(15, 0),
    )
    qtbot.waitUntil(lambda: tab.ui.spectrum.rank() == seen[-1], timeout=5000)


def test_the_error_map_follows_at_a_lower_rate_and_catches_up(qtbot, opened, monkeypatch):
    tab = opened
    r = tab.renderer
    calls = []
    real = r._errors.compute
    monkeypatch.setattr(r._errors, "compute", lambda u8: calls.append(1) or real(u8))
    # A long interval, so that every preview frame below falls inside one.
    assert r._error_due.interval() == image_render.ERROR_FRAME_MS
    r._error_due.setInterval(3000)
    r._error_at = time.monotonic()
    for k in range(20, 40):
        tab.session.set_rank(k, preview=True)
        QtCore.QCoreApplication.processEvents()
        assert tab.ui.recon_pane.title.text().startswith(f"Rank k = {k}")  # every frame
    assert calls == []  # no error map mid-drag within the interval ...
    # ... and the mouse held still: it catches up once the interval has passed.
    qtbot.waitUntil(lambda: bool(calls), timeout=5000)
    assert len(calls) == 1
    rows, cols = grid_of(tab)
    ref = mode_reference(tab.session.metric_original[rows, cols], tab.session.mode)
    shown = np.asarray(tab.ui.recon_pane.item.image)
    np.testing.assert_array_equal(tab.ui.error_pane.item.image, ErrorMapper(ref).compute(shown))
    # A committed rank draws the error map at once.
    tab.session.set_rank(45)
    assert len(calls) == 2


def test_a_hidden_error_pane_is_not_drawn_until_shown(qtbot, opened, monkeypatch):
    tab = opened
    r = tab.renderer
    calls = []
    real = r._errors.compute
    monkeypatch.setattr(r._errors, "compute", lambda u8: calls.append(1) or real(u8))
    tab.ui.view_tabs.setCurrentIndex(VIEW_INDEX["gallery"])
    assert not tab.ui.error_pane.isVisible()
    tab.session.set_rank(33)
    assert calls == []
    tab.ui.view_tabs.setCurrentIndex(VIEW_INDEX["compare"])
    qtbot.waitUntil(lambda: bool(calls), timeout=5000)
    rows, cols = grid_of(tab)
    ref = mode_reference(tab.session.metric_original[rows, cols], tab.session.mode)
    shown = np.asarray(tab.ui.recon_pane.item.image)
    np.testing.assert_array_equal(tab.ui.error_pane.item.image, ErrorMapper(ref).compute(shown))


def test_new_factors_copy_only_the_blocks_the_rank_needs(qtbot, opened):
    tab = opened
    s, r = tab.session, tab.renderer
    assert s.factors.max_rank == 200 and s.k < BLOCK
    # A stage's arrival copies one block of components per channel, not all 200.
    assert r.display.factors is s.factors
    assert r.display.copied() == (BLOCK,) * 3
    s.set_rank(150)
    assert r.display.copied() == (3 * BLOCK,) * 3
    assert_shows_a_k(tab, 150)
    # Another stage of the same image on the same grid: a new reconstructor (one block
    # again), the same error reference and original picture (not rebuilt in the GUI thread).
    display, errors = r.display, r._errors
    original = tab.ui.original_pane.item.image
    s.factors_changed.emit()
    assert r.display is not display and r.display.copied() == (3 * BLOCK,) * 3
    assert r._errors is errors and tab.ui.original_pane.item.image is original
    assert_shows_a_k(tab, 150)


def test_pack_rgb32_layouts():
    rgb = np.array([[[1, 2, 3], [250, 128, 0]]], np.uint8)
    np.testing.assert_array_equal(pack_rgb32(rgb), [[0xFF010203, 0xFFFA8000]])
    gray = np.array([[0, 7, 255]], np.uint8)
    np.testing.assert_array_equal(pack_rgb32(gray), [[0xFF000000, 0xFF070707, 0xFFFFFFFF]])
    lut = np.zeros((256, 3), np.uint8)
    lut[5] = (9, 8, 7)
    np.testing.assert_array_equal(
        pack_rgb32(np.array([[5, 0]], np.uint8), lut), [[0xFF090807, 0xFF000000]]
    )
    out = np.empty((1, 2), np.uint32)
    assert pack_rgb32(rgb, out=out) is out  # a buffer of the right size is reused
    assert pack_rgb32(rgb.astype(np.float32)) is None  # levels: pyqtgraph's own path


def test_mid_drag_the_error_map_skips_frames_even_when_frames_are_slow(opened, monkeypatch):
    tab = opened
    r = tab.renderer
    calls = []
    real = r._errors.compute
    monkeypatch.setattr(r._errors, "compute", lambda u8: calls.append(1) or real(u8))
    r._error_due.setInterval(0)  # every frame is past the interval (a slow, loaded machine)
    r._error_skipped = 0
    for k in range(20, 20 + 4 * image_render.ERROR_EVERY):
        tab.session.set_rank(k, preview=True)
        r.render(preview=True)  # the coalesced frame, drawn now
    assert len(calls) == 4  # one frame in ERROR_EVERY


def test_a_big_images_factors_arrive_over_several_turns(qtbot, opened, monkeypatch):
    tab = opened
    s, r, ui = tab.session, tab.renderer, tab.ui
    # This image counts as big (a preview-sized photo): the arrival is spread.
    monkeypatch.setattr(image_render, "PREVIEW_ABOVE_PIXELS", 10_000)
    calls = []
    real = r._errors.compute
    monkeypatch.setattr(r._errors, "compute", lambda u8: calls.append(1) or real(u8))
    s.set_rank(40)
    assert len(calls) == 1
    ui.spectrum.set_values(np.array([3.0, 2.0, 1.0]))  # a stand-in, for the arrival to replace
    ui.view_tabs.setCurrentIndex(VIEW_INDEX["layers"])
    ui.view_tabs.setCurrentIndex(VIEW_INDEX["compare"])
    layer_before = ui.layer_pane.item.image
    display = r.display
    # Turn 1: the rank-k pane, at once (a new reconstructor), nothing else yet.
    s.factors_changed.emit()
    assert r.display is not display
    assert_shows_a_k(tab, 40)
    assert len(ui.spectrum.values()) == 3 and calls == [1] and r._error_stale
    # Turn 2: the spectrum; turn 3: the error map of the frame on show.
    QtCore.QCoreApplication.processEvents()
    np.testing.assert_array_equal(ui.spectrum.values(), s.factors.channels[0].s)
    assert ui.spectrum.rank() == 40 and calls == [1]
    qtbot.waitUntil(lambda: not r._arrival.pending(), timeout=5000)
    assert len(calls) == 2 and not r._error_stale
    rows, cols = grid_of(tab)
    ref = mode_reference(s.metric_original[rows, cols], s.mode)
    shown = np.asarray(ui.recon_pane.item.image)
    np.testing.assert_array_equal(ui.error_pane.item.image, ErrorMapper(ref).compute(shown))
    assert ui.layer_pane.item.image is layer_before  # the layers view is not on show


def test_a_new_grids_error_reference_is_built_on_the_error_maps_turn(qtbot, opened, monkeypatch):
    """The reconstructor (turn 1), the error map's reference (turn 3) and the map (turn 4)
    are built on turns of their own: together they held the GUI thread for 60-85 ms when a
    12-MP photo's first full-resolution stage arrived; a hidden error pane builds none."""
    tab = opened
    s, r, ui = tab.session, tab.renderer, tab.ui
    monkeypatch.setattr(image_render, "PREVIEW_ABOVE_PIXELS", 10_000)
    built = []
    real = image_render.FastErrorMapper

    refs = []

    def recording(ref):
        # Which turn: the spectrum (turn 2) is on show, the map not drawn yet, and two steps
        # (the map, the layers view) still to come.
        built.append((len(ui.spectrum.values()), r._error_stale, len(r._arrival._steps)))
        refs.append(ref)
        return real(ref)

    monkeypatch.setattr(image_render, "FastErrorMapper", recording)
    ui.spectrum.set_values(np.array([3.0, 2.0, 1.0]))
    r._errors_for = None  # as after a new image or another grid: the reference must be new
    s.factors_changed.emit()
    assert r._errors is None and built == []  # turn 1: the rank-k pane only
    assert_shows_a_k(tab, s.k)
    qtbot.waitUntil(lambda: not r._arrival.pending(), timeout=5000)
    assert built == [(len(s.factors.channels[0].s), True, 2)] and not r._error_stale
    # Full-resolution factors: the reference is the original pane's pixels, not a new copy.
    assert s.metric_original is s.pixels and refs[0] is r._original_u8
    rows, cols = grid_of(tab)
    ref = mode_reference(s.metric_original[rows, cols], s.mode)
    shown = np.asarray(ui.recon_pane.item.image)
    np.testing.assert_array_equal(ui.error_pane.item.image, ErrorMapper(ref).compute(shown))
    # The error pane hidden: an arrival on a new grid builds no reference until it is shown.
    ui.view_tabs.setCurrentIndex(VIEW_INDEX["gallery"])
    r._errors_for = None
    s.factors_changed.emit()
    qtbot.waitUntil(lambda: not r._arrival.pending(), timeout=5000)
    s.set_rank(s.k + 1)
    assert len(built) == 1 and r._errors is None
    r._original_for = None  # as for a preview's downsampled original: a reference of its own
    ui.view_tabs.setCurrentIndex(VIEW_INDEX["compare"])
    qtbot.waitUntil(lambda: len(built) == 2, timeout=5000)
    assert refs[1] is not r._original_u8 and refs[1].dtype == np.float32
    shown = np.asarray(ui.recon_pane.item.image)
    np.testing.assert_array_equal(ui.error_pane.item.image, ErrorMapper(ref).compute(shown))


def test_newer_factors_cancel_the_rest_of_an_arrival(qtbot, opened, monkeypatch):
    tab = opened
    s, r = tab.session, tab.renderer
    monkeypatch.setattr(image_render, "PREVIEW_ABOVE_PIXELS", 10_000)
    spectra = []
    monkeypatch.setattr(r, "_show_spectrum", lambda: spectra.append(s.factors))
    s.factors_changed.emit()
    assert r._arrival.pending()
    s.factors_changed.emit()  # a later stage before the first had finished arriving
    qtbot.waitUntil(lambda: not r._arrival.pending(), timeout=5000)
    assert spectra == [s.factors]  # once, for the newest
    # No factors (a new image is opening): nothing is left to run.
    s.factors_changed.emit()
    s._factors = None
    s.factors_changed.emit()
    assert not r._arrival.pending() and r.display is None
    QtCore.QCoreApplication.processEvents()
    assert len(spectra) == 1


def test_an_arrival_redraws_the_layers_view_when_it_is_on_show(qtbot, opened, monkeypatch):
    tab = opened
    s, r, ui = tab.session, tab.renderer, tab.ui
    monkeypatch.setattr(image_render, "PREVIEW_ABOVE_PIXELS", 10_000)
    ui.view_tabs.setCurrentIndex(VIEW_INDEX["layers"])
    ui.layer_spin.setValue(3)
    before = ui.layer_pane.item.image
    s.factors_changed.emit()
    assert ui.layer_pane.item.image is before
    qtbot.waitUntil(lambda: not r._arrival.pending(), timeout=5000)
    assert ui.layer_pane.item.image is not before
    np.testing.assert_array_equal(ui.layer_pane.item.image, before)  # the same factors
