"""Big matrices in the Matrix tab, on 600×600 stand-ins: σ first, then the vectors; progress;
Cancel and Esc keep the grid and the results on show; big files open off the GUI thread."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton, QTableView

from svdstudio.engine import rank_errors
from svdstudio.engine.stepwise import STEPWISE_MIN_SIZE, SingularValues
from svdstudio.io.matrix import write_matrix
from svdstudio.ui.matrix import files as files_module
from svdstudio.ui.matrix import results as results_module
from svdstudio.ui.matrix.results import PENDING_VIEWS
from svdstudio.ui.matrix.tab import MatrixTab

N = 600  # above STEPWISE_MIN_SIZE, small enough to decompose in a second or two
TIMEOUT = 120_000  # a busy 2-core machine


@pytest.fixture
def tab(qtbot, runner):
    t = MatrixTab(runner)
    qtbot.addWidget(t)
    t.resize(1280, 760)
    t.show()
    t.load_defaults()
    qtbot.waitUntil(lambda: t.results.state() == "full", timeout=TIMEOUT)
    return t


def _matrix(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N, N))


def _record_states(tab) -> list[str]:
    states: list[str] = []
    tab.results.results_updated.connect(lambda: states.append(tab.results.state()))
    return states


def _load_and_wait_for_values(qtbot, tab, a):
    tab.model().load_matrix(a)
    qtbot.waitUntil(
        lambda: tab.results.state() == "values" and tab.result().shape == a.shape,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("spread", [False, True], ids=["at once", "a view per turn"])
def test_singular_values_come_first_then_the_full_factors(qtbot, tab, runner, monkeypatch, spread):
    assert STEPWISE_MIN_SIZE <= N
    if spread:  # as a 5000×5000 matrix's results arrive: one view per event-loop turn
        monkeypatch.setattr(results_module, "SPREAD_CELLS", 1000)
    a = _matrix(1)
    states = _record_states(tab)
    partials = []
    runner.partial_ready.connect(lambda channel, job_id, value: partials.append(value))
    _load_and_wait_for_values(qtbot, tab, a)

    # The partial result: σ of this matrix, equal to LAPACK's, and no vectors.
    ref = scipy.linalg.svd(a, compute_uv=False, lapack_driver="gesdd")
    [values] = partials
    assert isinstance(values, SingularValues) and values.shape == (N, N)
    assert np.max(np.abs(values.s - ref)) <= 1e-12 * ref[0]
    early = tab.result()
    assert early.U.shape == (N, 0) and early.Vt.shape == (0, N)
    # On screen: the spectrum, Σ and the errors; every grid needing U or Vᵀ pending.
    sigma_view = tab.findChild(QTableView, "singularValuesView").model()
    assert sigma_view.rowCount() == N
    assert float(sigma_view.array()[0, 0]) == pytest.approx(ref[0], rel=1e-12)
    k = tab.rank()
    assert tab.results.error_values()["spectral"] == f"{ref[k]:.4f}"
    assert tab.results.error_values()["frobenius"] == f"{rank_errors(early, k).frobenius:.4f}"
    tabs = tab.results.tabs
    for key in PENDING_VIEWS:
        index = tabs.indexOf(tab.results.grids.pages[key])
        assert not tabs.isTabEnabled(index) and tabs.tabText(index).endswith("(pending)")
    assert tab.results.views["U"].array_model().array().size == 0
    assert tab.progress.isVisible() and "step" in tab.progress.text()
    assert "so far" in tab.progress.text()

    qtbot.waitUntil(lambda: tab.results.state() == "full", timeout=TIMEOUT)
    res = tab.result()
    assert np.max(np.abs(res.s - ref)) <= 1e-12 * ref[0]
    assert np.max(np.abs(res.U.T @ res.U - np.eye(N))) <= 1e-10
    assert np.max(np.abs(res.Vt @ res.Vt.T - np.eye(N))) <= 1e-10
    for key in PENDING_VIEWS:
        index = tabs.indexOf(tab.results.grids.pages[key])
        assert tabs.isTabEnabled(index) and "(pending)" not in tabs.tabText(index)
    assert tab.results.views["U"].array_model().array().shape == (N, N)
    shown = tab.results.views["Ak"].array_model().array()
    np.testing.assert_allclose(shown + tab.results.views["R"].array_model().array(), a)
    np.testing.assert_array_equal(tab.results.views["U"].array_model().array(), res.U)
    np.testing.assert_array_equal(tab.results.views["Vt"].array_model().array(), res.Vt)
    np.testing.assert_allclose(tab.results.spectrum.values(), ref, rtol=1e-12)
    assert not tab.progress.isVisible()
    assert states[-2:] == ["values", "full"] and states.count("values") == 1


def test_a_big_result_is_put_on_show_a_view_per_event_loop_turn(qtbot, monkeypatch):
    """No turn of the event loop does all the GUI work of a big result (for 5000×5000 it was
    0.1-0.2 s in one go): σ, then the factors, arrive over several turns, and state() says
    "values" / "full" only once every view shows them; a newer result replaces one arriving."""
    from svdstudio.engine import decompose
    from svdstudio.engine.stepwise import values_only_result
    from svdstudio.ui.matrix.results import ResultsPanel

    monkeypatch.setattr(results_module, "SPREAD_CELLS", 1000)
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    a = np.random.default_rng(11).standard_normal((60, 40))
    res = decompose(a)
    values = SingularValues(res.s, a.shape, res.total_energy, 0.0, 0.0)
    panel.set_values(values_only_result(values), a)
    assert panel.arriving() and panel.state() == "none"  # the spectrum first, the rest later
    np.testing.assert_array_equal(panel.spectrum.values(), res.s)
    qtbot.waitUntil(lambda: panel.state() == "values", timeout=10_000)
    assert not panel.arriving()
    np.testing.assert_array_equal(panel.views["S"].array_model().array()[:, 0], res.s)
    assert panel.views["U"].array_model().array().size == 0

    turns = []
    panel.results_updated.connect(lambda: turns.append(panel.state()))
    panel.set_result(res, a)
    assert panel.arriving() and panel.state() == "values"
    assert panel.views["U"].array_model().array().size == 0  # not yet
    qtbot.waitUntil(lambda: panel.state() == "full", timeout=10_000)
    np.testing.assert_array_equal(panel.views["U"].array_model().array(), res.U)
    np.testing.assert_array_equal(panel.views["Vt"].array_model().array(), res.Vt)
    k = panel.rank()
    np.testing.assert_allclose(
        panel.views["Red"].array_model().array(), res.U[:, :k] * res.s[:k], rtol=1e-12
    )
    assert turns[-1] == "full"

    # A newer matrix's σ while the factors of this one arrive: the old steps are dropped.
    b = 2.0 * a
    panel.set_result(res, a)
    res_b = decompose(b)
    panel.set_values(
        values_only_result(SingularValues(res_b.s, b.shape, res_b.total_energy, 0, 0)), b
    )
    qtbot.waitUntil(lambda: not panel.arriving(), timeout=10_000)
    assert panel.state() == "values"
    np.testing.assert_allclose(panel.spectrum.values(), res_b.s, rtol=1e-12)
    assert panel.views["U"].array_model().array().size == 0


def test_small_matrices_take_one_step(qtbot, tab, runner):
    a = np.random.default_rng(2).standard_normal((STEPWISE_MIN_SIZE - 100, 300))
    states = _record_states(tab)
    partials = []
    runner.partial_ready.connect(lambda *args: partials.append(args))
    tab.model().load_matrix(a)
    qtbot.waitUntil(
        lambda: tab.result().shape == a.shape and tab.results.state() == "full",
        timeout=TIMEOUT,
    )
    assert "values" not in states and partials == []
    assert tab.progress.isHidden()


def test_cancel_after_the_values_keeps_them_and_the_grid(qtbot, tab, runner):
    a = _matrix(3)
    cancel = tab.findChild(QPushButton, "cancelMatrixJobButton")
    seen: list[np.ndarray] = []

    def cancel_at_the_values() -> None:
        # Clicked as the σ go on show, in the same event-loop turn: the vectors cannot have
        # been applied yet, however fast the worker is (under load they sometimes were
        # before a click made after waiting for the values).
        if tab.results.state() == "values" and not seen:
            seen.append(tab.result().s.copy())
            cancel.click()

    tab.results.results_updated.connect(cancel_at_the_values)
    with qtbot.waitSignal(
        runner.cancelled, timeout=TIMEOUT, check_params_cb=lambda ch, _id: ch == "matrix.svd"
    ):
        tab.model().load_matrix(a)
        undo_steps = tab.undo_stack().count()  # the load itself; the cancel adds none
    tab.results.results_updated.disconnect(cancel_at_the_values)
    [s_before] = seen
    assert tab.result().shape == a.shape
    qtbot.waitUntil(lambda: runner.live_workers() <= 1, timeout=10_000)  # only the spare
    assert tab.results.state() == "values"
    np.testing.assert_array_equal(tab.result().s, s_before)
    assert tab.progress.text().startswith("Cancelled: the singular values are those of this")
    assert tab.findChild(QPushButton, "computeMatrixButton").isVisible()
    np.testing.assert_array_equal(tab.model().values(), a)
    assert tab.undo_stack().count() == undo_steps
    # Compute starts again and finishes.
    tab.findChild(QPushButton, "computeMatrixButton").click()
    qtbot.waitUntil(lambda: tab.results.state() == "full", timeout=TIMEOUT)
    np.testing.assert_allclose(tab.result().s, s_before, rtol=1e-12)


def test_esc_before_the_values_keeps_the_previous_result(qtbot, tab, runner):
    a = _matrix(4)
    tab.model().load_matrix(a)
    qtbot.waitUntil(lambda: tab.results.state() == "full", timeout=TIMEOUT)
    previous = tab.result()
    b = _matrix(5)

    def press_esc(channel, _job_id, _description):
        if channel == "matrix.svd":  # at the next turn of the event loop: before any σ
            QTimer.singleShot(0, lambda: qtbot.keyClick(tab, Qt.Key.Key_Escape))

    runner.started.connect(press_esc)
    with qtbot.waitSignal(runner.cancelled, timeout=TIMEOUT):
        tab.model().load_matrix(b)
    runner.started.disconnect(press_esc)
    assert tab.result() is previous and tab.results.state() == "full"
    assert tab.progress.text() == "Cancelled: the results on show are of the previous matrix."
    np.testing.assert_array_equal(tab.model().values(), b)  # the grid holds what was loaded
    assert not tab.job_running()


def test_an_invalid_cell_stops_the_job_and_says_why(qtbot, tab, runner):
    # Big enough to be still running when the cell is edited: a worker forked from the fork
    # server starts at once, and N×N is done within a fraction of a second.
    a = np.random.default_rng(8).standard_normal((1500, 1500))
    tab.model().load_matrix(a)
    qtbot.waitUntil(tab.job_running, timeout=TIMEOUT)
    with qtbot.waitSignal(runner.cancelled, timeout=10_000):
        tab.model().set_cell(3, 4, "abc")
    assert tab.progress.isHidden() and not tab.job_running()
    assert tab.results.banner.text().startswith("Results wait: cell (4, 5) is not a number")


def test_a_big_file_opens_in_the_background_with_progress(
    qtbot, tab, runner, tmp_path, monkeypatch
):
    monkeypatch.setattr(files_module, "BACKGROUND_OPEN_BYTES", 1000)
    # Read in blocks of lines, in the worker process (which cannot see a monkeypatch here).
    monkeypatch.setattr(files_module, "OPEN_OPTIONS", {"blocks_from": 1000, "block_bytes": 2000})
    a = np.random.default_rng(6).standard_normal((60, 40))
    path = tmp_path / "big.csv"
    write_matrix(path, a)
    fractions = []
    runner.progress.connect(
        lambda channel, _id, f, _m: fractions.append(f) if channel == "matrix.open" else None
    )
    with qtbot.waitSignal(tab.file_opened, timeout=TIMEOUT) as opened:
        assert tab.open_file(str(path))
        assert tab.progress.isVisible() and tab.progress.text().startswith("Opening big.csv")
    assert opened.args == [str(path)]
    np.testing.assert_array_equal(tab.model().values(), a)
    assert len(fractions) > 5 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert tab.document_title() == "big.csv" and not tab.has_unsaved_changes()


def test_a_bad_big_file_names_the_cell_and_keeps_the_grid(qtbot, tab, tmp_path, monkeypatch):
    monkeypatch.setattr(files_module, "BACKGROUND_OPEN_BYTES", 1000)
    lines = [",".join(str(r * 10 + c) for c in range(10)) for r in range(200)]
    lines[150] = lines[150].replace("1502", "12x")
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    before = np.array(tab.model().values())
    shown = []
    monkeypatch.setattr(tab, "_show_error", lambda title, msg: shown.append((title, msg)))
    assert tab.open_file(str(path))
    qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT)
    assert shown == [
        (
            "Could not open matrix",
            "bad.csv: row 151, column 3 holds '12x', which is not a number",
        )
    ]
    np.testing.assert_array_equal(tab.model().values(), before)
    assert tab.progress.isHidden()


def test_big_results_compute_the_mxn_grids_when_shown(qtbot, tab, monkeypatch):
    monkeypatch.setattr(results_module, "LAZY_CELLS", 1000)
    a = np.random.default_rng(7).standard_normal((60, 50))
    tab.results.show_view("S")
    tab.model().load_matrix(a)
    qtbot.waitUntil(lambda: tab.result().shape == (60, 50), timeout=TIMEOUT)
    views = tab.results.views
    assert views["Ak"].array_model().array().shape != (60, 50)  # not computed yet
    tab.results.show_view("Ak")
    res = tab.result()
    k = tab.rank()
    np.testing.assert_allclose(
        views["Ak"].array_model().array(), (res.U[:, :k] * res.s[:k]) @ res.Vt[:k]
    )
    np.testing.assert_allclose(
        views["R"].array_model().array() + views["Ak"].array_model().array(), a
    )
    tab.results.show_view("T")
    np.testing.assert_allclose(
        views["T"].array_model().array(), res.s[0] * np.outer(res.U[:, 0], res.Vt[0])
    )
