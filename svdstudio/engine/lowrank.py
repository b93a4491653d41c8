"""Low-rank algebra on a cached SVD result: no SVD is recomputed here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import SVDResult
from svdstudio.engine.scaled import scaled_squares, times_scale_squared

__all__ = [
    "SQUARED_ERROR_ARTICLE",
    "SQUARED_ERROR_NAME",
    "SQUARED_ERROR_WORDS",
    "RankErrors",
    "check_rank",
    "cumulative_energy",
    "rank_errors",
    "rank_for_energy",
    "rank_one_term",
    "reconstruct",
    "reduced",
    "squared_error_label",
]

#: The article's squared error, worded once for the GUI and the CLI.  The article sums the
#: squared differences, calls the figure its "approximation error" and the measure the
#: "Frobenius norm"; strictly it is the norm's square, so both names are given.
SQUARED_ERROR_NAME = "squared Frobenius norm"
SQUARED_ERROR_ARTICLE = 'the article\'s "approximation error"'
SQUARED_ERROR_WORDS = f"{SQUARED_ERROR_NAME} ({SQUARED_ERROR_ARTICLE})"


def squared_error_label(k: int | str = "k") -> str:
    """The label of ‖A − A_k‖_F² for rank ``k``, the same in every view:
    'Squared Frobenius norm ‖A − A_2‖_F² (the article's "approximation error")'."""
    return f"Squared Frobenius norm ‖A − A_{k}‖_F² ({SQUARED_ERROR_ARTICLE})"


@dataclass(frozen=True)
class RankErrors:
    """What dropping every singular value after the k-th costs (Eckart–Young).

    ``frobenius`` is ‖A − A_k‖_F; ``frobenius_squared`` its square (the figure the article
    calls "Frobenius norm"), which equals ``dropped_energy`` = Σ_{i>k} σ_i²; ``spectral`` is
    ‖A − A_k‖₂ = σ_{k+1} (0 at full rank); ``relative`` is ‖A − A_k‖_F / ‖A‖_F;
    ``energy_retained`` is Σ_{i≤k} σ_i² / Σ σ_i².
    """

    k: int
    frobenius: float
    frobenius_squared: float
    dropped_energy: float
    spectral: float
    relative: float
    energy_retained: float


def check_rank(res: SVDResult, k: int, *, allow_zero: bool = False) -> int:
    """Return k as an int if 0/1 ≤ k ≤ the number of triplets held, else raise ValueError."""
    lo = 0 if allow_zero else 1
    hi = res.n_components
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"rank k must be a whole number; got {k!r}")
    if not lo <= int(k) <= hi:
        raise ValueError(
            f"rank k must be between {lo} and {hi} for a "
            f"{res.shape[0]}×{res.shape[1]} matrix; got {k}"
        )
    return int(k)


def reconstruct(res: SVDResult, k: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """A_k = U_k diag(σ_k) V_kᵀ, optionally written into a preallocated ``out``."""
    k = check_rank(res, k, allow_zero=True)
    if k == 0:
        if out is None:
            return np.zeros(res.shape, dtype=res.s.dtype)
        out[...] = 0
        return out
    return np.matmul(res.U[:, :k] * res.s[:k], res.Vt[:k], out=out)


def reduced(res: SVDResult, k: int) -> np.ndarray:
    """U_k Σ_k: the m×k reduced representation (the article's "truncated SVD")."""
    k = check_rank(res, k)
    return res.U[:, :k] * res.s[:k]


def rank_one_term(res: SVDResult, i: int) -> np.ndarray:
    """σ_i u_i v_iᵀ for a 1-based index i."""
    if not 1 <= int(i) <= res.n_components:
        raise ValueError(f"singular value index must be between 1 and {res.n_components}; got {i}")
    j = int(i) - 1
    return res.s[j] * np.outer(res.U[:, j], res.Vt[j])


def rank_errors(res: SVDResult, k: int) -> RankErrors:
    """All error figures of the rank-k truncation, from the singular values alone.

    Computed on σ / σ_1, so norms, the relative error and the energy are right for values
    near 1e308 or below 1e-300; only the squared figures may then be out of float range.
    """
    k = check_rank(res, k, allow_zero=True)
    scale, r2 = scaled_squares(res.s)
    kept = float(np.sum(r2[:k]))
    if res.is_partial:
        # Only the top singular values are known: the dropped energy comes from ‖A‖_F².
        with np.errstate(over="ignore", under="ignore"):
            total = float(np.float64(res.total_energy) / scale / scale)
        dropped = max(total - kept, 0.0)
    else:
        dropped = float(np.sum(r2[k:]))
        total = float(np.sum(r2))
    s = res.s.astype(np.float64)
    spectral = float(s[k]) if k < s.size else 0.0
    if res.is_partial and k >= s.size:
        spectral = float("nan")  # σ_{k+1} was not computed
    squared = times_scale_squared(dropped, scale)
    return RankErrors(
        k=k,
        frobenius=float(scale * np.sqrt(dropped)),
        frobenius_squared=squared,
        dropped_energy=squared,
        spectral=spectral,
        relative=float(np.sqrt(dropped / total)) if total > 0 else 0.0,
        energy_retained=kept / total if total > 0 else 1.0,
    )


def cumulative_energy(res: SVDResult) -> np.ndarray:
    """Fraction of ‖A‖_F² retained by ranks 1..r (entry k-1 is for rank k)."""
    scale, r2 = scaled_squares(res.s)
    if res.is_partial:
        with np.errstate(over="ignore", under="ignore"):
            total = float(np.float64(res.total_energy) / scale / scale)
    else:
        total = float(np.sum(r2))
    if total <= 0:
        return np.ones_like(r2)
    return np.cumsum(r2) / total


def rank_for_energy(res: SVDResult, fraction: float) -> int:
    """Smallest k whose retained energy is at least ``fraction`` (0 < fraction ≤ 1)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"energy fraction must be in (0, 1]; got {fraction}")
    curve = cumulative_energy(res)
    # Tolerate rounding: 1.0 may come out as 0.9999999999999998.
    hits = np.nonzero(curve >= fraction - 1e-12)[0]
    return int(hits[0]) + 1 if hits.size else res.n_components
