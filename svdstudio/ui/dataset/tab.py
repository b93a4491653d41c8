"""The Dataset lab: project a labelled table to 2-D with truncated SVD or PCA.

Files are read by :mod:`svdstudio.io.datasets` (big ones on the job runner), projections are
computed by :func:`svdstudio.engine.projection.project` on the "dataset.project" channel; the
tab only shows results.  A projection keeps every component, so changing the axes or the number
of components kept is instant.

The parts, one job each: :mod:`.controls` (the control row), :mod:`.session`
(the table, its projection and their jobs), :mod:`.view` (scatter, spectrum, hovered
row), :mod:`.text` (the words), :mod:`.export` (files) and
:mod:`.state` (remembered view).  This module wires them into the Tab API.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets
from PySide6.QtCore import QSettings, Qt, Signal

from svdstudio.engine.projection import Projection
from svdstudio.io.datasets import BUNDLED, Dataset, bundled_path
from svdstudio.ui.dataset import export as dataset_export
from svdstudio.ui.dataset import state as dataset_state
from svdstudio.ui.dataset import text as dataset_text
from svdstudio.ui.dataset.big import BigTableBar
from svdstudio.ui.dataset.controls import DatasetControls
from svdstudio.ui.dataset.session import DatasetSession
from svdstudio.ui.dataset.view import DatasetView
from svdstudio.ui.widgets import file_dialogs
from svdstudio.ui.widgets.messages import show_warning
from svdstudio.ui.widgets.preview import preview_tab
from svdstudio.workers import JobRunner

__all__ = ["DatasetTab"]

FILE_FILTER = "Data tables (*.csv *.tsv *.tab *.txt *.parquet *.pq *.npy)"
# Files up to this size are read at once (well under 0.2 s); bigger ones on the job runner.
SYNC_READ_BYTES = 2 * 1024 * 1024


class DatasetTab(QtWidgets.QWidget):
    """Dataset lab: table in, 2-D projection and spectrum out (see the module docstring)."""

    status_message = Signal(str)
    file_opened = Signal(str)
    document_changed = Signal(str, bool)  # the table's title; nothing here is ever unsaved
    projection_ready = Signal()  # a projection result is on show (tests wait for it)

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetTab")
        self.setAccessibleName("Dataset lab")
        self.session = DatasetSession(runner, self)
        self._build()

    def _build(self) -> None:
        s = self.session
        self.controls = c = DatasetControls()
        self.dataset_combo, self.label_combo = c.dataset_combo, c.label_combo
        self.method_combo, self.x_spin, self.y_spin = c.method_combo, c.x_spin, c.y_spin
        self.swap_button, self.arrows_check = c.swap_button, c.arrows_check
        self.export_button, self.columns_button = c.export_button, c.columns_button

        self.notice_label = QtWidgets.QLabel()
        self.notice_label.setObjectName("datasetNotices")
        self.notice_label.setAccessibleName("Dataset notices")
        self.notice_label.setToolTip("What was read, and anything left out while reading")
        self.notice_label.setWordWrap(True)
        self.notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # The view listens to the session itself; it is built before the tab's own handlers
        # are connected, so it has redrawn by the time they run.
        self.view = v = DatasetView(s)
        self.splitter, self.right_splitter = v, v.right
        self.scatter, self.spectrum, self.hover_panel = v.scatter, v.spectrum, v.hover_panel
        self.hover_title = v.hover_panel.title
        self.hover_info = v.hover_panel.info
        self.digit_view = v.hover_panel.digit_view

        # Widgets write through the session...
        c.dataset_combo.activated.connect(self._on_dataset_activated)
        c.label_combo.activated.connect(self._on_label_activated)
        c.method_combo.currentIndexChanged.connect(
            lambda _i: s.set_method(str(c.method_combo.currentData()))
        )
        c.x_spin.valueChanged.connect(lambda _v: s.set_axes(*c.axes()))
        c.y_spin.valueChanged.connect(lambda _v: s.set_axes(*c.axes()))
        c.swap_button.clicked.connect(s.swap_axes)
        c.arrows_check.toggled.connect(s.set_arrows)
        c.columns_button.excluded_changed.connect(s.set_excluded)
        c.export_requested.connect(self._export_dialog)
        # ...and show what it holds.
        s.method_changed.connect(c.show_method)
        s.axes_changed.connect(c.show_axes)
        s.arrows_changed.connect(c.show_arrows)
        s.dataset_changed.connect(self._on_dataset_changed)
        s.columns_changed.connect(self._show_columns)
        s.computing.connect(lambda _busy: self.controls.set_view_enabled(False))
        v.result_drawn.connect(self._on_result)  # a big table's drawing takes a few passes
        s.failed.connect(self._error)
        s.status.connect(self.status_message)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.controls)
        notices = QtWidgets.QHBoxLayout()
        notices.setContentsMargins(0, 0, 0, 0)
        notices.addWidget(self.notice_label, 1)
        notices.addWidget(self.columns_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(notices)
        self.big_bar = BigTableBar(s.big, self.scatter, lambda: tuple(a - 1 for a in s.axes))
        s.axes_changed.connect(lambda _x, _y: self.big_bar.axes_changed())
        s.big.exported.connect(self._on_big_exported)
        layout.addWidget(self.big_bar)
        layout.addWidget(self.splitter, 1)
        self.controls.set_view_enabled(False)

    # ================================================================ Tab API
    def file_filter(self) -> str:
        """Open-dialog filter for tables."""
        return FILE_FILTER

    def undo_stack(self) -> None:
        """Nothing here is edited, so there is nothing to undo."""
        return None

    def has_unsaved_changes(self) -> bool:
        """Views only: nothing to save."""
        return False

    def document_title(self) -> str:
        """The table on show ("" before one is open)."""
        return self.session.title() if self.session.dataset is not None else ""

    def maybe_save(self) -> bool:
        """Always fine to close."""
        return True

    def copy(self) -> None:
        """Copy the projected coordinates (what Export writes) as tab-separated text."""
        text = self.coordinates_text()
        if text:
            QtWidgets.QApplication.clipboard().setText(text)
            names = self._exported_names()
            self.status_message.emit(
                f"Projected coordinates ({names}) copied as tab-separated text."
            )

    def paste(self) -> None:
        """Tables are opened, not pasted."""

    def select_all(self) -> None:
        """Nothing to select."""

    def load_defaults(self) -> None:
        """Open on Iris, truncated SVD, components 1 and 2 (as in the article)."""
        self.session.apply_state(dataset_state.SavedView())
        self.load_bundled("iris")

    def open_file(self, path: str) -> bool:
        """Read a CSV/TSV table; on failure say why and keep the table on show."""
        return self._load(str(path), None, user=True)

    def export(self) -> None:
        """Ask where to save the coordinates or the plot (type from the chosen filter)."""
        self._export_dialog(None)

    def save_state(self, settings: QSettings) -> None:
        """Remember the session's view (table, method, axes, arrows, k, columns) and splitters."""
        dataset_state.write_view(settings, self.session.state)
        dataset_state.save_splitters(settings, self._splitters())

    def restore_state(self, settings: QSettings) -> None:
        """Reopen the last table with the last view (falls back to Iris)."""
        view = dataset_state.read_view(settings)
        self.session.apply_state(view)
        dataset_state.restore_splitters(settings, self._splitters())
        if view.source in BUNDLED:
            self.load_bundled(view.source)
            return
        if Path(view.source).is_file() and self._load(
            view.source, view.label, user=True, quiet=True
        ):
            return
        self.load_bundled("iris")

    def _splitters(self) -> dict[str, QtWidgets.QSplitter]:
        return {"splitter": self.splitter, "rightSplitter": self.right_splitter}

    # ================================================================ public helpers
    def dataset(self) -> Dataset | None:
        """The table on show."""
        return self.session.dataset

    def result(self) -> Projection | None:
        """The projection on show."""
        return self.session.result

    def method(self) -> str:
        """The chosen method key (tsvd, pca, standardized)."""
        return self.session.method

    def set_method(self, method: str) -> None:
        """Choose a method (recomputes)."""
        self.session.set_method(method)

    def set_axes(self, x: int, y: int) -> None:
        """Show components x and y (1-based)."""
        self.session.set_axes(x, y)

    def load_bundled(self, key: str) -> bool:
        """Show a bundled table (iris, wine, digits)."""
        return self._load(str(bundled_path(key)), BUNDLED[key][1], user=False)

    def hover_text(self) -> str:
        """Plain text about the hovered point ('' when none)."""
        return self.view.hover_text()

    def exported_components(self) -> list[int]:
        """0-based components that Copy and Export write: the kept ones and the plotted ones."""
        res = self.session.result
        if res is None:
            return []
        return dataset_text.exported_components(res, self.session.k, self.session.axes)

    def _exported_names(self) -> str:
        res = self.session.result
        if res is None:
            return ""
        return dataset_text.describe_components(
            res, self.exported_components(), self.session.k, self.session.axes
        )

    def coordinates_text(self) -> str:
        """Row, label and the exported components as tab-separated text."""
        ds, res = self.session.dataset, self.session.result
        if res is None or ds is None:
            return ""
        return dataset_text.coordinates_text(ds, res, self.exported_components())

    def export_csv(self, path: str) -> bool:
        """Write row, label, the kept and the plotted components to ``path`` (atomic)."""
        ds, res = self.session.dataset, self.session.result
        if res is None or ds is None:
            return False
        if self.session.is_big():  # every row of a big table, streamed by a Dask job
            return self.session.big.export(path, max(self.exported_components()) + 1)
        error = dataset_export.save_coordinates(path, ds, res, self.exported_components())
        title = self.session.title()
        return self._report(error, f"Saved {self._exported_names()} of {title} to {path}.")

    def export_image(self, path: str) -> bool:
        """Save the scatter plot as PNG (2× the on-screen size) or SVG, by extension (atomic)."""
        if self.session.result is None:
            return False
        self.view.finish_drawing()  # the whole picture, even while a big table is drawn
        error = dataset_export.save_plot(self.scatter, path)
        return self._report(error, f"Saved the plot to {path}.")

    # ================================================================ tables
    def _load(self, path: str, label: str | None, *, user: bool, quiet: bool = False) -> bool:
        # SYNC_READ_BYTES is read here, at call time, so that tests can lower it.
        return self.session.load(path, label, user=user, quiet=quiet, sync_limit=SYNC_READ_BYTES)

    def _on_dataset_changed(self, path: str, user: bool) -> None:
        ds = self.session.dataset
        self.document_changed.emit(self.document_title(), False)
        self.big_bar.table_shown(self.session.is_big())
        self.controls.set_view_enabled(False)
        if user:
            self.controls.add_user_file(path)
            self.file_opened.emit(str(Path(path).resolve()))
        self._select_dataset_item(path)
        self.controls.set_label_columns(self.session.columns(), ds.label_name)
        self._show_columns()

    def _show_columns(self) -> None:
        s = self.session
        self.columns_button.set_columns(s.all_features(), s.excluded, s.index_notice)
        if s.is_big():
            self.columns_button.setEnabled(False)  # Dask fits every column
        self.notice_label.setText(
            dataset_text.notice_html(
                s.title(), s.dataset, s.features(), s.excluded, s.index_notice, s.classes()
            )
        )

    def _select_dataset_item(self, path: str) -> None:
        self.controls.select_source(dataset_text.bundled_key(path) or path, path)

    def _on_dataset_activated(self, index: int) -> None:
        data = self.dataset_combo.itemData(index)
        if data == "open":
            self._select_dataset_item(self.session.path or "")
            path = file_dialogs.ask_open_path(
                self, "Open a data table", f"{FILE_FILTER};;All files (*)"
            )
            if path:
                self.open_file(path)
            return
        if data in BUNDLED:
            self.load_bundled(data)
        elif data:
            self._load(str(data), None, user=True)

    def _on_label_activated(self, _index: int) -> None:
        s = self.session
        if s.path is None:
            return
        if not self._load(s.path, self.label_combo.currentText(), user=False):
            # Keep what was on show: put the combo back.
            self.controls.set_label_columns(s.columns(), s.dataset.label_name)

    # ================================================================ projections
    def _on_result(self) -> None:
        s = self.session
        res = s.result
        self.controls.show_components(res, *s.axes)
        self.controls.set_view_enabled(True)
        self.status_message.emit(dataset_text.ready_message(s.title(), res))
        self.projection_ready.emit()

    def _on_big_exported(self, path: str, rows: int) -> None:
        self.status_message.emit(f"Saved the coordinates of all {rows:,} rows to {path}.")

    # ================================================================ export, errors
    def _export_dialog(self, kind: str | None) -> None:
        res = self.session.result
        if res is None:
            self._error("Nothing to export yet: the projection is still being computed.")
            return
        stem = Path(self.session.title()).stem.split(" ")[0].lower()
        path = dataset_export.ask_export_path(self, kind, f"{stem}_{res.method}")
        if path is None:
            return
        if Path(path).suffix.lower() == ".csv":
            self.export_csv(path)
        else:
            self.export_image(path)

    def _report(self, error: str | None, done: str) -> bool:
        """Show ``error`` if there is one (False), else say ``done`` (True)."""
        if error:
            self._error(error)
            return False
        self.status_message.emit(done)
        return True

    def _error(self, message: str) -> None:
        self.status_message.emit(message)
        show_warning(self, "Dataset", message, "datasetErrorDialog")


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.dataset.tab``."""
    return preview_tab(DatasetTab)


if __name__ == "__main__":
    raise SystemExit(_preview())
