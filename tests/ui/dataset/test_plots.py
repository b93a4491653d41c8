"""What a student reads on the Dataset plots: plain tick numbers, a legend that hides nothing,
arrow labels apart, and exports (PNG, vector SVG) that show the same picture."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QByteArray, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from svdstudio.ui.dataset import scatter as dataset_scatter
from svdstudio.ui.dataset.biplot import place_labels
from svdstudio.ui.widgets.plot_export import flatten_svg_strokes

TIMEOUT = 20000


def show(tab, qtbot, name, method="tsvd", arrows=True, axes=(1, 2)):
    if tab.session.state.source != name:
        with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
            tab.load_bundled(name)
    if tab.session.method != method:
        with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
            tab.session.set_method(method)
    tab.session.set_axes(*axes)
    tab.session.set_arrows(arrows)


def test_no_si_prefix_on_unitless_axes(tab, qtbot, tmp_path):
    # Scores near ±0.0008 and σ near 0.001: ticks must read 0.0004, not 400 with "(x0.001)".
    rng = np.random.default_rng(5)
    rows = ["a,b,c,kind"] + [
        f"{a:.3e},{b:.3e},{c:.3e},{'pq'[i % 2]}"
        for i, (a, b, c) in enumerate(1e-4 * rng.normal(size=(60, 3)))
    ]
    p = tmp_path / "tiny.csv"
    p.write_text("\n".join(rows) + "\n")
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(p))
    assert tab.result().singular_values[0] < 0.01
    axes = [tab.scatter.getPlotItem().getAxis(n) for n in ("left", "bottom")]
    spec = tab.spectrum.plot_widget().getPlotItem()
    axes += [spec.getAxis(n) for n in ("left", "bottom")]
    for axis in axes:
        assert axis.autoSIPrefixScale == 1.0
        assert "x0.0" not in axis.labelString() and "(x" not in axis.labelString()
    left = axes[0]
    lo, hi = tab.scatter.getPlotItem().vb.viewRange()[1]
    ticks = [v for level in left.tickValues(lo, hi, left.height()) for v in level[1]]
    strings = left.tickStrings(ticks, 1.0, abs(ticks[1] - ticks[0]))
    assert all(abs(float(t.replace("−", "-"))) < 0.01 for t in strings)


def scene_points(tab):
    vb = tab.scatter.getPlotItem().vb
    pts = []
    for item in tab.scatter.class_items():
        x, y = item.getData()
        pts += [vb.mapViewToScene(QPointF(float(a), float(b))) for a, b in zip(x, y, strict=True)]
    return pts


@pytest.mark.parametrize(
    ("name", "method", "size"),
    [
        ("digits", "tsvd", (1100, 700)),
        ("digits", "pca", (1040, 820)),
        ("iris", "tsvd", (1280, 900)),
        ("wine", "standardized", (1024, 600)),
    ],
)
def test_legend_covers_no_point_and_no_label(tab, qtbot, name, method, size):
    show(tab, qtbot, name, method)
    tab.resize(*size)
    qtbot.waitUntil(lambda: tab.size().width() == size[0], timeout=2000)
    legend = tab.scatter.legend()
    assert legend.isVisible()
    box = legend.sceneBoundingRect()
    vb_rect = tab.scatter.getPlotItem().vb.sceneBoundingRect()
    assert vb_rect.contains(box)
    inside = [p for p in scene_points(tab) if box.adjusted(-3, -3, 3, 3).contains(p)]
    assert inside == []
    for label in tab.scatter.arrow_labels():
        assert not label.sceneBoundingRect().intersects(box), label.toPlainText()
    # Semi-transparent, and it can be dragged away.
    assert legend.opts["brush"].color().alpha() < 255
    assert legend.acceptedMouseButtons() & Qt.MouseButton.LeftButton


def test_legend_text_as_large_as_the_axis_titles(tab):
    axis_font = tab.scatter.getPlotItem().getAxis("bottom").label.font()
    legend = tab.scatter.legend()
    _sample, label = legend.items[0]
    assert label.item.font().pointSizeF() >= axis_font.pointSizeF() > 0


@pytest.mark.parametrize(
    ("name", "method", "axes", "count"),
    [
        ("wine", "standardized", (1, 2), 12),
        ("wine", "pca", (2, 3), 2),
        ("digits", "tsvd", (1, 2), 12),
        ("digits", "standardized", (1, 2), 12),
        ("iris", "pca", (3, 4), 2),
    ],
)
def test_arrow_labels_kept_apart(tab, qtbot, name, method, axes, count):
    show(tab, qtbot, name, method, axes=axes)
    labels = tab.scatter.arrow_labels()
    assert len(labels) == tab.scatter.arrow_count() >= count
    rects = [lab.sceneBoundingRect() for lab in labels]
    vb_rect = tab.scatter.getPlotItem().vb.sceneBoundingRect()
    for (i, a), (j, b) in itertools.combinations(enumerate(rects), 2):
        assert not a.intersects(b), (labels[i].toPlainText(), labels[j].toPlainText())
    for lab, r in zip(labels, rects, strict=True):
        assert vb_rect.adjusted(-1, -1, 1, 1).contains(r), lab.toPlainText()
    # Zoomed in, they are placed again (still apart).
    tab.scatter.getPlotItem().vb.scaleBy((0.7, 0.7))
    rects = [lab.sceneBoundingRect() for lab in labels]
    overlapping = [
        (a, b) for a, b in itertools.combinations(rects, 2) if a.intersected(b).width() > 1
    ]
    assert overlapping == []


def test_place_labels_for_arrows_on_one_spot():
    # Twelve arrows to nearly the same tip: every label gets its own rectangle, near its tip.
    tips = [QPointF(300 + i * 0.5, 200 - i * 0.3) for i in range(12)]
    sizes = [(90.0, 20.0)] * 12
    legend = QRectF(380, 150, 100, 80)
    bounds = QRectF(0, 0, 640, 480)
    rects = place_labels(tips, QPointF(100, 300), sizes, [legend], bounds)
    for a, b in itertools.combinations(rects, 2):
        both = a.intersected(b)
        assert both.width() * both.height() < 1e-6, (a, b)
    assert all(not r.intersects(legend) and bounds.contains(r) for r in rects)
    assert max(np.hypot(r.center().x() - 300, r.center().y() - 200) for r in rects) < 250


# ---------------------------------------------------------------- exports
def rasterise_rsvg(svg, width, height, out):
    exe = shutil.which("rsvg-convert")
    if exe is None:
        return None
    subprocess.run(
        [exe, "-w", str(width), "-h", str(height), "-b", "white", "-o", str(out), str(svg)],
        check=True,
        timeout=60,
    )
    return QImage(str(out))


def rasterise_qt(svg, width, height):
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.read_bytes()))
    assert renderer.isValid()
    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    renderer.render(p, QRectF(0, 0, width, height))
    p.end()
    return img


def grey_blocks(img, block=16):
    """The image as a coarse grid of mean darkness (0 white … 1 black)."""
    img = img.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h = img.width(), img.height()
    stride = img.bytesPerLine()
    a = np.frombuffer(img.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)[:, :w]
    a = 1.0 - a[: h - h % block, : w - w % block] / 255.0
    return a.reshape(h // block, block, w // block, block).mean(axis=(1, 3))


def assert_same_picture(png, raster):
    a, b = grey_blocks(png), grey_blocks(raster)
    assert a.shape == b.shape
    # Same ink overall (a band of a 1-px line widened 50× adds several times the ink)...
    assert b.mean() == pytest.approx(a.mean(), rel=0.25)
    # ...in the same places: no block far darker in one than in the other.
    assert np.max(np.abs(a - b)) < 0.35
    assert np.mean(np.abs(a - b)) < 0.02


@pytest.mark.parametrize("fast_points", [False, True])
def test_svg_is_vector_and_renders_like_the_png(tab, qtbot, tmp_path, monkeypatch, fast_points):
    if fast_points:
        monkeypatch.setattr(dataset_scatter, "FAST_POINTS_FROM", 100)
        with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
            tab.load_bundled("wine")
    tab.session.set_arrows(True)
    png, svg = tmp_path / "p.png", tmp_path / "p.svg"
    assert tab.export_image(str(png)) and tab.export_image(str(svg))
    text = svg.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.findall(f".//{ns}image") == []  # scatter points are paths, not bitmaps
    # No cosmetic stroke is left under a scaling transform (the cause of the bands).
    for g in root.iter(f"{ns}g"):
        t = g.get("transform", "")
        if t.startswith("matrix(") and not t.startswith("matrix(1,0,0,1,"):
            assert all(c.get("vector-effect") != "non-scaling-stroke" for c in g), t
    assert "setosa (50)" in text or "class_0 (59)" in text
    img = QImage(str(png))
    raster = rasterise_rsvg(svg, img.width(), img.height(), tmp_path / "r.png")
    if raster is not None:
        assert_same_picture(img, raster)
    assert_same_picture(img, rasterise_qt(svg, img.width(), img.height()))


def test_png_legend_grows_with_the_plot(tab, tmp_path):
    png = tmp_path / "p.png"
    assert tab.export_image(str(png))
    img = QImage(str(png))
    plot_rect = tab.scatter.getPlotItem().sceneBoundingRect()
    ratio = img.width() / plot_rect.width()
    assert ratio == pytest.approx(2.0, rel=0.02)
    box = tab.scatter.legend().sceneBoundingRect().translated(-plot_rect.topLeft())
    # The legend's grey frame is where the scaled legend would be: its top edge runs across.
    y = round(box.top() * ratio)
    xs = range(round(box.left() * ratio) + 4, round(box.right() * ratio) - 4)
    frame = [
        min(abs(img.pixelColor(x, yy).red() - 0xC8) for yy in range(y - 2, y + 3)) < 40 for x in xs
    ]
    assert np.mean(frame) > 0.9
    # And the same frame sits at the right edge, twice as far from the left as on screen.
    x_right = round(box.right() * ratio)
    column = [
        min(abs(img.pixelColor(xx, yy).red() - 0xC8) for xx in range(x_right - 2, x_right + 3)) < 40
        for yy in range(round(box.top() * ratio) + 4, round(box.bottom() * ratio) - 4)
    ]
    assert np.mean(column) > 0.9


def test_flatten_svg_strokes_maps_coordinates():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        '<g stroke="#000" stroke-width="1" transform="matrix(10,0,0,-20,5,50)">'
        '<polyline vector-effect="non-scaling-stroke" points="0,0 1,1"/>'
        '<path vector-effect="non-scaling-stroke" d="M0,0 L2,1 Z"/>'
        '<text x="0" y="0">kept</text>'
        "</g></svg>"
    )
    root = ET.fromstring(flatten_svg_strokes(svg))
    ns = "{http://www.w3.org/2000/svg}"
    groups = root.findall(f"{ns}g")
    assert len(groups) == 2
    assert "transform" not in groups[0].attrib
    assert groups[0].find(f"{ns}polyline").get("points") == "5,50 15,30"
    assert groups[0].find(f"{ns}path").get("d") == "M 5,50 L 25,30 Z"
    assert groups[1].get("transform") == "matrix(10,0,0,-20,5,50)"
    assert groups[1].find(f"{ns}text").text == "kept"


def near(a, b, tol=12):
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) <= tol


def test_point_cloud_draws_every_class_where_its_points_are(tab, qtbot, monkeypatch):
    # Big tables' dots are rasterised by one PointCloud: each dot's pixel has its class colour.
    monkeypatch.setattr(dataset_scatter, "FAST_POINTS_FROM", 100)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.load_bundled("wine")
    view = tab.scatter
    assert all(isinstance(g, dataset_scatter.FastPoints) for g in view.class_items())
    img = view.grab().toImage()
    ratio = img.devicePixelRatio()
    colours = dataset_scatter.class_colours(tab.session.classes())
    ds = tab.dataset()
    hits = 0
    for i in range(0, ds.n_rows, 7):
        p = view.mapFromScene(view.scene_pos_of(i))
        got = img.pixelColor(round(p.x() * ratio), round(p.y() * ratio))
        # The faint grid is drawn over the dots: allow its slight darkening.
        hits += any(near(got, QColor(c)) for c in colours.values())
    assert hits >= 0.9 * len(range(0, ds.n_rows, 7))
    # The last class drawn is on top where dots overlap; every class shows somewhere.
    seen = {
        img.pixelColor(x, y).name()
        for x in range(0, img.width(), 2)
        for y in range(0, img.height(), 2)
    }
    assert set(colours.values()) <= seen
