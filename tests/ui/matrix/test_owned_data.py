"""Data the user owns: Save saves, Discard discards, Cancel stays; autosave survives a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from svdstudio.app import create_main_window
from svdstudio.io.matrix import read_matrix
from svdstudio.ui.matrix import autosave
from svdstudio.ui.matrix.presets import ARTICLE_MATRIX
from svdstudio.ui.matrix.tab import MatrixTab

ROOT = Path(__file__).resolve().parents[3]


def settings_at(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


_OPEN: list = []


@pytest.fixture(autouse=True)
def _close_leftovers():
    """Windows a test left open are closed without questions, their workers stopped."""
    yield
    while _OPEN:
        w = _OPEN.pop()
        if w.isVisible():
            w.tab_by_kind["matrix"].maybe_save = lambda: True
            w._reset_pending = True
            w.close()
        w.runner.shutdown()
        w.deleteLater()


def start(qtbot, tmp_path, answers=None):
    """The real main window on tmp_path's settings; Save/Discard/Cancel answered from a list."""
    w = create_main_window(settings_at(tmp_path))
    _OPEN.append(w)
    tab = w.tab_by_kind["matrix"]
    asked: list[str] = []
    if answers is not None:

        def ask():
            asked.append("asked")
            return answers.pop(0) if answers else "cancel"

        tab._ask_save_changes = ask
    qtbot.waitUntil(lambda: tab.result() is not None, timeout=20_000)  # started up
    return w, tab, asked


def quit_window(w) -> bool:
    """Close as the user would; True when the window really closed (its runner is stopped)."""
    return w.close()


@pytest.mark.parametrize("edit", ["cell", "paste", "resize"])
def test_discard_really_discards(qtbot, tmp_path, edit):
    path = tmp_path / "mine.csv"
    path.write_text("1,2\n3,4\n")
    w, tab, asked = start(qtbot, tmp_path, ["discard"])
    assert w.open_path(str(path))
    if edit == "cell":
        tab.model().set_cell(0, 0, 99)
    elif edit == "paste":
        tab.paste_text("7\t8\tx\n")
    else:
        tab.editor.rows_spin.setValue(5)
    assert tab.has_unsaved_changes()
    assert quit_window(w)
    assert asked == ["asked"]

    w2, tab2, asked2 = start(qtbot, tmp_path, [])
    np.testing.assert_array_equal(tab2.model().values(), [[1, 2], [3, 4]])
    assert tab2.model().invalid_cells() == {}
    assert not tab2.has_unsaved_changes()
    assert w2.windowTitle() == "mine.csv — SVD Studio"
    assert quit_window(w2)  # a later quit does not ask
    assert asked2 == []
    np.testing.assert_array_equal(read_matrix(path), [[1, 2], [3, 4]])  # the file untouched


def test_discard_without_a_file_returns_to_the_article(qtbot, tmp_path):
    w, tab, _ = start(qtbot, tmp_path, ["discard"])
    tab.model().set_cell(1, 1, "oops")
    assert quit_window(w)
    w2, tab2, asked = start(qtbot, tmp_path, [])
    np.testing.assert_array_equal(tab2.model().values(), ARTICLE_MATRIX)
    assert not tab2.has_unsaved_changes() and tab2.model().invalid_cells() == {}
    assert quit_window(w2) and asked == []


def test_save_saves_and_cancel_stays_open(qtbot, tmp_path, monkeypatch):
    target = tmp_path / "kept.tsv"
    from svdstudio.ui.widgets import file_dialogs

    monkeypatch.setattr(file_dialogs, "ask_save_path", lambda *a, **k: (str(target), ""))
    w, tab, asked = start(qtbot, tmp_path, ["cancel", "save"])
    w.show()
    tab.model().set_cell(0, 0, 42)
    assert w.windowTitle() == "untitled* — SVD Studio"
    assert not w.close()  # Cancel: still open, still unsaved
    assert w.isVisible() and tab.has_unsaved_changes()
    assert tab.model().values()[0, 0] == 42
    assert quit_window(w)  # Save
    assert asked == ["asked", "asked"]
    expected = ARTICLE_MATRIX.copy()
    expected[0, 0] = 42
    np.testing.assert_array_equal(read_matrix(target), expected)
    w2, tab2, asked2 = start(qtbot, tmp_path, [])
    np.testing.assert_array_equal(tab2.model().values(), expected)
    assert not tab2.has_unsaved_changes()
    assert w2.windowTitle() == "kept.tsv — SVD Studio"
    assert quit_window(w2) and asked2 == []


def test_unsaved_edits_survive_a_clean_quit_and_discard_then_returns_to_the_file(qtbot, tmp_path):
    """Quit keeps unsaved edits in the session (nothing lost); a later Discard goes back to the
    file that was open, not to the edits."""
    path = tmp_path / "m.csv"
    path.write_text("5,6\n7,8\n")
    w, tab, _ = start(qtbot, tmp_path)
    w.open_path(str(path))
    tab.model().set_cell(1, 1, 80)
    tab.maybe_save = lambda: True  # quit without being asked: edits go to the session
    assert quit_window(w)
    w2, tab2, _ = start(qtbot, tmp_path, ["discard"])
    assert tab2.model().values().tolist() == [[5, 6], [7, 80]]
    assert tab2.has_unsaved_changes()
    assert w2.windowTitle() == "m.csv* — SVD Studio"
    assert quit_window(w2)
    w3, tab3, asked = start(qtbot, tmp_path, [])
    assert tab3.model().values().tolist() == [[5, 6], [7, 8]]
    assert quit_window(w3) and asked == []


def test_autosave_is_written_after_the_last_edit_and_removed_when_clean(
    qtbot, tmp_path, monkeypatch
):
    monkeypatch.setattr(autosave, "AUTOSAVE_DELAY_MS", 50)
    tab = MatrixTab(None)
    qtbot.addWidget(tab)
    target = tab.autosave.target()
    assert target.parent == tmp_path  # beside $SVDSTUDIO_SETTINGS
    tab.model().set_cell(2, 2, "half")
    tab.model().set_cell(0, 1, 1.5)
    qtbot.waitUntil(target.exists, timeout=5000)
    rec = autosave.read_autosave(target)
    expected = ARTICLE_MATRIX.copy()
    expected[0, 1] = 1.5
    expected[2, 2] = np.nan
    np.testing.assert_array_equal(rec.values, expected)
    assert rec.invalid == {(2, 2): "half"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic
    tab.undo_stack().undo()
    tab.undo_stack().undo()  # back to the saved state: nothing to recover
    assert not target.exists()
    tab.model().set_cell(0, 0, 3)
    qtbot.waitUntil(target.exists, timeout=5000)
    tab.save_state(settings_at(tmp_path))  # a clean exit
    assert not target.exists()


_VICTIM = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from svdstudio.ui.matrix import autosave
    autosave.AUTOSAVE_DELAY_MS = 100
    from svdstudio.app import create_main_window
    app = QApplication(sys.argv[:1])
    w = create_main_window(QSettings(sys.argv[1], QSettings.Format.IniFormat))
    tab = w.tab_by_kind["matrix"]
    w.open_path(sys.argv[2])
    tab.model().set_cell(0, 1, 123.25)
    tab.model().set_cell(1, 0, "later")
    def check():
        if tab.autosave.target().exists():
            print("AUTOSAVED", flush=True)
        else:
            QTimer.singleShot(50, check)
    QTimer.singleShot(50, check)
    app.exec()
    """
)


def test_a_killed_session_offers_its_edits_back(qtbot, tmp_path):
    settings = tmp_path / "settings.ini"
    data = tmp_path / "data.csv"
    data.write_text("1,2\n3,4\n")
    script = tmp_path / "victim.py"
    script.write_text(_VICTIM)
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(ROOT),
        SVDSTUDIO_SETTINGS=str(settings),
    )
    proc = subprocess.Popen(
        [sys.executable, str(script), str(settings), str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # blocks until the autosave exists (or the child dies)
        assert line.strip() == "AUTOSAVED"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(autosave.find_orphans(tmp_path)) == 1

    w, tab, _ = start(qtbot, tmp_path, ["discard"])
    banner = tab.recovery
    assert banner.isVisibleTo(tab)
    assert "2×2 matrix of " + str(data) in banner.label.text()
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)  # nothing replaced yet
    banner.restore_button.click()
    assert not banner.isVisibleTo(tab)
    assert tab.model().values()[0].tolist() == [1, 123.25]
    assert tab.model().invalid_cells() == {(1, 0): "later"}
    assert tab.has_unsaved_changes()
    assert w.windowTitle() == "data.csv* — SVD Studio"
    assert autosave.find_orphans(tmp_path) == []
    tab.undo_stack().undo()  # the restore is one undo step
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)
    assert quit_window(w)


def test_recovery_can_be_discarded_and_damaged_files_are_dropped(qtbot, tmp_path):
    dead = 2**22 + 12345  # above the usual pid_max on CI machines: not a live process
    good = tmp_path / f"matrix-autosave-{dead}.npz"
    autosave.write_autosave(good, np.array([[9.0, 8.0]]), {}, None)
    broken = tmp_path / f"matrix-autosave-{dead + 1}.npz"
    broken.write_bytes(b"not a zip")
    os.utime(broken, (2e9, 2e9))  # the newest: tried first, skipped
    tab = MatrixTab(None)
    qtbot.addWidget(tab)
    tab.load_defaults()
    assert tab.recovery.isVisibleTo(tab)
    assert tab.recovery.recovered().values.tolist() == [[9.0, 8.0]]
    tab.recovery.discard_button.click()
    assert not tab.recovery.isVisibleTo(tab)
    assert list(tmp_path.glob("matrix-autosave-*")) == []
    np.testing.assert_array_equal(tab.model().values(), ARTICLE_MATRIX)
