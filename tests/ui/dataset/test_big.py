"""The Dataset tab on a big table: Dask path, sample, density, hover row, export, scheduler."""

from __future__ import annotations

import csv
import functools

import numpy as np
import pytest

pytest.importorskip("dask.array")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from svdstudio.engine.projection import project  # noqa: E402
from svdstudio.ui.dataset import big as big_module  # noqa: E402
from svdstudio.ui.dataset import big_job  # noqa: E402
from svdstudio.ui.dataset.tab import DatasetTab  # noqa: E402
from svdstudio.workers import JobRunner  # noqa: E402

TIMEOUT = 60000


def write_parquet(path, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) @ rng.normal(size=(4, 4)) * [1, 2, 3, 4]
    kinds = np.where(np.arange(n) % 10 == 0, "rare", "common")
    pq.write_table(
        pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3], "kind": kinds}),
        path,
        row_group_size=700,
    )
    return X, kinds


@pytest.fixture
def runner():
    r = JobRunner()
    yield r
    r.shutdown()


@pytest.fixture
def tab(qtbot, monkeypatch, runner):
    monkeypatch.setattr(big_module.BigTables, "__init__", _small_sample_init)
    w = DatasetTab(runner)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    with qtbot.waitSignal(w.projection_ready, timeout=TIMEOUT):
        w.load_defaults()
    return w


_real_init = big_module.BigTables.__init__


def _small_sample_init(self, runner, parent=None):
    _real_init(self, runner, parent)
    self.sample_size = 500  # a "big" table of 3000 rows draws 500 of them


def test_parquet_opens_on_dask_with_a_sample_and_full_table_rows(tab, qtbot, tmp_path):
    path = tmp_path / "big.parquet"
    X, _kinds = write_parquet(path)
    assert not tab.big_bar.isVisible()
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        assert tab.open_file(str(path))
    ds, res = tab.dataset(), tab.result()
    assert ds.n_rows == 3000 and ds.n_drawn == 500
    assert tab.scatter.point_count() == 500
    # Stratified: the rare class keeps its tenth of the sample.
    assert int((ds.labels == "rare").sum()) == 50
    # The fit is of the whole table; the drawn points are its rows' true coordinates.
    ref = project(X, "tsvd", 4)
    np.testing.assert_allclose(res.singular_values, ref.singular_values, rtol=1e-8)
    np.testing.assert_allclose(res.projection, ref.projection[ds.row_numbers - 1], atol=1e-8)
    assert tab.big_bar.isVisible()
    drawn = tab.big_bar.drawn_label.text()
    assert drawn.startswith("Drawn: 500 of 3,000 rows, a uniform random sample within each class")
    assert "3000 rows × 4 features" in tab.notice_label.text()
    assert "Read chunk by chunk with Dask" in tab.notice_label.text()
    # Hover names the row in the full table.
    view = tab.scatter
    view.hover_scene_pos(view.scene_pos_of(123))
    i = view.hovered()
    assert i >= 0
    assert tab.hover_text().startswith(f"Row {int(ds.row_numbers[i])}")
    tab.grab().save(str(tmp_path / "big_tab.png"))


def test_method_change_density_and_export_of_all_rows(tab, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(big_module, "IN_PROCESS", False)  # thread jobs: the same code, faster
    path = tmp_path / "big.parquet"
    X, _kinds = write_parquet(path, seed=1)
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.set_method("pca")
    ref = project(X, "pca", 4)
    np.testing.assert_allclose(tab.result().explained_variance_ratio, ref.explained_variance_ratio)

    big = tab.session.big
    with qtbot.waitSignal(big.density_ready, timeout=TIMEOUT):
        tab.big_bar.density_check.setChecked(True)
    assert big.density.total == 3000 and big.density.counts.sum() + big.density.outside == 3000
    assert tab.big_bar.density_image.shown()
    tab.grab().save(str(tmp_path / "density.png"))
    assert "Shading: the density of all 3,000 rows" in tab.big_bar.drawn_label.text()
    with qtbot.waitSignal(big.density_ready, timeout=TIMEOUT):
        tab.set_axes(1, 3)
    assert big.density_axes == (0, 2)

    out = tmp_path / "all.csv"
    with qtbot.waitSignal(big.exported, timeout=TIMEOUT) as sig:
        assert tab.export_csv(str(out))
    assert sig.args == [str(out), 3000]
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["row", "kind", "PC1"] and len(rows) == 3001
    np.testing.assert_allclose(
        np.array([r[2:4] for r in rows[1:]], float), ref.projection[:, :2], atol=1e-7
    )


def test_bad_scheduler_is_reported_and_a_small_table_hides_the_bar(
    tab, qtbot, tmp_path, monkeypatch
):
    monkeypatch.setattr(big_module, "IN_PROCESS", False)
    monkeypatch.setattr(
        big_job, "DaskCompute", functools.partial(big_job.DaskCompute, connect_timeout=1)
    )
    path = tmp_path / "big.parquet"
    write_parquet(path, n=800)
    big = tab.session.big
    tab.big_bar.scheduler_edit.setText("tcp://127.0.0.1:9")
    tab.big_bar.scheduler_edit.editingFinished.emit()
    assert big.scheduler == "tcp://127.0.0.1:9"
    with qtbot.waitSignal(tab.session.job_failed, timeout=TIMEOUT) as sig:
        tab.open_file(str(path))
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in sig.args[0]
    tab.big_bar.scheduler_edit.clear()
    tab.big_bar.scheduler_edit.editingFinished.emit()
    assert big.scheduler is None
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    assert tab.big_bar.isVisible()
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.load_bundled("iris")
    assert not tab.big_bar.isVisible() and tab.dataset().n_rows == 150


def test_progress_reaches_the_runner_and_cancel_keeps_the_table_on_show(
    tab, runner, qtbot, tmp_path, monkeypatch
):
    monkeypatch.setattr(big_module, "IN_PROCESS", False)
    path = tmp_path / "big.parquet"
    write_parquet(path, n=2100)
    seen = []
    runner.progress.connect(lambda ch, _id, f, msg: seen.append((ch, f, msg)))
    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    stages = {msg for ch, _f, msg in seen if ch == "dataset.big.load"}
    assert {"reading the table", "drawing a sample"} <= stages
    assert all(0 <= f <= 1 for _ch, f, _m in seen)

    with qtbot.waitSignal(tab.projection_ready, timeout=TIMEOUT):
        tab.load_bundled("iris")
    with qtbot.waitSignal(runner.cancelled, timeout=TIMEOUT) as sig:
        tab.open_file(str(path))
        runner.cancel("dataset.big.load")
    assert sig.args[0] == "dataset.big.load"
    qtbot.waitUntil(lambda: not runner.is_running("dataset.big.load"), timeout=TIMEOUT)
    assert tab.dataset().n_rows == 150 and not tab.big_bar.isVisible()
