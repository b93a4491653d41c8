"""Messages a tab shows the user: one non-blocking warning box, the same in every tab."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["show_warning"]


def show_warning(parent: QWidget, title: str, message: str, object_name: str) -> QMessageBox:
    """Open a warning box that does not block the event loop and deletes itself when closed."""
    box = QMessageBox(
        QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent
    )
    box.setObjectName(object_name)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
