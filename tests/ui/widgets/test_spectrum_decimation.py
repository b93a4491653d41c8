"""SpectrumPlot with thousands of values: what is drawn is each pixel column's extremes (exact
values at their own index), and the cutoff, label, energy and the rank under the mouse are
those of the full spectrum; a drag previews one rank per mouse move from its first move."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from svdstudio.ui.widgets.spectrum_data import SpectrumData, bin_size, column_extremes
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
N = 10_000


@pytest.fixture
def plot(qtbot):
    # pyqtgraph's scene drops moves closer than 10 ms apart; the plot must not depend on it,
    # so this fixture leaves the limit as the app has it.
    assert pg.getConfigOption("mouseRateLimit") > 0
    w = SpectrumPlot()
    qtbot.addWidget(w)
    w.resize(700, 360)
    w.show()
    qtbot.waitExposed(w)
    return w


def bumpy(n: int = N) -> np.ndarray:
    """Descending overall, but not monotone inside a pixel column: min and max differ."""
    rng = np.random.default_rng(3)
    return np.exp(-np.arange(n) / (n / 6)) * (1 + 0.5 * rng.random(n))


def reference_bins(y: np.ndarray, start: int, stop: int, size: int) -> list[tuple[int, int]]:
    bins, i = [], start
    while i < stop:
        j = min((i // size + 1) * size, stop)
        bins.append((i, j))
        i = j
    return bins


@pytest.mark.parametrize("start, stop, size", [(0, 1, 1), (0, 10, 1), (3, 97, 7), (10, 20, 5)])
def test_column_extremes_against_a_plain_loop(start, stop, size):
    y = np.random.default_rng(start + stop).random(100)
    ex = column_extremes(y, start, stop, size)
    bins = reference_bins(y, start, stop, size)
    assert ex.edges.tolist() == [start + 0.5] + [j + 0.5 for _, j in bins]
    assert ex.i_max.tolist() == [i + int(np.argmax(y[i:j])) for i, j in bins]
    assert ex.i_min.tolist() == [i + int(np.argmin(y[i:j])) for i, j in bins]


def test_column_extremes_of_an_empty_segment():
    ex = column_extremes(np.ones(5), 3, 3, 2)
    assert ex.edges.size == 0 and ex.i_max.size == 0


def test_bin_size():
    assert bin_size(100, 700) == 1
    assert bin_size(10_000, 700) == 15
    assert bin_size(0, 700) == 1


@pytest.mark.parametrize("log", [False, True])
def test_filled_bars_are_column_maxima_split_exactly_at_k(qtbot, plot, log):
    s = bumpy()
    plot.set_log_scale(log)
    plot.set_values(s)
    plot.set_rank(4321)
    drawn = plot.drawn()
    data = SpectrumData.from_values(s)
    y, _base = data.plot_y(log)
    size = plot.bin_size()
    assert size == math.ceil(N / plot.plot_widget().getPlotItem().getViewBox().width())
    assert size > 1 and plot.is_dense()
    for name, (a, b) in (("kept", (0, 4321)), ("dropped", (4321, N))):
        edges, heights = drawn[name]
        assert edges[0] == a + 0.5 and edges[-1] == b + 0.5  # the split is exactly at k + ½
        assert heights.size == edges.size - 1 <= (b - a) // size + 2
        # Each column's height is the exact tallest value inside it.
        for lo, hi, h in zip(edges[:-1], edges[1:], heights, strict=True):
            assert h == y[round(lo - 0.5) : round(hi - 0.5)].max()
    assert drawn["kept"][1].max() == y.max()  # σ_1 (the tallest) is drawn exactly


def test_stems_keep_every_columns_extremes(qtbot, plot):
    s = bumpy()
    plot.set_stems(True)
    plot.set_values(s)
    plot.set_rank(2500)
    drawn = plot.drawn()
    size = plot.bin_size()
    for name, (a, b) in (("kept", (0, 2500)), ("dropped", (2500, N))):
        hx, hy = drawn[f"{name} heads"]
        idx = (hx - 1).astype(int)
        np.testing.assert_array_equal(hy, s[idx])  # every dot is a real σ_i at its own i
        for lo, hi in reference_bins(s, a, b, size):
            inside = idx[(idx >= lo) & (idx < hi)]
            assert s[lo:hi].max() in s[inside] and s[lo:hi].min() in s[inside]
        sx, sy = drawn[name]
        np.testing.assert_array_equal(sy, s[(sx - 1).astype(int)])
    assert drawn["dropped heads"][1].min() == s.min()  # σ_r, the smallest, is shown


def test_energy_curve_points_are_exact(qtbot, plot):
    s = bumpy()
    plot.set_values(s)
    x, pct = plot.drawn()["energy"]
    full = SpectrumData.from_values(s).cumulative_percent()
    np.testing.assert_array_equal(pct, full[(x - 1).astype(int)])
    assert x[0] == 1 and x[-1] == N and pct[-1] == pytest.approx(100.0)
    assert x.size <= 2 * math.ceil(N / plot.bin_size()) + 2


def test_cutoff_label_and_energy_at_k_after_decimation(qtbot, plot):
    s = bumpy()
    plot.set_values(s)
    plot.set_rank(4321)
    plot.drawn()
    assert plot._cutoff.value() == pytest.approx(4321.5)
    data = SpectrumData.from_values(s)
    assert plot._label.text() == data.label(4321)
    kept = float(np.sum(s[:4321] ** 2) / np.sum(s**2))
    assert data.retained_fraction(4321) == pytest.approx(kept, rel=1e-12)
    assert f"{100 * kept:.1f} %" in plot._label.text()


def _data_x(plot: SpectrumPlot, point: QtCore.QPoint) -> float:
    scene = plot.plot_widget().mapToScene(point)
    return plot.plot_widget().getPlotItem().getViewBox().mapSceneToView(scene).x()


def test_click_keeps_the_bar_under_the_pointer_at_10000_values(qtbot, plot):
    plot.set_values(bumpy())
    plot.set_rank(100)
    plot.drawn()
    got: list[int] = []
    plot.rank_changed.connect(got.append)
    at = plot.viewport_point(6000, 0.1)
    QTest.mouseClick(plot.plot_widget().viewport(), LEFT, NOMOD, at)
    assert got == [math.floor(_data_x(plot, at) + 0.5)]
    assert abs(got[0] - 6000) <= plot.bin_size()


def test_drag_emits_one_rank_per_move_from_the_first_move(qtbot, plot):
    """Moves 1 px apart, sent back to back (as a fast mouse does, < 10 ms apart): each one
    that crosses into another rank previews it at once; release commits the last one."""
    plot.set_values(bumpy())
    plot.set_rank(3000)
    plot.drawn()
    view = plot.plot_widget().viewport()
    start = plot.viewport_point(3000.5, 0.1)
    previews: list[int] = []
    changes: list[int] = []
    plot.rank_previewed.connect(previews.append)
    plot.rank_changed.connect(changes.append)
    QTest.mousePress(view, LEFT, NOMOD, start)
    expected = []
    for dx in range(1, 41):
        p = QtCore.QPoint(start.x() + dx, start.y())
        QTest.mouseMove(view, p)
        # The rank under the pointer, previewed by this very move (no threshold, no lag).
        k = plot._cutoff.rank_at(_data_x(plot, p) + (3000.5 - _data_x(plot, start)))
        assert previews[-1] == k
        expected.append(k)
    assert len(previews) == 40  # 15 ranks per pixel: every move is a new rank
    assert previews == expected
    assert changes == []
    QTest.mouseRelease(view, LEFT, NOMOD, QtCore.QPoint(start.x() + 40, start.y()))
    assert changes == [expected[-1]]
    assert plot.rank() == expected[-1]


def test_a_trembling_click_off_the_line_is_still_a_click(qtbot, plot):
    plot.set_values(np.linspace(10, 1, 10))
    plot.set_rank(8)
    plot.drawn()
    view = plot.plot_widget().viewport()
    got: list[int] = []
    plot.rank_changed.connect(got.append)
    at = plot.viewport_point(3.2, 1.0)
    QTest.mousePress(view, LEFT, NOMOD, at)
    QTest.mouseMove(view, QtCore.QPoint(at.x() + 2, at.y()))
    QTest.mouseRelease(view, LEFT, NOMOD, QtCore.QPoint(at.x() + 2, at.y()))
    assert got == [3]


def test_a_click_on_the_line_does_not_move_it(qtbot, plot):
    plot.set_values(bumpy())
    plot.set_rank(5000)
    plot.drawn()
    view = plot.plot_widget().viewport()
    at = plot.viewport_point(5000.5, 0.1)
    with qtbot.assertNotEmitted(plot.rank_changed):
        QTest.mouseClick(view, LEFT, NOMOD, QtCore.QPoint(at.x() + 4, at.y()))
    assert plot.rank() == 5000


@pytest.mark.parametrize(
    ("old", "new", "span"),
    [
        # kept bins [0, 40) → [0, 44) in bins of 4: only the new bin differs
        (([0.5, 4.5, 40.5], [9, 8]), ([0.5, 4.5, 40.5, 44.5], [9, 8, 7]), (40.5, 44.5)),
        # dropped bins lose their first (partial) bin
        (([41.5, 44.5, 48.5], [3, 2]), ([44.5, 48.5], [2]), (41.5, 44.5)),
        # one height changes in the middle
        (([0.5, 1.5, 2.5, 3.5], [3, 2, 1]), ([0.5, 1.5, 2.5, 3.5], [3, 5, 1]), (1.5, 2.5)),
        (([0.5, 1.5, 2.5], [3, 2]), ([0.5, 1.5, 2.5], [3, 2]), None),  # the same outline
        (([0.5], []), ([0.5, 1.5, 2.5], [3, 2]), (0.5, 2.5)),  # from nothing
        (([0.5, 1.5], [3]), ([0.5], []), (0.5, 1.5)),  # to nothing
    ],
)
def test_changed_span_is_where_two_outlines_differ(old, new, span):
    from svdstudio.ui.widgets.spectrum_items import changed_span

    arrays = [np.asarray(a, float) for a in (*old, *new)]
    assert changed_span(*arrays) == span
