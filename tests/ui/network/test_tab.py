"""The Network tab: layer table, ranks, accuracy, curves, exports, cancel, errors, state."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QSpinBox, QTableWidget

from svdstudio.engine.network import (
    Scorer,
    allocate,
    analyse,
    compress,
    forward,
    rank_sweep,
    ranks_for_energy,
    totals,
)
from svdstudio.io.network_data import load_bundled_network
from svdstudio.io.networks import read_network
from svdstudio.ui.network.jobs import PREVIEW_SAMPLES
from svdstudio.ui.network.tab import NetworkTab
from tests.ui.network.conftest import TIMEOUT, open_network


def engine_accuracy(name: str, ranks: dict, *, scheme="spatial", method="plain"):
    b = load_bundled_network(name)
    calib = b.splits["train"].x if method == "data-aware" else None
    f = analyse(b.network, conv_scheme=scheme, method=method, calibration=calib)
    test = b.splits["test"]
    return Scorer(b.network, test.x, test.y).score_network(compress(b.network, f, ranks))


def label_percent(label: QLabel) -> float:
    """The first percentage in the accuracy label."""
    m = re.search(r"([0-9]+\.[0-9]) %", re.sub("<[^>]+>", "", label.text()))
    assert m, label.text()
    return float(m.group(1))


def commit_rank(qtbot, tab: NetworkTab, k: int) -> None:
    """Type k into the rank box (as a user would) and wait for the whole-test accuracy."""
    spin = tab.findChild(QSpinBox, "networkRankSpin")
    with qtbot.waitSignal(tab.session.accuracy_ready, timeout=TIMEOUT):
        spin.setValue(k)


def test_named_widgets_exist(tab):
    for cls, name in (
        (QTableWidget, "networkLayerTable"),
        (QSpinBox, "networkRankSpin"),
        (QLabel, "networkAccuracyLabel"),
    ):
        assert tab.findChild(cls, name) is not None, name
    assert tab.objectName() == "networkTab"
    assert tab.rank_plot.objectName() == "networkAccuracyPlot"
    assert tab.budget_plot.objectName() == "networkBudgetPlot"


def test_table_params_and_macs_equal_the_engine(qtbot, tab):
    b = load_bundled_network("digits-mlp")
    f = analyse(b.network)
    assert tab.table.names() == list(f)
    for name, lf in f.items():
        assert tab.table.cell_value(name, "params") == lf.params
        assert tab.table.cell_value(name, "MACs") == lf.macs
        assert tab.table.cell_value(name, "rank") is None
    tab.session.select("2")
    commit_rank(qtbot, tab, 12)
    assert tab.table.cell_value("2", "rank") == 12
    assert tab.table.cell_value("2", "params at k") == f["2"].params_at(12) == 12 * 384 + 128
    assert tab.table.cell_value("2", "MACs at k") == f["2"].macs_at(12)
    t = totals(b.network, compress(b.network, f, {"2": 12}))
    text = tab.totals_label.text()
    assert f"{t.params:,}" in text and f"{t.params_compressed:,}" in text
    assert f"{t.macs_compressed:,}" in text and f"{t.compression_ratio:.2f}×" in text


@pytest.mark.parametrize(
    "steps", [[("0", 4)], [("0", 16)], [("2", 8), ("0", 8)], [("4", 3), ("2", 2)]]
)
def test_accuracy_label_equals_the_engine_for_the_same_ranks(qtbot, tab, steps):
    for layer, k in steps:
        tab.session.select(layer)
        assert tab.table.selectedIndexes()[0].row() == tab.table.names().index(layer)
        commit_rank(qtbot, tab, k)
    ranks = dict(steps)
    assert tab.session.ranks == ranks
    want = engine_accuracy("digits-mlp", ranks)
    got = tab.session.current_accuracy()
    assert (got.correct, got.n) == (want.correct, want.n)
    assert label_percent(tab.accuracy_label) == pytest.approx(round(100 * want.value, 1))
    assert f"{want.n} samples" in tab.accuracy_label.text()


def test_dragging_scores_the_fixed_subset_then_the_whole_split_on_release(qtbot, tab):
    s = tab.session
    b = load_bundled_network("digits-mlp")
    f = analyse(b.network)
    sub = Scorer(b.network, b.splits["test"].x, b.splits["test"].y).subset(PREVIEW_SAMPLES)
    for k in (3, 7):
        with qtbot.waitSignal(s.preview_ready, timeout=TIMEOUT) as blocker:
            tab.spectrum.rank_previewed.emit(k)
        assert blocker.args == [k]
        want = sub.score({"0": f["0"].layers_at(k)})
        assert s.preview[1].correct == want.correct and s.preview[1].n == PREVIEW_SAMPLES
        assert f"Live, rank {k}" in tab.accuracy_label.text()
        assert label_percent(tab.accuracy_label) == pytest.approx(round(100 * want.value, 1))
        assert s.ranks == {}  # nothing committed while dragging
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        tab.spectrum.rank_changed.emit(7)
    assert s.ranks == {"0": 7}
    assert "Live" not in tab.accuracy_label.text()
    want = engine_accuracy("digits-mlp", {"0": 7})
    assert s.current_accuracy().correct == want.correct


def test_full_rank_means_whole_and_readout_follows_eckart_young(qtbot, tab):
    s = tab.session
    f = analyse(load_bundled_network("digits-mlp").network)["0"]
    commit_rank(qtbot, tab, 10)
    e = f.errors(10)
    html = tab.readout.text()
    assert f"{e.frobenius_error:.5g}" in html and f"{e.frobenius_error_squared:.5g}" in html
    assert f"{f.singular_values[10]:.5g}" in html  # σ_{k+1}
    assert f"{e.frobenius_error_squared:.5g}" == f"{np.sum(f.singular_values[10:] ** 2):.5g}"
    commit_rank(qtbot, tab, 60)  # past the break-even rank 52: said plainly
    assert "saves nothing" in tab.readout.text()
    commit_rank(qtbot, tab, f.max_rank)
    assert s.ranks == {"0": None}
    assert tab.table.cell_value("0", "rank") is None


def test_energy_and_budget_rules_set_the_engines_ranks(qtbot, tab):
    s = tab.session
    f = analyse(load_bundled_network("digits-mlp").network)
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.apply_energy(0.8)
    assert s.ranks == {n: k for n, k in ranks_for_energy(f, 0.8).items() if k is not None} | {
        n: None for n, k in ranks_for_energy(f, 0.8).items() if k is None
    }
    for rule in ("global", "uniform", "energy"):
        want = allocate(f, 0.2, rule).ranks
        with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
            assert s.apply_budget(0.2, rule) is None
        assert s.ranks == {n: k for n, k in want.items()}
        assert s.current_accuracy().correct == engine_accuracy("digits-mlp", want).correct


def test_budget_sweep_draws_four_rules_and_enables_greedy(qtbot, tab):
    s = tab.session
    assert "being computed" in s.apply_budget(0.1, "greedy")
    with qtbot.waitSignal(s.budget_ready, timeout=TIMEOUT):
        pass
    sweep = s.current_budget()
    assert set(sweep.accuracy) == {"energy", "uniform", "global", "greedy"}
    for rule in sweep.accuracy:
        x, y = tab.budget_plot.curve_data(rule)
        np.testing.assert_allclose(y, 100 * np.asarray(sweep.accuracy[rule]))
        np.testing.assert_allclose(x, [100 * a.fraction for a in sweep.allocations[rule]])
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.apply_budget(0.1, "greedy")
    assert s.ranks and all(k is None or k >= 1 for k in s.ranks.values())


def test_rank_curves_equal_the_engines_sweep(qtbot, bare_tab):
    tab, s = bare_tab, bare_tab.session
    s.auto_curves = True
    with qtbot.waitSignal(s.curves_ready, timeout=TIMEOUT):
        tab.open_bundled("digits-mlp")
    b = load_bundled_network("digits-mlp")
    test = b.splits["test"]
    want = rank_sweep(Scorer(b.network, test.x, test.y), analyse(b.network)["0"])
    ranks, acc = tab.rank_plot.curve_data("plain")
    np.testing.assert_array_equal(ranks, want.ranks)
    np.testing.assert_allclose(acc, 100 * np.asarray(want.accuracy))
    da_ranks, da_acc = tab.rank_plot.curve_data("data-aware")
    assert len(da_ranks) == 64 and da_acc.max() <= 100.0
    assert "plain and data-aware" in tab.rank_panel.note.text()


@pytest.mark.parametrize(
    ("kind", "start", "panel"),
    [
        ("sweep", lambda t: t.session.compute_curves(), "rank_panel"),
        ("budget", lambda t: t.compute_budget(), "budget_panel"),
    ],
)
def test_cancel_stops_a_sweep(qtbot, bare_tab, runner, kind, start, panel):
    tab, s = bare_tab, bare_tab.session
    open_network(qtbot, tab, "digits-cnn")
    s.select("2")  # 48 ranks of a convolution, each scored on the whole test split
    fractions = []
    s.job_progress.connect(lambda k, f: fractions.append(f) if k == kind else None)
    with qtbot.waitSignal(s.job_progress, timeout=TIMEOUT, check_params_cb=lambda k, f: k == kind):
        start(tab)
    channel = f"network.{kind}"
    assert runner.is_running(channel)
    box = getattr(tab, panel)
    assert box.cancel_button.isVisible()
    qtbot.waitUntil(lambda: bool(fractions) and fractions[-1] > 0, timeout=TIMEOUT)
    box.cancel_button.click()
    assert not runner.is_running(channel)
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=TIMEOUT)  # the thread ended
    assert s.selected_curves() is None and s.current_budget() is None
    assert fractions[-1] < 1.0
    assert not box.cancel_button.isVisible()


def test_cancelling_the_timing_kills_its_process(qtbot, tab, runner):
    s = tab.session
    with qtbot.waitSignal(runner.started, timeout=TIMEOUT):
        assert tab.measure_latency()
    tab.latency_panel.cancel_button.click()
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=TIMEOUT)
    assert s.latency is None
    assert "not measured yet" in tab.latency_label.text()


def test_busy_machine_warning_and_what_was_measured():
    from svdstudio.engine.network import LatencyStats
    from svdstudio.ui.network.latency import LatencyReport
    from svdstudio.ui.network.text import latency_html

    def st(m):
        return LatencyStats(m, 0.9 * m, 1.2 * m, 30, 3.0, 3.0, "1")

    stats = {("original", 1): st(2e-3), ("compressed", 1): st(1e-3)}
    stats |= {("original", 64): st(8e-3), ("compressed", 64): st(2e-3)}
    for load, busy in ((3.0, True), (1.4, False), (1.6, True)):
        r = LatencyReport(stats, 64, 2, load, load, "1")
        html = latency_html(r, stale=False)
        assert ("machine is busy" in html) is busy, (load, html)
        assert "2.00×" in html and "4.00×" in html and "30 runs" in html
        assert "one BLAS thread" in html
    assert r.speedup(64) == pytest.approx(4.0)


def test_the_tab_previews_alone(qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from svdstudio.ui.network import tab as tab_module

    shown = []

    def fake_exec(*_args):
        tabs = [
            w
            for w in QApplication.topLevelWidgets()
            if w.objectName() == "networkTab" and w.isVisible()
        ]
        assert len(tabs) == 1  # earlier tests' tabs are closed
        tab = tabs[0]
        qtbot.waitUntil(lambda: tab.session.current_accuracy() is not None, timeout=TIMEOUT)
        shown.append((tab.session.title, tab.width(), tab.table.rowCount()))
        tab.session.auto_curves = False
        tab.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert tab_module._preview() == 0
    assert shown == [("MLP 64-256-128-10 on Digits (8×8)", 1280, 3)]


@pytest.mark.parametrize(
    ("name", "scheme", "ranks"),
    [
        ("digits-mlp", "spatial", {"0": 8, "2": 20}),
        ("digits-cnn", "spatial", {"2": 6, "6": 10}),
        ("digits-cnn", "channel", {"0": 2, "2": 9}),
    ],
)
def test_exported_network_reopens_with_the_same_outputs(
    qtbot, bare_tab, tmp_path, name, scheme, ranks
):
    tab, s = bare_tab, bare_tab.session
    if scheme != "spatial":
        s.scheme = scheme
    open_network(qtbot, tab, name)
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.set_ranks(ranks)
    path = tmp_path / "small.safetensors"
    assert tab.export_to("network", str(path))
    reopened, meta = read_network(path)
    x = load_bundled_network(name).splits["test"].x
    np.testing.assert_allclose(
        forward(reopened, x), forward(s.compressed(), x), rtol=1e-5, atol=1e-5
    )
    assert reopened.n_params == s.totals().params_compressed
    assert "ranks" in meta["svdstudio.note"]
    # Reopened in the tab, it is scored on the bundled data it takes, with the same accuracy.
    acc = s.current_accuracy()
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        assert tab.open_file(str(path))
    assert s.baseline.correct == acc.correct
    assert "no data of its own" in tab.notice_label.text()


def test_csv_and_plot_exports(qtbot, tab, tmp_path):
    s = tab.session
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.set_ranks({"0": 5})
    table = tmp_path / "layers.csv"
    assert tab.export_to("table", str(table))
    rows = list(csv.DictReader(table.read_text().splitlines()))
    f = s.factors()
    assert [r["layer"] for r in rows] == list(f)
    assert int(rows[0]["rank"]) == 5 and int(rows[0]["params_compressed"]) == f["0"].params_at(5)
    assert float(rows[0]["frobenius_error_squared"]) == pytest.approx(
        f["0"].errors(5).frobenius_error_squared
    )
    assert rows[1]["rank"] == "" and int(rows[1]["params"]) == f["2"].params
    with qtbot.waitSignal(s.curves_ready, timeout=TIMEOUT):
        s.compute_curves()
    curves = tmp_path / "curves.csv"
    assert tab.export_to("curves", str(curves))
    got = [
        r for r in csv.DictReader(curves.read_text().splitlines()) if r["method_or_rule"] == "plain"
    ]
    assert len(got) == f["0"].max_rank
    assert float(got[4]["accuracy"]) == s.selected_curves().curves["plain"].accuracy[4]
    for ext in ("png", "svg"):
        out = tmp_path / f"rank.{ext}"
        assert tab.export_to("rank-plot", str(out))
        assert out.stat().st_size > 1000
    assert tab.export_to("budget-plot", str(tmp_path / "budget.png"))


def test_latency_is_measured_in_the_background(qtbot, tab):
    s = tab.session
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.set_ranks({"0": 8, "2": 8})
    with qtbot.waitSignal(s.latency_ready, timeout=120000):
        assert tab.measure_latency()
        assert tab.latency_panel.cancel_button.isVisible()  # the window is free meanwhile
    key, report = s.latency
    assert key == s.key()
    assert set(report.stats) == {
        ("original", 1),
        ("original", 256),
        ("compressed", 1),
        (
            "compressed",
            256,
        ),
    }
    for st in report.stats.values():
        assert st.runs >= 30 and st.p10 <= st.median <= st.p90
    assert report.blas_threads == "1"
    html = tab.latency_label.text()
    assert "batch 1" in html and "batch 256" in html and "30 runs" in html
    assert "MACs are counted" in tab.totals_label.text()
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.set_ranks({"0": 4})
    assert "measure again" in tab.latency_label.text()


def test_data_aware_method_shows_the_whitened_spectrum(qtbot, tab):
    s = tab.session
    with qtbot.waitSignal(s.factors_ready, timeout=TIMEOUT):
        tab._set_method("data-aware")
    b = load_bundled_network("digits-mlp")
    f = analyse(b.network, method="data-aware", calibration=b.splits["train"].x)
    np.testing.assert_allclose(tab.spectrum.values(), f["0"].singular_values)
    assert "data-aware" in tab.readout.text()
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.set_ranks({"0": 8})
    want = engine_accuracy("digits-mlp", {"0": 8}, method="data-aware")
    assert s.current_accuracy().correct == want.correct


def test_bad_files_are_refused_with_one_message_and_the_network_stays(qtbot, tab, tmp_path):
    messages = []
    tab.status_message.connect(messages.append)
    net = tab.session.network
    cases = {
        "junk.safetensors": b"\xff" * 40,
        "short.safetensors": b"\x10\x00",
        "noweights.npz": b"PK\x05\x06" + b"\x00" * 18,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        messages.clear()
        assert not tab.open_file(str(path))
        assert len(messages) == 1 and name in messages[0], messages
        assert tab.session.network is net
    bad = tmp_path / "wrong.npz"
    np.savez(bad, x=np.zeros((5, 10)), y=np.zeros(5, dtype=int))
    messages.clear()
    assert not tab.open_data(str(bad))
    assert len(messages) == 1 and "wrong.npz" in messages[0]
    assert tab.session.plan.test.n == 359


def test_a_users_data_file_is_split_into_calibration_and_scored_halves(qtbot, tab, tmp_path):
    test = load_bundled_network("digits-mlp").splits["test"]
    path = tmp_path / "mine.npz"
    np.savez(path, x=test.x, y=test.y)
    with qtbot.waitSignal(tab.session.accuracy_ready, timeout=TIMEOUT):
        assert tab.open_data(str(path))
    plan = tab.session.plan
    assert plan.test.n + plan.calibration.n == test.n
    assert "seeded half" in tab.notice_label.text()
    assert tab.session.baseline.n == plan.test.n


def test_state_round_trips(qtbot, tab, tmp_path, runner):
    s = tab.session
    with qtbot.waitSignal(s.accuracy_ready, timeout=TIMEOUT):
        s.set_ranks({"0": 6, "2": 30})
    s.select("2")
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    tab.save_state(settings)
    settings.sync()
    other = NetworkTab(runner)
    other.session.auto_curves = False
    qtbot.addWidget(other)
    with qtbot.waitSignal(other.session.accuracy_ready, timeout=TIMEOUT):
        other.restore_state(settings)
    assert other.session.ranks == {"0": 6, "2": 30}
    assert other.session.selected == "2"
    assert other.session.current_accuracy().correct == s.current_accuracy().correct


def test_main_window_opens_network_files_in_the_network_tab(qtbot, main_window, tmp_path):
    tab = main_window.tab_by_kind["network"]
    tab.session.auto_curves = False
    qtbot.waitUntil(lambda: tab.session.current_accuracy() is not None, timeout=TIMEOUT)
    path = tmp_path / "m.safetensors"
    assert tab.export_to("network", str(path))
    assert main_window.kind_for_path(str(path)) == "network"
    with qtbot.waitSignal(tab.session.network_changed, timeout=TIMEOUT):
        assert main_window.open_path(str(path))
    assert main_window.tabs.currentWidget() is tab
    assert tab.session.source == str(path.resolve())


def test_a_drag_released_where_it_started_ends_the_preview(qtbot, tab):
    from PySide6.QtCore import Qt

    s = tab.session
    before = s.current_accuracy()
    with qtbot.waitSignal(s.preview_ready, timeout=TIMEOUT):
        tab.spectrum.rank_previewed.emit(2)
    assert "Live, rank 2" in tab.accuracy_label.text()
    qtbot.mouseRelease(tab.spectrum.plot_widget().viewport(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Live" not in tab.accuracy_label.text(), timeout=TIMEOUT)
    assert s.ranks == {} and s.current_accuracy() is before
    assert label_percent(tab.accuracy_label) == pytest.approx(round(100 * before.value, 1))
    assert "k = 64 of 64" in tab.readout.text()


def test_a_hidden_tab_starts_no_background_sweeps(qtbot, main_window):
    tab = main_window.tab_by_kind["network"]
    s = tab.session
    assert main_window.tabs.currentWidget() is not tab
    qtbot.waitUntil(lambda: s.current_accuracy() is not None, timeout=TIMEOUT)
    assert not s.active and s.factors("data-aware") is None
    assert not main_window.runner.is_running("network.sweep")
    with qtbot.waitSignal(s.curves_ready, timeout=TIMEOUT):
        main_window.tabs.setCurrentWidget(tab)  # shown: it catches up
    assert s.active and s.factors("data-aware") is not None
    assert set(s.selected_curves().curves) == {"plain", "data-aware"}
