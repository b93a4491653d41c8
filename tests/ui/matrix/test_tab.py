"""MatrixTab with a real JobRunner: article figures, rank slicing, paste/undo, waits, presets."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QLabel, QSpinBox, QTableView

from svdstudio.ui.matrix.presets import ARTICLE_MATRIX
from svdstudio.ui.matrix.tab import MatrixTab

EDIT = Qt.ItemDataRole.EditRole
# Printed in the reference article (2 decimals).
ARTICLE_A2 = [[5.97, 5.80, 2.51], [0.12, 1.87, 0.72], [4.04, 0.26, 0.31], [-0.01, 5.91, 2.25]]
ARTICLE_A1 = [[4.79, 6.57, 2.75], [0.96, 1.32, 0.55], [1.43, 1.95, 0.82], [2.92, 4.01, 1.67]]
ARTICLE_U2S2 = [[-8.58, -1.43], [-1.73, 1.02], [-2.55, -3.15], [-5.23, 3.54]]


@pytest.fixture
def tab(qtbot, runner):
    t = MatrixTab(runner)
    qtbot.addWidget(t)
    t.resize(1280, 760)
    t.load_defaults()
    wait_for(qtbot, t, ARTICLE_MATRIX)
    return t


def wait_for(qtbot, tab, matrix, k=None, timeout=10_000):
    """Wait until the views show the SVD of ``matrix`` (at rank k)."""

    def ready():
        res = tab.result()
        shown = tab.results.views["Ak"].array_model().array()
        return (
            res is not None
            and tab.results.state() == "full"  # from 500×500 up, σ come first
            and res.shape == np.shape(matrix)
            and tab.results.banner.isHidden()
            and np.allclose(tab.results.views["R"].array_model().array() + shown, matrix)
            and (k is None or tab.rank() == k)
        )

    qtbot.waitUntil(ready, timeout=timeout)


def view_values(tab, name):
    view = tab.findChild(QTableView, name)
    model = view.model()
    return np.array(
        [
            [
                model.data(model.index(r, c), Qt.ItemDataRole.UserRole)
                for c in range(model.columnCount())
            ]
            for r in range(model.rowCount())
        ]
    )


def test_article_through_table_and_rank_spin(qtbot, tab):
    table = tab.findChild(QTableView, "matrixTable")
    model = table.model()
    tab.load_preset("identity")
    wait_for(qtbot, tab, np.eye(4, 3))
    for (r, c), v in np.ndenumerate(ARTICLE_MATRIX):
        assert model.setData(model.index(r, c), str(v) if r % 2 else float(v), EDIT)
    spin = tab.findChild(QSpinBox, "rankSpin")
    spin.setValue(1)
    spin.setValue(2)
    wait_for(qtbot, tab, ARTICLE_MATRIX, k=2)
    panel = tab.findChild(QLabel, "errorPanel")
    qtbot.waitUntil(lambda: "6.9048" in panel.text() and "2.6277" in panel.text())
    assert panel.text().count("6.9048") == 2  # ‖A − A_k‖_F² and Σ dropped σ², side by side
    assert panel.text().count("2.6277") == 2  # ‖A − A_k‖_F and ‖A − A_k‖₂ = σ₃
    np.testing.assert_allclose(view_values(tab, "reconstructionView"), ARTICLE_A2, atol=0.006)
    np.testing.assert_allclose(
        np.abs(view_values(tab, "reducedView")), np.abs(ARTICLE_U2S2), atol=0.006
    )
    sv = view_values(tab, "singularValuesView")[:, 0]
    np.testing.assert_allclose(sv, [10.51, 5.06, 2.63], atol=0.006)
    info = tab.results.info_text()
    assert "4 × 3" in info and "numerical rank 3 of 3" in info
    s = np.linalg.svd(ARTICLE_MATRIX, compute_uv=False)
    assert f"condition number σ1/σ3 = {s[0] / s[2]:.4g}" in info
    tol = tab.result().s[0] * 4 * np.finfo(float).eps
    assert f"(σi > {tol:.3g})" in info


def article_errors(k):
    """The error panel's figures at rank k, computed here with plain numpy."""
    s = np.linalg.svd(ARTICLE_MATRIX, compute_uv=False)
    tail = float(np.sum(s[k:] ** 2))
    total = float(np.sum(s**2))
    return {
        "frobenius": f"{np.sqrt(tail):.4f}",
        "frobenius_squared": f"{tail:.4f}",
        "dropped_energy": f"{tail:.4f}",
        "spectral": f"{s[k] if k < 3 else 0.0:.4f}",
        "relative": f"{np.sqrt(tail / total):.4f}",
        "energy_retained": f"{100 * (1 - tail / total):.2f} %",
    }


def test_rank_change_slices_without_recomputing(qtbot, tab, runner):
    started = []
    runner.started.connect(lambda *a: started.append(a))
    assert tab.results.error_values() == article_errors(2)
    with qtbot.waitSignal(tab.results_updated):
        tab.findChild(QSpinBox, "rankSpin").setValue(1)
    np.testing.assert_allclose(view_values(tab, "reconstructionView"), ARTICLE_A1, atol=0.006)
    assert tab.results.error_values() == article_errors(1)
    assert (
        tab.results.error_values()["frobenius_squared"] == "32.4649"
    )  # σ2² + σ3², the article's 32.465
    assert started == []


def test_drag_preview_updates_only_the_error_panel(qtbot, tab):
    before = view_values(tab, "reconstructionView")
    tab.results.spectrum.rank_previewed.emit(1)
    assert tab.results.error_text().startswith("Rank k = 1: keeping σ1, dropping σ2 … σ3.")
    assert tab.results.error_values() == article_errors(1)
    np.testing.assert_array_equal(view_values(tab, "reconstructionView"), before)
    assert tab.rank() == 2  # a preview does not commit
    tab.results.spectrum.rank_previewed.emit(3)
    assert tab.results.error_values() == article_errors(3)


def test_paste_block_then_undo_redo(qtbot, tab):
    table = tab.findChild(QTableView, "matrixTable")
    table.setCurrentIndex(table.model().index(1, 1))
    QApplication.clipboard().setText("1.5\t2\n3\t4\n5\t6\n")
    assert tab.paste()
    after = ARTICLE_MATRIX.copy()
    after[1:4, 1:3] = [[1.5, 2], [3, 4], [5, 6]]
    np.testing.assert_array_equal(tab.model().values(), after)
    wait_for(qtbot, tab, after)
    tab.undo_stack().undo()
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)
    tab.undo_stack().redo()
    np.testing.assert_array_equal(tab.model().values(), after)
    wait_for(qtbot, tab, after)


def test_paste_grows_and_warns_about_ragged_rows(qtbot, tab):
    table = tab.findChild(QTableView, "matrixTable")
    table.setCurrentIndex(table.model().index(3, 2))
    with qtbot.waitSignal(tab.status_message) as blocker:
        tab.paste_text("7\t8\n9\n")
    assert tab.model().matrix_shape() == (5, 4)
    assert tab.model().values()[4].tolist() == [0, 0, 9, 0]
    assert "padded" in blocker.args[0] and "2" in blocker.args[0]
    assert "padded" in tab.hint.text()
    tab.undo_stack().undo()
    assert tab.model().matrix_shape() == (4, 3)


def test_copy_selection_as_tsv(qtbot, tab):
    table = tab.findChild(QTableView, "matrixTable")
    sel = table.selectionModel()
    model = table.model()
    from PySide6.QtCore import QItemSelection

    sel.select(
        QItemSelection(model.index(0, 0), model.index(1, 1)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect,
    )
    table.setFocus()
    tab.copy()
    assert QApplication.clipboard().text() == "6\t6\n0\t1\n"


def test_invalid_cell_is_red_and_results_wait(qtbot, tab):
    model = tab.findChild(QTableView, "matrixTable").model()
    with qtbot.waitSignal(tab.status_message) as blocker:
        model.setData(model.index(1, 2), "3..5", EDIT)
    assert blocker.args[0].startswith("Results wait: cell (2, 3) is not a number")
    ix = model.index(1, 2)
    assert model.data(ix, Qt.ItemDataRole.BackgroundRole).color().red() > 200
    assert "not a number" in model.data(ix, Qt.ItemDataRole.ToolTipRole)
    banner = tab.results.banner
    assert banner.isVisibleTo(tab) and "cell (2, 3) is not a number" in banner.text()
    assert not tab.results.tabs.isEnabled()
    model.setData(ix, "5", EDIT)
    fixed = ARTICLE_MATRIX.copy()
    fixed[1, 2] = 5
    wait_for(qtbot, tab, fixed)
    assert tab.results.tabs.isEnabled()


def test_resize_with_spin_boxes_and_undo(qtbot, tab):
    rows = tab.findChild(QSpinBox, "rowsSpin")
    cols = tab.findChild(QSpinBox, "colsSpin")
    rows.setValue(6)
    cols.setValue(2)
    assert tab.model().matrix_shape() == (6, 2)
    np.testing.assert_array_equal(tab.model().values()[:4], ARTICLE_MATRIX[:, :2])
    assert np.all(tab.model().values()[4:] == 0)
    tab.undo_stack().undo()
    assert tab.model().matrix_shape() == (6, 3)
    tab.undo_stack().undo()
    assert tab.model().matrix_shape() == (4, 3)
    assert (rows.value(), cols.value()) == (4, 3)
    wait_for(qtbot, tab, ARTICLE_MATRIX)


def test_presets_have_the_promised_rank(qtbot, tab):
    tab.findChild(QSpinBox, "rowsSpin").setValue(7)
    tab.findChild(QSpinBox, "colsSpin").setValue(5)
    tab.preset_rank.setValue(3)
    tab.load_preset("random")
    wait_for(qtbot, tab, tab.model().values().copy())
    assert tab.model().matrix_shape() == (7, 5)
    assert tab.result().rank == 3
    tab.load_preset("outer")
    wait_for(qtbot, tab, np.outer(np.arange(1, 8), np.arange(1, 6)))
    assert tab.result().rank == 1
    assert tab.rank() == 2  # k kept when still possible
    tab.load_preset("hilbert")
    wait_for(qtbot, tab, tab.model().values().copy())
    assert tab.result().condition_number > 1e5


def test_sigma_row_click_shows_rank_one_term(qtbot, tab):
    view = tab.findChild(QTableView, "singularValuesView")
    view.clicked.emit(view.model().index(1, 0))
    res = tab.result()
    expected = res.s[1] * np.outer(res.U[:, 1], res.Vt[1])
    np.testing.assert_allclose(view_values(tab, "rankOneView"), expected)
    tab.results.spectrum.component_selected.emit(3)
    assert tab.results.tabs.currentWidget() is tab.findChild(QTableView, "rankOneView")
    assert tab.results.tabs.tabText(tab.results.tabs.currentIndex()) == "σ₃u₃v₃ᵀ"


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_save_and_open_round_trip(qtbot, tab, tmp_path, monkeypatch, suffix):
    data = np.array([[1.25, -2.0], [3.0, 1e-9], [0.1, 7.0]])
    tab.model().load_matrix(data)
    path = tmp_path / f"m{suffix}"
    assert tab.has_unsaved_changes()
    assert tab.save_to(str(path))
    assert not tab.has_unsaved_changes()
    tab.load_preset("identity")
    assert tab.has_unsaved_changes()
    asked = []
    monkeypatch.setattr(tab, "_ask_save_changes", lambda: asked.append(1) or "discard")
    with qtbot.waitSignal(tab.file_opened) as blocker:
        assert tab.open_file(str(path))
    assert asked == [1]
    assert blocker.args == [str(path)]
    np.testing.assert_array_equal(tab.model().values(), data)
    assert not tab.has_unsaved_changes()
    wait_for(qtbot, tab, data)


def test_open_bad_file_reports_and_keeps_matrix(qtbot, tab, tmp_path, monkeypatch):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,x\n")
    shown = []
    monkeypatch.setattr(tab, "_show_error", lambda title, msg: shown.append(msg))
    assert not tab.open_file(str(bad))
    assert shown and "bad.csv" in shown[0]
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)


def test_maybe_save_cancel_keeps_edits(qtbot, tab, monkeypatch):
    tab.model().set_cell(0, 0, 9)
    monkeypatch.setattr(tab, "_ask_save_changes", lambda: "cancel")
    assert tab.maybe_save() is False
    assert not tab.open_file("whatever.csv")
    assert tab.model().values()[0, 0] == 9


def test_drop_file_opens_it(qtbot, tab, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    path = tmp_path / "dropped.tsv"
    path.write_text("1\t2\n3\t4\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(tab.file_opened):
        tab.dropEvent(event)
    assert tab.model().values().tolist() == [[1, 2], [3, 4]]


def test_state_round_trip_keeps_typed_text(qtbot, tab, runner, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    model = tab.model()
    model.setData(model.index(2, 1), "0.125", EDIT)
    model.setData(model.index(0, 2), "half", EDIT)
    tab.results.decimals.setValue(6)
    tab.save_state(settings)
    settings.sync()
    other = MatrixTab(runner)
    qtbot.addWidget(other)
    other.restore_state(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert other.model().values()[2, 1] == 0.125
    assert other.model().invalid_cells() == {(0, 2): "half"}
    assert other.has_unsaved_changes()
    assert other.results.decimals.value() == 6
    model.setData(model.index(0, 2), "2", EDIT)
    other.model().set_cell(0, 2, "2")  # make both valid, then compare what the grids show
    shown = ARTICLE_MATRIX.copy()
    shown[2, 1] = 0.125
    wait_for(qtbot, other, shown)
    u = other.findChild(QTableView, "uView").model()
    res = other.result()
    assert u.index(0, 0).data() == f"{res.U[0, 0]:.6f}"
    assert len(u.index(0, 0).data().split(".")[1]) == 6
    assert other.results.error_values()["frobenius"] == f"{res.s[2]:.6f}"


def test_large_matrix_rank_change_slices_the_cached_factors(qtbot, tab, runner):
    """500×500: decomposed once in a worker process; k = 50 slices it (timing: the benchmark)."""
    rng = np.random.default_rng(0)
    big = rng.standard_normal((500, 500))
    tab.model().load_matrix(big)
    wait_for(qtbot, tab, big, timeout=60_000)  # decomposed in a worker process
    started = []
    runner.started.connect(lambda *a: started.append(a))
    with qtbot.waitSignal(tab.results_updated):
        tab.findChild(QSpinBox, "rankSpin").setValue(50)
    assert started == []  # no new decomposition
    assert tab.findChild(QTableView, "reconstructionView").model().rowCount() == 500
    assert tab.findChild(QTableView, "reducedView").model().columnCount() == 50
    res = tab.result()
    a50 = (res.U[:, :50] * res.s[:50]) @ res.Vt[:50]
    np.testing.assert_allclose(view_values(tab, "reconstructionView")[:5, :5], a50[:5, :5])
    assert tab.results.error_values()["spectral"] == f"{res.s[50]:.4f}"


def test_every_control_has_tooltip_and_accessible_name(tab):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QTabWidget

    spectrum = tab.results.spectrum
    for cls in (QAbstractButton, QAbstractSpinBox, QComboBox, QTableView, QTabWidget):
        for w in tab.findChildren(cls):
            if spectrum.isAncestorOf(w) and w.objectName() != "rankSpin":
                continue  # the spectrum widget's own controls are tested with it
            if w.parent() is not None and w.parent().inherits("QAbstractSpinBox"):
                continue
            if cls is QAbstractButton and w.parent().inherits("QTabBar"):
                continue  # tab scroll arrows
            assert w.toolTip(), w.objectName() or w
            assert w.accessibleName(), w.objectName() or w
    for name in (
        "matrixTable",
        "rankSpin",
        "spectrumPlot",
        "errorPanel",
        "singularValuesView",
        "reconstructionView",
        "reducedView",
    ):
        assert tab.findChild(object, name) is not None, name


def test_large_state_goes_to_an_npy(qtbot, tab, runner, tmp_path):
    from PySide6.QtCore import QSettings, QStandardPaths

    QStandardPaths.setTestModeEnabled(True)
    try:
        big = np.arange(150 * 150, dtype=float).reshape(150, 150) / 3
        tab.model().load_matrix(big)
        tab.model().set_cell(5, 7, "oops")
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        tab.save_state(settings)
        assert settings.value("matrix/cells") is None
        assert str(settings.value("matrix/cells_file")).endswith(".npy")
        other = MatrixTab(runner)
        qtbot.addWidget(other)
        other.restore_state(settings)
        expected = big.copy()
        expected[5, 7] = np.nan  # the invalid cell's text is kept separately
        np.testing.assert_array_equal(other.model().values(), expected)
        assert other.model().invalid_cells() == {(5, 7): "oops"}
    finally:
        QStandardPaths.setTestModeEnabled(False)


def test_paste_keeps_non_numbers_red_and_skips_headers(qtbot, tab):
    table = tab.findChild(QTableView, "matrixTable")
    table.setCurrentIndex(table.model().index(0, 0))
    tab.paste_text("1\t2\tx\n2\t3\t4\n")
    assert tab.model().invalid_cells() == {(0, 2): "x"}
    assert tab.model().values()[1].tolist() == [2, 3, 4]
    qtbot.waitUntil(lambda: "Results wait: cell (1, 3)" in tab.results.banner.text())
    tab.undo_stack().undo()
    with qtbot.waitSignal(tab.status_message) as blocker:
        tab.paste_text("a\tb\n1\t2\n")
    assert tab.model().values()[0].tolist() == [1, 2, 2]
    assert "header" in blocker.args[0]


def test_delete_key_zeroes_selection_in_one_step(qtbot, tab):
    table = tab.findChild(QTableView, "matrixTable")
    table.selectRow(0)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert tab.model().values()[0].tolist() == [0, 0, 0]
    tab.undo_stack().undo()
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)


def test_export_writes_the_grid_on_show(qtbot, tab, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from svdstudio.io.matrix import read_matrix

    target = tmp_path / "a2.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    tab.results.tabs.setCurrentWidget(tab.findChild(QTableView, "reconstructionView"))
    assert tab.export()
    np.testing.assert_allclose(read_matrix(target), ARTICLE_A2, atol=0.006)
