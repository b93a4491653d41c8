"""SteadyLabel: a label whose text changes every frame without relaying out the window.

``QLabel.setText`` always calls ``updateGeometry()``, and every layout it passes through
answers with its own ``updateGeometry()``: one new caption per frame re-lays out the whole
window, and each ``QTabWidget`` on the way repaints all of itself (measured: the full
1920×1080 window repainted on every step of a rank drag).  Qt skips all that for a widget of
fixed size, so a :class:`SteadyLabel` keeps a fixed size, given by a :class:`LabelSlot` that
takes its place in the layout (a widget with no layout of its own, which ends the chain).  The
slot changes its (fixed) height only when a new text needs another number of lines.  The
label stays a child of the slot's parent, so its geometry reads as before.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["WIDEST_RANK", "LabelSlot", "SteadyLabel", "hold_width"]


class SteadyLabel(QtWidgets.QLabel):
    """A QLabel sized by its :class:`LabelSlot` (create the slot with :meth:`slot`)."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._slot: LabelSlot | None = None

    def make_opaque(self) -> None:
        """Fill the background with the palette's window colour: a new caption then repaints
        the label alone, not every widget under it up to the main window (a paint event each,
        per frame of a rank drag).  Only where that colour is what lies under the label."""
        self.setAutoFillBackground(True)

    def slot(self) -> LabelSlot:
        """The widget to put into a layout in this label's place."""
        if self._slot is None:
            self._slot = LabelSlot(self)
        return self._slot

    def setText(self, text: str) -> None:  # the Qt name, shadowed on purpose
        if text == self.text():
            return
        super().setText(text)
        if self._slot is not None:
            self._slot.refit()


class LabelSlot(QtWidgets.QWidget):
    """Stands in a layout for a :class:`SteadyLabel` and keeps the label over itself."""

    def __init__(self, label: SteadyLabel) -> None:
        super().__init__(label.parentWidget())
        self.label = label
        self.setSizePolicy(
            label.sizePolicy().horizontalPolicy(), QtWidgets.QSizePolicy.Policy.Fixed
        )
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._one_line: dict[tuple[object, ...], int] = {}  # see _one_line_key
        self.refit()

    def _needed_height(self) -> int:
        label = self.label
        if label.wordWrap():
            width = max(self.width(), 1)
            key = self._one_line_key(width)
            if key is not None and key in self._one_line:
                return self._one_line[key]
            h = label.heightForWidth(width)
            if h >= 0:
                h = max(h, label.minimumSizeHint().height(), 1)
                if key is not None:
                    if len(self._one_line) > 256:  # widths and subscripts seen: a few
                        self._one_line.clear()
                    self._one_line[key] = h
                return h
        return label.sizeHint().height()

    def _one_line_key(self, width: int) -> tuple[object, ...] | None:
        """A key for the height of a plain text that fits on one line at ``width`` (None if
        it may wrap).  Laying out a wrapped text to find its height took a quarter of a
        millisecond per caption, twice per frame of a rank drag; one line of the same font is
        as high as the last one, unless a character from a fallback font (subscripts, ‖) is
        taller: the key holds the non-ASCII characters too."""
        label = self.label
        text = label.text()
        plain = label.textFormat() == QtCore.Qt.TextFormat.PlainText or (
            label.textFormat() == QtCore.Qt.TextFormat.AutoText
            and not QtGui.Qt.mightBeRichText(text)
        )
        if not text or not plain or "\n" in text:
            return None
        m = label.contentsMargins()
        room = width - m.left() - m.right() - 2 * label.margin() - max(label.indent(), 0) - 2
        metrics = label.fontMetrics()
        if metrics.horizontalAdvance(text) > room:
            return None
        return (width, metrics.height(), label.font().key(), frozenset(c for c in text if c > "~"))

    def refit(self) -> None:
        """Grow or shrink to the label's text (a relayout only if the height changes)."""
        h = self._needed_height()
        if self.minimumHeight() != h or self.maximumHeight() != h:
            self.setFixedHeight(h)
        self._place()

    def _place(self) -> None:
        label = self.label
        parent = self.parentWidget()
        if parent is not None and label.parentWidget() is not parent:
            label.setParent(parent)  # the slot was put into another widget's layout
            label.setVisible(self.isVisible())
            label.raise_()
        if label.size() != self.size():
            label.setFixedSize(self.size())
        if label.pos() != self.pos():
            label.move(self.pos())

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.label.sizeHint().width(), self._needed_height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.label.minimumSizeHint().width(), self._needed_height())

    def event(self, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.ParentChange:
            self._place()
        return super().event(ev)

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        # The label first takes the new width: QLabel.heightForWidth lays the text out no
        # wider than the label's maximum width, and a widened slot kept the narrow height.
        self._place()
        self.refit()

    def moveEvent(self, ev: QtGui.QMoveEvent) -> None:
        super().moveEvent(ev)
        self._place()

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        super().showEvent(ev)
        self.label.show()
        self._place()

    def hideEvent(self, ev: QtGui.QHideEvent) -> None:
        super().hideEvent(ev)
        self.label.hide()


# Ranks up to this many digits fit in a spin box held by :func:`hold_width` (a 100-MP photo's
# 10000 ranks take five).
WIDEST_RANK = 99_999


def hold_width(spin: QtWidgets.QSpinBox, widest: int = WIDEST_RANK) -> None:
    """Keep ``spin`` as wide as it is when it shows ``widest``, whatever its range.

    A spin box's width follows the digits of its maximum: a rank spin box went 35 → 51 → 43 →
    58 px as a photo's preview, first stage and full factors arrived, and each change moved
    the caption and the info line beside it (a relayout and repaint of the row while the SVD
    kept both cores busy).  A wider range still widens it; the floor is for the usual ones.
    """
    lo, hi = spin.minimum(), spin.maximum()
    blocked = spin.blockSignals(True)
    try:
        spin.setRange(lo, max(hi, widest))
        width = spin.sizeHint().width()
        spin.setRange(lo, hi)
    finally:
        spin.blockSignals(blocked)
    spin.setMinimumWidth(width)
