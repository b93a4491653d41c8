"""SpectrumPlot: real mouse clicks, drags and keys on the plot; values asserted."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from svdstudio.engine import decompose
from svdstudio.ui.widgets.spectrum_data import SpectrumData, format_number
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

ARTICLE_A = np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]], dtype=float)
LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def plot(qtbot):
    # pyqtgraph drops mouse moves closer than 10 ms apart; QTest sends them back to back.
    old_limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", -1)
    w = SpectrumPlot()
    qtbot.addWidget(w)
    w.resize(640, 360)
    w.show()
    qtbot.waitExposed(w)
    yield w
    pg.setConfigOption("mouseRateLimit", old_limit)


@pytest.fixture
def article_s():
    return decompose(ARTICLE_A).s


def recorder(signal):
    got: list[int] = []
    signal.connect(got.append)
    return got


def settle(qtbot, w: SpectrumPlot) -> None:
    """Wait for the plot's coalesced redraw (it runs once control returns to the event loop)."""
    qtbot.waitUntil(lambda: not w._redraw.isActive(), timeout=2000)


def vp(w: SpectrumPlot, x: float, y: float) -> QtCore.QPoint:
    """Data coordinates → scene → view/viewport coordinates, mapped by hand."""
    pw = w.plot_widget()
    scene_pt = pw.getPlotItem().vb.mapViewToScene(QtCore.QPointF(x, y))
    view_pt = pw.mapFromScene(scene_pt)  # QGraphicsView maps into its viewport
    assert view_pt == w.viewport_point(x, y)
    assert pw.viewport().rect().contains(view_pt)
    return view_pt


def test_set_values_defaults_to_full_rank(plot, article_s, qtbot):
    with qtbot.assertNotEmitted(plot.rank_changed):
        plot.set_values(article_s)
    assert plot.rank() == 3
    assert (plot.rank_spin.minimum(), plot.rank_spin.maximum()) == (1, 3)
    assert plot.rank_spin.value() == 3
    np.testing.assert_allclose(plot.values(), article_s)
    assert plot.objectName() == "spectrumPlot"


def test_energy_curve_on_the_right_axis(plot, article_s):
    plot.set_values(article_s)
    x, pct = plot._energy.curve.getData()
    np.testing.assert_allclose(x, [1, 2, 3])
    np.testing.assert_allclose(pct, [77.3, 95.2, 100.0], atol=0.05)
    right = plot.plot_widget().getPlotItem().getAxis("right")
    assert right.linkedView() is plot._energy.view
    assert plot._energy.view.viewRange()[1] == pytest.approx([0, 102])
    assert [mark.value() for mark in plot._energy.marks] == [90, 99]
    assert all(mark.getViewBox() is plot._energy.view for mark in plot._energy.marks)


def test_label_for_the_article_matrix(plot, article_s, qtbot):
    plot.set_values(article_s)
    with qtbot.assertNotEmitted(plot.rank_changed):
        plot.set_rank(2)
    text = plot.findChild(type(plot._label), "spectrumLabel").text()
    assert text == "k = 2 · 95.2 % energy · ‖A − A₂‖_F² = 6.90"
    assert plot.rank_spin.value() == 2
    settle(qtbot, plot)
    assert plot._cutoff.value() == pytest.approx(2.5)


def test_click_on_a_bar_sets_rank(plot, article_s, qtbot):
    plot.set_values(article_s)
    got = recorder(plot.rank_changed)
    with qtbot.waitSignal(plot.rank_changed) as blocker:
        qtbot.mouseClick(plot.plot_widget().viewport(), LEFT, NOMOD, vp(plot, 1.1, 2.0))
    assert blocker.args == [1]
    assert plot.rank() == 1
    assert plot.rank_spin.value() == 1
    settle(qtbot, plot)
    assert plot._cutoff.value() == pytest.approx(1.5)
    # The same click again changes nothing and emits nothing.
    qtbot.mouseClick(plot.plot_widget().viewport(), LEFT, NOMOD, vp(plot, 0.9, 2.0))
    qtbot.mouseClick(plot.plot_widget().viewport(), LEFT, NOMOD, vp(plot, 2.0, 1.0))
    assert got == [1, 2]
    assert plot.rank() == 2


def test_dragging_the_line_previews_then_commits_once(plot, qtbot):
    s = np.array([9.0, 7.0, 5.0, 3.0, 2.0, 1.0])
    plot.set_values(s)
    plot.set_rank(1)
    settle(qtbot, plot)
    previews = recorder(plot.rank_previewed)
    changes = recorder(plot.rank_changed)
    viewport = plot.plot_widget().viewport()
    start = vp(plot, 1.5, 4.0)
    QTest.mouseMove(viewport, start)  # hover first, as a real pointer does
    QTest.mousePress(viewport, LEFT, NOMOD, start)
    for x in (1.8, 2.2, 2.7, 3.1, 3.6, 4.2):
        QTest.mouseMove(viewport, vp(plot, x, 4.0))
    qtbot.waitUntil(lambda: previews[-1:] == [4])
    assert previews == [2, 3, 4]  # one preview per whole-rank step, in order
    assert changes == []  # nothing committed while the button is down
    assert plot.rank() == 1
    assert plot.rank_spin.value() == 4  # spin follows the preview without committing
    assert plot._label.text().startswith("k = 4")
    QTest.mouseRelease(viewport, LEFT, NOMOD, vp(plot, 4.2, 4.0))
    qtbot.waitUntil(lambda: changes == [4])
    assert plot.rank() == 4
    settle(qtbot, plot)
    assert plot._cutoff.value() == pytest.approx(4.5)
    assert changes == [4]


def test_drag_anywhere_moves_the_cutoff(plot, qtbot):
    plot.set_values(np.linspace(10, 1, 10))
    plot.set_rank(8)
    previews = recorder(plot.rank_previewed)
    changes = recorder(plot.rank_changed)
    viewport = plot.plot_widget().viewport()
    QTest.mousePress(viewport, LEFT, NOMOD, vp(plot, 5.0, 2.0))
    for x in (4.6, 4.0, 3.4, 2.6, 2.2):
        QTest.mouseMove(viewport, vp(plot, x, 2.0))
    QTest.mouseRelease(viewport, LEFT, NOMOD, vp(plot, 2.2, 2.0))
    qtbot.waitUntil(lambda: changes == [2])
    assert previews[-1] == 2
    assert plot.rank() == 2
    settle(qtbot, plot)
    assert plot._cutoff.value() == pytest.approx(2.5)


def test_drag_back_to_start_emits_no_rank_change(plot, qtbot):
    plot.set_values(np.linspace(10, 1, 10))
    plot.set_rank(3)
    settle(qtbot, plot)
    previews = recorder(plot.rank_previewed)
    changes = recorder(plot.rank_changed)
    viewport = plot.plot_widget().viewport()
    QTest.mouseMove(viewport, vp(plot, 3.5, 2.0))
    QTest.mousePress(viewport, LEFT, NOMOD, vp(plot, 3.5, 2.0))
    for x in (4.2, 5.6, 4.4, 3.5):
        QTest.mouseMove(viewport, vp(plot, x, 2.0))
    QTest.mouseRelease(viewport, LEFT, NOMOD, vp(plot, 3.5, 2.0))
    qtbot.waitUntil(lambda: previews[-1:] == [3])
    assert previews[0] == 4 and 5 in previews
    assert changes == []
    assert plot.rank() == 3


def test_keyboard_moves_the_cutoff(plot, qtbot):
    plot.set_values(np.linspace(30, 1, 30))
    plot.set_rank(10)
    pw = plot.plot_widget()
    pw.setFocus()
    changes = recorder(plot.rank_changed)
    qtbot.keyClick(pw, Qt.Key.Key_Left)
    assert plot.rank() == 9
    qtbot.keyClick(pw, Qt.Key.Key_Right)
    qtbot.keyClick(pw, Qt.Key.Key_Right)
    assert plot.rank() == 11
    qtbot.keyClick(pw, Qt.Key.Key_PageUp)
    assert plot.rank() == 14
    qtbot.keyClick(pw, Qt.Key.Key_Home)
    assert plot.rank() == 1
    qtbot.keyClick(pw, Qt.Key.Key_Left)  # already at 1: nothing happens
    qtbot.keyClick(pw, Qt.Key.Key_End)
    assert plot.rank() == 30
    qtbot.keyClick(pw, Qt.Key.Key_PageDown)
    qtbot.keyClick(pw, Qt.Key.Key_A)  # not ours: ignored
    assert plot.rank() == 27
    assert changes == [9, 10, 11, 14, 1, 30, 27]
    assert plot.rank_spin.value() == 27


def test_spin_box_and_plot_stay_in_sync(plot, article_s, qtbot):
    plot.set_values(article_s)
    with qtbot.waitSignal(plot.rank_changed) as blocker:
        plot.rank_spin.setValue(2)
    assert blocker.args == [2]
    assert plot.rank() == 2
    settle(qtbot, plot)
    assert plot._cutoff.value() == pytest.approx(2.5)
    assert "k = 2" in plot._label.text()
    # Spin arrows are user steps: one emission each.
    changes = recorder(plot.rank_changed)
    plot.rank_spin.setFocus()
    qtbot.keyClick(plot.rank_spin, Qt.Key.Key_Down)
    assert changes == [1]
    plot.rank_spin.setValue(1)  # unchanged: no signal
    assert changes == [1]
    # Plot → spin: a click updates the spin box, with a single emission.
    qtbot.mouseClick(plot.plot_widget().viewport(), LEFT, NOMOD, vp(plot, 3.0, 1.0))
    assert plot.rank_spin.value() == 3
    assert changes == [1, 3]
    # Programmatic: spin follows, nothing is emitted.
    with qtbot.assertNotEmitted(plot.rank_changed):
        plot.set_rank(2)
    assert plot.rank_spin.value() == 2


def test_log_scale_with_zeros(plot, qtbot):
    s = np.array([5.0, 1.0, 1e-3, 0.0, 0.0])
    plot.set_values(s)
    plot.set_log_scale(True)
    assert plot.log_scale()
    assert plot._log_check.isChecked()
    assert plot.plot_widget().getPlotItem().getAxis("left").logMode is True
    floor = SpectrumData.from_values(s).log_floor()
    assert 0 < floor < 1e-3
    ymin, ymax = plot.plot_widget().getPlotItem().vb.viewRange()[1]
    assert ymin == pytest.approx(np.log10(floor))
    assert ymax > np.log10(5.0)
    plot.set_rank(2)
    settle(qtbot, plot)
    dropped = plot._series.dropped_bars.opts
    assert np.all(np.isfinite(dropped["height"]))
    np.testing.assert_allclose(dropped["height"][-2:], 0.0)  # zeros sit on the floor
    plot.set_stems(True)
    plot.grab()  # paint both styles in log mode
    plot._log_check.setChecked(False)
    assert not plot.log_scale()
    assert plot.plot_widget().getPlotItem().getAxis("left").logMode is False
    assert plot.plot_widget().getPlotItem().vb.viewRange()[1][0] == pytest.approx(0.0)


def test_all_zero_values_in_log_scale(plot):
    plot.set_values(np.zeros(4))
    plot.set_log_scale(True)
    plot.grab()
    assert plot.rank() == 4
    assert plot._label.text() == "k = 4 · 100.0 % energy · ‖A − A₄‖_F² = 0"


def test_double_click_selects_a_component(plot, article_s, qtbot):
    plot.set_values(article_s)
    plot.set_rank(3)
    assert plot.selected_component() is None
    viewport, at = plot.plot_widget().viewport(), vp(plot, 2.1, 1.0)
    with qtbot.waitSignal(plot.component_selected) as blocker:
        # What a real double-click delivers (QTest.mouseDClick alone sends only the 2nd press).
        QTest.mouseClick(viewport, LEFT, NOMOD, at)
        QTest.mouseDClick(viewport, LEFT, NOMOD, at)
        QTest.mouseRelease(viewport, LEFT, NOMOD, at)
    assert blocker.args == [2]
    assert plot.rank() == 2  # the first click of the pair set k, as a single click does
    assert plot.selected_component() == 2
    settle(qtbot, plot)
    np.testing.assert_allclose(plot._series.selected_bar.opts["x"], [2.0])
    # Programmatic selection highlights without emitting; new values clear it.
    with qtbot.assertNotEmitted(plot.component_selected):
        plot.set_selected_component(3)
    assert plot.selected_component() == 3
    settle(qtbot, plot)
    np.testing.assert_allclose(plot._series.selected_bar.opts["x"], [3.0])
    plot.set_values(article_s)
    assert plot.selected_component() is None


def test_clear(plot, article_s, qtbot):
    plot.set_values(article_s)
    with qtbot.assertNotEmitted(plot.rank_changed):
        plot.clear()
    assert plot.rank() == 0
    assert plot.values().size == 0
    assert not plot.rank_spin.isEnabled()
    assert plot._label.text() == "No singular values"
    assert not plot._cutoff.isVisible()
    qtbot.mouseClick(plot.plot_widget().viewport(), LEFT, NOMOD, vp(plot, 1.0, 0.5))
    qtbot.keyClick(plot.plot_widget(), Qt.Key.Key_Right)
    assert plot.rank() == 0
    plot.set_values(article_s)
    assert plot.rank() == 3


def test_fewer_values_clamp_the_rank(plot, qtbot):
    plot.set_values(np.linspace(10, 1, 8))
    plot.set_rank(6)
    with qtbot.assertNotEmitted(plot.rank_changed):
        plot.set_values(np.array([3.0, 2.0, 1.0]))
    assert plot.rank() == 3
    assert plot.rank_spin.maximum() == 3
    assert plot.rank_spin.value() == 3
    settle(qtbot, plot)
    assert plot._cutoff.value() == pytest.approx(3.5)
    plot.set_values(np.linspace(10, 1, 8))
    assert plot.rank() == 3  # still valid: kept


def test_set_rank_before_values_and_clamping(plot):
    plot.set_rank(2)
    assert plot.rank() == 0
    plot.set_values(np.array([4.0, 3.0, 2.0, 1.0]))
    assert plot.rank() == 2
    plot.set_rank(99)
    assert plot.rank() == 4
    plot.set_rank(-5)
    assert plot.rank() == 1


def test_partial_result_counts_the_unknown_tail(plot):
    plot.set_values(np.array([3.0, 2.0]), total_energy=20.0, energy_label="variance")
    plot.set_rank(2)
    assert plot._label.text() == "k = 2 · 65.0 % variance · ‖A − A₂‖_F² = 7.00"


def test_label_formatter(plot, article_s):
    plot.set_values(article_s)
    plot.set_label_formatter(lambda k: f"rank {k} of 3")
    plot.set_rank(1)
    assert plot._label.text() == "rank 1 of 3"
    plot.set_label_formatter(None)
    assert plot._label.text().startswith("k = 1 · 77.")


def test_bars_and_stems(plot, article_s, qtbot):
    plot.set_values(article_s)
    plot.set_rank(2)
    settle(qtbot, plot)
    assert plot._series.kept_bars.isVisible() and not plot._series.kept_stems.isVisible()
    plot.set_stems(True)
    assert plot._style_combo.currentText() == "Stems"
    settle(qtbot, plot)
    assert plot._series.kept_stems.isVisible() and not plot._series.kept_bars.isVisible()
    x, y = plot._series.kept_stems.getData()
    np.testing.assert_allclose(x, [1, 1, 2, 2])
    np.testing.assert_allclose(y, [0, article_s[0], 0, article_s[1]])
    plot._style_combo.setCurrentIndex(0)
    settle(qtbot, plot)
    assert plot._series.kept_bars.isVisible()
    np.testing.assert_allclose(plot._series.kept_bars.opts["x"], [1, 2])
    np.testing.assert_allclose(plot._series.dropped_bars.opts["x"], [3])


def test_integer_ticks_only(plot, article_s):
    plot.set_values(article_s)
    axis = plot.plot_widget().getPlotItem().getAxis("bottom")
    levels = axis.tickValues(0.4, 3.6, 500)
    ticks = sorted(v for _, values in levels for v in values)
    assert ticks == [1.0, 2.0, 3.0]
    assert axis.tickStrings(ticks, 1.0, 1.0) == ["1", "2", "3"]


def test_controls_are_named_and_explained(plot):
    from PySide6 import QtWidgets

    controls = [plot.rank_spin, plot._log_check, plot._style_combo, plot._label, plot.plot_widget()]
    for widget in controls:
        assert widget.toolTip(), widget.objectName()
        assert widget.accessibleName(), widget.objectName()
    assert plot.minimumSize().width() >= 360
    assert isinstance(plot.rank_spin, QtWidgets.QSpinBox)


def test_many_set_rank_calls(plot, qtbot):
    plot.set_values(np.linspace(50, 1, 50))
    with qtbot.assertNotEmitted(plot.rank_changed):
        for i in range(10_000):
            plot.set_rank(1 + (i * 7) % 50)
    k = 1 + (9_999 * 7) % 50
    assert plot.rank() == k
    assert plot.rank_spin.value() == k
    assert plot._label.text().startswith(f"k = {k} ·")
    settle(qtbot, plot)  # one coalesced redraw for the whole burst
    assert plot._cutoff.value() == pytest.approx(k + 0.5)
    np.testing.assert_allclose(plot._series.kept_bars.opts["x"], np.arange(1, k + 1))


def test_invalid_values_are_rejected(plot):
    with pytest.raises(ValueError, match="finite"):
        plot.set_values(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="≥ 0"):
        plot.set_values(np.array([1.0, -1.0]))
    assert plot.rank() == 0


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (6.904768, "6.90"),
        (0, "0"),
        (136.1, "136"),
        (9.996, "10.0"),
        (0.0123, "0.0123"),
        (1.5e7, "1.50e+07"),
        (2e-5, "2.00e-05"),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


def test_log_axis_labels_decades_not_every_digit(plot):
    plot.set_values(np.array([10.51, 5.06, 2.63]))
    plot.set_log_scale(True)
    axis = plot.plot_widget().getPlotItem().getAxis("left")
    lo, hi = -1.0, 1.2  # 0.1 .. ~16: short range, so 2 and 5 are labelled too
    levels = axis.tickValues(lo, hi, 250)
    labels = [s for spacing, values in levels for s in axis.tickStrings(values, 1.0, spacing)]
    assert labels == ["0.1", "1", "10", "0.2", "0.5", "2", "5"]
    # 16 decades in 150 px: only every few decades, never crowded.
    levels = axis.tickValues(-16.0, 1.2, 150)
    assert len(levels) == 1
    assert len(levels[0][1]) <= 150 // 26
    assert axis.tickStrings([-15.0], 1.0, 1.0) == ["10⁻¹⁵"]


def test_label_moves_under_the_controls_when_narrow(plot, qtbot):
    plot.set_values(np.array([10.51, 5.06, 2.63]))
    label = plot._label
    plot.resize(900, 300)
    qtbot.waitUntil(lambda: plot._label_row == 0)
    assert label.geometry().top() < plot.rank_spin.geometry().bottom()
    plot.resize(360, 220)
    qtbot.waitUntil(lambda: plot._label_row == 1)
    qtbot.waitUntil(lambda: label.geometry().top() >= plot.rank_spin.geometry().bottom())
