"""The Dataset lab's plots: the 2-D scatter beside the spectrum over the hovered row's panel.

Shows what a :class:`DatasetSession` holds and redraws from its signals (axes, arrows, k, a new
result); the spectrum's cutoff writes k back through the session, which owns it.  Hovering a
point describes its row in the panel and in a tooltip.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from svdstudio.io.datasets import pixel_grid
from svdstudio.ui.dataset import text as dataset_text
from svdstudio.ui.dataset.hover import HoverPanel, describe_row
from svdstudio.ui.dataset.scatter import DatasetScatter
from svdstudio.ui.dataset.session import DatasetSession
from svdstudio.ui.dataset.slices import Slices, Step
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

__all__ = ["SLICED_FROM", "DatasetView"]

# From this many rows on, drawing is cut into steps run one per event-loop pass.
SLICED_FROM = 5000


class DatasetView(QtWidgets.QSplitter):
    """Scatter | (spectrum / hover panel), two splitters the tab remembers."""

    result_drawn = Signal()  # a new projection is on show (spectrum, dots, legend, arrows)

    def __init__(self, session: DatasetSession, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("datasetSplitter")
        self._session = session
        self._grid: tuple[int, int] | None = None  # pixel grid of a pixel table (Digits)
        self._hover_plain = ""
        self._hover_rich = ""
        self.slices = Slices(self)
        self.slices.finished.connect(self._on_drawn)
        self._result_pending = False  # show_result ran; result_drawn follows its last step

        self.scatter = DatasetScatter()
        self.scatter.setToolTip(
            "Each point is one row, coloured by its label. Hover a point to see its row "
            "number, label and values. Drag to pan, scroll to zoom, double-click to fit."
        )
        self.scatter.point_hovered.connect(self.show_hover)
        self.scatter.point_tip = lambda _i: self._hover_rich

        self.spectrum = SpectrumPlot()
        self.spectrum.setObjectName("datasetSpectrum")
        self.spectrum.rank_spin.setObjectName("datasetComponentsSpin")
        self.spectrum.rank_spin.setAccessibleName("Components kept")
        self.spectrum.rank_spin.setToolTip(
            "Components kept: how many columns the CSV export holds, and the explained "
            "variance they add up to"
        )
        self.spectrum.set_label_formatter(
            lambda k: dataset_text.spectrum_label(self._session.result, k)
        )
        # σ and the component scores have no physical unit: no "(x0.001)" rescaled ticks.
        spectrum_plot = self.spectrum.plot_widget().getPlotItem()
        for name in ("left", "bottom", "right"):
            spectrum_plot.getAxis(name).enableAutoSIPrefix(False)
        self.spectrum.rank_changed.connect(session.set_k)
        self.spectrum.component_selected.connect(
            lambda i: session.set_axes(session.axes[0], i)  # σ_i double-clicked: i goes on y
        )

        self.hover_panel = HoverPanel()

        right = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("datasetRightSplitter")
        right.addWidget(self.spectrum)
        right.addWidget(self.hover_panel)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([440, 260])
        right.setChildrenCollapsible(False)
        self.right = right

        self.addWidget(self.scatter)
        self.addWidget(right)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setChildrenCollapsible(False)
        self.setSizes([760, 480])

        session.dataset_changed.connect(lambda _path, _user: self.show_table())
        session.computing.connect(self._clear)
        session.job_failed.connect(lambda msg: self._clear(f"No projection: {msg}"))
        session.result_ready.connect(self.show_result)
        session.axes_changed.connect(lambda _x, _y: self.draw())
        session.arrows_changed.connect(lambda _on: self.draw_arrows())
        session.k_changed.connect(self.spectrum.set_rank)

    # ---------------------------------------------------------------- steps
    def _big(self) -> bool:
        ds = self._session.dataset
        return ds is not None and ds.n_rows >= SLICED_FROM

    def _queue(self, name: str, steps: Iterable[Step]) -> None:
        """Run ``steps``: one per event-loop pass for a big table, else at once."""
        self.slices.queue(name, steps)
        if not self._big():
            self.slices.flush()

    def finish_drawing(self) -> None:
        """Run every drawing step still queued now (before an export or a screenshot)."""
        self.slices.flush()

    def drawing(self) -> bool:
        """Whether drawing steps are still queued."""
        return self.slices.busy()

    def _on_drawn(self) -> None:
        if self._result_pending:
            self._result_pending = False
            self.result_drawn.emit()

    def _clear(self, message: str) -> None:
        # What was being drawn belongs to a projection no longer on show (a cleared spectrum
        # of a new table still goes on).
        if self._result_pending:
            self.slices.drop("spectrum")
        self.slices.drop("arrows")
        self._result_pending = False
        self._queue("scatter", [lambda: self.scatter.clear_points(message)])

    # ---------------------------------------------------------------- drawing
    def show_table(self) -> None:
        """A new table: drop the old spectrum and hover (they belong to another table)."""
        ds = self._session.dataset
        self.slices.cancel()
        self._result_pending = False
        self._queue("spectrum", [self.spectrum.clear])
        self.show_hover(-1)
        if ds is not None:
            self._grid = pixel_grid([c for c in ds.all_columns if c != ds.label_name])
            self.hover_panel.set_pixel_mode(self._grid is not None)

    def show_result(self) -> None:
        """A new projection: its spectrum with the session's k, and the scatter."""
        res = self._session.result
        if res is None:
            return

        def spectrum() -> None:
            values, label = res.singular_values, dataset_text.energy_label(res)
            self.spectrum.set_values(values, energy_label=label)
            self.spectrum.set_rank(self._session.k)

        self._result_pending = True
        self._queue("spectrum", [spectrum])
        self.draw()

    def _shown(self) -> tuple[int, int]:
        x, y = self._session.axes
        return x - 1, y - 1

    def draw(self) -> None:
        """Plot the session's components (its axes) of the projection on show."""
        res, ds = self._session.result, self._session.dataset
        if res is None or ds is None:
            return
        cx, cy = self._shown()
        steps = self.scatter.point_steps(
            res.projection,  # the two columns are picked in the steps, a block at a time
            ds.labels,
            self._session.classes(),
            dataset_text.axis_title(res, cx),
            dataset_text.axis_title(res, cy),
            codes=self._session.class_codes(),
            columns=(cx, cy),
        )
        title = f"{self._session.title()} · {dataset_text.method_title(res.method)}"
        # The title before the last step (the points and the fit), for the same reason as the
        # axis titles: its layout settles first.
        steps.insert(
            len(steps) - 1,
            lambda: self.scatter.getPlotItem().setTitle(title, color="#222222", size="11pt"),
        )
        steps.append(self._draw_arrows_now)
        steps.append(lambda: self.show_hover(-1))
        self._queue("scatter", steps)

    def draw_arrows(self) -> None:
        """Draw (or remove) the feature arrows of the components on show (after the dots, if
        they are still being drawn)."""
        self._queue("arrows", [self._draw_arrows_now])

    def _draw_arrows_now(self) -> None:
        res, ds = self._session.result, self._session.dataset
        if res is None or ds is None or not self._session.arrows:
            self.scatter.set_arrows(None)
            return
        vectors = dataset_text.arrow_vectors(res, *self._shown())
        self.scatter.set_arrows(vectors, list(self._session.features()))

    def show_hover(self, i: int) -> None:
        """Describe row ``i`` in the panel and a tooltip (-1: nothing hovered)."""
        ds, res = self._session.dataset, self._session.result
        if i < 0 or ds is None or res is None or i >= ds.n_rows:
            self._hover_plain = self._hover_rich = ""
            self.hover_panel.show_row(None)
            QtWidgets.QToolTip.hideText()
            return
        coords = dataset_text.point_coords(res, i, *self._shown())
        desc = describe_row(ds, i, coords, self._grid)
        self._hover_plain = desc.plain()
        self._hover_rich = desc.rich()
        self.hover_panel.show_row(desc)
        QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), self._hover_rich, self.scatter)

    def hover_text(self) -> str:
        """Plain text about the hovered point ('' when none)."""
        return self._hover_plain
