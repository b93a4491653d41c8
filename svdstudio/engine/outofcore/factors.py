"""Triangular factors of row chunks: the first level of a tall-and-skinny QR (TSQR), in numpy.

For a chunk of rows X_i (n_i × p) with mean μ_i, :func:`chunk_factor` keeps (n_i, μ_i, R_i) where
R_i is the R of the QR of X_i − μ_i (R only: LAPACK's Householder QR on blocks of a few thousand
rows, which stay in cache; forming Q would cost three times as much and is not needed).  Then
R_iᵀR_i = (X_i − μ_i)ᵀ(X_i − μ_i), and two factors combine exactly (Chan's rule for the mean,
a QR for the cross term):

    [R_1; R_2; √(n_1 n_2 / n) (μ_1 − μ_2)ᵀ]  has  R with  RᵀR = (X − μ)ᵀ(X − μ)  over both chunks.

So the whole table's centred R comes out of one pass over the file, without ever forming XᵀX
(which would square the condition number): the SVD of that p × p R gives the exact singular
values and right singular vectors of the centred table, and, with one more row √n μᵀ, of the
raw one.  Pure numpy; no Dask, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ChunkFactor", "chunk_factor", "combine_factors", "raw_factor"]

# Rows per QR block: 4096 × 50 float64 is 1.6 MB, cache-sized; measured 2.5–4× faster per row
# than one QR of a 250,000-row chunk.
_BLOCK_ROWS = 4096


@dataclass(frozen=True, eq=False)
class ChunkFactor:
    """Rows ``n``, their column ``mean`` and R (≤ p × p, upper triangular) of the centred rows."""

    n: int
    mean: np.ndarray
    R: np.ndarray

    @property
    def sum_squares(self) -> np.ndarray:
        """Σ (x − mean)² per column: the squared column norms of R."""
        return np.einsum("ij,ij->j", self.R, self.R)


def _r_only(A: np.ndarray) -> np.ndarray:
    if A.shape[0] == 0:
        return np.zeros((0, A.shape[1]))
    R: np.ndarray = np.linalg.qr(A, mode="r")  # type: ignore[assignment]  # mode "r": R only
    return R


def chunk_factor(X: np.ndarray, block_rows: int = _BLOCK_ROWS) -> ChunkFactor:
    """The (n, mean, R) factor of the rows ``X`` (n × p float64)."""
    n, p = X.shape
    if n == 0:
        return ChunkFactor(0, np.zeros(p), np.zeros((0, p)))
    mean = X.mean(axis=0)
    block = max(block_rows, 2 * p)
    parts = [_r_only(X[s : s + block] - mean) for s in range(0, n, block)]
    R = parts[0] if len(parts) == 1 else _r_only(np.vstack(parts))
    return ChunkFactor(int(n), mean, R)


def combine_factors(*factors: ChunkFactor) -> ChunkFactor:
    """One factor for the rows of all ``factors`` (exact; associative, so any tree works)."""
    live = [f for f in factors if f.n > 0]
    if not live:
        return factors[0]
    if len(live) == 1:
        return live[0]
    n = sum(f.n for f in live)
    mean = np.sum([f.n * f.mean for f in live], axis=0) / n
    # Σ n_i (μ_i − μ)(μ_i − μ)ᵀ is the between-chunk part of the centred Gram matrix.
    rows = [f.R for f in live] + [np.sqrt(f.n) * (f.mean - mean)[np.newaxis, :] for f in live]
    return ChunkFactor(int(n), mean, _r_only(np.vstack(rows)))


def raw_factor(f: ChunkFactor, columns: Sequence[int] | None = None) -> np.ndarray:
    """A matrix S with SᵀS = XᵀX (uncentred) for the chosen columns: [R; √n μᵀ]."""
    cols = slice(None) if columns is None else list(columns)
    return np.vstack([f.R[:, cols], np.sqrt(f.n) * f.mean[np.newaxis, cols]])
