"""The Matrix results' grids: U, Σ, Vᵀ, A_k, A − A_k, U_k Σ_k and σ_i u_i v_iᵀ, one tab each.

What each grid holds for a result at rank k, its tab title (k and i as subscripts), the
"pending" tabs while only the singular values are known, and which grid is on show.  When
to fill a grid (at once, or when its tab is shown) is the results panel's choice.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from svdstudio.engine import SVDResult, rank_one_term
from svdstudio.engine import reconstruct as engine_reconstruct
from svdstudio.engine import reduced as engine_reduced
from svdstudio.engine.scaled import scaled_squares
from svdstudio.ui.matrix.notation import subscript
from svdstudio.ui.widgets.result_views import ArrayView, sign_legend_html
from svdstudio.ui.widgets.steady_tabs import SteadyTabWidget

__all__ = ["PENDING_VIEWS", "ResultGrids"]

#: The grids that need the singular vectors: "pending" while only σ are known.
PENDING_VIEWS = ("U", "Vt", "Ak", "R", "Red", "T")

# key: (object name, tooltip, title)
_VIEWS = {
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


class ResultGrids:
    """The grids (``views`` by key) in the tab widget ``tabs``; the widgets' parent is
    ``parent``.  ``pages`` are the tabs' pages: the grid itself, but the residual's page
    also holds its colour legend (``residual_legend``)."""

    def __init__(self, parent: QWidget) -> None:
        self.tabs = SteadyTabWidget(parent)
        self.tabs.setObjectName("resultTabs")
        self.tabs.setToolTip("Result grids; the selected rank is k")
        self.tabs.setAccessibleName("Result grids")
        self.tabs.setDocumentMode(True)
        self.views: dict[str, ArrayView] = {}
        self.residual_legend = QLabel(parent)
        self.residual_legend.setObjectName("residualLegend")
        self.residual_legend.setAccessibleName("Residual colour legend")
        self.residual_legend.setTextFormat(Qt.TextFormat.RichText)
        self.residual_legend.setWordWrap(True)
        self.pages: dict[str, QWidget] = {}
        self._titles = {key: title for key, (_, _, title) in _VIEWS.items()}
        for key, (name, tip, title) in _VIEWS.items():
            view = ArrayView(name, tip, parent)
            self.views[key] = view
            page: QWidget = view
            if key == "R":  # the residual's colours need a legend under the grid
                page = QWidget(parent)
                page_layout = QVBoxLayout(page)
                page_layout.setContentsMargins(0, 0, 0, 0)
                page_layout.setSpacing(2)
                page_layout.addWidget(view, 1)
                page_layout.addWidget(self.residual_legend)
            self.pages[key] = page
            self.tabs.addTab(page, title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
        self.views["R"].array_model().set_sign_colours(True)

    # ---- which grid is on show ------------------------------------------------------------
    def showing(self, *keys: str) -> bool:
        """Whether the grid on show is one of ``keys``."""
        return self.tabs.currentWidget() in (self.pages[key] for key in keys)

    def show_view(self, key: str) -> None:
        """Bring the grid ``key`` ("U", "S", "Vt", "Ak", "R", "Red", "T") on show."""
        self.tabs.setCurrentWidget(self.pages[key])

    def current_view(self) -> ArrayView | None:
        """The grid on show."""
        page = self.tabs.currentWidget()
        for key, candidate in self.pages.items():
            if candidate is page:
                return self.views[key]
        return None

    def current_array(self) -> tuple[str, np.ndarray] | None:
        """(title, array) of the grid on show; None while it is empty."""
        view = self.current_view()
        if view is None or view.array_model().array().size == 0:
            return None
        return self.tabs.tabText(self.tabs.currentIndex()), view.array_model().array()

    # ---- titles and look ------------------------------------------------------------------
    def show_pending(self) -> None:
        """Empty the grids that need the singular vectors and disable their tabs."""
        current = self.tabs.currentWidget()
        for key in PENDING_VIEWS:
            self.views[key].set_array(np.zeros((0, 0)))
            index = self.tabs.indexOf(self.pages[key])
            title = self.tabs.tabText(index).removesuffix(" (pending)")
            self.tabs.setTabText(index, f"{title} (pending)")
            self.tabs.setTabToolTip(index, "Being computed: the singular values came first")
            self.tabs.setTabEnabled(index, False)
        if current in (self.pages[key] for key in PENDING_VIEWS):
            self.show_view("S")

    def show_ready(self) -> None:
        """The singular vectors are known: the pending tabs get their titles back."""
        for key in PENDING_VIEWS:
            index = self.tabs.indexOf(self.pages[key])
            self.tabs.setTabEnabled(index, True)
            self.tabs.setTabText(index, self._titles[key])
            self.tabs.setTabToolTip(index, self.views[key].toolTip())

    def set_rank_titles(self, k: int) -> None:
        j = subscript(k)
        for key, title in (("Ak", f"A{j}"), ("R", f"A − A{j}"), ("Red", f"U{j}Σ{j}")):
            self.tabs.setTabText(self.tabs.indexOf(self.pages[key]), title)

    def mark_kept(self, k: int) -> None:
        """Mark what A_k keeps: the first k columns of U, rows of Σ and of Vᵀ."""
        self.views["U"].array_model().set_kept(cols=k)
        self.views["S"].array_model().set_kept(rows=k)
        self.views["Vt"].array_model().set_kept(rows=k)

    def set_decimals(self, d: int) -> None:
        for view in self.views.values():
            view.set_decimals(d)

    # ---- contents -------------------------------------------------------------------------
    def show_sigma(self, res: SVDResult) -> None:
        """The Σ grid: σ, σ² and their energy shares."""
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

    def show_u(self, res: SVDResult) -> None:
        p = res.n_components
        self.views["U"].set_array(res.U, col_labels=[f"u{i}" for i in range(1, p + 1)])

    def show_vt(self, res: SVDResult) -> None:
        p = res.n_components
        self.views["Vt"].set_array(res.Vt, row_labels=[f"v{i}ᵀ" for i in range(1, p + 1)])

    def show_reconstruction(self, res: SVDResult, a: np.ndarray, k: int) -> None:
        """A_k and the residual A − A_k (with its colour legend)."""
        approx = engine_reconstruct(res, k)
        self.views["Ak"].set_array(approx)
        self.views["R"].set_array(a - approx)
        vmax = self.views["R"].array_model().max_abs()
        self.residual_legend.setText(sign_legend_html(vmax, "A − A" + subscript(k)))

    def show_reduced(self, res: SVDResult, k: int) -> None:
        """U_k Σ_k, the reduced m×k matrix."""
        self.views["Red"].set_array(
            engine_reduced(res, k), col_labels=[f"σ{i}u{i}" for i in range(1, k + 1)]
        )

    def show_rank_one(self, res: SVDResult, i: int) -> None:
        """σ_i u_i v_iᵀ (1-based i) in its grid."""
        self.views["T"].set_array(rank_one_term(res, i))

    def set_rank_one_title(self, i: int) -> None:
        j = subscript(i)
        self.tabs.setTabText(self.tabs.indexOf(self.pages["T"]), f"σ{j}u{j}v{j}ᵀ")
