"""What a user does with the grid and reads in the results: buttons, context menu, limits,
stale messages, the residual's colours, the info line, the gesvd fallback."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QToolButton

from svdstudio.ui.matrix.editor import MAX_SIZE
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX
from svdstudio.ui.matrix.tab import MatrixTab
from svdstudio.ui.widgets.result_views import NEGATIVE_RGB, POSITIVE_RGB


@pytest.fixture
def tab(qtbot):
    t = MatrixTab(None)  # synchronous decompositions: every edit's result is there at once
    qtbot.addWidget(t)
    t.resize(1280, 760)
    t.load_defaults()
    t._compute()
    return t


def button(tab, name) -> QToolButton:
    b = tab.findChild(QToolButton, name)
    assert b is not None, name
    return b


def test_row_and_column_buttons(qtbot, tab):
    table = tab.table
    table.setCurrentIndex(tab.model().index(1, 1))
    button(tab, "addRowButton").click()
    assert tab.model().matrix_shape() == (5, 3)
    np.testing.assert_array_equal(tab.model().values()[2], [0, 0, 0])  # below row 2
    np.testing.assert_array_equal(tab.model().values()[3], ARTICLE_MATRIX[2])
    assert tab.editor.rows_spin.value() == 5
    table.setCurrentIndex(tab.model().index(0, 0))
    button(tab, "addColumnButton").click()
    assert tab.model().matrix_shape() == (5, 4)
    np.testing.assert_array_equal(tab.model().values()[:, 1], [0, 0, 0, 0, 0])
    table.selectColumn(1)
    button(tab, "removeColumnButton").click()
    table.selectRow(2)
    button(tab, "removeRowButton").click()
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)
    assert (tab.editor.rows_spin.value(), tab.editor.cols_spin.value()) == (4, 3)
    for _ in range(4):
        tab.undo_stack().undo()
    assert tab.model().matrix_shape() == (4, 3) and not tab.has_unsaved_changes()


def test_remove_keeps_at_least_one_row_and_column(qtbot, tab):
    tab.table.selectAll()
    button(tab, "removeRowButton").click()
    tab.table.selectAll()
    button(tab, "removeColumnButton").click()
    assert tab.model().matrix_shape() == (1, 1)
    assert tab.model().values()[0, 0] == ARTICLE_MATRIX[3, 2]


def _context_menu_action(qtbot, tab, text, monkeypatch):
    """Choose the grid's context-menu entry called ``text`` (the menu a right click shows)."""
    menu = tab.editor.context_menu()
    entries = {a.text(): a for a in menu.actions() if a.text()}
    entries[text].trigger()
    return sorted(entries)


def test_context_menu_edits_the_grid(qtbot, tab, monkeypatch):
    tab.table.setCurrentIndex(tab.model().index(0, 0))
    sel = tab.table.selectionModel()
    sel.select(
        QItemSelection(tab.model().index(0, 0), tab.model().index(1, 1)),
        QItemSelectionModel.SelectionFlag.ClearAndSelect,
    )
    entries = _context_menu_action(qtbot, tab, "Copy as tab-separated text", monkeypatch)
    assert entries == sorted(
        [
            "Copy as tab-separated text",
            "Paste at this cell",
            "Set selected cells to 0",
            "Insert row below",
            "Remove selected rows",
            "Insert column to the right",
            "Remove selected columns",
        ]
    )
    assert QApplication.clipboard().text() == "6\t6\n0\t1\n"
    _context_menu_action(qtbot, tab, "Set selected cells to 0", monkeypatch)
    np.testing.assert_array_equal(tab.model().values()[:2, :2], [[0, 0], [0, 0]])
    tab.table.setCurrentIndex(tab.model().index(3, 2))
    _context_menu_action(
        qtbot, tab, "Paste at this cell", monkeypatch
    )  # the 2×2 copied block, grown
    assert tab.model().matrix_shape() == (5, 4)
    np.testing.assert_array_equal(tab.model().values()[3:5, 2:4], [[6, 6], [0, 1]])
    _context_menu_action(qtbot, tab, "Insert row below", monkeypatch)
    assert tab.model().matrix_shape() == (6, 4)


@pytest.mark.parametrize(("spin", "typed"), [("rows_spin", 2000), ("cols_spin", 1001)])
def test_size_boxes_say_their_limit(qtbot, tab, spin, typed):
    box = getattr(tab.editor, spin)
    box.lineEdit().selectAll()
    with qtbot.waitSignal(tab.status_message) as blocker:
        qtbot.keyClicks(box.lineEdit(), str(typed))
        qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    what = "rows" if spin == "rows_spin" else "columns"
    assert blocker.args[0] == (
        f"The size boxes go up to {MAX_SIZE} {what}; {typed} was not applied "
        "(open a file for a bigger matrix)."
    )
    assert tab.model().matrix_shape() == (4, 3)  # nothing silently cut to 200
    assert (tab.editor.rows_spin.value(), tab.editor.cols_spin.value()) == (4, 3)
    assert tab.hint.text().startswith("Warning: The size boxes go up to 1000")
    box.setValue(7)
    assert tab.model().matrix_shape()[0 if spin == "rows_spin" else 1] == 7


def test_undo_that_fixes_a_cell_clears_the_waiting_sentence(qtbot, tab):
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    tab.model().set_cell(0, 0, "abc")
    tab._compute()
    assert messages[-1].startswith("Results wait: cell (1, 1) is not a number")
    assert tab.results.banner.isVisibleTo(tab)
    tab.undo_stack().undo()
    tab._compute()
    assert messages[-1] == "Every cell is a number again; the results are current."
    assert not tab.results.banner.isVisibleTo(tab)
    assert tab.results.tabs.isEnabled()
    np.testing.assert_allclose(tab.result().s, np.linalg.svd(ARTICLE_MATRIX, compute_uv=False))


def test_residual_is_coloured_by_sign_with_a_legend(qtbot, tab):
    tab.results.set_rank(1)
    view = tab.results.views["R"]
    model = view.array_model()
    a1 = np.linalg.svd(ARTICLE_MATRIX)
    u, s, vt = a1
    residual = ARTICLE_MATRIX - s[0] * np.outer(u[:, 0], vt[0])
    np.testing.assert_allclose(model.array(), residual, atol=1e-12)
    vmax = np.abs(residual).max()
    assert model.max_abs() == pytest.approx(vmax)
    pos_full, neg_full = QColor(*POSITIVE_RGB), QColor(*NEGATIVE_RGB)
    for (r, c), v in np.ndenumerate(residual):
        colour = model.cell_colour(r, c)
        if round(10 * abs(v) / vmax) == 0:
            assert colour is None
            continue
        # Red cells where A_k is below A, blue where above; the largest at full strength.
        assert (colour.red() > colour.blue()) == (v > 0), (r, c, v)
        if abs(v) == vmax:
            assert colour == (pos_full if v > 0 else neg_full)
    tab.results.show_view("R")
    legend = tab.results.residual_legend
    assert legend.isVisibleTo(tab)
    assert f"±{vmax:.3g}" in legend.text() and "A − A₁ &gt; 0" in legend.text()


def test_energy_retained_shows_the_loss_for_a_tiny_tail(qtbot, tab):
    tab.model().load_matrix(np.diag([10.0, 1e-5]))
    tab._compute()
    tab.results.set_rank(1)
    values = tab.results.error_values()
    assert values["energy_retained"] == ">99.99 %"
    assert "lost: 1.00e-10 %" in tab.results.error_text()
    assert values["frobenius_squared"] == "1.0000e-10"


def test_info_line_fits_one_line_at_the_default_size(qtbot, main_window, monkeypatch):
    tab = main_window.tab_by_kind["matrix"]
    monkeypatch.setattr(tab, "_ask_save_changes", lambda: "discard")  # closing at teardown
    main_window.resize(1280, 800)
    rng = np.random.default_rng(3)
    tab.model().load_matrix(rng.standard_normal((120, 90)) * 1e3)  # long figures
    qtbot.waitUntil(lambda: tab.result() is not None and tab.result().shape == (120, 90))
    info = tab.results.info
    qtbot.waitUntil(lambda: info.width() > 0)
    line = info.fontMetrics().lineSpacing()
    assert info.heightForWidth(info.width()) < 2 * line, info.width()
    assert "condition number σ1/σ90 = " in tab.results.info_text()


def test_gesvd_fallback_when_gesdd_does_not_converge(qtbot, tab, monkeypatch):
    real_svd = scipy.linalg.svd
    drivers: list[str] = []

    def flaky(a, *args, lapack_driver="gesdd", **kwargs):
        drivers.append(lapack_driver)
        if lapack_driver == "gesdd":
            raise np.linalg.LinAlgError("SVD did not converge")
        return real_svd(a, *args, lapack_driver=lapack_driver, **kwargs)

    monkeypatch.setattr(scipy.linalg, "svd", flaky)
    tab.model().set_cell(0, 0, 7)
    tab._compute()
    assert drivers == ["gesdd", "gesvd"]
    expected = ARTICLE_MATRIX.copy()
    expected[0, 0] = 7
    res = tab.result()
    assert res.driver == "gesvd"
    np.testing.assert_allclose(res.s, np.linalg.svd(expected, compute_uv=False))
    assert "computed with gesvd (gesdd did not converge)" in tab.results.info_text()
    np.testing.assert_allclose(
        tab.results.views["Ak"].array_model().array(),
        (res.U[:, :2] * res.s[:2]) @ res.Vt[:2],
    )


def test_a_paste_of_many_non_numbers_is_kept_cell_by_cell(qtbot, tab):
    text = "\n".join(
        "\t".join("n/a" if (i + j) % 2 else str(j) for j in range(150)) for i in range(150)
    )
    tab.table.setCurrentIndex(tab.model().index(0, 0))
    assert tab.paste_text(text)
    assert tab.model().matrix_shape() == (150, 150)
    bad = tab.model().invalid_cells()
    assert len(bad) == 150 * 75 and bad[(0, 1)] == "n/a" and (0, 0) not in bad
    assert tab.model().values()[2, 4] == 4
    assert tab.hint.text() == f"Warning: {150 * 75} cells are not a number (red)."
