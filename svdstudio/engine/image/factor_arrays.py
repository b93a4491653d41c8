"""The result of the step-wise SVD as it is filled, level by level, and its final form.

:class:`_Factors` holds U, σ, Vᵀ and the error estimates while the levels write into them
(the short side's vectors from the Gram eigenvectors, the long side's by one GEMM straight
into place), divides by σ and applies the sign convention; :func:`_finish` sorts the
triplets and wraps them as an :class:`~svdstudio.engine.decomposition.SVDResult` with its
``approx_from``.
"""

from __future__ import annotations

import numpy as np

from svdstudio.engine.decomposition import SVDResult, _summarise
from svdstudio.engine.image.projections import _orthonormal_completion
from svdstudio.engine.signs import convention_signs

__all__: list[str] = []  # helpers of .fast_svd and .gram_levels


class _Factors:
    """The result arrays being filled: U (m×p), σ, Vᵀ (p×n), error estimates, all C-ordered.

    The *short* side (length p) holds the Gram matrix's eigenvectors, the *long* side the
    vectors made by a GEMM with the residual; each writer targets C-ordered memory (a GEMM's
    ``out=`` in F order would leave BLAS for numpy's slow loop).
    """

    def __init__(self, m: int, n: int) -> None:
        self.wide = m <= n
        p = min(m, n)
        self.U = np.empty((m, p), np.float32)
        self.Vt = np.empty((p, n), np.float32)
        self.s = np.zeros(p, np.float32)
        self.bound = np.zeros(p)

    @property
    def long(self) -> np.ndarray:
        """p×L view: row i is the i-th long-side vector."""
        return self.Vt if self.wide else self.U.T

    def put(self, seg: slice, Zt: np.ndarray, Q: np.ndarray | None, block: np.ndarray) -> None:
        """Short vectors Q Z and long rows Zᵀ·block (σ_i times the vectors) at ``seg``.

        ``Zt``: rows z_iᵀ; ``Q``: p×b basis of the block's rows (None: the identity);
        ``block``: b×L.  On the short side of a wide matrix the rows of Vᵀ are the vectors.
        """
        if self.wide:
            if Q is None:
                self.U[:, seg] = Zt.T
            else:
                np.matmul(Q, Zt.T, out=self.U[:, seg])
            np.matmul(Zt, block, out=self.Vt[seg])
        else:
            if Q is None:
                self.Vt[seg] = Zt
            else:
                np.matmul(Zt, Q.T, out=self.Vt[seg])
            np.matmul(block.T, Zt.T, out=self.U[:, seg])

    def normalise(
        self, seg: slice, sigma: np.ndarray, keep: np.ndarray, tiny: float, seed: int
    ) -> None:
        """Divide the long rows at ``seg`` by σ where ``keep``; make the others an orthonormal
        completion of every row before them (σ ≤ tiny, or not vouched for at the last level),
        then apply the sign convention to the segment."""
        long = self.long
        lo = seg.start
        scale = np.ones(sigma.size, np.float32)
        scale[keep] = 1.0 / sigma[keep]
        if keep.all():  # the usual case: scale and sign in one pass over each side
            # Wide: σ_i v_iᵀ has v_i's signs; tall: Vᵀ's rows are the eigenvectors.
            signs = convention_signs(self.Vt[seg])
            if self.wide:
                self.Vt[seg] *= (scale * signs)[:, None]
                self.U[:, seg] *= signs
            else:
                self.Vt[seg] *= signs[:, None]
                self.U[:, seg] *= scale * signs
            return
        long[seg] *= scale[:, None]
        redo = lo + np.flatnonzero(~keep)
        before = np.r_[np.arange(lo), lo + np.flatnonzero(keep)]
        long[redo] = _orthonormal_completion(
            long[redo].T, long[before].T, sigma[~keep], tiny, seed
        ).T
        signs = convention_signs(self.Vt[seg])
        self.Vt[seg] *= signs[:, None]
        self.U[:, seg] *= signs


def _finish(
    out: _Factors, shape: tuple[int, int], total_energy: float, driver: str, vector_tol: float
) -> SVDResult:
    """Sort the filled factors and wrap them (their signs are set already)."""
    _sort_descending(out.U, out.s, out.Vt, out.bound)
    res = _summarise(
        np.broadcast_to(np.float32(0), shape),  # _summarise reads shape and dtype only
        out.U,
        out.s,
        out.Vt,
        tol=None,
        driver=driver,
        partial=False,
        total_energy=total_energy,
        signed=True,
    )
    approx = np.flatnonzero(out.bound > vector_tol)
    object.__setattr__(res, "approx_from", int(approx[0]) if approx.size else None)
    return res


def _sort_descending(U: np.ndarray, s: np.ndarray, Vt: np.ndarray, bound: np.ndarray) -> None:
    """Sort the triplets by σ in place, moving only the range that is out of order.

    Clustered values straddling the top-k boundary can arrive out of order by rounding; a
    full ``U[:, order]`` gather would copy every column for a handful of swaps.
    """
    if s.size < 2 or not np.any(s[1:] > s[:-1]):
        return
    order = np.argsort(-s, kind="stable")
    moved = np.flatnonzero(order != np.arange(s.size))
    a, b = int(moved[0]), int(moved[-1]) + 1
    idx = order[a:b]
    U[:, a:b] = U[:, idx]
    Vt[a:b] = Vt[idx]
    s[a:b] = s[idx]
    bound[a:b] = bound[idx]
