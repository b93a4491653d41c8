"""Fixtures shared by the Dataset tab tests."""

from __future__ import annotations

import pytest

from svdstudio.ui.dataset.tab import DatasetTab
from svdstudio.workers import JobRunner

TIMEOUT = 20000


@pytest.fixture
def tab(qtbot):
    runner = JobRunner()
    w = DatasetTab(runner)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    with qtbot.waitSignal(w.projection_ready, timeout=TIMEOUT):
        w.load_defaults()
    yield w
    runner.shutdown()
