"""The Matrix autosave written off the GUI thread: in order, never after a removal."""

from __future__ import annotations

import threading

import numpy as np

from svdstudio.ui.matrix import autosave
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX
from svdstudio.ui.matrix.tab import MatrixTab


def test_with_a_runner_the_file_is_written_on_another_thread(qtbot, runner, monkeypatch):
    threads: list[int] = []
    real = autosave.write_autosave

    def spy(*args):
        threads.append(threading.get_ident())
        real(*args)

    monkeypatch.setattr(autosave, "write_autosave", spy)
    tab = MatrixTab(runner)
    qtbot.addWidget(tab)
    target = tab.autosave.target()
    tab.model().set_cell(0, 1, 2.5)
    with qtbot.waitSignal(tab.autosave.written, timeout=10_000):
        tab.autosave.write_now()
    assert threads and threads[0] != threading.get_ident()
    expected = ARTICLE_MATRIX.copy()
    expected[0, 1] = 2.5
    np.testing.assert_array_equal(autosave.read_autosave(target).values, expected)
    tab.undo_stack().undo()  # back to the saved matrix: the file goes
    assert not target.exists()


def test_a_write_asked_for_during_another_follows_it_with_the_newer_cells(qtbot, runner):
    tab = MatrixTab(runner)
    qtbot.addWidget(tab)
    written: list[int] = []
    tab.autosave.written.connect(lambda: written.append(1))
    cancelled: list[str] = []
    runner.cancelled.connect(lambda channel, _id: cancelled.append(channel))
    tab.model().set_cell(0, 0, 7.0)
    tab.autosave.write_now()
    tab.model().set_cell(1, 1, "x")  # before the first write has been reported
    tab.autosave.write_now()
    qtbot.waitUntil(
        lambda: len(written) == 2 and not runner.is_running(autosave.Autosave.CHANNEL),
        timeout=10_000,
    )
    rec = autosave.read_autosave(tab.autosave.target())
    assert rec.values[0, 0] == 7.0 and rec.invalid == {(1, 1): "x"}
    assert "matrix.autosave" not in cancelled  # one job at a time: none was replaced
    tab.autosave.remove()
    assert not tab.autosave.target().exists()


def test_an_older_write_never_replaces_a_newer_one(tmp_path):
    writes = autosave._Writes()
    target = tmp_path / "a.npz"
    first, second = writes.ask(), writes.ask()
    assert writes.write(second, target, np.array([[2.0, 3.0]]), {}, None) == ""
    assert writes.write(first, target, np.array([[1.0, 1.0]]), {}, None) == ""  # skipped
    assert autosave.read_autosave(target).values.tolist() == [[2.0, 3.0]]


def test_a_removal_during_a_write_removes_what_it_leaves(tmp_path, monkeypatch):
    writes = autosave._Writes()
    target = tmp_path / "a.npz"
    real = autosave.write_autosave
    seen: list[bool] = []

    def removed_meanwhile(*args):
        real(*args)
        seen.append(target.exists())
        writes.mark_removed()  # as the GUI thread does when the grid is saved meanwhile

    monkeypatch.setattr(autosave, "write_autosave", removed_meanwhile)
    assert writes.write(writes.ask(), target, np.ones((2, 2)), {}, None) == ""
    assert seen == [True] and not target.exists()
    later = writes.ask()  # an edit after the removal writes again
    monkeypatch.setattr(autosave, "write_autosave", real)
    writes.write(later, target, np.ones((2, 2)), {}, None)
    assert target.exists()


def test_a_write_asked_for_before_a_removal_is_skipped(tmp_path):
    writes = autosave._Writes()
    target = tmp_path / "a.npz"
    number = writes.ask()
    writes.mark_removed()
    assert writes.write(number, target, np.ones((2, 2)), {}, None) == ""
    assert not target.exists()


def test_a_failed_write_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    writes = autosave._Writes()
    message = writes.write(writes.ask(), blocker / "a.npz", np.ones((2, 2)), {}, None)
    assert message.startswith("Could not autosave the matrix: ")


def test_esc_cancelling_every_job_does_not_lose_the_autosave(qtbot, runner):
    tab = MatrixTab(runner)
    qtbot.addWidget(tab)
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=10_000)  # the first SVD
    tab.model().set_cell(2, 0, -4.0)
    tab.autosave.write_now()
    runner.cancel_all()  # as the main window's Esc does: only the job's report is dropped
    target = tab.autosave.target()
    qtbot.waitUntil(target.exists, timeout=10_000)
    qtbot.waitUntil(lambda: runner.live_workers() == 0, timeout=10_000)
    assert autosave.read_autosave(target).values[2, 0] == -4.0
    tab.model().set_cell(2, 1, 5.0)  # the next write is not blocked by the cancelled one
    with qtbot.waitSignal(tab.autosave.written, timeout=10_000):
        tab.autosave.write_now()
    assert autosave.read_autosave(target).values[2, 1] == 5.0
    tab.autosave.remove()
