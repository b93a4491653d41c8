"""StepQueue: the first step at once, each other on a later event-loop turn, cancellable."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject

from svdstudio.ui.widgets.step_queue import StepQueue


def test_spread_steps_run_one_per_turn(qtbot):
    parent = QObject()
    q = StepQueue(parent)
    ran: list[str] = []
    q.run([lambda: ran.append("a"), lambda: ran.append("b"), lambda: ran.append("c")], True)
    assert ran == ["a"] and q.pending()
    QCoreApplication.processEvents()
    assert ran == ["a", "b"]
    QCoreApplication.processEvents()
    assert ran == ["a", "b", "c"] and not q.pending()
    QCoreApplication.processEvents()
    assert ran == ["a", "b", "c"]


def test_not_spread_runs_every_step_now(qtbot):
    q = StepQueue(QObject())
    ran: list[int] = []
    q.run([lambda: ran.append(1), lambda: ran.append(2)], False)
    assert ran == [1, 2] and not q.pending()


def test_cancel_and_a_newer_run_drop_the_rest(qtbot):
    parent = QObject()
    q = StepQueue(parent)
    ran: list[str] = []
    q.run([lambda: ran.append("old1"), lambda: ran.append("old2")], True)
    q.run([lambda: ran.append("new1"), lambda: ran.append("new2")], True)
    qtbot.waitUntil(lambda: not q.pending(), timeout=2000)
    assert ran == ["old1", "new1", "new2"]
    q.run([lambda: ran.append("x"), lambda: ran.append("y")], True)
    q.cancel()
    assert not q.pending()
    QCoreApplication.processEvents()
    assert ran[-1] == "x"
