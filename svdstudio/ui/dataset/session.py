"""The Dataset lab's model: the table on show, how it is viewed, its projection, and their jobs.

One owner per fact: the method, the axes, k (components kept), the arrows toggle and the columns
left out live here, in a :class:`~svdstudio.ui.dataset.state.SavedView`.  Widgets change them
through the setters and redraw from the signals; saving settings reads :attr:`state`.

Tables are read on the "dataset.load" channel when big (at once when small), projections are
computed on "dataset.project"; the runner drops stale results.  A job that fails is reported by
the main window (``JobRunner.failed``); this object only says so in ``job_failed`` so the view
can update itself.  Errors that are not jobs (a small file that cannot be read) come out of
``failed`` for the tab to report.  No widgets here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PySide6 import QtCore
from PySide6.QtCore import Signal

from svdstudio.engine.projection import Projection, project
from svdstudio.io.datasets import (
    Dataset,
    DatasetError,
    find_row_index_column,
    read_dataset,
    read_header,
)
from svdstudio.ui.dataset.big import BigTables
from svdstudio.ui.dataset.state import SavedView
from svdstudio.ui.dataset.text import NO_LABEL, bundled_key, dataset_title, method_key, method_title
from svdstudio.workers import JobRunner

__all__ = ["DatasetSession", "LoadedTable"]


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedTable:
    """A table as read, with what was worked out about it off the GUI thread."""

    dataset: Dataset
    index_column: str | None  # a feature that only numbers the rows (left out by default)
    classes: list[str]  # ``dataset.classes``, computed once (np.unique of every label)
    codes: np.ndarray | None = None  # each row's class as an index into ``classes``


def _classes(ds: Dataset) -> tuple[list[str], np.ndarray | None]:
    """The classes in natural order and every row's class code (None without labels)."""
    if ds.labels is None:
        return [], None
    uniq, inverse = np.unique(ds.labels, return_inverse=True)
    classes = ds.classes
    where = {c: i for i, c in enumerate(classes)}
    remap = np.array([where[str(u)] for u in uniq], dtype=np.int32)
    return classes, remap[inverse.reshape(-1)]


def _read_job(path: str, label: str | None, no_label: bool) -> LoadedTable:
    ds = read_dataset(path, label_column=label, no_label=no_label)
    ds.X.flags.writeable = False  # shared with projection jobs without a copy
    classes, codes = _classes(ds)
    return LoadedTable(ds, find_row_index_column(ds), classes, codes)


def _project_job(table: np.ndarray, columns: Sequence[int] | None, method: str) -> Projection:
    # The columns are picked here, off the GUI thread: a 100 000 × 64 table is 51 MB.
    return project(table if columns is None else table[:, list(columns)], method)


class DatasetSession(QtCore.QObject):
    """The table (``dataset``, read from ``path``), its view (``state``) and its projection
    (``result``, or None while it is computed)."""

    dataset_changed = Signal(str, bool)  # path of the new table, whether the user opened it
    columns_changed = Signal()  # the columns left out changed (a new projection follows)
    method_changed = Signal(str)
    axes_changed = Signal(int, int)  # 1-based components on x and y
    k_changed = Signal(int)
    arrows_changed = Signal(bool)
    computing = Signal(str)  # a projection started: the busy sentence
    result_ready = Signal()  # ``result`` holds the projection; axes and k fit it
    failed = Signal(str)  # not a job: a table could not be read; the tab reports it
    job_failed = Signal(str)  # a job failed; the main window has reported it already
    status = Signal(str)  # progress worth a status-bar sentence

    def __init__(self, runner: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._state = SavedView()
        self._table: LoadedTable | None = None
        self._restore_excluded: tuple[str, tuple[str, ...]] | None = None  # (source, names)
        self.result: Projection | None = None
        self.path: str | None = None
        self.index_notice = ""  # says which row-index column was left out, if one was
        # Tables larger than memory (and Parquet, .npy) go to Dask: see ui/dataset/big.py.
        self.big = BigTables(runner, self)
        self._big_starting = False  # inside big.load(): its failures are not jobs
        self.big.table_ready.connect(
            lambda ds, path, user: self._set_table(LoadedTable(ds, None, *_classes(ds)), path, user)
        )
        self.big.result_ready.connect(lambda res: self._on_result(res, self._table))
        self.big.failed.connect(self._on_big_failed)
        self.big.project_failed.connect(self._on_big_failed)
        self.big.refused.connect(self._on_big_refused)
        self.big.status.connect(self.status)
        # A new table's projection starts on the next pass of the event loop: the widgets'
        # work for the new table and the job's start (a worker process spawned) then make two
        # short pauses of the GUI thread instead of one long one.
        self._compute_soon = QtCore.QTimer(self)
        self._compute_soon.setSingleShot(True)
        self._compute_soon.setInterval(0)
        self._compute_soon.timeout.connect(self.compute)

    # ================================================================ the view state
    @property
    def state(self) -> SavedView:
        """The whole view as one value (what settings store)."""
        return self._state

    @property
    def method(self) -> str:
        """The projection method's key ("tsvd", "pca", "standardized")."""
        return self._state.method

    @property
    def axes(self) -> tuple[int, int]:
        """The 1-based components on the x and y axes."""
        return self._state.x, self._state.y

    @property
    def k(self) -> int:
        """Components kept (the spectrum's cutoff)."""
        return self._state.k

    @property
    def arrows(self) -> bool:
        """Whether the feature arrows (biplot) are drawn."""
        return self._state.arrows

    @property
    def excluded(self) -> tuple[str, ...]:
        """Feature columns left out of the projection, in table order."""
        return self._state.excluded

    def set_method(self, method: str) -> None:
        """Choose the method by key or title; recomputes the projection when it changes."""
        key = method_key(method)
        if key == self._state.method:
            return
        self._update(method=key)
        self.method_changed.emit(key)
        self.compute()

    def set_axes(self, x: int, y: int) -> None:
        """Show components ``x`` and ``y`` (1-based, clamped to the projection's count)."""
        x, y = self._clamp(x), self._clamp(y)
        if (x, y) == self.axes:
            return
        self._update(x=x, y=y)
        self.axes_changed.emit(x, y)

    def swap_axes(self) -> None:
        """Exchange the x and y components."""
        self.set_axes(self._state.y, self._state.x)

    def set_k(self, k: int) -> None:
        """Keep ``k`` components (clamped to the projection's count)."""
        k = self._clamp(k)
        if k == self._state.k:
            return
        self._update(k=k)
        self.k_changed.emit(k)

    def set_arrows(self, on: bool) -> None:
        """Draw the feature arrows, or not."""
        on = bool(on)
        if on == self._state.arrows:
            return
        self._update(arrows=on)
        self.arrows_changed.emit(on)

    def set_excluded(self, names: Iterable[str]) -> None:
        """Leave the feature columns ``names`` out (unknown names are ignored); recomputes.

        At least two columns stay in: a request that would leave fewer is refused with a
        ``status`` sentence.
        """
        if self.is_big():
            self.status.emit("Columns cannot be left out of a table read with Dask.")
            self.columns_changed.emit()
            return
        features = self.all_features()
        wanted = set(names)
        excluded = tuple(n for n in features if n in wanted)
        if excluded == self._state.excluded:
            return
        if features and len(features) - len(excluded) < 2:
            self.status.emit("At least two columns must stay in the projection.")
            self.columns_changed.emit()  # the column list puts its tick back
            return
        self._update(excluded=excluded)
        if self._table is not None and self._table.index_column not in excluded:
            self.index_notice = ""  # the user put the row-index column back: nothing to explain
        self.columns_changed.emit()
        self.compute()

    def set_column_included(self, name: str, on: bool) -> None:
        """Put one feature column back in (``on``) or leave it out."""
        current = set(self._state.excluded)
        if on:
            current.discard(name)
        else:
            current.add(name)
        self.set_excluded(current)

    def apply_state(self, view: SavedView) -> None:
        """Take ``view``'s method, axes, k, arrows (and, for its table, the columns left out)
        before its table is loaded; emits the changes, computes nothing."""
        try:
            key = method_key(view.method)
        except ValueError:
            key = self._state.method
        self._restore_excluded = (view.source, tuple(view.excluded))
        old = self._state
        self._update(method=key, x=max(view.x, 1), y=max(view.y, 1), k=max(view.k, 1))
        self._update(arrows=bool(view.arrows))
        if key != old.method:
            self.method_changed.emit(key)
        if self.axes != (old.x, old.y):
            self.axes_changed.emit(*self.axes)
        if self.k != old.k:
            self.k_changed.emit(self.k)
        if self.arrows != old.arrows:
            self.arrows_changed.emit(self.arrows)

    def _update(self, **changes: object) -> None:
        self._state = dataclasses.replace(self._state, **changes)

    def _clamp(self, i: int) -> int:
        top = self.result.n_components if self.result is not None else None
        i = max(int(i), 1)
        return min(i, top) if top else i

    # ================================================================ the table
    @property
    def dataset(self) -> Dataset | None:
        """The table as read (every numeric column, the excluded ones too)."""
        return self._table.dataset if self._table is not None else None

    def classes(self) -> list[str]:
        """The table's classes in natural order (worked out once per table)."""
        return self._table.classes if self._table is not None else []

    def class_codes(self) -> np.ndarray | None:
        """Each row's class as an index into :meth:`classes` (None without labels)."""
        return self._table.codes if self._table is not None else None

    def title(self) -> str:
        """The table's title for messages ("dataset" when none is open)."""
        return dataset_title(self.path)

    def all_features(self) -> tuple[str, ...]:
        """Every numeric feature column of the table, left-out ones included."""
        ds = self.dataset
        return ds.feature_names if ds is not None else ()

    def features(self) -> tuple[str, ...]:
        """The feature columns that go into the projection."""
        out = set(self._state.excluded)
        return tuple(n for n in self.all_features() if n not in out)

    def feature_indices(self) -> list[int]:
        """Indices into ``dataset.X``'s columns of :meth:`features`."""
        out = set(self._state.excluded)
        return [j for j, n in enumerate(self.all_features()) if n not in out]

    def load(
        self, path: str, label: str | None, *, user: bool, sync_limit: int, quiet: bool = False
    ) -> bool:
        """Read ``path`` with ``label`` as label column (None: guess; NO_LABEL: none).

        Files up to ``sync_limit`` bytes are read at once: False (and ``failed`` unless
        ``quiet``) when unreadable, the table on show stays.  Bigger ones are read on the
        runner (True at once; ``job_failed`` later if unreadable).
        """
        no_label = label == NO_LABEL
        lab = None if no_label else label
        if BigTables.wants(path):
            self._runner.cancel("dataset.load")
            self._big_starting = True
            try:
                return self.big.load(path, lab, no_label, user)
            finally:
                self._big_starting = False
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            if not quiet:
                self.failed.emit(f"{path}: cannot open the file ({exc.strerror or exc}).")
            return False
        if size > sync_limit:
            self.status.emit(f"Reading {Path(path).name} ({size / 2**20:.1f} MiB)…")
            self._runner.submit(
                "dataset.load",
                _read_job,
                path,
                lab,
                no_label,
                description=f"Reading {Path(path).name}",
                # A process, not a thread: parsing holds the GIL for long stretches (the
                # window stalled for seconds at 100 000 rows); the arrays come back out of band.
                in_process=True,
                on_result=lambda t, p=path, u=user: self._set_table(t, p, u),
                on_error=lambda msg, _details: self.job_failed.emit(msg),
            )
            return True
        self._runner.cancel("dataset.load")  # a big table still being read must not win
        try:
            table = _read_job(path, lab, no_label)
        except DatasetError as exc:
            if not quiet:
                self.failed.emit(str(exc))
            return False
        self._set_table(table, path, user)
        return True

    def _on_big_failed(self, message: str) -> None:
        # Raised while starting (Dask missing, say) the tab reports it; a failed job the main
        # window has reported already.
        (self.failed if self._big_starting else self.job_failed).emit(message)

    def _on_big_refused(self, message: str) -> None:
        self.job_failed.emit(message)  # the view clears its "computing…" state
        self.failed.emit(message)  # not a job: the tab reports it

    def is_big(self) -> bool:
        """True while the table on show is a big one's sample (columns cannot be left out)."""
        return self.big.owns(self.dataset)

    def _set_table(self, table: LoadedTable, path: str, user: bool) -> None:
        same_table = self.path == path and self.dataset is not None
        old_features = set(self.all_features())
        self._table = table
        self.path = path
        self.result = None
        self.index_notice = ""
        features = table.dataset.feature_names
        source = bundled_key(path) or path
        if self._restore_excluded is not None and self._restore_excluded[0] == source:
            excluded = set(self._restore_excluded[1])
        elif same_table:  # the same file with another label column: keep the user's choice
            excluded = set(self._state.excluded) & old_features
        else:
            excluded = set()
            if table.index_column is not None:
                excluded.add(table.index_column)
                self.index_notice = (
                    f"Column {table.index_column!r} only numbers the rows; left out "
                    "(tick it under Columns to use it)."
                )
        self._restore_excluded = None
        kept = [n for n in features if n not in excluded]
        if len(kept) < 2 or self.big.owns(table.dataset):  # Dask fits use every column
            excluded = set()
            self.index_notice = ""
        label = table.dataset.label_name or NO_LABEL
        self._update(
            source=source, label=label, excluded=tuple(n for n in features if n in excluded)
        )
        self.dataset_changed.emit(path, user)
        self._compute_soon.start()

    def columns(self) -> list[str]:
        """Every column of the table on show, label and left-out ones included."""
        ds = self.dataset
        if ds is None:
            return []
        if ds.all_columns:
            return list(ds.all_columns)
        try:
            return read_header(self.path)
        except DatasetError:
            return []

    # ================================================================ the projection
    def compute(self) -> None:
        """Start projecting the table with the current method and columns."""
        self._compute_soon.stop()
        ds = self.dataset
        if ds is None:
            return
        self.result = None
        if self.big.owns(ds):  # fitted on every row by Dask jobs; the dots are a sample
            self.computing.emit(self.big.compute(self._state.method))
            return
        title = method_title(self._state.method)
        busy = f"Computing {title} of {self.title()}…"
        cols = self.feature_indices()
        columns = None if len(cols) == ds.n_features else cols
        self.computing.emit(busy)
        self.status.emit(busy)
        self._runner.submit(
            "dataset.project",
            _project_job,
            ds.X,  # read-only: no copy needed
            columns,
            self._state.method,
            description=f"{title} of {ds.n_rows}×{len(cols)} table",
            on_result=lambda res, t=self._table: self._on_result(res, t),
            on_error=lambda message, _details: self.job_failed.emit(message),
        )

    def _on_result(self, res: Projection, table: LoadedTable | None) -> None:
        if table is not self._table:
            return  # belongs to a table no longer on show
        self.result = res
        n = res.n_components
        x, y = self._state.x, self._state.y
        self._update(x=min(x, n), y=min(y, n), k=min(self._state.k, n))
        self.result_ready.emit()
