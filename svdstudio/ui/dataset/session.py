"""The Dataset lab's table and projection on show, and the jobs that produce them.

Tables are read on the "dataset.load" channel when big (at once when small), projections are
computed on "dataset.project"; the runner drops stale results and this object drops a projection
that belongs to another table.  No widgets: the tab listens to the signals.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore
from PySide6.QtCore import Signal

from svdstudio.engine.projection import METHOD_TITLES, Projection, project
from svdstudio.io.datasets import Dataset, DatasetError, read_dataset, read_header
from svdstudio.ui.dataset.big import BigTables
from svdstudio.ui.dataset.text import NO_LABEL, dataset_title
from svdstudio.workers import JobRunner

__all__ = ["DatasetSession"]


def _read_job(path: str, label: str | None, no_label: bool) -> Dataset:
    return read_dataset(path, label_column=label, no_label=no_label)


class DatasetSession(QtCore.QObject):
    """The table (``dataset``, read from ``path``) and its projection (``result``, or None)."""

    dataset_changed = Signal(str, bool)  # path of the new table, whether the user opened it
    result_ready = Signal()  # ``result`` now holds the projection of the table on show
    failed = Signal(str)  # a table could not be read: one plain sentence
    project_failed = Signal(str)  # the projection failed: one plain sentence
    status = Signal(str)  # progress worth a status-bar sentence

    def __init__(self, runner: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.dataset: Dataset | None = None
        self.result: Projection | None = None
        self.path: str | None = None
        # Tables larger than memory (and Parquet, .npy) go to Dask: see ui/dataset/big.py.
        self.big = BigTables(runner, self)
        self.big.table_ready.connect(self._set_dataset)
        self.big.result_ready.connect(self._on_result)
        self.big.failed.connect(self.failed)
        self.big.project_failed.connect(self.project_failed)
        self.big.status.connect(self.status)

    def title(self) -> str:
        """The table's title for messages ("dataset" when none is open)."""
        return dataset_title(self.path)

    def load(
        self, path: str, label: str | None, *, user: bool, sync_limit: int, quiet: bool = False
    ) -> bool:
        """Read ``path`` with ``label`` as label column (None: guess; NO_LABEL: none).

        Files up to ``sync_limit`` bytes are read at once: False (and ``failed`` unless
        ``quiet``) when unreadable, the table on show stays.  Bigger ones are read on the
        runner (True at once; ``failed`` later if unreadable).
        """
        no_label = label == NO_LABEL
        lab = None if no_label else label
        if BigTables.wants(path):
            self._runner.cancel("dataset.load")
            return self.big.load(path, lab, no_label, user)
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
                on_result=lambda ds, p=path, u=user: self._set_dataset(ds, p, u),
                on_error=lambda msg, _details: self.failed.emit(msg),
            )
            return True
        self._runner.cancel("dataset.load")  # a big table still being read must not win
        try:
            ds = read_dataset(path, label_column=lab, no_label=no_label)
        except DatasetError as exc:
            if not quiet:
                self.failed.emit(str(exc))
            return False
        self._set_dataset(ds, path, user)
        return True

    def _set_dataset(self, ds: Dataset, path: str, user: bool) -> None:
        self.dataset = ds
        self.path = path
        self.result = None
        self.dataset_changed.emit(path, user)

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

    def compute(self, method: str) -> str | None:
        """Start projecting the table with ``method``; the busy sentence (None: no table)."""
        ds = self.dataset
        if ds is None:
            return None
        if self.big.owns(ds):
            self.result = None
            return self.big.compute(method)
        busy = f"Computing {METHOD_TITLES[method]} of {self.title()}…"
        self.result = None
        self.status.emit(busy)
        self._runner.submit(
            "dataset.project",
            project,
            ds.X.copy(),
            method,
            description=f"{METHOD_TITLES[method]} of {ds.n_rows}×{ds.n_features} table",
            on_result=self._on_result,
            on_error=lambda message, _details: self.project_failed.emit(message),
        )
        return busy

    def _on_result(self, res: Projection) -> None:
        if self.dataset is None or res.n_samples != self.dataset.n_rows:
            return
        self.result = res
        self.result_ready.emit()
