"""HoverIndex finds the same point as a plain pass over every point, in pixels; and the
scatter's hover uses it on a big table."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from svdstudio.ui.dataset import hover_index
from svdstudio.ui.dataset.hover_index import HoverIndex
from svdstudio.ui.dataset.scatter import HOVER_RADIUS_PX, DatasetScatter


def brute(x, y, tx, ty, sx, sy, radius):
    d2 = ((x - tx) * sx) ** 2 + ((y - ty) * sy) ** 2
    i = int(np.argmin(d2))
    return i if d2[i] <= radius**2 else -1


@pytest.mark.parametrize("n", [1, 7, 5000, 60_000])
def test_nearest_matches_a_plain_pass(n):
    rng = np.random.default_rng(n)
    # Clustered, with a long tail: cells of very different fill.
    x = np.concatenate([rng.normal(size=n - n // 10), rng.standard_cauchy(n // 10)])
    y = 0.01 * np.concatenate([rng.normal(size=n - n // 10), rng.normal(size=n // 10) * 30])
    index = HoverIndex(x, y).build()
    for sx, sy in ((300.0, -20_000.0), (40.0, -4000.0), (5000.0, -500_000.0)):
        for _ in range(200):
            j = int(rng.integers(n))
            tx = x[j] + rng.normal() * 8 / sx
            ty = y[j] + rng.normal() * 8 / abs(sy)
            assert index.nearest(tx, ty, sx, sy, 10.0) == brute(x, y, tx, ty, sx, sy, 10.0)
        # Far away from every point: nothing.
        assert index.nearest(x.max() + 100 / sx, 0.0, sx, sy, 10.0) == -1


def test_ties_go_to_the_lower_index_like_argmin():
    x = np.array([0.0, 1.0, 1.0, 1.0, 2.0])
    y = np.array([0.0, 1.0, 1.0, 1.0, 2.0])
    index = HoverIndex(x, y).build()
    assert index.nearest(1.0, 1.0, 10.0, -10.0, 5.0) == 1


def test_identical_coordinates_and_an_empty_index():
    index = HoverIndex(np.full(100, 3.0), np.full(100, -1.0)).build()
    assert index.nearest(3.0, -1.0, 50.0, 50.0, 10.0) == 0
    assert index.nearest(4.0, -1.0, 50.0, 50.0, 10.0) == -1
    assert HoverIndex(np.zeros(0), np.zeros(0)).build().nearest(0, 0, 1, 1, 10) == -1


def test_built_in_block_steps_and_correct_before_the_last(monkeypatch):
    monkeypatch.setattr(hover_index, "BLOCK", 1000)
    rng = np.random.default_rng(5)
    x, y = rng.random(4500), rng.random(4500)
    index = HoverIndex(x, y)
    steps = index.build_steps()
    assert len(steps) == HoverIndex.step_count(4500) == 2 + 5
    for step in steps[:-1]:
        assert not index.ready()
        # Half built: the answer is still right (a plain pass until the index is ready).
        assert index.nearest(0.5, 0.5, 500.0, -500.0, 10.0) == brute(x, y, 0.5, 0.5, 500, -500, 10)
        step()
    steps[-1]()
    assert index.ready()
    for tx, ty in rng.random((100, 2)):
        assert index.nearest(tx, ty, 500.0, -500.0, 10.0) == brute(x, y, tx, ty, 500, -500, 10)


def test_zoomed_far_out_still_right():
    rng = np.random.default_rng(9)
    x, y = rng.random(20_000), rng.random(20_000)
    index = HoverIndex(x, y).build()
    # 2 px across the whole data: the radius covers every cell (the plain pass is used).
    assert index.nearest(0.5, 0.5, 2.0, -2.0, 10.0) == brute(x, y, 0.5, 0.5, 2.0, -2.0, 10.0)


def test_scatter_hover_finds_the_point_under_the_cursor_on_a_big_table(qtbot):
    w = DatasetScatter()
    qtbot.addWidget(w)
    w.resize(700, 600)
    w.show()
    qtbot.waitExposed(w)
    rng = np.random.default_rng(2)
    xy = rng.normal(size=(120_000, 3))
    for step in w.point_steps(xy, None, [], "x", "y", columns=(0, 2)):
        step()
    assert w.point_count() == 120_000
    vb = w.getPlotItem().vb
    origin = vb.mapViewToScene(QtCore.QPointF(0.0, 0.0))
    unit = vb.mapViewToScene(QtCore.QPointF(1.0, 1.0))
    sx, sy = unit.x() - origin.x(), unit.y() - origin.y()
    for j in rng.integers(0, 120_000, size=40):
        pos = w.scene_pos_of(int(j)) + QtCore.QPointF(3.0, -2.0)
        target = vb.mapSceneToView(pos)
        expected = brute(xy[:, 0], xy[:, 2], target.x(), target.y(), sx, sy, HOVER_RADIUS_PX)
        assert expected >= 0
        assert w.hover_scene_pos(pos) == expected
        assert w.hovered() == expected
