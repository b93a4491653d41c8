"""Debouncer: one call after the last of a burst; cancel and flush."""

from __future__ import annotations

from svdstudio.ui.widgets.debounce import Debouncer


def test_a_burst_gives_one_call(qtbot):
    calls: list[int] = []
    d = Debouncer(30, lambda: calls.append(len(calls)))
    for _ in range(5):
        d.trigger()
    assert d.pending() and calls == []
    qtbot.waitUntil(lambda: calls == [0], timeout=2000)
    assert not d.pending()


def test_cancel_forgets_and_flush_runs_now(qtbot):
    calls: list[str] = []
    d = Debouncer(10_000, lambda: calls.append("x"))
    d.trigger()
    d.cancel()
    assert not d.pending()
    d.flush()  # nothing pending: nothing runs
    assert calls == []
    d.trigger()
    d.flush()
    assert calls == ["x"] and not d.pending()
    d.trigger(delay_ms=5)  # a one-off delay
    qtbot.waitUntil(lambda: calls == ["x", "x"], timeout=2000)
