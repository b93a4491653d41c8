"""The Matrix results' summary line: shape, numerical rank and condition number.

Rich text whose phrases never break inside, and a tooltip that says what each figure means
(and which LAPACK driver computed the result).
"""

from __future__ import annotations

import numpy as np

from svdstudio.engine import SIGN_CONVENTION, SVDResult

__all__ = ["summary_text"]


def summary_text(res: SVDResult) -> tuple[str, str]:
    """(rich text, tooltip) of the summary line for ``res``."""
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
    tooltip = (
        f"A {m}×{n} matrix has at most {p} non-zero singular values.\n"
        "Numerical rank: how many singular values exceed the tolerance "
        f"σ₁·max(m, n)·machine epsilon = {res.tolerance:.3g}.\n"
        f"Condition number σ₁/σ_{p}: how much the matrix can amplify relative errors.\n"
        f"Sign convention: {SIGN_CONVENTION}.\nLAPACK driver: {res.driver}."
    )
    return text, tooltip
