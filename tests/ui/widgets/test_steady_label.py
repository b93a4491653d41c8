"""SteadyLabel: its slot is as high as the text needs, whether that height is laid out or
taken from the one-line cache, and a new caption never relays out the window."""

from __future__ import annotations

import pytest
from PySide6 import QtWidgets

from svdstudio.ui.widgets.steady_label import SteadyLabel


@pytest.fixture
def box(qtbot):
    w = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(w)
    label = SteadyLabel("")
    label.setWordWrap(True)
    layout.addWidget(label.slot())
    layout.addStretch(1)
    qtbot.addWidget(w)
    w.resize(260, 300)
    w.show()
    qtbot.waitExposed(w)
    return w, label


def laid_out(label: SteadyLabel) -> int:
    """The height Qt lays the label's text out in at the slot's width (no cache)."""
    slot = label.slot()
    return max(label.heightForWidth(slot.width()), label.minimumSizeHint().height(), 1)


@pytest.mark.parametrize(
    "texts",
    [
        ["k = 1 · 50.0 % energy", "k = 22 · 61.3 % energy", "k = 333 · 99.9 % energy"],
        ["short", "a caption long enough to wrap onto a second line and then a third one"],
        ["one line", "two\nlines", "one line again"],
        ["‖A − A₅₀₀‖_F² = 22.0", "‖A − A₅₁₂‖_F² = 21.9", "plain ASCII"],
        ["<b>rich</b> text that is long enough to wrap at this width, surely", "x"],
    ],
)
def test_the_slot_is_as_high_as_the_text_needs(qtbot, box, texts):
    _w, label = box
    for _ in range(2):  # the second time round, heights come from the cache where they can
        for text in texts:
            label.setText(text)
            slot = label.slot()
            assert slot.height() == laid_out(label), text
            assert label.height() == slot.height()


def test_a_caption_wraps_and_unwraps_as_the_slot_narrows_and_widens(qtbot, box):
    """A caption on one line wraps in a narrow slot and is on one line again once the slot
    is wide (a widened slot used to keep the narrow height: QLabel lays text out no wider
    than its maximum width, which the slot had set narrow)."""
    w, label = box
    w.setFixedWidth(600)
    qtbot.waitUntil(lambda: label.slot().width() > 500)
    text = "k = 4321 · 99.1 % energy · ‖A − A₄₃₂₁‖_F² = 6.90"
    label.setText(text)
    one_line = label.slot().height()
    w.setFixedWidth(150)  # narrower than the label's own minimum: as a splitter can
    qtbot.waitUntil(lambda: label.slot().width() < 160)
    assert label.slot().height() > one_line
    assert label.slot().height() == laid_out(label)
    w.setFixedWidth(600)
    qtbot.waitUntil(lambda: label.slot().width() > 500)
    assert label.slot().height() == one_line
