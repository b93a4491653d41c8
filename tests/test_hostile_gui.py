"""Hostile paths through the GUI's open path: a message naming the file, no freeze, nothing lost."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from svdstudio.app import create_main_window
from tests import _hostile as H  # noqa: N812

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks are POSIX here")


@pytest.fixture(scope="module")
def shared_window(qapp, tmp_path_factory):
    # One window for the module: each test only opens a file that is refused.
    ini = tmp_path_factory.mktemp("settings") / "settings.ini"
    w = create_main_window(QSettings(str(ini), QSettings.Format.IniFormat))
    w.show()
    yield w
    w.runner.shutdown()
    assert w.runner.live_workers() == 0
    w.close()
    w.deleteLater()


@pytest.fixture
def window(shared_window, monkeypatch):
    shared_window.shown_warnings = []
    monkeypatch.setattr(
        QMessageBox,
        "warning",
        lambda parent, title, text, *a: shared_window.shown_warnings.append(text),
    )
    return shared_window


def _open_guarded(window, path) -> bool:
    """open_path, with a watchdog that unblocks a reader stuck on a FIFO (then the test fails)."""
    stuck = []

    def unblock() -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only if someone reads
        except OSError:
            return
        stuck.append(True)
        os.close(fd)

    timer = threading.Timer(20, unblock) if path.is_fifo() else None
    if timer:
        timer.start()
    try:
        return window.open_path(str(path))
    finally:
        if timer:
            timer.cancel()
        assert not stuck, f"open_path blocked on {path.name}"


@pytest.mark.parametrize(
    ("case", "suffix"),
    [
        ("folder", ".csv"),
        ("loop", ".csv"),
        ("loop", ".png"),
        ("fifo", ".csv"),
        ("fifo", ".png"),
        ("fifo", ".npy"),
        ("fifo", ".svdz"),
        ("device", ".csv"),
        ("dangling", ".png"),
    ],
)
def test_open_path_refuses_with_a_message(qtbot, window, tmp_path, case, suffix):
    matrix_tab = window.tab_by_kind["matrix"]
    before = matrix_tab.model().values().copy()
    path = H.make_path_case(tmp_path, case, suffix)
    assert _open_guarded(window, path) is False
    assert len(window.shown_warnings) == 1
    message = window.shown_warnings[0]
    assert path.name in message and H.PATH_CASES[case].split(";")[0] in message
    assert "RuntimeError" not in message and "Traceback" not in message
    np.testing.assert_array_equal(matrix_tab.model().values(), before)  # nothing lost
    assert str(path) not in window.recent_files()


def test_sparse_5gb_table_refused_by_size(qtbot, window, tmp_path):
    path = H.sparse_file(tmp_path / "huge.csv", 5 * 2**30, head=b"1,2\n3,4\n")
    assert _open_guarded(window, path) is False
    assert len(window.shown_warnings) == 1 and "5.0 GiB" in window.shown_warnings[0]


def test_nan_pixel_in_float_tiff(qtbot, window, tmp_path):
    arr = np.ones((6, 9), dtype=np.float32)
    arr[1, 7] = np.inf
    path = tmp_path / "hdr.tif"
    Image.fromarray(arr, mode="F").save(path)
    assert _open_guarded(window, path) is False
    assert len(window.shown_warnings) == 1
    assert "pixel x=8, y=2" in window.shown_warnings[0] and "+inf" in window.shown_warnings[0]


def test_damaged_factor_file(qtbot, window, tmp_path):
    path = tmp_path / "cut.svdz"
    path.write_bytes(H.npy_bytes(np.array([1, "x"], dtype=object), allow_pickle=True))
    assert _open_guarded(window, path) is False
    assert len(window.shown_warnings) == 1
    message = window.shown_warnings[0]
    assert "not a valid SVD Studio factor file" in message and "allow_pickle" not in message


@pytest.mark.parametrize(
    ("text", "s1", "energy_1"),
    [
        ("1e308,2e307\n3e307,1e308\n", 1.2512492197250393e308, 73.50350281044693),
        ("1e-305,2e-306\n3e-306,1e-305\n", 1.2512492197250393e-305, 73.50350281044693),
    ],
)
def test_matrix_tab_at_extreme_magnitudes(qtbot, window, tmp_path, text, s1, energy_1):
    path = tmp_path / "extreme.csv"
    path.write_text(text)
    tab = window.tab_by_kind["matrix"]
    assert window.open_path(str(path))
    qtbot.waitUntil(lambda: tab.result() is not None and tab.result().s[0] == pytest.approx(s1))
    qtbot.waitUntil(lambda: tab.results.views["S"].array_model().array().shape == (2, 4))
    table = tab.results.views["S"].array_model().array()
    # Energy shares stay finite and right although σ² overflows (or underflows).
    assert table[0, 2] == pytest.approx(energy_1) and table[1, 3] == pytest.approx(100.0)
    assert window.shown_warnings == []
