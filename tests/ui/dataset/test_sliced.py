"""A big table is drawn in steps, one per event-loop pass (issue 11 §5): the steps, the point
raster built in chunks, the opaque grid and the column list filled when opened end with the
same picture and values as drawing at once."""

from __future__ import annotations

import csv
import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QImage, QPainter

from svdstudio.ui.dataset import points as dataset_points
from svdstudio.ui.dataset import view as dataset_view
from svdstudio.ui.dataset.points import FastPoints, PointCloud
from svdstudio.ui.dataset.scatter import GridAxis, class_colours
from svdstudio.ui.dataset.slices import Slices

TIMEOUT = 20000
ROWS = 6000  # above view.SLICED_FROM and scatter.FAST_POINTS_FROM (both 5000)


# ---------------------------------------------------------------- the step runner
def test_slices_run_in_order_one_per_pass_and_a_newer_queue_wins(qtbot):
    s = Slices()
    ran: list[str] = []
    finished: list[int] = []
    s.finished.connect(lambda: finished.append(len(ran)))
    s.queue("a", [lambda: ran.append("a1"), lambda: ran.append("a2")])
    s.queue("b", [lambda: ran.append("b1")])
    assert ran == [] and s.busy()  # nothing runs before the event loop does
    s.queue("a", [lambda: ran.append("A1")])  # replaces a's steps, and goes after b
    qtbot.waitUntil(lambda: not s.busy(), timeout=2000)
    assert ran == ["b1", "A1"] and finished == [2]
    # Cancel drops what is queued, quietly; flush runs it all now.
    s.queue("c", [lambda: ran.append("c1")])
    s.cancel()
    s.queue("d", [lambda: ran.append("d1"), lambda: ran.append("d2")])
    s.flush()
    assert ran == ["b1", "A1", "d1", "d2"] and finished == [2, 4] and not s.busy()


def test_a_step_that_cancels_ends_the_round_without_finished(qtbot):
    s = Slices()
    finished: list[bool] = []
    s.finished.connect(lambda: finished.append(True))
    s.queue("a", [s.cancel, lambda: finished.append(False)])
    qtbot.wait(50)
    assert finished == [] and not s.busy()


# ---------------------------------------------------------------- the point raster
def _plot(qtbot, groups: list[FastPoints]) -> tuple[pg.PlotWidget, PointCloud]:
    w = pg.PlotWidget(background="w")
    qtbot.addWidget(w)
    w.resize(420, 320)
    w.getPlotItem().hideAxis("left")
    w.getPlotItem().hideAxis("bottom")
    cloud = PointCloud(groups)
    w.getPlotItem().addItem(cloud)
    w.getPlotItem().vb.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    w.show()
    qtbot.waitExposed(w)
    return w, cloud


def _groups(size: float = 3) -> list[FastPoints]:
    rng = np.random.default_rng(4)
    colours = ["#4e79a7", "#f28e2b", "#e15759"]
    # Overlapping clouds, and points off the view on every side (clipped, not wrapped).
    return [
        FastPoints(*(rng.normal(loc=0.6 * i - 0.6, scale=1.3, size=(2, 3000))), c, size)
        for i, c in enumerate(colours)
    ]


def _pixels(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), dtype=np.uint32).reshape(img.height(), -1)
    return a[:, : img.width()] & 0xFFFFFF


@pytest.mark.parametrize("size", [3, 4])
def test_point_cloud_in_chunks_paints_what_one_step_paints_pixel_for_pixel(
    qtbot, monkeypatch, size
):
    groups = _groups(size)
    w1, c1 = _plot(qtbot, groups)
    one = _pixels(w1.grab().toImage())
    # Dots of 97 points per step, one step per paint: the picture is built over many passes.
    monkeypatch.setattr(PointCloud, "chunk_points", 97)
    monkeypatch.setattr(PointCloud, "slice_seconds", 0.0)
    w2, c2 = _plot(qtbot, groups)
    qtbot.waitUntil(lambda: not c2.drawing(), timeout=10000)
    assert not c1.drawing()
    chunked = _pixels(w2.grab().toImage())
    assert chunked.shape == one.shape
    np.testing.assert_array_equal(chunked, one)

    # Against an independent raster: each dot a size × size square around its rounded device
    # position, classes in order (a later class on top), inside the view box (clipped there).
    assert w1.devicePixelRatioF() == 1.0
    t = c1.deviceTransform(w1.viewportTransform())
    box = t.mapRect(w1.getPlotItem().vb.viewRect())
    left, top = math.floor(box.left()), math.floor(box.top())
    right, bottom = math.ceil(box.right()), math.ceil(box.bottom())
    offset = w1.viewport().mapTo(w1, QPoint(0, 0))
    want = np.full(one.shape, -1, dtype=np.int64)
    lo = -(size // 2)
    for g in groups:
        x, y = g.getData()
        colour = g.colour.rgb() & 0xFFFFFF
        for xi, yi in zip(x, y, strict=True):
            p = t.map(QPointF(float(xi), float(yi)))
            if not (left - 0.5 <= p.x() < right - 0.5 and top - 0.5 <= p.y() < bottom - 0.5):
                continue  # the centre is off the view: not drawn
            cx, cy = round(p.x()), round(p.y())
            r0, r1 = max(cy + lo, top), min(cy + lo + size, bottom)
            c0, c1_ = max(cx + lo, left), min(cx + lo + size, right)
            want[r0 + offset.y() : r1 + offset.y(), c0 + offset.x() : c1_ + offset.x()] = colour
    dots = want >= 0
    assert dots.sum() > 1000
    np.testing.assert_array_equal(one[dots], want[dots])
    # Elsewhere no class colour at all (the background and nothing else).
    colours = {g.colour.rgb() & 0xFFFFFF for g in groups}
    assert not np.isin(one[~dots], list(colours)).any()


def test_grow_is_a_square_max_filter():
    rng = np.random.default_rng(0)
    ranks = (rng.random((30, 40)) < 0.05) * rng.integers(1, 4, size=(30, 40))
    ranks = ranks.astype(np.uint8)
    for size in (1, 2, 3, 4, 5):
        offsets = dataset_points._offsets(size)
        got = dataset_points._grow(ranks, offsets)
        want = np.zeros_like(ranks)
        for dy in offsets:
            for dx in offsets:
                shifted = np.zeros_like(ranks)
                ys = slice(max(dy, 0), ranks.shape[0] + min(dy, 0))
                xs = slice(max(dx, 0), ranks.shape[1] + min(dx, 0))
                src_y = slice(max(-dy, 0), ranks.shape[0] + min(-dy, 0))
                src_x = slice(max(-dx, 0), ranks.shape[1] + min(-dx, 0))
                shifted[ys, xs] = ranks[src_y, src_x]
                want = np.maximum(want, shifted)
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- the grid
def test_grid_lines_are_opaque_and_the_colour_they_had_over_white(qtbot):
    w = pg.PlotWidget(background="w", axisItems={"left": GridAxis("left")})
    qtbot.addWidget(w)
    w.resize(400, 300)
    w.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
    w.show()
    qtbot.waitExposed(w)
    axis = w.getPlotItem().getAxis("left")
    img = QImage(400, 300, QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(img)
    try:
        ours = axis.generateDrawSpecs(painter)
        theirs = pg.AxisItem.generateDrawSpecs(axis, painter)
    finally:
        painter.end()
    assert len(ours[1]) == len(theirs[1]) > 3
    translucent = 0
    for (pen, a, b), (pen0, a0, b0) in zip(ours[1], theirs[1], strict=True):
        assert (a, b) == (a0, b0) and pen.color().alpha() == 255
        c0 = pen0.color()
        if c0.alpha() < 255:
            translucent += 1
        alpha = c0.alphaF()
        for got, ink in zip(pen.color().getRgb()[:3], c0.getRgb()[:3], strict=True):
            assert got == round(255 * (1 - alpha) + ink * alpha)
    assert translucent > 3


# ---------------------------------------------------------------- the tab, end to end
def _write_table(path, rows: int = ROWS) -> np.ndarray:
    rng = np.random.default_rng(2)
    kinds = np.array(["alpha", "beta", "gamma"])[rng.integers(0, 3, size=rows)]
    X = rng.normal(size=(rows, 4)) + (kinds == "beta")[:, None] * 2.0
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["a", "b", "c", "d", "kind"])
        for row, kind in zip(X, kinds, strict=True):
            out.writerow([f"{v:.6f}" for v in row] + [kind])
    return kinds


def _shown(tab) -> dict:
    """Everything the scatter shows, as values."""
    pi = tab.scatter.getPlotItem()
    items = tab.scatter.class_items()
    return {
        "n": tab.scatter.point_count(),
        "kinds": [type(it).__name__ for it in items],
        "colours": [it.colour.name() for it in items],
        "data": [np.column_stack(it.getData()) for it in items],
        "legend": [label.text for _sample, label in tab.scatter.legend().items],
        "x_title": pi.getAxis("bottom").labelText,
        "y_title": pi.getAxis("left").labelText,
        "title": pi.titleLabel.text,
        "arrows": tab.scatter.arrow_count(),
        "range": pi.vb.viewRange(),
    }


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key == "data":
            assert len(a[key]) == len(b[key])
            for x, y in zip(a[key], b[key], strict=True):
                np.testing.assert_array_equal(x, y)
        elif key == "range":
            np.testing.assert_allclose(a[key], b[key])
        else:
            assert a[key] == b[key], key


def test_a_big_table_is_drawn_in_steps_and_ends_as_drawn_at_once(tab, qtbot, tmp_path):
    p = tmp_path / "big.csv"
    kinds = _write_table(p)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(p))
    res, s = tab.result(), tab.session
    assert tab.dataset().n_rows == ROWS and tab.scatter.point_count() == ROWS
    # Every point, in its class's item, with its class's colour.
    colours = class_colours(s.classes())
    items = tab.scatter.class_items()
    assert [it.colour.name() for it in items] == [colours[c] for c in s.classes()]
    assert all(isinstance(it, FastPoints) for it in items)
    for c, it in zip(s.classes(), items, strict=True):
        got = np.column_stack(it.getData())
        np.testing.assert_array_equal(got, res.projection[kinds == c][:, :2])
    assert sum(it.getData()[0].size for it in items) == ROWS
    assert [label.text for _s, label in tab.scatter.legend().items] == [
        f"{c} ({int((kinds == c).sum())})" for c in s.classes()
    ]

    # Changing the axes: drawn over several passes (the old picture stays meanwhile).
    s.set_arrows(True)
    qtbot.waitUntil(lambda: not tab.view.drawing(), timeout=TIMEOUT)
    s.set_axes(2, 3)
    assert tab.view.drawing()
    assert tab.scatter.getPlotItem().getAxis("bottom").labelText.startswith("SVD1 ")
    qtbot.waitUntil(lambda: not tab.view.drawing(), timeout=TIMEOUT)
    sliced = _shown(tab)
    assert sliced["x_title"].startswith("SVD2 ") and sliced["y_title"].startswith("SVD3 ")
    for c, data in zip(s.classes(), sliced["data"], strict=True):
        np.testing.assert_array_equal(data, res.projection[kinds == c][:, [1, 2]])
    assert sliced["arrows"] == 4
    tab.scatter.viewport().repaint()
    sliced_png = _pixels(tab.scatter.grab().toImage())

    # The same view drawn at once (as a small table is): the same values and pixels.
    dataset_view.SLICED_FROM, saved = 10**9, dataset_view.SLICED_FROM
    try:
        s.set_axes(1, 2)
        s.set_axes(2, 3)
        assert not tab.view.drawing()
        once = _shown(tab)
        tab.scatter.viewport().repaint()
        once_png = _pixels(tab.scatter.grab().toImage())
    finally:
        dataset_view.SLICED_FROM = saved
    _same(sliced, once)
    np.testing.assert_array_equal(sliced_png, once_png)

    # Hover and export reach every row, as before.
    view = tab.scatter
    for i in (0, ROWS // 2, ROWS - 1):
        assert view.hover_scene_pos(view.scene_pos_of(i)) >= 0
    out = tmp_path / "coords.csv"
    assert tab.export_csv(str(out))
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == ROWS + 1 and rows[0][:2] == ["row", "kind"]
    np.testing.assert_allclose(
        np.array([[float(v) for v in r[2:5]] for r in rows[1:]]), res.projection[:, :3], rtol=1e-6
    )


def test_exporting_the_plot_while_it_is_drawn_exports_the_finished_picture(tab, qtbot, tmp_path):
    p = tmp_path / "big.csv"
    _write_table(p)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(p))
    tab.session.set_axes(1, 3)
    assert tab.view.drawing()
    assert tab.export_image(str(tmp_path / "plot.png"))
    assert not tab.view.drawing()
    assert tab.scatter.getPlotItem().getAxis("left").labelText.startswith("SVD3 ")


def test_a_new_projection_drops_the_steps_of_the_old_one(tab, qtbot, tmp_path):
    p = tmp_path / "big.csv"
    _write_table(p)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(p))
    drawn: list[str] = []
    tab.projection_ready.connect(lambda: drawn.append(tab.result().method))
    tab.session.set_axes(2, 3)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.set_method("pca")  # while the axes are still being drawn
    assert drawn == ["pca"] and not tab.view.drawing()
    assert tab.scatter.point_count() == ROWS
    assert tab.scatter.getPlotItem().getAxis("bottom").labelText.startswith("PC2 ")


def test_the_column_list_is_filled_when_it_opens(tab, qtbot):
    button = tab.columns_button
    s = tab.session
    assert button.text() == "Columns 4/4" and button.excluded() == ()
    s.set_excluded(["petal_length_cm"])
    assert button.excluded() == ("petal_length_cm",) and button.text() == "Columns 3/4"
    assert button.list.count() == 0  # nothing listed before the list is opened
    menu = button.menu()
    menu.popup(button.mapToGlobal(QPoint(0, button.height())))
    try:
        qtbot.waitUntil(menu.isVisible, timeout=3000)
        ticks = {
            button.list.item(i).text(): button.list.item(i).checkState().name
            for i in range(button.list.count())
        }
    finally:
        menu.hide()
    assert list(ticks) == list(s.all_features())
    assert [n for n, state in ticks.items() if state != "Checked"] == ["petal_length_cm"]
    assert button.excluded() == ("petal_length_cm",)


def test_grid_is_drawn_under_the_points(tab):
    pi = tab.scatter.getPlotItem()
    for name in ("left", "bottom"):
        assert isinstance(pi.getAxis(name), GridAxis)
        assert pi.getAxis(name).zValue() < pi.vb.zValue()
