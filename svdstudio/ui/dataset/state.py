"""The Dataset lab's view as one value: table, label column, method, axes, arrows, k, columns.

:class:`SavedView` is the state a :class:`~svdstudio.ui.dataset.session.DatasetSession` holds;
the same value is written to and read from QSettings under "dataset/…".
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import QSettings

__all__ = ["SavedView", "read_view", "restore_splitters", "save_splitters", "write_view"]


@dataclass(frozen=True)
class SavedView:
    """What the Dataset lab shows (and showed when it was last closed)."""

    method: str = "tsvd"
    x: int = 1  # 1-based component on the x axis
    y: int = 2  # 1-based component on the y axis
    arrows: bool = False
    k: int = 2  # components kept (spectrum cutoff; what Copy and Export hold at least)
    source: str = "iris"  # a bundled key or a file path
    label: str | None = None  # the label column, "(no label)", or None when not recorded
    excluded: tuple[str, ...] = ()  # feature columns left out of the projection


def write_view(settings: QSettings, view: SavedView) -> None:
    """Store ``view`` (a None label leaves the stored one as it is)."""
    settings.setValue("dataset/method", view.method)
    settings.setValue("dataset/x", view.x)
    settings.setValue("dataset/y", view.y)
    settings.setValue("dataset/arrows", view.arrows)
    settings.setValue("dataset/k", view.k)
    settings.setValue("dataset/source", view.source)
    # A list of one element reads back as a plain string from INI files: store one text.
    settings.setValue("dataset/excluded", "\n".join(view.excluded))
    if view.label is not None:
        settings.setValue("dataset/label", view.label)


def read_view(settings: QSettings) -> SavedView:
    """The stored view, with Iris, truncated SVD and components 1 and 2 where nothing is."""
    label = settings.value("dataset/label")
    excluded = str(settings.value("dataset/excluded", "") or "")
    return SavedView(
        method=str(settings.value("dataset/method", "tsvd")),
        x=settings.value("dataset/x", 1, type=int),
        y=settings.value("dataset/y", 2, type=int),
        arrows=settings.value("dataset/arrows", False, type=bool),
        k=settings.value("dataset/k", 2, type=int),
        source=str(settings.value("dataset/source", "iris")),
        label=None if label in (None, "") else str(label),
        excluded=tuple(n for n in excluded.split("\n") if n),
    )


def save_splitters(settings: QSettings, splitters: dict[str, QtWidgets.QSplitter]) -> None:
    """Store each splitter's sizes under "dataset/<key>"."""
    for key, splitter in splitters.items():
        settings.setValue(f"dataset/{key}", splitter.saveState())


def restore_splitters(settings: QSettings, splitters: dict[str, QtWidgets.QSplitter]) -> None:
    """Put back the splitter sizes stored by :func:`save_splitters` (missing ones stay)."""
    for key, splitter in splitters.items():
        state = settings.value(f"dataset/{key}")
        if isinstance(state, QtCore.QByteArray | bytes):
            splitter.restoreState(state)
