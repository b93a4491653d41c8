"""The Dataset lab on tables larger than memory: Dask jobs, the scheduler field, the density.

:class:`BigTables` (no widgets) owns a big table's jobs on the runner (see
:mod:`.big_job`): opening one scans it and draws a stratified sample of
:data:`~.big_job.SAMPLE_SIZE` rows, each method is fitted on the whole table, the density of all
rows and the export of all rows are one pass each.  The session hands it the tables that are
big (above 1 GB in memory or a quarter of the free memory) and every Parquet or ``.npy`` file.
The jobs run in a worker process, so Cancel (or Esc) stops them at once; progress comes from
Dask's callbacks into the status bar.

:class:`BigTableBar` is the row under the controls while a big table is on show: where the work
runs (a ``dask.distributed`` scheduler address, or empty for this machine's threads), the
density switch, and what the scatter draws.  :class:`DensityImage` shades the density behind
the points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal

from svdstudio.engine.outofcore.compute import available_memory, dask_available
from svdstudio.engine.projection import METHOD_TITLES
from svdstudio.io.bigtables import advise_out_of_core
from svdstudio.ui.dataset import big_job
from svdstudio.ui.dataset.big_job import SampledDataset
from svdstudio.workers import JobRunner

__all__ = ["BigTableBar", "BigTables", "DensityImage"]

_ALWAYS_CHUNKED = (".parquet", ".pq", ".npy")
#: Big jobs run in a worker process (killed on Cancel); tests may run them on a thread.
IN_PROCESS = True


class BigTables(QtCore.QObject):
    """A big table's state (the scanned table, its sample, the fit, the density) and jobs."""

    table_ready = Signal(object, str, bool)  # SampledDataset, path, opened by the user
    result_ready = Signal(object)  # a Projection of the sampled rows (fit on all rows)
    density_ready = Signal()  # ``density`` holds a new density of all rows
    exported = Signal(str, int)  # path, rows written
    failed = Signal(str)  # the table could not be read
    project_failed = Signal(str)  # the fit, density or export failed
    refused = Signal(str)  # a fit done here, not as a job, failed (no one has reported it)
    status = Signal(str)

    def __init__(self, runner: JobRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.scheduler: str | None = None  # a dask.distributed address; None: local threads
        self.sample_size = big_job.SAMPLE_SIZE
        self.table: Any = None  # the scanned BigTable
        self.dataset: SampledDataset | None = None
        self.fit: Any = None  # OutOfCoreFit of the projection on show
        self.density: Any = None  # Density2D, or None
        self.density_axes: tuple[int, int] | None = None

    # ---------------------------------------------------------------- which tables
    @staticmethod
    def wants(path: str) -> bool:
        """True if ``path`` is read chunk by chunk (Parquet, .npy, or too big for memory)."""
        if Path(path).suffix.lower() in _ALWAYS_CHUNKED:
            return True
        return advise_out_of_core(path, available_memory())[0]

    def owns(self, ds: object) -> bool:
        """True if ``ds`` is the sample of the big table on show."""
        return ds is not None and ds is self.dataset

    # ---------------------------------------------------------------- jobs
    def _submit(self, channel: str, fn: Any, *args: Any, **kw: Any) -> None:
        self._runner.submit(f"dataset.big.{channel}", fn, *args, in_process=IN_PROCESS, **kw)

    def load(self, path: str, label: str | None, no_label: bool, user: bool) -> bool:
        """Scan ``path`` and draw its sample on the runner (True: started)."""
        if not dask_available():
            self.failed.emit(
                f"{path}: tables this large are read with Dask, an optional extra: "
                'pip install "svdstudio[big]"'
            )
            return False
        for channel in ("fit", "density", "export"):
            self._runner.cancel(f"dataset.big.{channel}")
        name = Path(path).name
        self.status.emit(f"Reading {name} chunk by chunk with Dask…")
        self._submit(
            "load",
            big_job.load_big_table,
            path,
            label,
            no_label,
            self.scheduler,
            self.sample_size,
            description=f"Reading {name} with Dask",
            on_result=lambda res, p=path, u=user: self._on_loaded(res, p, u),
            on_error=lambda msg, _d: self.failed.emit(msg),
        )
        return True

    def _on_loaded(self, res: tuple[Any, SampledDataset], path: str, user: bool) -> None:
        self.table, self.dataset = res
        self.fit = self.density = self.density_axes = None
        self.table_ready.emit(self.dataset, path, user)

    def compute(self, method: str) -> str:
        """Fit ``method`` on the whole table on the runner; the busy sentence."""
        ds = self.dataset
        busy = (
            f"Computing {METHOD_TITLES[method]} of {ds.n_rows:,} rows with Dask ({self.where()})…"
        )
        self.status.emit(busy)
        self.fit = self.density = self.density_axes = None
        if self.table.scan.factor is not None:
            # Exact path: the scan kept the table's R factor; the fit is a p × p SVD, at once.
            # Shown on the next turn of the event loop, after the tab has cleared the plot.
            try:
                fit = big_job.fit_big_table(self.table, method, self.scheduler)
            except ValueError as exc:
                QtCore.QTimer.singleShot(0, lambda m=str(exc): self.refused.emit(m))
                return busy
            QtCore.QTimer.singleShot(0, lambda f=fit, d=ds: self._on_fit(f, d))
            return busy
        self._submit(
            "fit",
            big_job.fit_big_table,
            self.table,
            method,
            self.scheduler,
            description=f"{METHOD_TITLES[method]} of {ds.n_rows:,}×{ds.n_features} (Dask)",
            on_result=lambda fit, d=ds: self._on_fit(fit, d),
            on_error=lambda msg, _d: self.project_failed.emit(msg),
        )
        return busy

    def _on_fit(self, fit: Any, ds: SampledDataset) -> None:
        if ds is not self.dataset:
            return  # another table is on show now
        self.fit = fit
        self.result_ready.emit(big_job.sample_projection(ds, fit))

    def compute_density(self, axes: tuple[int, int]) -> bool:
        """Start the density of all rows on components ``axes`` (0-based); False if no fit."""
        if self.fit is None or self.table is None:
            return False
        if self.density is not None and self.density_axes == axes:
            self.density_ready.emit()
            return True
        ds, fit = self.dataset, self.fit
        self._submit(
            "density",
            big_job.big_density,
            self.table,
            fit,
            axes,
            self.scheduler,
            description=f"Density of all {ds.n_rows:,} rows",
            on_result=lambda d, a=axes, f=fit: self._on_density(d, a, f),
            on_error=lambda msg, _d: self.project_failed.emit(msg),
        )
        return True

    def _on_density(self, density: Any, axes: tuple[int, int], fit: Any) -> None:
        if fit is not self.fit:
            return
        self.density, self.density_axes = density, axes
        self.density_ready.emit()

    def export(self, path: str, k: int) -> bool:
        """Write every row's first ``k`` coordinates to ``path`` on the runner (True: started)."""
        if self.fit is None:
            return False
        self.status.emit(f"Writing the coordinates of all {self.dataset.n_rows:,} rows…")
        self._submit(
            "export",
            big_job.export_big_table,
            self.table,
            self.fit,
            path,
            k,
            self.scheduler,
            description=f"Exporting {self.dataset.n_rows:,} rows",
            on_result=lambda n, p=path: self.exported.emit(p, int(n)),
            on_error=lambda msg, _d: self.project_failed.emit(msg),
        )
        return True

    def where(self) -> str:
        """Where the work runs, in words."""
        return f"scheduler {self.scheduler}" if self.scheduler else "this machine's threads"

    def drawn_text(self) -> str:
        """What the scatter shows ('' without a big table)."""
        if self.dataset is None:
            return ""
        return big_job.drawn_text(self.dataset, self.density)


class DensityImage:
    """A grey-blue image of point counts behind the scatter's points (log scale)."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self._plot = plot
        self.item = pg.ImageItem()
        self.item.setZValue(-20)
        self.item.setOpacity(0.85)
        cmap = pg.ColorMap([0.0, 0.35, 1.0], [(255, 255, 255), (158, 188, 218), (8, 48, 107)])
        self.item.setLookupTable(cmap.getLookupTable(nPts=256))
        plot.getPlotItem().addItem(self.item, ignoreBounds=True)
        self.item.hide()

    def show(self, counts: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]):
        """Shade ``counts[ix, iy]`` over the given data ranges."""
        img = np.log1p(counts.astype(np.float64))
        top = float(img.max()) or 1.0
        self.item.setImage(img, levels=(0.0, top), autoLevels=False)
        x0, x1 = x_range
        y0, y1 = y_range
        self.item.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        self.item.show()

    def hide(self) -> None:
        """No shading."""
        self.item.hide()

    def shown(self) -> bool:
        """True while the density is on show."""
        return self.item.isVisible()


class BigTableBar(QtWidgets.QWidget):
    """Scheduler field, density switch and "what is drawn", while a big table is on show."""

    def __init__(
        self,
        big: BigTables,
        scatter: pg.PlotWidget,
        axes: Any,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("datasetBigBar")
        self._big = big
        self._axes = axes  # callable: the 0-based components on show
        self.density_image = DensityImage(scatter)

        self.scheduler_edit = QtWidgets.QLineEdit()
        self.scheduler_edit.setObjectName("datasetScheduler")
        self.scheduler_edit.setAccessibleName("Dask scheduler address")
        self.scheduler_edit.setPlaceholderText("this machine (threads)")
        self.scheduler_edit.setToolTip(
            "Where big tables are computed: empty for this machine's cores, or the address of "
            "a running dask.distributed scheduler (tcp://host:8786); its workers must see the "
            "file at the same path. Applies to the next computation."
        )
        self.scheduler_edit.setMinimumWidth(180)
        self.scheduler_edit.setMaximumWidth(320)
        self.scheduler_edit.editingFinished.connect(self._on_scheduler)

        self.density_check = QtWidgets.QCheckBox("Density of all rows")
        self.density_check.setObjectName("datasetDensity")
        self.density_check.setAccessibleName("Density of all rows")
        self.density_check.setToolTip(
            "Shade the plot by how many of all the table's rows fall there (one more pass over "
            "the file); the dots are a sample"
        )
        self.density_check.toggled.connect(self._on_density_toggled)

        self.drawn_label = QtWidgets.QLabel()
        self.drawn_label.setObjectName("datasetDrawn")
        self.drawn_label.setAccessibleName("What the plot draws")
        self.drawn_label.setWordWrap(True)
        self.drawn_label.setStyleSheet("color: #444444;")

        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(QtWidgets.QLabel("Dask scheduler:"))
        row.addWidget(self.scheduler_edit, 1)
        row.addWidget(self.density_check)
        row.addStretch(2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.drawn_label)

        big.table_ready.connect(self._on_table)
        big.result_ready.connect(self._on_result)
        big.density_ready.connect(self._on_density)
        self.hide()

    def _on_scheduler(self) -> None:
        text = self.scheduler_edit.text().strip()
        self._big.scheduler = text or None

    def table_shown(self, big: bool) -> None:
        """Another table is on show: the bar is for big ones only."""
        self.setVisible(big)
        if not big:
            self.density_image.hide()

    def _on_table(self, *_args: Any) -> None:
        self.density_image.hide()
        self.setVisible(True)
        self._update_text()

    def _on_result(self, _res: Any) -> None:
        self.density_image.hide()
        self._update_text()
        if self.density_check.isChecked():
            self._big.compute_density(self._axes())

    def axes_changed(self) -> None:
        """The components on show changed: the density follows if it is on."""
        if self.isVisible() and self.density_check.isChecked():
            self.density_image.hide()
            self._big.compute_density(self._axes())

    def _on_density_toggled(self, on: bool) -> None:
        if on:
            self._big.compute_density(self._axes())
        else:
            self.density_image.hide()
            self._update_text()

    def _on_density(self) -> None:
        d = self._big.density
        if (
            d is None
            or not self.density_check.isChecked()
            or self._big.density_axes != tuple(self._axes())
        ):
            return
        self.density_image.show(d.counts, d.x_range, d.y_range)
        self._update_text()

    def _update_text(self) -> None:
        text = self._big.drawn_text()
        if not self.density_image.shown():
            text = text.split(" Shading:")[0]
        self.drawn_label.setText(text)


def _preview() -> int:
    """The Dataset tab on a generated 300,000-row Parquet table:
    ``python -m svdstudio.ui.dataset.big``."""
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from svdstudio.ui.dataset.tab import DatasetTab

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "preview.parquet"
    rng = np.random.default_rng(0)
    n = 300_000
    kind = rng.choice(["alpha", "beta", "gamma"], size=n, p=[0.6, 0.3, 0.1])
    centres = {"alpha": (0, 0, 0), "beta": (4, 1, -2), "gamma": (-3, 3, 1)}
    data = rng.normal(size=(n, 6))
    for k, c in centres.items():
        data[kind == k, :3] += c
    pq.write_table(
        pa.table({**{f"x{j + 1}": data[:, j] for j in range(6)}, "kind": kind}),
        path,
        row_group_size=50_000,
    )
    runner = JobRunner()
    tab = DatasetTab(runner)
    tab.resize(1280, 800)
    tab.open_file(str(path))
    tab.show()
    code = app.exec()
    runner.shutdown()
    folder.cleanup()
    return code


if __name__ == "__main__":
    raise SystemExit(_preview())
