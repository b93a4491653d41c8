"""Full thin SVD of one float32 channel, step-wise: PROPACK top-k, deflate, Gram + eigh levels.

Why not one LAPACK ``gesdd`` call: it has no progress and no cancel inside, runs at a fifth of
this machine's float32 GEMM speed, and in float32 its small singular values are only accurate
to eps₃₂·σ₁ absolute (about 4e-4 relative at σ = 1e-3 σ₁).  Here (written for m ≤ n; a
tall matrix takes its Gram matrix on the other side, without a transposed copy):

1. *top*: the largest ``top`` triplets by PROPACK (exact to working precision);
2. *deflate*: R = (I − UUᵀ) A (I − VVᵀ), so ‖R‖₂ = σ_{k+1};
3. *gram*: G = R Rᵀ in float32, with −μ U Uᵀ added so the k deflated directions sort last;
4. *eigh*: G = W Λ Wᵀ (LAPACK ``syevd``); σ_i = √λ_i, u_i = w_i, v_i = Rᵀ w_i / σ_i.

Accuracy, per level: the eigenvalues of a float32 Gram matrix are off by about eps₃₂·λ_max
absolute, so σ_i and the orthogonality of v_i carry a relative error of about
eps₃₂·λ_max / λ_i (deflating the top k divides λ_max by (σ₁/σ_{k+1})²).  Triplets whose
estimate is above ``vector_tol`` are handed to the next *level*: the Gram matrix of their own
block Bᵀ = Rᵀ W_rest (with the accepted V projected out), whose λ_max is far smaller, so its
small values are accurate again.  What is left after ``max_levels`` gets orthonormal vectors by
QR and is marked approximate (``SVDResult.approx_from``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import numpy as np
import scipy.linalg

from svdstudio.engine.decomposition import (
    Cancelled,
    SVDResult,
    _summarise,
    frobenius_squared,
)
from svdstudio.engine.image.lapack import eigh_inplace
from svdstudio.engine.jobs import JobControl
from svdstudio.engine.signs import convention_signs

__all__ = [
    "SIGMA_TOL",
    "StepProgress",
    "estimate_full_cost",
    "fast_full_svd",
    "lean_blas",
    "machine_busy",
    "refine_tail",
    "topk_cost",
]

EPS32 = float(np.finfo(np.float32).eps)
# The accuracy stated to users: σ_i to 1e-4 relative (for σ_i ≥ 1e-3 σ₁), vectors to 1e-4.
SIGMA_TOL = 1e-4
# Seconds per unit of work on this class of machine (2 cores, OpenBLAS; DESIGN.md), used only
# to split the progress bar and to give a first ETA before any step has been timed.
_RATE_GEMM = 3.0e-12  # per multiply-add of a float32 GEMM
_RATE_EIGH = 4.5e-11  # per q³ of a q×q float32 syevd
_RATE_TOPK = 5.0e-10  # per m·n·k of PROPACK


def machine_busy() -> bool:
    """True when other work keeps the cores busy: the 1-minute load average is at least one
    runnable thread above the core count (this job's own two BLAS threads fill the cores)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): assume an idle machine
        return False
    return load >= (os.cpu_count() or 1) + 1


@contextlib.contextmanager
def lean_blas(force: bool | None = None) -> Iterator[bool]:
    """One BLAS thread inside the block when the machine is busy (``force`` overrides).

    PROPACK and the symmetric eigensolver are bound by many small, synchronised BLAS-2 steps:
    measured on this 2-core machine at load 7-8, PROPACK top-128 of a 1500×2000 float32 matrix
    took 0.9-1.5 s on one thread and 5.5-11 s on two, ``eigh(evd)`` 1500×1500 0.4-1.0 s
    against 2.0-6.0 s (two threads wait for each other whenever one is descheduled).  Idle,
    two threads stay the faster choice (PROPACK about 2×).  Yields whether the limit is on;
    without threadpoolctl (an optional dependency) nothing changes.
    """
    lean = machine_busy() if force is None else force
    if not lean:
        yield False
        return
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield True


def estimate_full_cost(m: int, n: int, top: int = 64) -> float:
    """Estimated seconds of :func:`fast_full_svd` on an m×n channel (idle 2-core machine)."""
    p, q = min(m, n), max(m, n)
    return (
        _RATE_TOPK * p * q * top
        + _gemm_cost(6 * p, q, top)
        + _gemm_cost(p, p, q) * 4.5  # Gram and vectors of the first two levels
        + _RATE_EIGH * p**3 * 1.8  # eigh of level 1 and of a typical level 2 (0.9 p)
    )


def topk_cost(m: int, n: int, k: int) -> float:
    """Estimated seconds of PROPACK's top k of an m×n channel."""
    return _RATE_TOPK * m * n * k * (1 + k / 256)


class StepProgress:
    """Turns named steps of known estimated cost into progress fractions, messages and an ETA.

    ``job`` is a JobContext-like object (``cancelled()``, ``report(fraction, message)``) or
    None; ``span`` = (start, end) is the part of the job's bar this computation covers;
    ``label`` prefixes every message (e.g. "channel G, 2 of 3").
    """

    def __init__(
        self,
        job: JobControl | None = None,
        span: tuple[float, float] = (0.0, 1.0),
        label: str = "",
    ) -> None:
        self.job = job
        self.span = span
        self.label = label
        self.total = 1.0
        self.done = 0.0
        self.t0 = time.perf_counter()
        self.seconds_per_unit: float | None = None  # measured speed against the estimate

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled (call between steps)."""
        if self.check_flag():
            raise Cancelled()

    def check_flag(self) -> bool:
        """Whether the job was cancelled (for solvers that take a ``should_cancel``)."""
        return self.job is not None and bool(self.job.cancelled())

    def plan(self, total: float) -> None:
        """Set the estimated total cost (seconds at the nominal rates) still to come + done."""
        self.total = max(total, self.done + 1e-9)

    def step(self, name: str, cost: float) -> None:
        """Announce the next step (estimated ``cost``), after a cancel check."""
        self.check()
        if self.job is None:
            return
        frac, msg = self.announce(name, self.label)
        self.job.report(frac, msg)
        self._pending = cost

    def announce(self, name: str, label: str) -> tuple[float, str]:
        """The fraction and message to report for step ``name`` of ``label`` now."""
        a, b = self.span
        # Never backwards, and short of the end until the end: the plan is an estimate.
        self._shown = max(getattr(self, "_shown", 0.0), min(0.99, self.done / self.total))
        frac = a + (b - a) * self._shown
        msg = f"{label}: {name}" if label else name
        eta = self.eta()
        if eta is not None:
            msg += f" · about {eta:.0f} s left" if eta >= 1.5 else " · about a second left"
        return frac, msg

    def eta(self) -> float | None:
        """Seconds still to go at the speed measured so far (None before the first step)."""
        elapsed = time.perf_counter() - self.t0
        if self.done <= 0 or elapsed < 0.05:
            return None
        return (self.total - self.done) * elapsed / self.done

    def finish_step(self) -> None:
        self.done += getattr(self, "_pending", 0.0)
        self._pending = 0.0


def _gemm_cost(a: int, b: int, c: int) -> float:
    return _RATE_GEMM * a * b * c


def _eigh_desc(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric float32 G, largest first: (λ ≥ 0, Zᵀ with row i = z_i).

    LAPACK ``syevd`` overwrites G's buffer with the eigenvectors, one per row
    (:func:`.lapack.eigh_inplace`, which releases the GIL); the rows are then put in
    descending order in place, a row pair at a time, so no second p×p array is made.
    """
    with lean_blas():
        lam, W = eigh_inplace(G)
    _reverse_rows(W)
    return np.maximum(lam[::-1], 0.0), W


def _reverse_rows(W: np.ndarray) -> None:
    """Reverse the order of W's rows in place (one row of scratch)."""
    n = W.shape[0]
    tmp = np.empty(W.shape[1:], W.dtype)
    for i in range(n // 2):
        j = n - 1 - i
        tmp[...] = W[i]
        W[i] = W[j]
        W[j] = tmp


def _top_eigenvalue(G: np.ndarray, iterations: int = 12) -> float:
    """A lower estimate of λ_max of a symmetric positive semi-definite G (power iteration)."""
    x = np.random.default_rng(1).standard_normal((G.shape[0],)).astype(G.dtype)
    lam = 0.0
    for _ in range(iterations):
        y = G @ x
        lam = float(np.linalg.norm(y))
        if lam == 0.0:
            return 0.0
        x = y / lam
    return lam


def _project_out(Y: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Y − V (Vᵀ Y), twice (one classical Gram–Schmidt pass loses orthogonality)."""
    if V.shape[1] == 0:
        return Y
    for _ in range(2):
        Y = Y - V @ (V.T @ Y)
    return Y


def _orthonormal_completion(
    Y: np.ndarray, V: np.ndarray, sigma: np.ndarray, floor: float, seed: int
) -> np.ndarray:
    """Orthonormal columns ⟂ V, close to Y's directions (Y's columns of σ ≤ floor are noise)."""
    Y = Y.copy()
    noise = sigma <= floor
    if noise.any():
        # A numerically zero block has no direction worth keeping: any orthonormal completion
        # is a valid set of singular vectors for σ ≈ 0, and random columns have full rank.
        rng = np.random.default_rng(seed)
        Y[:, noise] = rng.standard_normal((Y.shape[0], int(noise.sum()))).astype(Y.dtype)
    for _ in range(2):
        Y = _project_out(Y, V)
        Q, Rq = scipy.linalg.qr(Y, mode="economic", check_finite=False)
        # Keep each column's sign (QR may flip it): q_i then approximates y_i / ‖y_i‖.
        signs = np.sign(np.diag(Rq))
        signs[signs == 0] = 1
        Y = Q * signs
    return Y


def _gemm_update(C: np.ndarray, A: np.ndarray, B: np.ndarray, rows: int = 1024) -> None:
    """C −= A B in place, a band of rows at a time (no temporary of C's size).

    ``C -= A @ B`` writes A B to a new array first (48 MB at 12 MP); bands of 1024 rows keep
    that to 16 MB (measured interleaved on the 3000×4000 deflation, load ≈ 6: 256-row bands
    were 2× slower than one temporary, 1024-row bands about as fast).  numpy's GEMM on
    purpose, not scipy's ``sgemm`` with β = 1: numpy and scipy each bundle their own OpenBLAS,
    and alternating between the two thread pools made the whole quick stage about 1.5×
    slower (interleaved, load ≈ 8; the idle pool's threads spin while the other works).
    """
    if A.shape[1] == 0:
        return
    tmp = np.empty((min(rows, C.shape[0]), C.shape[1]), np.result_type(A, B))
    for a in range(0, C.shape[0], rows):
        b = min(a + rows, C.shape[0])
        band = tmp[: b - a]
        np.matmul(A[a:b], B, out=band)
        C[a:b] -= band


def _project_rows(block: np.ndarray, V_rows: np.ndarray) -> None:
    """block −= (block Vᵀ) V in place for orthonormal rows V, twice (one classical
    Gram–Schmidt pass leaves components of the size of the earlier σ)."""
    if V_rows.shape[0] == 0:
        return
    for _ in range(2):
        _gemm_update(block, block @ V_rows.T, V_rows)


def _top_triplets(
    M: np.ndarray, k: int, start: SVDResult | None, seed: int, prog: StepProgress
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U_k, σ_k, V_kᵀ) in float32, largest first, σ_i > 1e-3 σ₁ only: ``start`` or PROPACK."""
    m, n = M.shape
    if start is not None:
        k = min(start.n_components, min(m, n) - 1)
        Uk, sk, Vtk = start.U, start.s, start.Vt
    elif k > 0:
        from scipy.sparse.linalg import svds

        prog.step(f"top {k} singular triplets (PROPACK)", _RATE_TOPK * m * n * k)
        try:
            with lean_blas():
                Uk, sk, Vtk = svds(M, k=k, solver="propack", random_state=seed)
        except np.linalg.LinAlgError:
            # PROPACK stops on an invariant subspace (a matrix of rank < k, e.g. constant):
            # then the Gram step alone is exact enough, there is little tail to protect.
            Uk, sk, Vtk = np.zeros((m, 0)), np.zeros(0), np.zeros((0, n))
        order = np.argsort(sk)[::-1]
        Uk, sk, Vtk = Uk[:, order], sk[order], Vtk[order]
        prog.finish_step()
    else:
        Uk, sk, Vtk = np.zeros((m, 0)), np.zeros(0), np.zeros((0, n))
    # Triplets of (numerically) zero σ from a rank-deficient matrix are left to the Gram
    # step, which handles them; PROPACK's vectors for them are arbitrary.
    keep = int(np.count_nonzero(sk[:k] > sk[0] * 1e-3)) if k and sk.size and sk[0] > 0 else 0
    return (
        np.ascontiguousarray(Uk[:, :keep], dtype=np.float32),
        np.array(sk[:keep], dtype=np.float32),
        np.ascontiguousarray(Vtk[:keep], dtype=np.float32),
    )


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


def _levels(
    out: _Factors,
    pos: int,
    Q: np.ndarray,
    block: np.ndarray,
    tiny: float,
    vector_tol: float,
    max_levels: int,
    prog: StepProgress,
    seed: int,
    first_level: int = 2,
) -> None:
    """Gram + eigh levels on ``block`` (b×L, rows σ-weighted in the short basis ``Q``), into
    ``out`` from index ``pos``; ``out.long[:pos]`` are the accepted long vectors.

    Each level accepts the triplets whose estimate eps₃₂·λ_max/λ_i is within ``vector_tol``
    and hands the rest (with everything accepted projected out) to the next, much smaller
    level; after ``max_levels`` the rest is orthonormalised by QR and marked approximate.
    """
    _project_rows(block, out.long[:pos])
    for level in range(first_level, first_level + max_levels):
        size = block.shape[0]
        prog.step(
            f"Gram matrix {size}×{size} (level {level})", _gemm_cost(size, size, block.shape[1])
        )
        G = block @ block.T
        prog.finish_step()
        prog.step(f"eigen-decomposition {size}×{size} (level {level})", _RATE_EIGH * size**3)
        lam, Zt = _eigh_desc(G)
        del G
        prog.finish_step()
        sigma = np.sqrt(lam).astype(np.float32)
        lam_max = float(lam[0]) if size else 0.0
        with np.errstate(divide="ignore"):
            bound = np.where(lam > 0, EPS32 * lam_max / np.where(lam > 0, lam, 1.0), np.inf)
        # Another level while some vector is not vouched for and the block is not numerically
        # zero: orthonormalising such v_i by QR instead would move A_k by up to ~10 grey
        # levels at high ranks (the f32 eigenvalues of the deep tail are too small).
        more = (
            level < first_level + max_levels - 1
            and lam_max > tiny * tiny
            and bool(np.any((bound > vector_tol) & (sigma > tiny)))
        )
        good = int(np.count_nonzero(bound <= vector_tol)) if more else size
        if good in (0, size):
            good, more = size, False
        prog.step(f"singular vectors (level {level})", _gemm_cost(block.shape[1], size, size))
        seg = slice(pos, pos + good)
        out.put(seg, Zt[:good], Q, block)
        keep = (sigma[:good] > tiny) & (bound[:good] <= vector_tol)
        out.normalise(seg, sigma[:good], keep, tiny, seed)
        out.s[seg], out.bound[seg] = sigma[:good], bound[:good]
        prog.finish_step()
        if not more:
            break
        # Next level: the rest of this block, with everything accepted projected out
        # (against every accepted v, not just this level's: rounding left components of the
        # size of *earlier* levels' σ, which would tilt this level's far smaller ones).
        pos += good
        Q = Q @ Zt[good:].T
        block = Zt[good:] @ block
        _project_rows(block, out.long[:pos])


def fast_full_svd(
    A: np.ndarray,
    *,
    top: int = 64,
    vector_tol: float = 1e-5,
    max_levels: int = 6,
    refine: bool = True,
    start: SVDResult | None = None,
    seed: int = 0,
    progress: StepProgress | None = None,
    overwrite: bool = False,
) -> SVDResult:
    """Full thin SVD of a finite float32 matrix by the steps in the module docstring.

    ``top``: triplets found first by PROPACK and deflated; ``vector_tol``: the largest error
    estimate eps₃₂·λ_max/λ_i whose v_i = Rᵀw_i/σ_i is kept (measured errors reach about 5×
    the estimate: a margin below the stated 1e-4); the others go to the next level (each
    much smaller than the last); ``max_levels``: levels before the rest is orthonormalised
    by QR and marked approximate.  ``refine=False`` stops after the first level (about 40 %
    less work): the tail past ``approx_from`` then keeps v_i = Rᵀw_i/σ_i, not orthonormal
    to 1e-4, but every rank rebuilds as exactly; :func:`refine_tail` finishes it later.
    ``start``: the exact top triplets of A already known (a top-k result): PROPACK is skipped.
    ``progress`` receives each step and is where cancellation is checked.  ``overwrite``:
    A (a C-ordered float32 array the caller made for this call) becomes the residual, so
    the one m×n work array is A itself.

    Memory: the residual R is the one m×n work array (deflated in place, by bands), the
    Gram matrix is overwritten by its eigenvectors, and the long side's vectors come out of
    one GEMM straight into the result (Vᵀ = diag(1/σ) Zᵀ R for a wide matrix, U = R Z
    diag(1/σ) for a tall one), so nothing of the input's size is transposed or gathered.
    """
    prog = progress if progress is not None else StepProgress()
    M = np.asarray(A, dtype=np.float32)
    m, n = M.shape
    wide = m <= n
    p = min(m, n)
    k = int(min(max(top, 0), p - 1))
    total_energy = frobenius_squared(M)
    if progress is None:
        prog.plan(estimate_full_cost(m, n, k))

    # 1. the top k: exact to working precision, and cheap next to the rest.
    Uk, sk, Vtk = _top_triplets(M, k if total_energy > 0 else 0, start, seed, prog)
    k = int(sk.size)

    # 2. deflate both sides, so the residual's Gram matrix has the top k directions exactly
    # (to rounding) in its null space and the rest of the spectrum is untouched.
    prog.step(f"deflating the top {k}", _gemm_cost(4 * m, n, k))
    own = overwrite and M is A and M.flags.c_contiguous and M.flags.writeable
    R = M if own else np.array(M, dtype=np.float32, order="C")
    del M
    # Twice per side: one pass leaves components of size eps₃₂·σ₁ along U and V, which
    # would tilt the tail's vectors once σ_i is small next to σ₁.
    for _ in range(2 if k else 0):
        _gemm_update(R, Uk, Uk.T @ R)
        _gemm_update(R, R @ Vtk.T, Vtk)
    prog.finish_step()

    # Below this a σ is rounding noise of the float32 data (deflation rounds each entry to
    # about eps₃₂·|a_ij|); the usual rank tolerance σ₁·max(m, n)·eps would call a photo's
    # real tail (σ of a few grey levels) zero.
    s_top = float(sk[0]) if k else float(np.sqrt(max(total_energy, 0.0)))
    tiny = s_top * np.sqrt(max(m, n)) * EPS32
    # 3. Gram matrix of the residual on the short side (p×p; numpy uses syrk for B Bᵀ), the
    # deflated directions shifted below zero.
    B = R if wide else R.T
    prog.step(f"Gram matrix {p}×{p}", _gemm_cost(p, p, max(m, n)))
    G = B @ B.T
    if k:
        Us = Uk if wide else Vtk.T
        # The shift must be about ‖G‖₂ = σ_{k+1}²: subtracting it rounds G's entries by
        # eps₃₂·μ, so a larger μ (σ_k², say, for a rank-deficient A) would drown the tail.
        mu = np.float32(2.0 * _top_eigenvalue(G) + tiny * tiny)
        _gemm_update(G, Us * mu, Us.T)
    prog.finish_step()

    q = p - k
    prog.step(f"eigen-decomposition {p}×{p} (level 1)", _RATE_EIGH * p**3)
    lam, Zt = _eigh_desc(G)
    del G
    lam, Zt = lam[:q], Zt[:q]  # the k shifted ones sort last
    prog.finish_step()
    sigma = np.sqrt(lam).astype(np.float32)
    lam_max = float(lam[0]) if q else 0.0
    with np.errstate(divide="ignore"):
        bound = np.where(lam > 0, EPS32 * lam_max / np.where(lam > 0, lam, 1.0), np.inf)
    # Refined, the triplets the estimate cannot vouch for go on to more levels; unrefined,
    # they keep v_i = Rᵀw_i/σ_i (the image rebuilds exactly) and are marked approximate.
    more = (
        refine
        and max_levels > 1
        and lam_max > tiny * tiny
        and bool(np.any((bound > vector_tol) & (sigma > tiny)))
    )
    good = int(np.count_nonzero(bound <= vector_tol)) if more else q
    if good in (0, q):
        good, more = q, False

    out = _Factors(m, n)
    top_signs = convention_signs(Vtk)
    np.multiply(Uk, top_signs, out=out.U[:, :k])
    np.multiply(Vtk, top_signs[:, None], out=out.Vt[:k])
    out.s[:k] = sk
    prog.step("singular vectors (level 1)", _gemm_cost(max(m, n), p, good))
    seg = slice(k, k + good)
    out.put(seg, Zt[:good], None, B)
    # Unrefined, a vector the estimate cannot vouch for is still Rᵀw/σ (refined, QR makes
    # what is left orthonormal); a σ of rounding noise has no direction worth keeping (any
    # orthonormal completion is valid).
    keep = sigma[:good] > tiny
    if refine:
        keep &= bound[:good] <= vector_tol
    out.normalise(seg, sigma[:good], keep, tiny, seed)
    out.s[seg], out.bound[k : k + q] = sigma[:good], bound
    prog.finish_step()
    if more:
        prog.step("tail for the next level", _gemm_cost(max(m, n), p, q - good))
        block = Zt[good:] @ B  # σ-weighted rows of the tail, in the basis Zt[good:]
        prog.finish_step()
        del R, B  # the residual (48 MB at 12 MP) is not needed by the later levels
        _levels(out, k + good, Zt[good:].T, block, tiny, vector_tol, max_levels - 1, prog, seed)
    else:
        del R, B
    return _finish(out, (m, n), total_energy, "propack+gram", vector_tol)


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


def refine_tail(
    res: SVDResult,
    *,
    vector_tol: float = 1e-5,
    max_levels: int = 5,
    seed: int = 0,
    progress: StepProgress | None = None,
) -> SVDResult:
    """Finish an unrefined :func:`fast_full_svd` result: Gram levels on its approximate tail.

    The tail's block diag(σ) Vᵀ in the basis of its u's is all the next levels need, so this
    runs on the factors alone (no image).  Returns ``res`` itself when nothing is approximate;
    ``res`` is never modified (its factors may be on screen already).
    """
    j = res.approx_from
    if j is None:
        return res
    prog = progress if progress is not None else StepProgress()
    m, n = res.shape
    b = res.n_components - j
    prog.plan(prog.done + _RATE_EIGH * b**3 * 1.2 + _gemm_cost(max(m, n), b, b) * 3)
    prog.step(f"refining the last {b} singular vectors", _gemm_cost(b, b, max(m, n)) * 2)
    out = _Factors(m, n)
    # The orthonormal side of the first level is the shorter one (its eigenvectors).
    np.copyto(out.U[:, :j], res.U[:, :j])
    np.copyto(out.Vt[:j], res.Vt[:j])
    out.s[:j] = res.s[:j]
    # Q is a view: a GEMM reads the column range (or the transpose) in place through BLAS's
    # leading dimension, where a contiguous copy was another p×b array (33 MB at 12 MP) at
    # the worker's peak.
    if out.wide:
        Q = res.U[:, j:]
        block = res.s[j:, None] * res.Vt[j:]
    else:
        Q = res.Vt[j:].T
        block = np.empty((b, m), np.float32)
        np.multiply(res.U[:, j:].T, res.s[j:, None], out=block)
    prog.finish_step()
    tiny = float(res.s[0]) * np.sqrt(max(m, n)) * EPS32
    _levels(out, j, Q, block, tiny, vector_tol, max_levels, prog, seed)
    return _finish(out, (m, n), res.total_energy, res.driver, vector_tol)
