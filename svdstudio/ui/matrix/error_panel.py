"""The Matrix workbench's error panel: what the rank-k approximation A_k costs.

The error norms, the dropped energy and the energy retained, computed from the singular
values alone (Eckart–Young), each with a line saying what it is.  The tab lays the box out
under the matrix, not in the results panel that owns it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from svdstudio.engine import SVDResult, rank_errors
from svdstudio.engine.lowrank import SQUARED_ERROR_WORDS
from svdstudio.ui.matrix.notation import format_figure, plain_text, subscript
from svdstudio.ui.widgets.spectrum_data import format_lost, format_retained

__all__ = ["FIGURES", "ErrorPanel"]

#: The figures' names in :meth:`ErrorPanel.values`, in the panel's order.
FIGURES = (
    "frobenius",
    "frobenius_squared",
    "dropped_energy",
    "spectral",
    "relative",
    "energy_retained",
)


def _sub(i: object) -> str:
    return f"<sub>{i}</sub>"


class ErrorPanel:
    """The "Error of A_k" group box (``box``) around the figures' label (``label``)."""

    def __init__(self, parent: QWidget) -> None:
        self._values: dict[str, str] = {}
        label = self.label = QLabel(parent)
        label.setObjectName("errorPanel")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        label.setToolTip(
            "What dropping σ_(k+1) … costs (Eckart–Young): the error norms are computed "
            "from the singular values alone"
        )
        label.setAccessibleName("Error of the rank-k approximation")
        box = self.box = QGroupBox("Error of A_k", parent)
        box.setToolTip(label.toolTip())
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(label)

    def values(self) -> dict[str, str]:
        """The figures on show by name (:data:`FIGURES`), as displayed."""
        return dict(self._values)

    def text(self) -> str:
        """The panel as plain text, one figure per line."""
        return plain_text(self.label.text().replace("</tr>", "</tr><br>"))

    def set_rank_title(self, k: int) -> None:
        """Title the box with the chosen rank (a previewed rank changes only the figures)."""
        self.box.setTitle(f"Error of the rank-{k} approximation A{subscript(k)}")

    def show_rank(self, res: SVDResult, k: int, decimals: int) -> None:
        """The figures of ``res`` at rank ``k``, with ``decimals`` digits."""
        e = rank_errors(res, k)
        lost = e.relative**2  # share of ‖A‖_F² dropped; stays right where σ² overflows
        f = lambda v: format_figure(v, decimals)  # noqa: E731
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
                format_retained(e.energy_retained, lost, max(decimals - 2, 1)),
            ),
        ]
        self._values = dict(zip(FIGURES, (row[2] for row in rows), strict=True))
        body = "".join(
            f"<tr><td style='padding-right:10px'><b>{name}</b><br>"
            f"<span style='color:#666'>{what}</span></td>"
            f"<td align='right' style='font-family:monospace'>{value}</td></tr>"
            for name, what, value in rows
        )
        self.label.setText(
            f"<p>Rank k = {k}: keeping {kept}, dropping {dropped}.</p>"
            f"<table width='100%' cellspacing='0' cellpadding='2'>{body}</table>"
        )
