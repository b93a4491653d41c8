"""How the Matrix workbench's results write numbers and indices.

A figure in fixed or scientific notation, subscript digits for tab titles (which cannot hold
rich text), and the plain-text reading of a rich-text label (what a screen reader says).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QTextDocument

__all__ = ["format_figure", "plain_text", "subscript"]


def format_figure(v: float, decimals: int) -> str:
    """Fixed decimals for ordinary magnitudes, scientific for tiny or huge ones."""
    if not np.isfinite(v):
        return "∞" if v > 0 else "n/a"
    if v == 0 or 1e-3 <= abs(v) < 1e7:
        return f"{v:.{decimals}f}"
    return f"{v:.{decimals}e}"


def plain_text(html: str) -> str:
    """``html`` as plain text, with ordinary spaces and no word joiners."""
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText().replace("\u00a0", " ").replace("\u2060", "")


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(i: int) -> str:
    """Unicode subscript digits (tab titles cannot hold rich text)."""
    return str(i).translate(_SUBSCRIPTS)
