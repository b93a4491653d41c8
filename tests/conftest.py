"""Fixtures shared by every test package."""

from __future__ import annotations

import gc

import pytest

from svdstudio.workers import JobRunner


@pytest.fixture(autouse=True)
def _collect_qt_garbage(request):
    """After a Qt test, collect the reference cycles its widgets left, there and then.

    Collected later, at whatever allocation triggers the garbage collector, they can be
    destroyed inside a Qt disconnect: Qt calls disconnectNotify with an internal mutex held,
    PySide looks the override up in Python, the collector runs and a dying QObject waits for
    that same mutex (a fresh-clone CI run hung so in the Matrix tab fixture, building a
    spectrum plot, pyqtgraph's GraphicsItem._updateView disconnecting a view signal).
    """
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()


@pytest.fixture
def runner(qtbot):
    """A job runner of the test's own; every worker it started is gone afterwards."""
    r = JobRunner()
    yield r
    r.shutdown()
    assert r.live_workers() == 0
