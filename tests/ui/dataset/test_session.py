"""The Dataset tab's model: one owner per fact, widgets write through it and follow it."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from svdstudio.ui.dataset import session as session_module
from svdstudio.ui.dataset.session import DatasetSession
from svdstudio.ui.dataset.state import SavedView, read_view, write_view
from svdstudio.ui.dataset.tab import DatasetTab
from svdstudio.workers import JobRunner

TIMEOUT = 20000


@pytest.fixture
def runner():
    r = JobRunner()
    yield r
    r.shutdown()


@pytest.fixture
def tab(qtbot, runner):
    w = DatasetTab(runner)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    with qtbot.waitSignal(w.projection_ready, timeout=TIMEOUT):
        w.load_defaults()
    return w


def test_widgets_write_through_the_session_and_follow_it(tab, qtbot):
    s = tab.session
    seen = []
    s.axes_changed.connect(lambda x, y: seen.append((x, y)))
    tab.x_spin.setValue(3)
    assert s.axes == (3, 2) and seen == [(3, 2)]
    res = tab.result()
    x, _ = tab.scatter.class_items()[0].getData()
    setosa = res.projection[tab.dataset().labels == "setosa"]
    np.testing.assert_allclose(np.sort(x), np.sort(setosa[:, 2]))
    # The model changes: the spin boxes and the plot follow, without echoing back.
    s.set_axes(4, 1)
    assert (tab.x_spin.value(), tab.y_spin.value()) == (4, 1) and seen[-1] == (4, 1)
    assert len(seen) == 2
    assert tab.scatter.getPlotItem().getAxis("bottom").labelText.startswith("SVD4 ")
    s.swap_axes()
    assert s.axes == (1, 4) and tab.x_spin.value() == 1
    # Out of range: clamped to the projection's 4 components.
    s.set_axes(9, 0)
    assert s.axes == (4, 1)
    tab.arrows_check.setChecked(True)
    assert s.arrows is True and tab.scatter.arrow_count() == 4
    s.set_arrows(False)
    assert not tab.arrows_check.isChecked() and tab.scatter.arrow_count() == 0


def test_k_has_one_owner(tab, qtbot):
    s = tab.session
    assert s.k == tab.spectrum.rank() == 2
    s.set_k(3)
    assert tab.spectrum.rank() == 3
    label = tab.spectrum.findChild(type(tab.notice_label), "spectrumLabel")
    assert label.text().startswith("3 components kept")
    # The user moves the cutoff (the spin box under the spectrum): the session hears it.
    with qtbot.waitSignal(s.k_changed, timeout=2000) as sig:
        tab.spectrum.rank_spin.setValue(1)
    assert sig.args == [1] and s.k == 1
    s.set_k(99)
    assert s.k == 4 and tab.spectrum.rank() == 4


def test_method_from_the_combo_or_the_model(tab, qtbot):
    s = tab.session
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.method_combo.setCurrentIndex(tab.method_combo.findData("pca"))
    assert s.method == "pca" and tab.result().method == "pca"
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        s.set_method("Standardised PCA (centred and scaled)")  # a title works too
    assert tab.method_combo.currentData() == "standardized" and tab.x_spin.prefix() == "PC"
    with pytest.raises(ValueError, match="unknown projection method 'nope'"):
        s.set_method("nope")


def test_settings_are_read_from_the_model(tab, qtbot, tmp_path):
    s = tab.session
    s.set_axes(3, 4)
    s.set_k(3)
    s.set_arrows(True)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    # Widgets that disagree with the model would be a bug; the state written is the model's.
    tab.save_state(settings)
    settings.sync()
    view = read_view(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert view == SavedView(
        method="tsvd", x=3, y=4, arrows=True, k=3, source="iris", label="species", excluded=()
    )
    assert view == s.state


def test_restore_before_the_result_then_clamp(qtbot, runner, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    write_view(settings, SavedView(method="pca", x=3, y=9, arrows=True, k=12, source="iris"))
    settings.sync()
    w = DatasetTab(runner)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.projection_ready, timeout=TIMEOUT):
        w.restore_state(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    s = w.session
    # Iris has 4 components: y and k are clamped once the projection says so.
    assert s.method == "pca" and s.axes == (3, 4) and s.k == 4
    assert (w.x_spin.value(), w.y_spin.value()) == (3, 4) and w.spectrum.rank() == 4
    assert w.arrows_check.isChecked() and w.scatter.arrow_count() == 4


def test_a_failed_projection_is_reported_once(main_window, qtbot, monkeypatch):
    tab = main_window.tab_by_kind["dataset"]
    main_window.tabs.setCurrentWidget(tab)

    def broken(*_args, **_kwargs):
        raise ValueError("column 3 is constant; it cannot be standardised")

    monkeypatch.setattr(session_module, "project", broken)
    messages = []
    main_window.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(tab.session.job_failed, timeout=TIMEOUT):
        tab.session.set_method("pca")
    # The main window said it in the status bar; the tab opened no dialog of its own and
    # shows why the plot is empty.
    assert messages.count("column 3 is constant; it cannot be standardised") == 1
    assert tab.findChild(QMessageBox, "datasetErrorDialog") is None
    assert main_window.findChild(QMessageBox, "errorDialog") is None
    title = tab.scatter.getPlotItem().titleLabel.text
    assert "No projection" in title and "constant" in title
    assert not tab.export_button.isEnabled()


def id_table(tmp_path, name="ids.csv", header="id", start=1, n=40, shuffle=False):
    rng = np.random.default_rng(1)
    ids = np.arange(start, start + n)
    if shuffle:
        ids = rng.permutation(ids)
    rows = [f"{header},a,b,c,kind"]
    for i, v in enumerate(ids):
        a, b, c = rng.normal(size=3)
        rows.append(f"{v},{a:.5f},{b:.5f},{c:.5f},{'xy'[i % 2]}")
    p = tmp_path / name
    p.write_text("\n".join(rows) + "\n")
    return p


@pytest.mark.parametrize(
    ("header", "start", "shuffle"),
    [("id", 1, False), ("sample", 0, False), ("Index", 1, True), ("n_obs", 1001, False)],
)
def test_row_index_column_left_out_with_a_notice(tab, qtbot, tmp_path, header, start, shuffle):
    path = id_table(tmp_path, header=header, start=start, shuffle=shuffle)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(path))
    s = tab.session
    assert s.excluded == (header,) and s.features() == ("a", "b", "c")
    assert tab.result().n_features == 3
    assert f"Column '{header}' only numbers the rows; left out" in tab.notice_label.text()
    assert "3 features" in tab.notice_label.text()
    assert tab.columns_button.text() == "Columns 3/4"
    assert tab.columns_button.excluded() == (header,)
    # Tick it back in: the projection uses all four columns.
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.columns_button.set_included(header, True)
    assert s.excluded == () and tab.result().n_features == 4
    assert "only numbers the rows" not in tab.notice_label.text()


def test_exclude_columns_by_hand(tab, qtbot, tmp_path):
    s = tab.session
    assert tab.columns_button.text() == "Columns 4/4"
    tab.columns_button.set_included("sepal_width_cm", False)
    tab.columns_button.set_included("petal_width_cm", False)
    assert tab.columns_button.pending()  # two ticks, one projection
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        pass
    assert s.excluded == ("sepal_width_cm", "petal_width_cm")
    res = tab.result()
    ds = tab.dataset()
    expected = np.linalg.svd(ds.X[:, [0, 2]], compute_uv=False)
    np.testing.assert_allclose(res.singular_values, expected, rtol=1e-10)
    assert "left out by choice" in tab.notice_label.text()
    assert tab.columns_button.text() == "Columns 2/4"
    # Arrows are named after the columns used.
    s.set_arrows(True)
    names = sorted(label.toPlainText() for label in tab.scatter.arrow_labels())
    assert names == ["petal_length_cm", "sepal_length_cm"]
    # Leaving fewer than two is refused, and the tick goes back.
    s.set_column_included("sepal_length_cm", False)
    assert s.excluded == ("sepal_width_cm", "petal_width_cm")
    assert tab.columns_button.excluded() == ("sepal_width_cm", "petal_width_cm")
    # Saved and restored with the table.
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_state(settings)
    settings.sync()
    assert read_view(settings).excluded == ("sepal_width_cm", "petal_width_cm")
    runner = JobRunner()
    other = DatasetTab(runner)
    qtbot.addWidget(other)
    try:
        with qtbot.waitSignal(other.projection_ready, timeout=TIMEOUT):
            other.restore_state(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        assert other.result().n_features == 2
        assert other.columns_button.excluded() == ("sepal_width_cm", "petal_width_cm")
    finally:
        runner.shutdown()


@pytest.mark.parametrize(
    ("k", "axes", "expected"),
    [(2, (3, 2), [1, 2, 3]), (3, (1, 2), [1, 2, 3]), (1, (4, 2), [1, 2, 4]), (2, (1, 2), [1, 2])],
)
def test_export_holds_what_is_shown(tab, tmp_path, k, axes, expected):
    s = tab.session
    s.set_k(k)
    s.set_axes(*axes)
    out = tmp_path / "p.csv"
    assert tab.export_csv(str(out))
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["row", "species"] + [f"SVD{i}" for i in expected]
    got = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(got, tab.result().projection[:, [i - 1 for i in expected]])
    assert tab.coordinates_text().splitlines()[0].split("\t")[2:] == rows[0][2:]


def test_session_alone(qtbot, runner):
    """The model works without any widget."""
    s = DatasetSession(runner)
    got = []
    s.result_ready.connect(lambda: got.append(s.result))
    from svdstudio.io.datasets import bundled_path

    s.apply_state(SavedView(method="pca", x=2, y=3, k=3))
    with qtbot.waitSignal(s.result_ready, timeout=TIMEOUT):
        assert s.load(str(bundled_path("wine")), "class", user=False, sync_limit=10**9)
    res = got[0]
    assert res.method == "pca" and res.n_features == 13
    assert s.state.source == "wine" and s.state.label == "class" and s.axes == (2, 3)
    assert s.classes() == ["class_0", "class_1", "class_2"]
