"""LabelBox: a holder for a label whose text changes every frame, without relaying the window.

``QLabel.setText`` always calls ``updateGeometry()``, and every layout it passes through
answers with its own ``updateGeometry()``: one new caption per frame re-lays out the whole
window, and each ``QTabWidget`` on the way repaints all of itself (measured: the full
1920×1080 window repainted on every step of a rank drag).  A :class:`LabelBox` stops that
chain: it has no layout, keeps its label over its whole rectangle, and changes its own
(fixed) height only when the new text needs another number of lines.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["LabelBox"]


class LabelBox(QtWidgets.QWidget):
    """Holds ``label`` (reparented); put the box, not the label, into a layout."""

    def __init__(self, label: QtWidgets.QLabel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        label.move(0, 0)
        policy = label.sizePolicy().horizontalPolicy()
        self.setSizePolicy(policy, QtWidgets.QSizePolicy.Policy.Fixed)
        self._fit()

    def _needed_height(self) -> int:
        label = self.label
        h = label.heightForWidth(max(self.width(), 1)) if label.wordWrap() else -1
        return max(h, label.minimumSizeHint().height(), 1) if h >= 0 else label.sizeHint().height()

    def _fit(self) -> None:
        h = self._needed_height()
        if self.minimumHeight() != h or self.maximumHeight() != h:
            self.setFixedHeight(h)  # the only place the box tells its layout anything
        self.label.resize(self.width(), h)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.label.sizeHint().width(), self._needed_height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.label.minimumSizeHint().width(), self._needed_height())

    def event(self, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.LayoutRequest:
            self._fit()  # the label's text changed: grow or shrink only if its height must
            return True
        return super().event(ev)

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        self._fit()
