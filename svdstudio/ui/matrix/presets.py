"""Built-in example matrices for the Matrix workbench (plain numpy, no Qt, no linalg)."""

from __future__ import annotations

import numpy as np

__all__ = ["ARTICLE_MATRIX", "PRESETS", "make_preset"]

#: The 4×3 example of the reference article (σ = 10.51, 5.06, 2.63).
ARTICLE_MATRIX = np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]], dtype=np.float64)

#: key → (menu label, tooltip)
PRESETS: dict[str, tuple[str, str]] = {
    "article": ("Article example (4×3)", "The 4×3 matrix of the reference article; rank 3"),
    "identity": ("Identity (m×n)", "Ones on the diagonal: every singular value is 1"),
    "random": (
        "Random of rank r (m×n)",
        "Product of random m×r and r×n factors: numerical rank exactly r (seeded)",
    ),
    "hilbert": (
        "Hilbert (m×n)",
        "H[i, j] = 1/(i + j − 1): famously ill-conditioned, singular values fall fast",
    ),
    "outer": ("Outer product (rank 1)", "Multiplication table u vᵀ with u = 1..m, v = 1..n"),
}


def make_preset(key: str, rows: int = 4, cols: int = 3, rank: int = 2, seed: int = 0):
    """The preset matrix ``key`` of size rows × cols (the article's ignores the size)."""
    if key == "article":
        return ARTICLE_MATRIX.copy()
    if rows < 1 or cols < 1:
        raise ValueError(f"a matrix needs at least one row and column; got {rows}×{cols}")
    if key == "identity":
        return np.eye(rows, cols)
    if key == "hilbert":
        i = np.arange(rows)[:, None]
        j = np.arange(cols)[None, :]
        return 1.0 / (i + j + 1.0)
    if key == "outer":
        return np.outer(np.arange(1.0, rows + 1), np.arange(1.0, cols + 1))
    if key == "random":
        r = max(1, min(int(rank), rows, cols))
        rng = np.random.default_rng(seed)
        # One-decimal factors keep the entries readable; Gaussian factors are full rank a.s.
        left = np.round(rng.standard_normal((rows, r)), 1)
        right = np.round(rng.standard_normal((r, cols)), 1)
        left[left == 0] = 0.1
        right[right == 0] = 0.1
        return left @ right
    raise ValueError(f"unknown preset {key!r}; choose one of {', '.join(PRESETS)}")
