"""Fixtures shared by the GUI tests."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from svdstudio.app import create_main_window


@pytest.fixture(autouse=True)
def _private_app_folder(tmp_path, monkeypatch):
    """Files the app keeps beside its settings (the Matrix tab's autosave) go to tmp_path."""
    monkeypatch.setenv("SVDSTUDIO_SETTINGS", str(tmp_path / "settings.ini"))


@pytest.fixture
def main_window(qtbot, tmp_path):
    """The real main window on its own settings file, shown; its workers are gone afterwards."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = create_main_window(settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.runner.shutdown()
    assert w.runner.live_workers() == 0
