"""MatrixModel and presets: values, invalid cells, undoable edits, the 500×500 fast path."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from svdstudio.ui.matrix.model import MatrixModel, cell_text_of, parse_cell, split_cells
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX, make_preset

EDIT = Qt.ItemDataRole.EditRole


@pytest.mark.parametrize(
    ("text", "value"),
    [("3.5", 3.5), (" −2 ", -2.0), ("1/4", 0.25), ("1e-3", 0.001), (7, 7.0)],
)
def test_parse_cell_accepts_numbers(text, value):
    assert parse_cell(text) == (value, "")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "not a number"),
        ("3,5", "use a dot"),
        ("", "empty"),
        ("nan", "NaN"),
        ("inf", "infinity"),
        ("1/0", "divides by zero"),
    ],
)
def test_parse_cell_explains_rejections(text, why):
    value, reason = parse_cell(text)
    assert value is None
    assert why in reason


def test_cell_text_round_trips():
    assert cell_text_of(6.0) == "6"
    assert float(cell_text_of(0.1 + 0.2)) == 0.1 + 0.2


def test_set_data_text_and_number_with_undo(qtbot):
    model = MatrixModel(ARTICLE_MATRIX)
    stack = model.undo_stack()
    assert model.setData(model.index(1, 2), "3.5", EDIT)
    assert model.setData(model.index(0, 0), -1, EDIT)
    assert model.values()[1, 2] == 3.5
    assert model.values()[0, 0] == -1
    assert model.data(model.index(1, 2), Qt.ItemDataRole.DisplayRole) == "3.5"
    stack.undo()
    assert model.values()[0, 0] == 6
    stack.undo()
    assert model.values()[1, 2] == 3
    stack.redo()
    assert model.values()[1, 2] == 3.5


def test_invalid_cell_is_red_with_reason_and_keeps_text(qtbot):
    model = MatrixModel(ARTICLE_MATRIX)
    ix = model.index(1, 2)
    model.setData(ix, "x7", EDIT)
    assert not model.is_valid()
    assert model.first_invalid() == (1, 2, "'x7' is not a number")
    assert model.data(ix, Qt.ItemDataRole.DisplayRole) == "x7"
    assert model.data(ix, EDIT) == "x7"
    bg = model.data(ix, Qt.ItemDataRole.BackgroundRole).color()
    assert bg.red() > 200 and bg.green() < 220 and bg.blue() < 220
    assert model.data(ix, Qt.ItemDataRole.ForegroundRole).color().red() > 100
    assert "Cell (2, 3)" in model.data(ix, Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    model.undo_stack().undo()
    assert model.is_valid() and model.values()[1, 2] == 3


def test_structure_edits_undo(qtbot):
    model = MatrixModel(ARTICLE_MATRIX)
    stack = model.undo_stack()
    model.setData(model.index(3, 1), "bad", EDIT)
    model.insert_rows(1)
    assert model.matrix_shape() == (5, 3)
    assert np.all(model.values()[1] == 0)
    assert (4, 1) in model.invalid_cells()  # the invalid cell moved down with its row
    model.remove_columns(0, 2)
    assert model.matrix_shape() == (5, 1)
    assert model.invalid_cells() == {}
    model.resize_matrix(2, 2)
    assert model.matrix_shape() == (2, 2)
    for _ in range(3):
        stack.undo()
    assert model.matrix_shape() == (4, 3)
    assert model.invalid_cells() == {(3, 1): "bad"}


def test_paste_block_grows_and_undoes(qtbot):
    model = MatrixModel(ARTICLE_MATRIX)
    with qtbot.waitSignal(model.shape_changed) as blocker:
        model.paste_block(3, 2, np.array([[1.0, 2.0], [3.0, 4.0]]), {(1, 1): "q"})
    assert blocker.args == [5, 4]
    assert model.values()[3, 2] == 1 and model.values()[4, 2] == 3
    assert model.invalid_cells() == {(4, 3): "q"}
    model.undo_stack().undo()
    np.testing.assert_array_equal(model.values(), ARTICLE_MATRIX)


def test_block_text_is_tsv(qtbot):
    model = MatrixModel(ARTICLE_MATRIX)
    model.setData(model.index(0, 1), "oops", EDIT)
    assert model.block_text(range(2), range(3)) == "6\toops\t2\n0\t1\t3\n"


def test_500_by_500_display_edit_undo_insert(qtbot):
    """Values through the model API (timing: tests/benchmarks/bench_matrix.py)."""
    a = np.arange(250_000, dtype=float).reshape(500, 500) / 7
    model = MatrixModel(a)
    assert (model.rowCount(), model.columnCount()) == (500, 500)
    for r, c in ((0, 0), (123, 456), (495, 495)):
        ix = model.index(r, c)
        assert model.data(ix, Qt.ItemDataRole.DisplayRole) == f"{a[r, c]:.6g}"
        assert float(model.data(ix, EDIT)) == a[r, c]  # the edit text reads back exactly
    model.setData(model.index(499, 499), "1.5", EDIT)
    assert model.values()[499, 499] == 1.5
    model.undo_stack().undo()
    assert model.values()[499, 499] == a[499, 499]
    model.insert_rows(0)
    assert model.matrix_shape() == (501, 500)
    assert np.all(model.values()[0] == 0)
    np.testing.assert_array_equal(model.values()[1:], a)
    model.undo_stack().undo()
    np.testing.assert_array_equal(model.values(), a)


def test_split_cells_keeps_every_non_number_once_parsed():
    text = "\n".join(
        "\t".join("n/a" if (i + j) % 3 else f"{i}.5" for j in range(60)) for i in range(50)
    )
    text += "\n1/4\t−2\tnan\t 7 \t\n"
    values, bad, padded = split_cells(text)
    assert values.shape == (51, 60)
    assert padded == [51]
    for i in range(50):
        for j in range(60):
            if (i + j) % 3:
                assert bad[(i, j)] == "n/a" and values[i, j] == 0
            else:
                assert values[i, j] == i + 0.5 and (i, j) not in bad
    assert values[50, :4].tolist() == [0.25, -2.0, 0.0, 7.0]
    assert bad[(50, 2)] == "nan" and bad[(50, 4)] == ""
    assert len(bad) == sum((i + j) % 3 != 0 for i in range(50) for j in range(60)) + 2


def test_paste_of_many_non_numbers_keeps_them_and_undoes(qtbot):
    model = MatrixModel(ARTICLE_MATRIX)
    vals = np.zeros((200, 200))
    bad = {(i, j): f"x{i}" for i in range(200) for j in range(200) if (i + j) % 2}
    model.paste_block(1, 1, vals, bad)
    assert model.matrix_shape() == (201, 201)
    cells = model.invalid_cells()
    assert len(cells) == 20_000
    assert cells[(1, 2)] == "x0" and cells[(200, 199)] == "x199"
    assert np.isnan(model.values()[1, 2]) and model.values()[1, 1] == 0
    model.undo_stack().undo()
    np.testing.assert_array_equal(model.values(), ARTICLE_MATRIX)
    assert model.invalid_cells() == {}


def test_presets_shapes_and_values():
    assert make_preset("article").tolist() == ARTICLE_MATRIX.tolist()
    np.testing.assert_array_equal(make_preset("identity", 3, 2), np.eye(3, 2))
    assert make_preset("hilbert", 3, 3)[2, 2] == pytest.approx(1 / 5)
    assert make_preset("outer", 2, 3).tolist() == [[1, 2, 3], [2, 4, 6]]
    r1 = make_preset("random", 6, 5, rank=3, seed=1)
    assert r1.shape == (6, 5)
    np.testing.assert_array_equal(r1, make_preset("random", 6, 5, rank=3, seed=1))
    with pytest.raises(ValueError, match="unknown preset"):
        make_preset("nope")
