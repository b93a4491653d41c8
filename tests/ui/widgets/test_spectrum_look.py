"""SpectrumPlot as a student sees it: many bars without gaps, whole titles, a cutoff that can be
seen and grabbed at 3000 values, no SI prefixes, Bars/Stems and log scale remembered."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtTest import QTest

from svdstudio.ui.widgets import spectrum_plot
from svdstudio.ui.widgets.spectrum_data import SpectrumData, format_lost, format_retained
from svdstudio.ui.widgets.spectrum_plot import (
    ENERGY,
    KEPT,
    LEFT_TITLES,
    RIGHT_TITLES,
    SpectrumPlot,
)
from tests.ui.qt_events import PaintRegions


@pytest.fixture
def plot(qtbot):
    old_limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", -1)
    w = SpectrumPlot()
    qtbot.addWidget(w)
    w.resize(720, 320)
    w.show()
    qtbot.waitExposed(w)
    yield w
    pg.setConfigOption("mouseRateLimit", old_limit)


def settled(qtbot, w):
    """The plot's viewport as an image (viewport coordinates), once redrawn."""
    qtbot.waitUntil(lambda: not w._redraw.isActive(), timeout=2000)
    return w.plot_widget().viewport().grab().toImage()


def decay(n: int) -> np.ndarray:
    return 100.0 * np.exp(-np.linspace(0, 2, n))


@pytest.mark.parametrize("n", [150, 400, 3000])
def test_kept_bars_have_no_white_gaps(qtbot, plot, n):
    plot.set_values(decay(n))
    plot.set_rank(n // 2)
    image = settled(qtbot, plot)
    assert plot.is_dense()
    # A row of pixels across the kept bars, inside all of them, above the axis's tick marks.
    left = plot.viewport_point(1.5, 0)
    right = plot.viewport_point(n // 2 - 1.5, 0)
    y = plot.viewport_point(1, decay(n)[n // 2] * 0.3).y()
    colours = {image.pixelColor(x, y).name() for x in range(left.x(), right.x())}
    # Only the kept colour (and where the green energy curve crosses): no white, no grey.
    assert QColor(KEPT).name() in colours
    assert colours <= {QColor(KEPT).name(), QColor(ENERGY).name()}, colours


def test_few_bars_keep_their_gaps(qtbot, plot):
    plot.set_values(decay(12))
    plot.set_rank(6)
    image = settled(qtbot, plot)
    assert not plot.is_dense()
    y = plot.viewport_point(1, decay(12)[5] * 0.3).y()
    between = plot.viewport_point(1.5, 0).x()  # the gap between bar 1 and bar 2
    assert image.pixelColor(between, y).name() != QColor(KEPT).name()


def test_axis_titles_are_whole_or_short(qtbot, plot):
    plot.set_values(decay(50))
    settled(qtbot, plot)
    assert plot.axis_titles() == (LEFT_TITLES[0], RIGHT_TITLES[0])
    pi = plot.plot_widget().getPlotItem()
    metrics = QFontMetrics(pi.getAxis("left").label.font())
    plot.setMinimumSize(0, 0)  # as squeezed as a splitter can make it
    for height in (140, 400, 230):
        plot.resize(720, height)
        qtbot.waitUntil(lambda: not plot._redraw.isActive())
        room = pi.vb.height()
        shown = plot.axis_titles()
        for title, forms in zip(shown, (LEFT_TITLES, RIGHT_TITLES), strict=True):
            assert title in forms
            whole = metrics.horizontalAdvance(forms[0]) + 8 <= room
            assert title == (forms[0] if whole else forms[1]), (height, room)
            assert metrics.horizontalAdvance(title) <= room  # never cut off
    plot.resize(720, 140)
    qtbot.waitUntil(lambda: plot.axis_titles()[1] == RIGHT_TITLES[1])


@pytest.mark.parametrize("scale", [1e-7, 1.0, 3e6])
def test_no_si_prefix_on_any_axis(qtbot, plot, scale):
    plot.set_values(decay(30) * scale)
    settled(qtbot, plot)
    pi = plot.plot_widget().getPlotItem()
    for name in ("left", "bottom", "right"):
        axis = pi.getAxis(name)
        assert axis.autoSIPrefix is False
        assert axis.autoSIPrefixScale == 1.0
        assert "(x" not in axis.labelString()
    left = pi.getAxis("left")
    values = [v for _, vs in left.tickValues(0, 100 * scale, 200) for v in vs]
    texts = left.tickStrings(values, 1.0, values[1] - values[0])
    assert float(texts[-1]) == pytest.approx(values[-1], rel=1e-2)


def test_cutoff_is_easy_to_grab_at_3000_values(qtbot, plot):
    plot.set_values(decay(3000))
    plot.set_rank(1200)
    settled(qtbot, plot)
    line = plot._cutoff
    grip = line.mapRectToDevice(line.boundingRect())
    assert grip.width() >= 16  # px: a thin line alone would be 6
    assert len(line.markers) == 2
    view = plot.plot_widget().viewport()
    start = plot.viewport_point(1200.5, 50)
    start.setX(start.x() + 6)  # off the line itself, on its handle zone
    got: list[int] = []
    plot.rank_changed.connect(got.append)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    target = plot.viewport_point(2000.5, 50)
    for i in range(1, 11):
        p = QtCore.QPoint(start.x() + (target.x() - start.x()) * i // 10, start.y())
        QTest.mouseMove(view, p)
    assert plot.is_dragging()  # the line itself was grabbed, 6 px off its centre
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    # The line keeps the grab offset: it ends 6 px left of the pointer.
    end = plot._vb.mapSceneToView(plot.plot_widget().mapToScene(target - QtCore.QPoint(6, 0)))
    assert got == [line.rank_at(end.x())]
    assert abs(got[0] - 2000) < 50
    assert plot.rank() == got[0]


def test_style_and_log_scale_are_remembered_per_plot(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    spectrum_plot.use_settings(settings)
    try:
        a = SpectrumPlot()
        a.setObjectName("matrixLike")
        qtbot.addWidget(a)
        a.show()
        a._log_check.click()  # the user's choice, written at once
        a._style_combo.setCurrentIndex(1)
        a._style_combo.activated.emit(1)
        assert settings.value("spectrum/matrixLike/log") in (1, "1")
        b = SpectrumPlot()
        b.setObjectName("matrixLike")
        qtbot.addWidget(b)
        b.set_log_scale(False)  # the tab's own default, before it is shown
        assert not b.log_scale()
        b.show()
        assert b.log_scale() and b._stems
        other = SpectrumPlot()
        other.setObjectName("imageLike")
        other.set_log_scale(True)  # another plot keeps its own default
        qtbot.addWidget(other)
        other.show()
        assert other.log_scale() and not other._stems
    finally:
        spectrum_plot.use_settings(None)


@pytest.mark.parametrize(
    ("retained", "lost", "decimals", "text"),
    [
        (0.9517, 0.0483, 2, "95.17 %"),
        (1.0, 3.1e-9, 2, ">99.99 %"),
        (0.99996, 4e-5, 1, ">99.9 %"),
        (1.0, 0.0, 2, "100.00 %"),
        (0.0, 1.0, 1, "0.0 %"),
    ],
)
def test_energy_retained_never_reads_100_while_something_is_lost(retained, lost, decimals, text):
    assert format_retained(retained, lost, decimals) == text


def test_the_label_and_the_loss_agree_for_a_tiny_tail():
    data = SpectrumData.from_values([10.0, 1e-4])
    assert data.label(1) == "k = 1 · >99.9 % energy · ‖A − A₁‖_F² = 1.00e-08"
    assert format_lost(data.lost_fraction(1)) == "1.00e-08 %"
    assert data.label(2).startswith("k = 2 · 100.0 % energy")


def test_filled_bars_cover_exactly_their_columns_after_a_drag(qtbot, plot):
    """The kept and dropped step fills, redrawn at each rank, paint each bar up to its own
    height and no higher, with the split at k (sampled at bar centres, a pixel inside)."""
    s = decay(400)
    plot.set_values(s)
    for k in (50, 300, 120):  # as a drag does: new fills at every rank
        plot.set_rank(k)
        image = settled(qtbot, plot)
    kept, dropped = QColor(KEPT).name(), QColor(spectrum_plot.DROPPED).name()
    for i in (5, 60, 119, 121, 200, 390):
        x = plot.viewport_point(i + 0.0, 0).x()
        inside = plot.viewport_point(i, s[i - 1] * 0.5).y()
        above = plot.viewport_point(i, s[i - 1] * 1.08).y()
        want = kept if i <= 120 else dropped
        assert image.pixelColor(x, inside).name() == want, i
        assert image.pixelColor(x, above).name() not in (kept, dropped), i


def test_the_cached_energy_curve_follows_new_values(qtbot, plot):
    """The energy curve is drawn from a pixmap while the bars change under it: new values
    draw the new curve, the same pixels as a plot with the same history and no cache."""
    uncached = SpectrumPlot()
    qtbot.addWidget(uncached)
    uncached.resize(720, 320)
    uncached.show()
    qtbot.waitExposed(uncached)
    curve = uncached._energy.curve.curve
    curve.setCacheMode(curve.CacheMode.NoCache)
    images = []
    for w in (plot, uncached):
        w.set_values(decay(300))
        w.set_rank(30)
        first = settled(qtbot, w)
        w.set_values(np.linspace(10.0, 9.0, 300))  # energy grows almost linearly
        w.set_rank(30)
        images.append(settled(qtbot, w))
    assert images[0] != first  # the curve (and bars) did change
    assert images[0] == images[1]


def test_plot_export_draws_the_cached_curve_as_vectors(qtbot, plot, tmp_path):
    """An export draws every item afresh (no screen pixmap in the SVG) and the curve's cache
    comes back afterwards."""
    from svdstudio.ui.widgets.plot_export import export_plot

    plot.set_values(decay(300))
    plot.set_rank(30)
    settled(qtbot, plot)
    curve = plot._energy.curve.curve
    cached = curve.cacheMode()
    assert cached != curve.CacheMode.NoCache
    svg, png = tmp_path / "s.svg", tmp_path / "s.png"
    export_plot(plot.plot_widget(), svg)
    export_plot(plot.plot_widget(), png)
    text = svg.read_text(encoding="utf-8")
    assert "<image" not in text and text.count("<path") >= 3
    assert curve.cacheMode() == cached
    from PySide6.QtGui import QImage

    img = QImage(str(png))
    assert img.width() >= 2 * plot.plot_widget().getPlotItem().sceneBoundingRect().width() - 1
    # The energy colour is on the exported picture (the curve was drawn).
    colours = {
        img.pixelColor(x, y).name()
        for x in range(0, img.width(), 3)
        for y in range(0, img.height(), 3)
    }
    assert QColor(ENERGY).name() in colours


@pytest.mark.parametrize("n", [400, 3000])
def test_moving_the_cutoff_repaints_a_strip_not_the_plot(qtbot, plot, n):
    """Dense bars: a rank step repaints the bins between the old and the new cutoff and the
    line, a strip of the plot (the whole plot was repainted on every frame of a drag)."""
    plot.set_values(decay(n))
    plot.set_rank(n // 4)
    settled(qtbot, plot)
    view = plot.plot_widget().viewport()
    painted = PaintRegions(view)
    qtbot.wait(100)  # the first picture's own paint, if still to come
    painted.regions.clear()
    for k in range(n // 4 + 1, n // 4 + 6):
        plot.set_rank(k)  # (no grab here: a grab is a paint event of the whole viewport)
        qtbot.waitUntil(lambda: not plot._redraw.isActive() and bool(painted.regions))
        x_old, x_new = plot.viewport_point(k - 0.5, 0).x(), plot.viewport_point(k + 0.5, 0).x()
        for r in painted.regions:
            assert r.width() <= 40 < view.width() / 4, (k, r)
            assert r.left() <= x_old and r.right() >= x_new, (k, r)  # the cutoff moved
        painted.regions.clear()


def test_a_rank_step_repaints_nothing_under_the_plot(qtbot):
    """The plot's viewport, the caption and the k box are opaque: a new rank repaints them,
    not the widgets they sit on (each of those, up to the main window, was a paint event per
    frame of a drag)."""
    host = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(host)
    plot = SpectrumPlot()
    layout.addWidget(plot)
    qtbot.addWidget(host)
    host.resize(720, 360)
    host.show()
    qtbot.waitExposed(host)
    plot.set_values(decay(3000))
    plot.set_rank(700)
    qtbot.wait(100)
    under, view = PaintRegions(host), PaintRegions(plot.plot_widget().viewport())
    own = PaintRegions(plot)
    for k in range(701, 706):
        plot.set_rank(k)
        qtbot.waitUntil(lambda: not plot._redraw.isActive() and bool(view.regions))
        view.regions.clear()
    qtbot.wait(50)
    assert under.regions == [] and own.regions == []
