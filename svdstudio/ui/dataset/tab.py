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

from svdstudio.engine.projection import METHODS, Projection
from svdstudio.io.datasets import BUNDLED, Dataset, bundled_path
from svdstudio.ui.dataset import export as dataset_export
from svdstudio.ui.dataset import state as dataset_state
from svdstudio.ui.dataset import text as dataset_text
from svdstudio.ui.dataset.big import BigTableBar
from svdstudio.ui.dataset.controls import DatasetControls
from svdstudio.ui.dataset.session import DatasetSession
from svdstudio.ui.dataset.text import NO_LABEL
from svdstudio.ui.dataset.view import DatasetView
from svdstudio.ui.widgets import file_dialogs
from svdstudio.workers import JobRunner

__all__ = ["DatasetTab"]

FILE_FILTER = "Data tables (*.csv *.tsv *.tab *.txt *.parquet *.pq *.npy)"
# Files up to this size are read at once (well under 0.2 s); bigger ones on the job runner.
SYNC_READ_BYTES = 2 * 1024 * 1024


class DatasetTab(QtWidgets.QWidget):
    """Dataset lab: table in, 2-D projection and spectrum out (see the module docstring)."""

    status_message = Signal(str)
    file_opened = Signal(str)
    projection_ready = Signal()  # a projection result is on show (tests wait for it)

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetTab")
        self.setAccessibleName("Dataset lab")
        self._session = DatasetSession(runner, self)
        self._updating = False
        self._pending_axes: tuple[int, int] | None = None
        self._pending_k: int | None = None
        self._build()

    def _build(self) -> None:
        s = self._session
        s.dataset_changed.connect(self._on_dataset_changed)
        s.result_ready.connect(self._on_result)
        s.failed.connect(self._error)
        s.project_failed.connect(self._on_project_error)
        s.status.connect(self.status_message)

        self.controls = c = DatasetControls()
        self.dataset_combo, self.label_combo = c.dataset_combo, c.label_combo
        self.method_combo, self.x_spin, self.y_spin = c.method_combo, c.x_spin, c.y_spin
        self.swap_button, self.arrows_check = c.swap_button, c.arrows_check
        self.export_button = c.export_button
        c.dataset_combo.activated.connect(self._on_dataset_activated)
        c.label_combo.activated.connect(self._on_label_activated)
        c.method_combo.currentIndexChanged.connect(self._on_method_changed)
        c.x_spin.valueChanged.connect(self._on_axes_changed)
        c.y_spin.valueChanged.connect(self._on_axes_changed)
        c.swap_button.clicked.connect(self._swap_axes)
        c.export_requested.connect(self._export_dialog)

        self.notice_label = QtWidgets.QLabel()
        self.notice_label.setObjectName("datasetNotices")
        self.notice_label.setAccessibleName("Dataset notices")
        self.notice_label.setToolTip("What was read, and anything left out while reading")
        self.notice_label.setWordWrap(True)
        self.notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.view = v = DatasetView(s)
        self.splitter, self.right_splitter = v, v.right
        self.scatter, self.spectrum, self.hover_panel = v.scatter, v.spectrum, v.hover_panel
        self.hover_title = v.hover_panel.title
        self.hover_info = v.hover_panel.info
        self.digit_view = v.hover_panel.digit_view
        v.spectrum.component_selected.connect(self._on_component_selected)
        c.arrows_check.toggled.connect(v.set_arrows)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.controls)
        layout.addWidget(self.notice_label)
        self.big_bar = BigTableBar(s.big, self.scatter, self._axes)
        c.x_spin.valueChanged.connect(self.big_bar.axes_changed)
        c.y_spin.valueChanged.connect(self.big_bar.axes_changed)
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

    def maybe_save(self) -> bool:
        """Always fine to close."""
        return True

    def copy(self) -> None:
        """Copy the projected coordinates (components kept) as tab-separated text."""
        text = self.coordinates_text()
        if text:
            QtWidgets.QApplication.clipboard().setText(text)
            self.status_message.emit("Projected coordinates copied as tab-separated text.")

    def paste(self) -> None:
        """Tables are opened, not pasted."""

    def select_all(self) -> None:
        """Nothing to select."""

    def load_defaults(self) -> None:
        """Open on Iris, truncated SVD, components 1 and 2 (as in the article)."""
        self.method_combo.setCurrentIndex(METHODS.index("tsvd"))
        self.load_bundled("iris")

    def open_file(self, path: str) -> bool:
        """Read a CSV/TSV table; on failure say why and keep the table on show."""
        return self._load(str(path), None, user=True)

    def export(self) -> None:
        """Ask where to save the coordinates or the plot (type from the chosen filter)."""
        self._export_dialog(None)

    def save_state(self, settings: QSettings) -> None:
        """Remember the table, method, axes, arrows, components kept and splitters."""
        path, ds = self._session.path, self._session.dataset
        key = dataset_text.bundled_key(path) if path else None
        view = dataset_state.SavedView(
            method=self.method(),
            x=self.x_spin.value(),
            y=self.y_spin.value(),
            arrows=self.arrows_check.isChecked(),
            k=self.spectrum.rank(),
            source=key or path or "iris",
            label=(ds.label_name or NO_LABEL) if ds is not None else None,
        )
        dataset_state.write_view(settings, view)
        dataset_state.save_splitters(settings, self._splitters())

    def restore_state(self, settings: QSettings) -> None:
        """Reopen the last table with the last view (falls back to Iris)."""
        view = dataset_state.read_view(settings)
        if view.method in METHODS:
            self._updating = True
            self.method_combo.setCurrentIndex(METHODS.index(view.method))
            self._updating = False
        self.arrows_check.setChecked(view.arrows)
        self._pending_axes = (view.x, view.y)
        self._pending_k = view.k
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
        return self._session.dataset

    def result(self) -> Projection | None:
        """The projection on show."""
        return self._session.result

    def method(self) -> str:
        """The chosen method key (tsvd, pca, standardized)."""
        return str(self.method_combo.currentData())

    def set_method(self, method: str) -> None:
        """Choose a method (recomputes)."""
        self.method_combo.setCurrentIndex(METHODS.index(method))

    def set_axes(self, x: int, y: int) -> None:
        """Show components x and y (1-based)."""
        self._updating = True
        self.x_spin.setValue(x)
        self.y_spin.setValue(y)
        self._updating = False
        self._redraw()

    def load_bundled(self, key: str) -> bool:
        """Show a bundled table (iris, wine, digits)."""
        return self._load(str(bundled_path(key)), BUNDLED[key][1], user=False)

    def hover_text(self) -> str:
        """Plain text about the hovered point ('' when none)."""
        return self.view.hover_text()

    def coordinates_text(self) -> str:
        """Row, label and kept components as tab-separated text."""
        ds, res = self._session.dataset, self._session.result
        if res is None or ds is None:
            return ""
        return dataset_text.coordinates_text(ds, res, self.view.kept())

    def export_csv(self, path: str) -> bool:
        """Write row, label and the kept components to ``path`` (atomic)."""
        ds, res = self._session.dataset, self._session.result
        if res is None or ds is None:
            return False
        k = self.view.kept()
        if self._session.big.owns(ds):  # every row of a big table, streamed by a Dask job
            return self._session.big.export(path, k)
        error = dataset_export.save_coordinates(path, ds, res, k)
        title = self._session.title()
        return self._report(error, f"Saved {k} projected components of {title} to {path}.")

    def export_image(self, path: str) -> bool:
        """Save the scatter plot as PNG (2× the on-screen size) or SVG, by extension (atomic)."""
        if self._session.result is None:
            return False
        error = dataset_export.save_plot(self.scatter, path)
        return self._report(error, f"Saved the plot to {path}.")

    # ================================================================ tables
    def _load(self, path: str, label: str | None, *, user: bool, quiet: bool = False) -> bool:
        # SYNC_READ_BYTES is read here, at call time, so that tests can lower it.
        return self._session.load(path, label, user=user, quiet=quiet, sync_limit=SYNC_READ_BYTES)

    def _on_dataset_changed(self, path: str, user: bool) -> None:
        ds = self._session.dataset
        self.big_bar.table_shown(self._session.big.owns(ds))
        self.view.show_table()
        self.controls.set_view_enabled(False)
        if user:
            self.controls.add_user_file(path)
            self.file_opened.emit(str(Path(path).resolve()))
        self._select_dataset_item(path)
        self.controls.set_label_columns(self._session.columns(), ds.label_name)
        self.notice_label.setText(dataset_text.notice_html(self._session.title(), ds))
        self._compute()

    def _select_dataset_item(self, path: str) -> None:
        self.controls.select_source(dataset_text.bundled_key(path) or path, path)

    def _on_dataset_activated(self, index: int) -> None:
        data = self.dataset_combo.itemData(index)
        if data == "open":
            self._select_dataset_item(self._session.path or "")
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
        s = self._session
        if s.path is None:
            return
        if not self._load(s.path, self.label_combo.currentText(), user=False):
            # Keep what was on show: put the combo back.
            self.controls.set_label_columns(s.columns(), s.dataset.label_name)

    # ================================================================ projections
    def _compute(self) -> None:
        busy = self._session.compute(self.method())
        if busy is not None:
            self.scatter.clear_points(busy)
            self.controls.set_view_enabled(False)

    def _on_project_error(self, message: str) -> None:
        self.scatter.clear_points("No projection: see the message")
        self._error(message)

    def _on_result(self) -> None:
        res = self._session.result
        x, y = self._pending_axes or (self.x_spin.value(), self.y_spin.value())
        self._pending_axes = None
        self._updating = True
        self.controls.show_components(res, x, y)
        self._updating = False
        k = self._pending_k or self.spectrum.rank() or 2
        self._pending_k = None
        self.view.show_spectrum(k)
        self.controls.set_view_enabled(True)
        self._redraw()
        self.status_message.emit(dataset_text.ready_message(self._session.title(), res))
        self.projection_ready.emit()

    def _on_method_changed(self, _index: int) -> None:
        if not self._updating:
            self._compute()

    def _on_axes_changed(self, _value: int) -> None:
        if not self._updating:
            self._redraw()

    def _swap_axes(self) -> None:
        self.set_axes(self.y_spin.value(), self.x_spin.value())

    def _on_component_selected(self, i: int) -> None:
        # Double-clicking σ_i puts component i on the y axis (x stays).
        self.y_spin.setValue(i)

    def _axes(self) -> tuple[int, int]:
        return (self.x_spin.value() - 1, self.y_spin.value() - 1)

    def _on_big_exported(self, path: str, rows: int) -> None:
        self.status_message.emit(f"Saved the coordinates of all {rows:,} rows to {path}.")

    def _redraw(self) -> None:
        self.view.draw(self.x_spin.value() - 1, self.y_spin.value() - 1)

    # ================================================================ export, errors
    def _export_dialog(self, kind: str | None) -> None:
        res = self._session.result
        if res is None:
            self._error("Nothing to export yet: the projection is still being computed.")
            return
        stem = Path(self._session.title()).stem.split(" ")[0].lower()
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
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Warning,
            "Dataset",
            message,
            QtWidgets.QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("datasetErrorDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.dataset.tab``."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    runner = JobRunner()
    tab = DatasetTab(runner)
    tab.resize(1280, 800)
    tab.load_defaults()
    tab.show()
    code = app.exec()
    runner.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(_preview())
