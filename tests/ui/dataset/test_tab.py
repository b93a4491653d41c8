"""The Dataset tab's GUI flow: datasets, methods, axes, hover, arrows, export, state."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QMessageBox,
    QWidget,
)

from svdstudio.io.datasets import load_bundled
from svdstudio.ui.dataset import scatter as dataset_scatter
from svdstudio.ui.dataset import tab as dataset_tab_module
from svdstudio.ui.dataset.tab import DatasetTab
from svdstudio.workers import JobRunner

TIMEOUT = 20000


def scatter_points(w: DatasetTab) -> np.ndarray:
    pts = [np.column_stack(item.getData()) for item in w.scatter.class_items()]
    return np.vstack(pts)


def sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_opens_on_iris_with_named_widgets(tab):
    for name in (
        "datasetTab",
        "datasetScatter",
        "datasetMethodCombo",
        "datasetXComponent",
        "datasetYComponent",
        "datasetSpectrum",
    ):
        assert tab.objectName() == name or tab.findChild(QWidget, name) is not None, name
    res = tab.result()
    assert res.method == "tsvd" and tab.dataset().n_rows == 150
    np.testing.assert_allclose(res.explained_variance_ratio[:2], [0.52875, 0.44846], atol=5e-5)
    np.testing.assert_allclose(tab.spectrum.values(), res.singular_values)
    assert tab.spectrum.rank() == 2
    assert tab.scatter.point_count() == 150
    assert len(tab.scatter.class_items()) == 3
    assert "150 rows × 4 features" in tab.notice_label.text()
    # Every method has its own one-line tooltip.
    combo = tab.method_combo
    tips = {combo.itemData(i, 3) for i in range(combo.count())}  # 3 = ToolTipRole
    assert len(tips) == 3 and all(tips)
    controls = (QAbstractButton, QAbstractSpinBox, QComboBox)
    for w in tab.findChildren(QWidget):
        if isinstance(w, controls) and w.isVisible():
            assert w.toolTip() and w.accessibleName(), w.objectName() or w.text()


def test_switch_method_and_axes(tab, qtbot):
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.method_combo.setCurrentIndex(1)  # PCA
    res = tab.result()
    assert res.method == "pca"
    np.testing.assert_allclose(res.explained_variance_ratio[:2], [0.92462, 0.05307], atol=1e-5)
    assert tab.x_spin.prefix() == "PC" and tab.x_spin.maximum() == 4
    tab.x_spin.setValue(3)
    tab.y_spin.setValue(4)
    expected = res.projection[:, [2, 3]]
    np.testing.assert_allclose(sorted_rows(scatter_points(tab)), sorted_rows(expected))
    axis = tab.scatter.getPlotItem().getAxis("bottom").labelText
    assert axis.startswith("PC3 (1.7 %")
    tab.swap_button.click()
    assert (tab.x_spin.value(), tab.y_spin.value()) == (4, 3)
    # Double-clicking σ_2 in the spectrum puts component 2 on the y axis.
    tab.spectrum.component_selected.emit(2)
    assert tab.y_spin.value() == 2


def test_switch_dataset_and_hover_digit(tab, qtbot):
    combo = tab.dataset_combo
    idx = combo.findData("digits")
    combo.setCurrentIndex(idx)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        combo.activated.emit(idx)
    ds = tab.dataset()
    assert ds.n_rows == 1797 and ds.label_name == "digit"
    assert "3 constant columns left out" in tab.notice_label.text()
    assert tab.digit_view.isVisible()
    i = 5
    view = tab.scatter
    pos = view.mapFromScene(view.scene_pos_of(i))
    qtbot.mouseMove(view.viewport(), pos)
    qtbot.waitUntil(lambda: view.hovered() >= 0, timeout=5000)
    j = view.hovered()
    assert "Row " in tab.hover_text()
    assert f"digit = {ds.labels[j]}" in tab.hover_text()
    raw = load_bundled("digits")
    values = raw.original_values(j)
    expected = np.array([[values[f"pixel_r{r}_c{c}"] for c in range(8)] for r in range(8)])
    np.testing.assert_array_equal(tab.digit_view.grid(), expected)


def test_hover_iris_point_tooltip(tab, qtbot):
    view = tab.scatter
    i = 60
    pos = view.mapFromScene(view.scene_pos_of(i))
    qtbot.mouseMove(view.viewport(), pos)
    qtbot.waitUntil(lambda: view.hovered() >= 0, timeout=5000)
    j = view.hovered()
    xy = tab.result().projection[:, :2]
    # The hovered point is the one aimed at (or one drawn on the very same spot).
    np.testing.assert_allclose(xy[j], xy[i], atol=0.05)
    ds = tab.dataset()
    text = tab.hover_text()
    assert text.startswith(f"Row {ds.row_numbers[j]} · species = {ds.labels[j]}")
    assert f"sepal_length_cm = {ds.X[j, 0]:.6g}" in text
    assert f"Row {ds.row_numbers[j]}" in tab.hover_title.text()
    assert not tab.digit_view.isVisible()
    # Far away from every point: nothing hovered.
    view.hover_scene_pos(view.getPlotItem().vb.sceneBoundingRect().topLeft())
    assert view.hovered() == -1 and tab.hover_text() == ""


def test_feature_arrows_and_fit_view(tab, qtbot):
    assert tab.scatter.arrow_count() == 0
    vb = tab.scatter.getPlotItem().vb
    fitted = vb.viewRange()
    vb.scaleBy((4, 4))
    assert vb.viewRange() != fitted
    qtbot.mouseDClick(tab.scatter.viewport(), Qt.MouseButton.LeftButton)
    np.testing.assert_allclose(vb.viewRange(), fitted)
    tab.arrows_check.setChecked(True)
    assert tab.scatter.arrow_count() == 4
    tab.arrows_check.setChecked(False)
    assert tab.scatter.arrow_count() == 0


def test_export_csv_png_svg(tab, tmp_path):
    tab.session.set_k(3)
    assert tab.spectrum.rank() == 3  # the spectrum shows the session's k
    out = tmp_path / "iris.csv"
    assert tab.export_csv(str(out))
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["row", "species", "SVD1", "SVD2", "SVD3"]
    assert len(rows) == 151 and rows[1][:2] == ["1", "setosa"]
    got = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(got, tab.result().projection[:, :3], rtol=1e-9)

    tab.copy()
    copied = QApplication.clipboard().text().splitlines()
    assert copied[0] == "row\tspecies\tSVD1\tSVD2\tSVD3" and len(copied) == 151

    png = tmp_path / "iris.png"
    assert tab.export_image(str(png))
    img = QImage(str(png))
    assert not img.isNull() and img.width() >= 800
    # The setosa colour (#4e79a7) is really drawn.
    step = max(1, img.width() // 300)
    colours = {
        img.pixelColor(x, y).name()
        for x in range(0, img.width(), step)
        for y in range(0, img.height(), step)
    }
    assert "#4e79a7" in colours

    svg = tmp_path / "iris.svg"
    assert tab.export_image(str(svg))
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "setosa (50)" in svg.read_text(encoding="utf-8")


def test_open_user_file_and_bad_file(tab, qtbot, tmp_path):
    good = tmp_path / "mine.tsv"
    good.write_text("a\tb\tc\tkind\n1\t2\t3\tx\n2\t1\t5\ty\n4\tNA\t1\tx\n3\t0\t2\ty\n5\t5\t0\tx\n")
    opened = []
    tab.file_opened.connect(opened.append)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(good))
    assert opened == [str(good.resolve())]
    assert tab.dataset().n_rows == 4
    assert "1 row with missing values" in tab.notice_label.text()
    assert tab.dataset_combo.currentText() == "mine.tsv"
    assert [tab.label_combo.itemText(i) for i in range(tab.label_combo.count())] == [
        "(no label)",
        "a",
        "b",
        "c",
        "kind",
    ]
    # Choose another label column: the table is re-read with it.
    tab.label_combo.setCurrentText("(no label)")
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.label_combo.activated.emit(0)
    assert tab.dataset().labels is None

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,kind\n1,2,x\n2,oops,y\n4,4,x\n")
    before = tab.dataset()
    assert not tab.open_file(str(bad))
    assert tab.dataset() is before
    box = tab.findChild(QMessageBox, "datasetErrorDialog")
    assert box is not None and "row 2 (line 3), column 2 'b'" in box.text()
    box.close()


def test_big_file_is_read_off_the_gui_thread(tab, qtbot, tmp_path, monkeypatch):
    # Pretend the table is big: read on the runner, dots drawn by the fast item.
    monkeypatch.setattr(dataset_tab_module, "SYNC_READ_BYTES", 0)
    monkeypatch.setattr(dataset_scatter, "FAST_POINTS_FROM", 100)
    p = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    lines = ["x,y,z,kind"] + [
        f"{a:.4f},{b:.4f},{c:.4f},{'pq'[i % 2]}" for i, (a, b, c) in enumerate(rng.random((300, 3)))
    ]
    p.write_text("\n".join(lines) + "\n")
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(p))
    assert tab.dataset().n_rows == 300 and tab.dataset().classes == ["p", "q"]
    items = tab.scatter.class_items()
    assert all(isinstance(it, dataset_scatter.FastPoints) for it in items) and len(items) == 2
    np.testing.assert_allclose(
        sorted_rows(scatter_points(tab)), sorted_rows(tab.result().projection[:, :2])
    )
    view = tab.scatter
    view.hover_scene_pos(view.scene_pos_of(7))
    assert view.hovered() >= 0 and tab.hover_text().startswith("Row ")
    png = tmp_path / "big.png"
    assert tab.export_image(str(png)) and not QImage(str(png)).isNull()


def test_state_round_trip(tab, qtbot, tmp_path):
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.load_bundled("wine")
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.set_method("standardized")
    tab.set_axes(2, 3)
    tab.arrows_check.setChecked(True)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_state(settings)
    settings.sync()

    runner = JobRunner()
    other = DatasetTab(runner)
    qtbot.addWidget(other)
    try:
        with qtbot.waitSignal(other.projection_ready, timeout=TIMEOUT):
            other.restore_state(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        assert other.dataset().n_features == 13
        assert other.method() == "standardized"
        assert (other.x_spin.value(), other.y_spin.value()) == (2, 3)
        assert other.arrows_check.isChecked() and other.scatter.arrow_count() > 0
    finally:
        runner.shutdown()


def test_export_menu_has_room_and_offers_each_type(tab, tmp_path, monkeypatch):
    button = tab.export_button
    # The menu arrow gets its own room beside the text (it used to cover the "t").
    style = button.style()
    indicator = style.pixelMetric(style.PixelMetric.PM_MenuButtonIndicator, None, button)
    text = button.fontMetrics().horizontalAdvance(button.text())
    assert button.width() >= text + indicator + 8
    offered = []

    def fake_dialog(_parent, _title, suggested, filters):
        offered.append((suggested, filters))
        return str(tmp_path / f"out{len(offered)}"), filters.split(";;")[0]

    monkeypatch.setattr(
        dataset_tab_module.dataset_export.QtWidgets.QFileDialog, "getSaveFileName", fake_dialog
    )
    actions = button.menu().actions()
    assert [a.text() for a in actions] == [
        "Projected coordinates (CSV)…",
        "Plot as PNG…",
        "Plot as SVG…",
    ]
    for action in actions:
        action.trigger()
    assert [f for _, f in offered] == [
        "Projected coordinates (*.csv)",
        "PNG image (*.png)",
        "SVG drawing (*.svg)",
    ]
    assert offered[0][0].endswith("iris_tsvd.csv")
    assert (tmp_path / "out1.csv").read_text().startswith("row,species,SVD1,SVD2")
    assert not QImage(str(tmp_path / "out2.png")).isNull()
    assert (tmp_path / "out3.svg").read_text(encoding="utf-8").lstrip().startswith("<")
