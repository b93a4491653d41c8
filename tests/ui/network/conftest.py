"""Fixtures for the Network tab tests: a tab on its own runner, with a bundled network open."""

from __future__ import annotations

import pytest

from svdstudio.ui.network.tab import NetworkTab

TIMEOUT = 60000


def open_network(qtbot, tab: NetworkTab, name: str) -> None:
    """Open a bundled network and wait until its original accuracy has been scored."""
    with qtbot.waitSignal(tab.session.accuracy_ready, timeout=TIMEOUT):
        assert tab.open_bundled(name)


@pytest.fixture
def bare_tab(qtbot, runner):
    """The tab with nothing open and no automatic rank sweeps (tests start what they need)."""
    w = NetworkTab(runner)
    w.session.auto_curves = False
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    return w


@pytest.fixture
def tab(qtbot, bare_tab):
    """The tab on the bundled Digits MLP."""
    open_network(qtbot, bare_tab, "digits-mlp")
    return bare_tab
