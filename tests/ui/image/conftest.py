"""Fixtures shared by the Image tab tests."""

from __future__ import annotations

import pytest
from PySide6 import QtWidgets


@pytest.fixture
def messages(monkeypatch):
    """The sentences of every warning box the tab opens (none is shown)."""
    seen: list[str] = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a, **k: seen.append(text)
    )
    return seen
