"""Right half of the Matrix workbench: spectrum, summary, error panel and result grids.

Everything here slices one cached :class:`~svdstudio.engine.SVDResult`; changing k never
recomputes the decomposition.  Dragging the cutoff updates only the error panel.  This
module decides what is on show and when; the grids are :mod:`~svdstudio.ui.matrix.grids`,
the error panel :mod:`~svdstudio.ui.matrix.error_panel`, the summary line
:mod:`~svdstudio.ui.matrix.summary`; a big result arrives over several event-loop turns
(:mod:`~svdstudio.ui.widgets.step_queue`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from svdstudio.engine import SVDResult
from svdstudio.ui.matrix.error_panel import ErrorPanel
from svdstudio.ui.matrix.grids import PENDING_VIEWS, ResultGrids
from svdstudio.ui.matrix.notation import format_figure, plain_text
from svdstudio.ui.matrix.progress import JobProgress
from svdstudio.ui.matrix.summary import summary_text
from svdstudio.ui.widgets.result_views import ArrayView
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot
from svdstudio.ui.widgets.step_queue import StepQueue

__all__ = ["PENDING_VIEWS", "ResultsPanel", "format_figure"]

#: From this many cells (a matrix opened from a file), the m×n grids A_k, A − A_k and
#: σ_i u_i v_iᵀ are computed when their tab is shown, not with every result or rank change:
#: each is a pass over m·n values (≈ 0.2 s for 5000×5000 on a busy machine).
LAZY_CELLS = 1_000_000
#: From this many cells, a result (σ, or the factors) is put on show over several turns of the
#: event loop, one view per turn: each view of a 5000×5000 result costs 20-70 ms of GUI-thread
#: work (the spectrum's 5000 points, a pass over U or Vᵀ), together 0.1-0.2 s, a visible freeze.
SPREAD_CELLS = LAZY_CELLS

BANNER_WAIT = "background:#fff4c2; color:#5a4500; border:1px solid #e0c860; padding:4px;"
BANNER_ERROR = "background:#ffd6d6; color:#7a0000; border:1px solid #e08080; padding:4px;"


class ResultsPanel(QWidget):
    """Shows an SVD result at rank k; emits ``status_message`` for the status bar."""

    status_message = Signal(str)
    results_updated = Signal()  # views now show the current result at the current rank

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._res: SVDResult | None = None
        self._A: np.ndarray | None = None
        self._k = 2
        self._component = 1
        self._values_only = False  # σ known, the singular vectors still being computed
        self._stale: set[str] = set()  # m×n grids to compute when their tab is shown
        self._shown = "none"  # what state() says: updated when a result is all on show
        # The rest of a result being put on show, one step per event-loop turn (big results).
        self._arrival = StepQueue(self)

        self.spectrum = SpectrumPlot(self)
        self.spectrum.setObjectName("spectrumPlot")
        self.spectrum.rank_spin.setObjectName("rankSpin")
        self.spectrum.rank_spin.setToolTip("Rank k of the approximation A_k")
        self.spectrum.rank_spin.setAccessibleName("Rank k")
        self.spectrum.rank_changed.connect(self._on_rank_changed)
        self.spectrum.rank_previewed.connect(self._on_rank_previewed)
        self.spectrum.component_selected.connect(self.show_component)

        self.info = QLabel("No result yet.", self)
        self.info.setObjectName("matrixInfo")
        self.info.setWordWrap(True)
        self.info.setToolTip(
            "Shape, numerical rank (singular values above the tolerance) and condition number"
        )
        self.info.setAccessibleName("Matrix summary")

        self.banner = QLabel(self)
        self.banner.setObjectName("resultsStatus")
        self.banner.setWordWrap(True)
        self.banner.setToolTip("Why the results are not up to date")
        self.banner.setAccessibleName("Results status")
        self.banner.hide()
        self.progress = JobProgress(self)

        self.decimals = QSpinBox(self)
        self.decimals.setObjectName("decimalsSpin")
        self.decimals.setRange(0, 12)
        self.decimals.setValue(4)
        self.decimals.setPrefix("Decimals: ")
        self.decimals.setToolTip("Digits after the decimal point in the result grids and errors")
        self.decimals.setAccessibleName("Decimals")
        self.decimals.valueChanged.connect(self._on_decimals)

        self.grids = ResultGrids(self)
        self.tabs = self.grids.tabs
        self.views = self.grids.views
        self.residual_legend = self.grids.residual_legend
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.views["S"].clicked.connect(lambda ix: self.show_component(ix.row() + 1, False))
        self.views["S"].activated.connect(lambda ix: self.show_component(ix.row() + 1))

        self.errors = ErrorPanel(self)
        self.error_panel = self.errors.label
        self.error_box = self.errors.box

        lower = QWidget(self)
        # ``error_box`` is not laid out here: the tab shows it under the matrix, where a small
        # matrix leaves room and the result grids keep their width.
        col = QVBoxLayout(lower)
        col.setContentsMargins(0, 0, 0, 0)
        info_row = QHBoxLayout()
        info_row.addWidget(self.info, 1)
        info_row.addWidget(self.decimals, 0, Qt.AlignmentFlag.AlignTop)
        col.addLayout(info_row)
        col.addWidget(self.banner)
        col.addWidget(self.progress)
        col.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("matrixResultsSplitter")
        self.splitter.addWidget(self.spectrum)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([300, 440])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # ---- public ---------------------------------------------------------------------------
    def result(self) -> SVDResult | None:
        return self._res

    def rank(self) -> int:
        return self._k

    def state(self) -> str:
        """ "none" (no result yet), "values" (σ only, vectors pending) or "full": what is on
        show once every view has it (a big result arrives over a few event-loop turns)."""
        return self._shown

    def arriving(self) -> bool:
        """Whether a result is still being put on show (a big one, a view per turn)."""
        return self._arrival.pending()

    def info_text(self) -> str:
        """The summary line as plain text (what a screen reader says)."""
        return plain_text(self.info.text())

    def error_values(self) -> dict[str, str]:
        """The figures the error panel shows, by name ("frobenius", "frobenius_squared",
        "dropped_energy", "spectral", "relative", "energy_retained"), as displayed."""
        return self.errors.values()

    def error_text(self) -> str:
        """The error panel as plain text, one figure per line."""
        return self.errors.text()

    def set_rank(self, k: int) -> None:
        """Choose k (clamped to the result); updates the spectrum and every view."""
        self._k = int(k)
        if self._res is not None:
            self._k = max(1, min(self._k, self._res.n_components))
            self.spectrum.set_rank(self._k)  # may emit rank_changed → views update
            if self._views_k != self._k:
                self._update_rank_views()

    def set_values(self, res: SVDResult, matrix: np.ndarray) -> None:
        """Show the singular values of ``matrix`` (``res`` holds σ only, no vectors yet):
        spectrum, Σ, summary and errors; the grids that need U or Vᵀ say they are pending.
        A big matrix's views are filled over a few event-loop turns (see :meth:`state`)."""
        self._arrival.cancel()
        self._values_only = True
        self._run(
            matrix,
            [
                lambda: self._show_values(res, matrix),
                lambda: self._show_table(res),
                self._show_pending,
            ],
        )

    def _show_pending(self) -> None:
        self.grids.show_pending()
        self.grids.mark_kept(self._k)
        self._update_error_panel(self._k)
        self._shown = "values"
        self.results_updated.emit()

    def set_result(self, res: SVDResult, matrix: np.ndarray) -> None:
        """Show a fresh decomposition of ``A`` at the current k.  After its σ (set_values) of
        the same matrix, only the vectors' views change; a big matrix's views are filled over
        a few event-loop turns (see :meth:`state`)."""
        self._arrival.cancel()
        prev = self._res
        same_values = (
            self._values_only
            and self._shown == "values"
            and self._A is matrix
            and prev is not None
            and np.array_equal(prev.s, res.s)
        )
        self._values_only = True  # until the vectors are on show: rank changes touch Σ only
        steps: list[Callable[[], None]] = []
        if same_values:  # spectrum, Σ, summary and errors already show these σ
            steps.append(lambda: self._adopt(res))
        else:
            steps += [
                lambda: self._show_values(res, matrix),
                lambda: self._show_table(res),
            ]
        steps += [
            lambda: self.grids.show_u(res),
            lambda: self.grids.show_vt(res),
            self._show_vectors,
        ]
        self._run(matrix, steps)

    def _adopt(self, res: SVDResult) -> None:
        self._res = res
        self._views_k = -1  # new factors: every rank view is stale

    def _show_vectors(self) -> None:
        self._values_only = False
        self.grids.show_ready()
        self._shown = "full"
        if self._views_k != self._k:
            self._update_rank_views()
        self.show_component(self._component, False)

    def _run(self, matrix: np.ndarray, steps: list[Callable[[], None]]) -> None:
        """Run ``steps`` now, or for a big matrix one per event-loop turn."""
        self._arrival.run(steps, spread=matrix.size >= SPREAD_CELLS)

    def _show_values(self, res: SVDResult, matrix: np.ndarray) -> None:
        """The spectrum (the σ's own views follow in :meth:`_show_table`)."""
        self._res, self._A = res, matrix
        self._k = max(1, min(self._k, res.n_components))
        self._component = max(1, min(self._component, res.n_components))
        self.set_banner("")
        self._set_enabled(True)
        self._views_k = -1  # new factors: every rank view is stale
        k = self._k
        self._loading = True  # set_values may move the plot's cutoff: keep our k
        try:
            self.spectrum.set_values(res.s, total_energy=res.total_energy)
        finally:
            self._loading = False
        self._k = k
        self.spectrum.set_rank(k)

    def _show_table(self, res: SVDResult) -> None:
        """The summary line and the Σ grid (σ, σ², energy shares)."""
        self._update_info()
        self.grids.show_sigma(res)

    def set_banner(self, text: str, error: bool = False) -> None:
        """Show (or with "" hide) the line saying why the results are not current."""
        self.banner.setText(text)
        self.banner.setStyleSheet(BANNER_ERROR if error else BANNER_WAIT)
        self.banner.setVisible(bool(text))

    def set_waiting(self, text: str) -> None:
        """Results are stale (invalid cell, failed job): say so and grey them out."""
        self._arrival.cancel()  # a result still arriving would clear the banner
        self.set_banner(text, error=text.startswith("Could not"))
        self._set_enabled(False)

    def show_component(self, i: int, switch_tab: bool = True) -> None:
        """Show the rank-1 term σ_i u_i v_iᵀ (1-based i)."""
        if self._res is None or not 1 <= i <= self._res.n_components:
            return
        if self._values_only:  # u_i, v_i are not known yet
            self._component = i
            self.spectrum.set_selected_component(i)
            if switch_tab:
                self.status_message.emit(
                    f"σ{i} = {self._res.s[i - 1]:.4g}; its rank-1 term comes with the vectors."
                )
            return
        self._component = i
        self.spectrum.set_selected_component(i)
        if switch_tab or not self._lazy() or self.grids.showing("T"):
            self.grids.show_rank_one(self._res, i)
            self._stale.discard("T")
        else:
            self._stale.add("T")
        self.grids.set_rank_one_title(i)
        if switch_tab:
            self.grids.show_view("T")
            self.status_message.emit(
                f"Showing the rank-1 term σ{i} u{i} v{i}ᵀ (σ{i} = {self._res.s[i - 1]:.4g})."
            )

    def show_view(self, key: str) -> None:
        """Bring the result grid ``key`` ("U", "S", "Vt", "Ak", "R", "Red", "T") on show."""
        self.grids.show_view(key)

    def current_view(self) -> ArrayView | None:
        """The result grid on show."""
        return self.grids.current_view()

    def current_array(self) -> tuple[str, np.ndarray] | None:
        """(title, array) of the grid on show, for export."""
        return self.grids.current_array()

    # ---- updates --------------------------------------------------------------------------
    def _set_enabled(self, on: bool) -> None:
        self.tabs.setEnabled(on)
        self.error_panel.setEnabled(on)

    def _on_rank_changed(self, k: int) -> None:
        if self._loading:
            return
        if self._res is None:
            self._k = int(k)
            return
        self._k = max(1, min(int(k), self._res.n_components))
        if self._views_k != self._k:
            self._update_rank_views()

    def _on_rank_previewed(self, k: int) -> None:
        if self._res is not None and 1 <= k <= self._res.n_components:
            self._update_error_panel(int(k))

    def _on_decimals(self, d: int) -> None:
        self.grids.set_decimals(d)
        if self._res is not None:
            self._update_error_panel(self._k)

    _views_k = -1
    _loading = False

    def _update_rank_views(self) -> None:
        res, a, k = self._res, self._A, self._k
        if res is None or a is None:
            return
        if self._values_only:  # only Σ and the errors follow k until the vectors come
            self.grids.mark_kept(k)
            self._views_k = k
            self.errors.set_rank_title(k)
            self._update_error_panel(k)
            self.results_updated.emit()
            return
        if self._lazy() and not self.grids.showing("Ak", "R"):
            self._stale.update(("Ak", "R"))
        else:
            self._show_reconstruction()
        self.grids.show_reduced(res, k)
        self.grids.mark_kept(k)
        self.grids.set_rank_titles(k)
        self.errors.set_rank_title(k)
        self._views_k = k
        self._update_error_panel(k)
        self.results_updated.emit()

    def _lazy(self) -> bool:
        return self._A is not None and self._A.size >= LAZY_CELLS

    def _show_reconstruction(self) -> None:
        res, a, k = self._res, self._A, self._k
        if res is None or a is None or self._values_only:
            return
        self.grids.show_reconstruction(res, a, k)
        self._stale.difference_update(("Ak", "R"))

    def _on_tab_changed(self, _index: int) -> None:
        if "T" in self._stale and self.grids.showing("T"):
            self.show_component(self._component, False)
        elif self._stale & {"Ak", "R"} and self.grids.showing("Ak", "R"):
            self._show_reconstruction()

    def _update_info(self) -> None:
        if self._res is None:
            return
        text, tooltip = summary_text(self._res)
        self.info.setText(text)
        self.info.setToolTip(tooltip)

    def _update_error_panel(self, k: int) -> None:
        if self._res is not None:
            self.errors.show_rank(self._res, k, self.decimals.value())
