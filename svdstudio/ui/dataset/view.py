"""The Dataset lab's plots: the 2-D scatter beside the spectrum over the hovered row's panel.

Shows what a :class:`DatasetSession` holds, on the components the tab asks for; hovering a
point describes its row in the panel and in a tooltip.
"""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import Qt

from svdstudio.engine.projection import METHOD_TITLES
from svdstudio.io.datasets import pixel_grid
from svdstudio.ui.dataset import text as dataset_text
from svdstudio.ui.dataset.hover import HoverPanel, describe_row
from svdstudio.ui.dataset.scatter import DatasetScatter
from svdstudio.ui.dataset.session import DatasetSession
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

__all__ = ["DatasetView"]


class DatasetView(QtWidgets.QSplitter):
    """Scatter | (spectrum / hover panel), two splitters the tab remembers."""

    def __init__(self, session: DatasetSession, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("datasetSplitter")
        self._session = session
        self._axes = (0, 1)  # 0-based components on show
        self._arrows = False
        self._grid: tuple[int, int] | None = None  # pixel grid of a pixel table (Digits)
        self._hover_plain = ""
        self._hover_rich = ""

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

    def show_table(self) -> None:
        """A new table: drop the old spectrum and hover (they belong to another table)."""
        ds = self._session.dataset
        self.spectrum.clear()
        self.show_hover(-1)
        if ds is not None:
            self._grid = pixel_grid([c for c in ds.all_columns if c != ds.label_name])
            self.hover_panel.set_pixel_mode(self._grid is not None)

    def show_spectrum(self, k: int) -> None:
        """The projection's singular values with ``k`` components kept."""
        res = self._session.result
        if res is None:
            return
        label = "explained variance" if res.method != "tsvd" else "energy"
        self.spectrum.set_values(res.singular_values, energy_label=label)
        self.spectrum.set_rank(min(max(k, 1), res.n_components))

    def kept(self) -> int:
        """Components kept (at least 1)."""
        return max(self.spectrum.rank(), 1)

    def draw(self, cx: int, cy: int) -> None:
        """Plot components ``cx`` and ``cy`` (0-based) of the projection on show."""
        res, ds = self._session.result, self._session.dataset
        if res is None or ds is None:
            return
        self._axes = (cx, cy)
        self.scatter.set_points(
            res.projection[:, [cx, cy]],
            ds.labels,
            ds.classes,
            dataset_text.axis_title(res, cx),
            dataset_text.axis_title(res, cy),
        )
        self.scatter.getPlotItem().setTitle(
            f"{self._session.title()} · {METHOD_TITLES[res.method]}", color="#222222", size="11pt"
        )
        self.set_arrows(self._arrows)
        self.show_hover(-1)

    def set_arrows(self, on: bool) -> None:
        """Draw (or remove) the feature arrows of the components on show."""
        self._arrows = bool(on)
        res, ds = self._session.result, self._session.dataset
        if res is None or ds is None or not on:
            self.scatter.set_arrows(None)
            return
        vectors = dataset_text.arrow_vectors(res, *self._axes)
        self.scatter.set_arrows(vectors, list(ds.feature_names))

    def show_hover(self, i: int) -> None:
        """Describe row ``i`` in the panel and a tooltip (-1: nothing hovered)."""
        ds, res = self._session.dataset, self._session.result
        if i < 0 or ds is None or res is None or i >= ds.n_rows:
            self._hover_plain = self._hover_rich = ""
            self.hover_panel.show_row(None)
            QtWidgets.QToolTip.hideText()
            return
        coords = dataset_text.point_coords(res, i, *self._axes)
        desc = describe_row(ds, i, coords, self._grid)
        self._hover_plain = desc.plain()
        self._hover_rich = desc.rich()
        self.hover_panel.show_row(desc)
        QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), self._hover_rich, self.scatter)

    def hover_text(self) -> str:
        """Plain text about the hovered point ('' when none)."""
        return self._hover_plain
