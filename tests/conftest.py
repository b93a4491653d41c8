"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from svdstudio.workers import JobRunner


@pytest.fixture
def runner(qtbot):
    """A job runner of the test's own; every worker it started is gone afterwards."""
    r = JobRunner()
    yield r
    r.shutdown()
    assert r.live_workers() == 0
