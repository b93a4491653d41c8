"""Right half of the Matrix workbench: spectrum, summary, error panel and result grids.

Everything here slices one cached :class:`~svdstudio.engine.SVDResult`; changing k never
recomputes the decomposition.  Dragging the cutoff updates only the error panel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from svdstudio.engine import SIGN_CONVENTION, SVDResult, rank_errors, rank_one_term
from svdstudio.engine import reconstruct as engine_reconstruct
from svdstudio.engine import reduced as engine_reduced
from svdstudio.engine.lowrank import SQUARED_ERROR_WORDS
from svdstudio.engine.scaled import scaled_squares
from svdstudio.ui.matrix.progress import JobProgress
from svdstudio.ui.widgets.result_views import ArrayView, sign_legend_html
from svdstudio.ui.widgets.spectrum_data import format_lost, format_retained
from svdstudio.ui.widgets.spectrum_plot import SpectrumPlot

__all__ = ["PENDING_VIEWS", "ResultsPanel", "format_figure"]

#: The grids that need the singular vectors: "pending" while only σ are known.
PENDING_VIEWS = ("U", "Vt", "Ak", "R", "Red", "T")
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


def format_figure(v: float, decimals: int) -> str:
    """Fixed decimals for ordinary magnitudes, scientific for tiny or huge ones."""
    if not np.isfinite(v):
        return "∞" if v > 0 else "n/a"
    if v == 0 or 1e-3 <= abs(v) < 1e7:
        return f"{v:.{decimals}f}"
    return f"{v:.{decimals}e}"


def _sub(i: object) -> str:
    return f"<sub>{i}</sub>"


def _plain(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText().replace("\u00a0", " ").replace("\u2060", "")


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(i: int) -> str:
    """Unicode subscript digits (tab titles cannot hold rich text)."""
    return str(i).translate(_SUBSCRIPTS)


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
        self._steps: list[Callable[[], None]] = []
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(0)
        self._step_timer.timeout.connect(self._run_step)

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

        views = {
            "U": ("uView", "U: left singular vectors u_i as columns", "U"),
            "S": ("singularValuesView", "Σ: singular values σ_i, σ_i², energy", "Σ"),
            "Vt": ("vtView", "Vᵀ: right singular vectors v_i as rows", "Vᵀ"),
            "Ak": ("reconstructionView", "A_k: the rank-k reconstruction U_k Σ_k V_kᵀ", "A_k"),
            "R": (
                "residualView",
                "A − A_k: the residual, red where A_k is below A, blue where above, stronger "
                "with |A − A_k|",
                "A − A_k",
            ),
            "Red": (
                "reducedView",
                "U_k Σ_k: the reduced m×k matrix (truncated SVD); column signs follow the "
                "sign convention, so they may differ from other software",
                "U_k Σ_k",
            ),
            "T": ("rankOneView", "σ_i u_i v_iᵀ: one rank-1 term (click a row of Σ)", "σ₁u₁v₁ᵀ"),
        }
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("resultTabs")
        self.tabs.setToolTip("Result grids; the selected rank is k")
        self.tabs.setAccessibleName("Result grids")
        self.tabs.setDocumentMode(True)
        self.views: dict[str, ArrayView] = {}
        self.residual_legend = QLabel(self)
        self.residual_legend.setObjectName("residualLegend")
        self.residual_legend.setAccessibleName("Residual colour legend")
        self.residual_legend.setTextFormat(Qt.TextFormat.RichText)
        self.residual_legend.setWordWrap(True)
        self._pages: dict[str, QWidget] = {}
        self._titles = {key: title for key, (_, _, title) in views.items()}
        for key, (name, tip, title) in views.items():
            view = ArrayView(name, tip, self)
            self.views[key] = view
            page: QWidget = view
            if key == "R":  # the residual's colours need a legend under the grid
                page = QWidget(self)
                page_layout = QVBoxLayout(page)
                page_layout.setContentsMargins(0, 0, 0, 0)
                page_layout.setSpacing(2)
                page_layout.addWidget(view, 1)
                page_layout.addWidget(self.residual_legend)
            self._pages[key] = page
            self.tabs.addTab(page, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        self.views["R"].array_model().set_sign_colours(True)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.views["S"].clicked.connect(lambda ix: self.show_component(ix.row() + 1, False))
        self.views["S"].activated.connect(lambda ix: self.show_component(ix.row() + 1))

        self.error_panel = QLabel(self)
        self.error_panel.setObjectName("errorPanel")
        self.error_panel.setTextFormat(Qt.TextFormat.RichText)
        self.error_panel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_panel.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.error_panel.setToolTip(
            "What dropping σ_(k+1) … costs (Eckart–Young): the error norms are computed "
            "from the singular values alone"
        )
        self.error_panel.setAccessibleName("Error of the rank-k approximation")
        box = self.error_box = QGroupBox("Error of A_k", self)
        box.setToolTip(self.error_panel.toolTip())
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self.error_panel)

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
        return bool(self._steps)

    def info_text(self) -> str:
        """The summary line as plain text (what a screen reader says)."""
        return _plain(self.info.text())

    def error_values(self) -> dict[str, str]:
        """The figures the error panel shows, by name ("frobenius", "frobenius_squared",
        "dropped_energy", "spectral", "relative", "energy_retained"), as displayed."""
        return dict(self._error_values)

    _error_values: dict[str, str] = {}  # noqa: RUF012  (replaced, never mutated)

    def error_text(self) -> str:
        """The error panel as plain text, one figure per line."""
        return _plain(self.error_panel.text().replace("</tr>", "</tr><br>"))

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
        self._cancel_steps()
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
        current = self.tabs.currentWidget()
        for key in PENDING_VIEWS:
            self.views[key].set_array(np.zeros((0, 0)))
            index = self.tabs.indexOf(self._pages[key])
            title = self.tabs.tabText(index).removesuffix(" (pending)")
            self.tabs.setTabText(index, f"{title} (pending)")
            self.tabs.setTabToolTip(index, "Being computed: the singular values came first")
            self.tabs.setTabEnabled(index, False)
        if current in (self._pages[key] for key in PENDING_VIEWS):
            self.tabs.setCurrentWidget(self._pages["S"])
        self._mark_kept()
        self._update_error_panel(self._k)
        self._shown = "values"
        self.results_updated.emit()

    def set_result(self, res: SVDResult, matrix: np.ndarray) -> None:
        """Show a fresh decomposition of ``A`` at the current k.  After its σ (set_values) of
        the same matrix, only the vectors' views change; a big matrix's views are filled over
        a few event-loop turns (see :meth:`state`)."""
        self._cancel_steps()
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
        p = res.n_components
        steps += [
            lambda: self.views["U"].set_array(res.U, col_labels=[f"u{i}" for i in range(1, p + 1)]),
            lambda: self.views["Vt"].set_array(
                res.Vt, row_labels=[f"v{i}ᵀ" for i in range(1, p + 1)]
            ),
            self._show_vectors,
        ]
        self._run(matrix, steps)

    def _adopt(self, res: SVDResult) -> None:
        self._res = res
        self._views_k = -1  # new factors: every rank view is stale

    def _show_vectors(self) -> None:
        self._values_only = False
        for key in PENDING_VIEWS:
            index = self.tabs.indexOf(self._pages[key])
            self.tabs.setTabEnabled(index, True)
            self.tabs.setTabText(index, self._titles[key])
            self.tabs.setTabToolTip(index, self.views[key].toolTip())
        self._shown = "full"
        if self._views_k != self._k:
            self._update_rank_views()
        self.show_component(self._component, False)

    def _run(self, matrix: np.ndarray, steps: list[Callable[[], None]]) -> None:
        """Run ``steps`` now, or for a big matrix one per event-loop turn."""
        if matrix.size < SPREAD_CELLS:
            for step in steps:
                step()
            return
        self._steps = list(steps)
        self._run_step()  # the first at once: what the user sees soonest

    def _run_step(self) -> None:
        if self._steps:
            self._steps.pop(0)()
        if self._steps:
            self._step_timer.start()

    def _cancel_steps(self) -> None:
        self._steps = []
        self._step_timer.stop()

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
        p = res.n_components
        # Shares computed on σ/σ_1 (engine.scaled): right for σ near 1e308 or below 1e-162.
        scale, r2 = scaled_squares(res.s)
        with np.errstate(over="ignore", under="ignore"):
            s2 = r2 * scale * scale
        total = float(np.sum(r2)) or 1.0
        table = np.column_stack([res.s, s2, 100 * r2 / total, 100 * np.cumsum(r2) / total])
        self.views["S"].set_array(
            table,
            row_labels=[f"σ{i}" for i in range(1, p + 1)],
            col_labels=["σᵢ", "σᵢ²", "energy %", "cumulative %"],
        )

    def set_banner(self, text: str, error: bool = False) -> None:
        """Show (or with "" hide) the line saying why the results are not current."""
        self.banner.setText(text)
        self.banner.setStyleSheet(BANNER_ERROR if error else BANNER_WAIT)
        self.banner.setVisible(bool(text))

    def set_waiting(self, text: str) -> None:
        """Results are stale (invalid cell, failed job): say so and grey them out."""
        self._cancel_steps()  # a result still arriving would clear the banner
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
        view = self.views["T"]
        if switch_tab or not self._lazy() or self.tabs.currentWidget() is view:
            view.set_array(rank_one_term(self._res, i))
            self._stale.discard("T")
        else:
            self._stale.add("T")
        index = self.tabs.indexOf(self._pages["T"])
        j = subscript(i)
        self.tabs.setTabText(index, f"σ{j}u{j}v{j}ᵀ")
        if switch_tab:
            self.tabs.setCurrentWidget(view)
            self.status_message.emit(
                f"Showing the rank-1 term σ{i} u{i} v{i}ᵀ (σ{i} = {self._res.s[i - 1]:.4g})."
            )

    def show_view(self, key: str) -> None:
        """Bring the result grid ``key`` ("U", "S", "Vt", "Ak", "R", "Red", "T") on show."""
        self.tabs.setCurrentWidget(self._pages[key])

    def current_view(self) -> ArrayView | None:
        """The result grid on show."""
        page = self.tabs.currentWidget()
        for key, candidate in self._pages.items():
            if candidate is page:
                return self.views[key]
        return None

    def current_array(self) -> tuple[str, np.ndarray] | None:
        """(title, array) of the grid on show, for export."""
        view = self.current_view()
        if view is None or view.array_model().array().size == 0:
            return None
        return self.tabs.tabText(self.tabs.currentIndex()), view.array_model().array()

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
        for view in self.views.values():
            view.set_decimals(d)
        if self._res is not None:
            self._update_error_panel(self._k)

    _views_k = -1
    _loading = False

    def _mark_kept(self) -> None:
        k = self._k
        self.views["U"].array_model().set_kept(cols=k)
        self.views["S"].array_model().set_kept(rows=k)
        self.views["Vt"].array_model().set_kept(rows=k)

    def _update_rank_views(self) -> None:
        res, a, k = self._res, self._A, self._k
        if res is None or a is None:
            return
        if self._values_only:  # only Σ and the errors follow k until the vectors come
            self._mark_kept()
            self._views_k = k
            self.error_box.setTitle(f"Error of the rank-{k} approximation A{subscript(k)}")
            self._update_error_panel(k)
            self.results_updated.emit()
            return
        if self._lazy() and self.tabs.currentWidget() not in (self._pages["Ak"], self._pages["R"]):
            self._stale.update(("Ak", "R"))
        else:
            self._show_reconstruction()
        self.views["Red"].set_array(
            engine_reduced(res, k), col_labels=[f"σ{i}u{i}" for i in range(1, k + 1)]
        )
        self._mark_kept()
        j = subscript(k)
        for key, title in (("Ak", f"A{j}"), ("R", f"A − A{j}"), ("Red", f"U{j}Σ{j}")):
            self.tabs.setTabText(self.tabs.indexOf(self._pages[key]), title)
        self.error_box.setTitle(f"Error of the rank-{k} approximation A{j}")
        self._views_k = k
        self._update_error_panel(k)
        self.results_updated.emit()

    def _lazy(self) -> bool:
        return self._A is not None and self._A.size >= LAZY_CELLS

    def _show_reconstruction(self) -> None:
        res, a, k = self._res, self._A, self._k
        if res is None or a is None or self._values_only:
            return
        approx = engine_reconstruct(res, k)
        self.views["Ak"].set_array(approx)
        self.views["R"].set_array(a - approx)
        vmax = self.views["R"].array_model().max_abs()
        self.residual_legend.setText(sign_legend_html(vmax, "A − A" + subscript(k)))
        self._stale.difference_update(("Ak", "R"))

    def _on_tab_changed(self, _index: int) -> None:
        page = self.tabs.currentWidget()
        if "T" in self._stale and page is self._pages["T"]:
            self.show_component(self._component, False)
        elif self._stale & {"Ak", "R"} and page in (self._pages["Ak"], self._pages["R"]):
            self._show_reconstruction()

    def _update_info(self) -> None:
        res = self._res
        if res is None:
            return
        m, n = res.shape
        p = min(m, n)
        cond = res.condition_number
        cond_text = "∞ (singular)" if not np.isfinite(cond) else f"{cond:.4g}"
        # Each phrase is kept whole (non-breaking spaces), so a narrow window wraps between
        # phrases and the condition number never ends up alone on a line.
        phrases = (
            f"<b>{m}&nbsp;×&nbsp;{n}</b>",
            f"<b>numerical&nbsp;rank&nbsp;{res.rank}</b>&nbsp;of&nbsp;{p}",
            f"(σ<sub>i</sub>&nbsp;&gt;&nbsp;{res.tolerance:.3g})",
            f"condition&nbsp;number&nbsp;σ<sub>1</sub>&#8288;/&#8288;σ<sub>{p}</sub>&nbsp;=&nbsp;{cond_text}",
        )
        nowrap = [f"<span style='white-space:nowrap'>{p}</span>" for p in phrases]
        text = f"{nowrap[0]} &nbsp;·&nbsp; {nowrap[1]} {nowrap[2]} &nbsp;·&nbsp; {nowrap[3]}"
        if res.driver == "gesvd":  # say so: the slower, more robust LAPACK driver was needed
            text += f" &nbsp;·&nbsp; computed&nbsp;with&nbsp;{res.driver} (gesdd did not converge)"
        self.info.setText(text)
        self.info.setToolTip(
            f"A {m}×{n} matrix has at most {p} non-zero singular values.\n"
            "Numerical rank: how many singular values exceed the tolerance "
            f"σ₁·max(m, n)·machine epsilon = {res.tolerance:.3g}.\n"
            f"Condition number σ₁/σ_{p}: how much the matrix can amplify relative errors.\n"
            f"Sign convention: {SIGN_CONVENTION}.\nLAPACK driver: {res.driver}."
        )

    def _update_error_panel(self, k: int) -> None:
        res = self._res
        if res is None:
            return
        e = rank_errors(res, k)
        d = self.decimals.value()
        lost = e.relative**2  # share of ‖A‖_F² dropped; stays right where σ² overflows
        f = lambda v: format_figure(v, d)  # noqa: E731
        p = res.n_components
        nxt = f"σ{_sub(k + 1)}" if k < p else "σ<sub>k+1</sub> (none left)"
        ak = f"A{_sub(k)}"
        dropped = "nothing" if k >= p else f"σ{_sub(k + 1)}"
        if k + 1 < p:
            dropped += f" … σ{_sub(p)}"
        kept = f"σ{_sub(1)}" + (f" … σ{_sub(k)}" if k > 1 else "")
        rows = [
            (f"‖A − {ak}‖{_sub('F')}", "Frobenius norm of the error", f(e.frobenius)),
            (
                f"‖A − {ak}‖{_sub('F')}²",
                SQUARED_ERROR_WORDS,  # worded once, as in the CLI
                f(e.frobenius_squared),
            ),
            (
                f"Σ{_sub(f'i&gt;{k}')} σ{_sub('i')}²",
                f"sum of the dropped σ² — equal to ‖A − {ak}‖{_sub('F')}²",
                f(e.dropped_energy),
            ),
            (f"‖A − {ak}‖₂ = {nxt}", "spectral norm of the error", f(e.spectral)),
            ("relative error", f"‖A − {ak}‖{_sub('F')} / ‖A‖{_sub('F')}", f(e.relative)),
            (
                "energy retained",
                f"Σ{_sub(f'i≤{k}')} σ{_sub('i')}² / Σ σ{_sub('i')}²"
                + (f"; lost: {format_lost(lost)}" if lost > 0 else ""),
                format_retained(e.energy_retained, lost, max(d - 2, 1)),
            ),
        ]
        keys = ("frobenius", "frobenius_squared", "dropped_energy", "spectral", "relative")
        self._error_values = dict(
            zip((*keys, "energy_retained"), (row[2] for row in rows), strict=True)
        )
        body = "".join(
            f"<tr><td style='padding-right:10px'><b>{name}</b><br>"
            f"<span style='color:#666'>{what}</span></td>"
            f"<td align='right' style='font-family:monospace'>{value}</td></tr>"
            for name, what, value in rows
        )
        self.error_panel.setText(
            f"<p>Rank k = {k}: keeping {kept}, dropping {dropped}.</p>"
            f"<table width='100%' cellspacing='0' cellpadding='2'>{body}</table>"
        )
