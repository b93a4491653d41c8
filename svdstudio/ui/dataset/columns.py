"""The Dataset lab's column chooser: a "Columns" button whose drop-down lists every feature
column with a check box, so that columns can be left out of the projection.

The list stays open while boxes are ticked (it is a widget inside the menu, not a row of menu
actions, which would close the menu on every click).  Ticks are gathered for a moment and
reported once (``excluded_changed``), so unticking five columns starts one projection, not five.

The list is filled when it is first needed (the menu opening, or a tick by code), not when a
table arrives: 2,000 columns took about 0.1 s of the GUI thread to list, on every new table.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.ui.widgets.debounce import Debouncer

__all__ = ["ColumnChooser"]

#: Ticks within this many milliseconds of each other are reported together.
SETTLE_MS = 400


class ColumnChooser(QtWidgets.QPushButton):
    """A button "Columns 12/13" with a drop-down list of checkable feature columns."""

    excluded_changed = Signal(tuple)  # every column now left out, in table order

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Columns", parent)
        self.setObjectName("datasetColumns")
        self.setAccessibleName("Columns")
        self.setToolTip(
            "Choose the columns that go into the projection: untick a column (an ID, a date, a "
            "column in another unit) to leave it out"
        )
        self._names: tuple[str, ...] = ()
        self._listed_out: set[str] | None = set()  # columns to list unticked; None once listed
        self._syncing = False
        self._settle = Debouncer(SETTLE_MS, self._report, self)

        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("datasetColumnList")
        self.list.setAccessibleName("Columns in the projection")
        self.list.setToolTip("Ticked columns go into the projection")
        self.list.setUniformItemSizes(True)
        self.list.itemChanged.connect(self._on_item_changed)
        self.note = QtWidgets.QLabel()
        self.note.setObjectName("datasetColumnNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #8a5a00;")
        self.note.hide()
        all_button = QtWidgets.QPushButton("All")
        all_button.setObjectName("datasetColumnsAll")
        all_button.setToolTip("Put every column in")
        all_button.setAccessibleName("Use every column")
        all_button.clicked.connect(lambda: self._tick_all(True))
        self._all_button = all_button

        box = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(box)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addWidget(self.note)
        lay.addWidget(self.list, 1)
        lay.addWidget(all_button, 0, Qt.AlignmentFlag.AlignRight)
        box.setMinimumWidth(240)
        action = QtWidgets.QWidgetAction(self)
        action.setDefaultWidget(box)
        menu = QtWidgets.QMenu(self)
        menu.setObjectName("datasetColumnMenu")
        menu.addAction(action)
        menu.aboutToShow.connect(self._fill)
        menu.aboutToHide.connect(self._flush)  # closing the list applies what was ticked
        self.setMenu(menu)
        self.set_columns((), ())

    def set_columns(self, names: Sequence[str], excluded: Sequence[str], note: str = "") -> None:
        """List ``names`` with every one ticked except ``excluded``; ``note`` above the list."""
        self._settle.cancel()
        self._names = tuple(names)
        self._listed_out = set(excluded) & set(self._names)
        self.list.clear()  # filled by _fill when the list is first needed
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self._show_count()

    def _fill(self) -> None:
        """List the columns with their ticks (once per set_columns)."""
        if self._listed_out is None:
            return
        out, self._listed_out = self._listed_out, None
        self._syncing = True
        try:
            for n in self._names:
                item = QtWidgets.QListWidgetItem(n)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked if n in out else Qt.CheckState.Checked)
                self.list.addItem(item)
        finally:
            self._syncing = False
        rows = min(max(len(self._names), 3), 14)
        self.list.setFixedHeight(rows * max(self.list.sizeHintForRow(0), 18) + 6)

    def excluded(self) -> tuple[str, ...]:
        """The unticked columns, in table order."""
        if self._listed_out is not None:
            return tuple(n for n in self._names if n in self._listed_out)
        return tuple(
            self._names[i]
            for i in range(self.list.count())
            if self.list.item(i).checkState() != Qt.CheckState.Checked
        )

    def set_included(self, name: str, on: bool) -> None:
        """Tick (or untick) ``name`` as a user would (reported after the settle delay)."""
        self._fill()
        i = self._names.index(name)
        self.list.item(i).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def pending(self) -> bool:
        """Whether ticks are waiting to be reported."""
        return self._settle.pending()

    def _tick_all(self, on: bool) -> None:
        self._fill()
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(state)

    def _on_item_changed(self, _item: QtWidgets.QListWidgetItem) -> None:
        if self._syncing:
            return
        self._show_count()
        self._settle.trigger()

    def _flush(self) -> None:
        self._settle.flush()

    def _report(self) -> None:
        self.excluded_changed.emit(self.excluded())

    def _show_count(self) -> None:
        total = len(self._names)
        used = total - len(self.excluded())
        self.setText(f"Columns {used}/{total}" if total else "Columns")
        self.setEnabled(total > 0)
