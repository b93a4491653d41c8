"""Full thin SVD of one float32 channel, step-wise: PROPACK top-k, deflate, Gram + eigh levels.

Why not one LAPACK ``gesdd`` call: it has no progress and no cancel inside, runs at a fifth of
this machine's float32 GEMM speed, and in float32 its small singular values are only accurate
to eps₃₂·σ₁ absolute (about 4e-4 relative at σ = 1e-3 σ₁).  Here (m ≤ n, else transposed):

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
from svdstudio.engine.jobs import JobControl

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
        a, b = self.span
        # Never backwards, and short of the end until the end: the plan is an estimate.
        self._shown = max(getattr(self, "_shown", 0.0), min(0.99, self.done / self.total))
        frac = a + (b - a) * self._shown
        msg = f"{self.label}: {name}" if self.label else name
        eta = self.eta()
        if eta is not None:
            msg += f" · about {eta:.0f} s left" if eta >= 1.5 else " · about a second left"
        self.job.report(frac, msg)
        self._pending = cost

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
    """Eigenpairs of a symmetric G, largest first (divide and conquer; G is overwritten)."""
    with lean_blas():
        lam, W = scipy.linalg.eigh(G, driver="evd", overwrite_a=True, check_finite=False)
    return lam[::-1].copy(), np.ascontiguousarray(W[:, ::-1])


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


def _levels(
    Q: np.ndarray | None,
    block: np.ndarray,
    G: np.ndarray,
    V_acc: np.ndarray,
    q: int,
    tiny: float,
    vector_tol: float,
    max_levels: int,
    prog: StepProgress,
    seed: int,
    refine: bool,
    first_level: int = 1,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Gram + eigh levels on ``block`` (rows in the basis ``Q``; None = identity).

    ``G`` is the block's Gram matrix (possibly shifted), ``V_acc`` the right vectors already
    accepted, ``q`` how many triplets this block holds.  Returns (U, σ, V, estimate) parts.
    """
    Ut_parts: list[np.ndarray] = []
    s_parts: list[np.ndarray] = []
    Vt_parts: list[np.ndarray] = []
    bound_parts: list[np.ndarray] = []
    n = block.shape[1]
    for level in range(first_level, first_level + max_levels):
        size = G.shape[0]
        prog.step(f"eigen-decomposition {size}×{size} (level {level})", _RATE_EIGH * size**3)
        lam, Z = _eigh_desc(G)
        lam, Z = np.maximum(lam[:q], 0.0), Z[:, :q]
        prog.finish_step()
        sigma = np.sqrt(lam).astype(np.float32)
        lam_max = float(lam[0]) if q else 0.0
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
        good = int(np.count_nonzero(bound <= vector_tol)) if more else q
        prog.step(f"singular vectors (level {level})", _gemm_cost(n, size, q))
        U_level = Z if Q is None else Q @ Z
        Y = block.T @ Z  # n×q, column i = σ_i v_i
        del block
        prog.finish_step()
        if not more or good in (0, q):
            # Unrefined, a vector the estimate cannot vouch for is still kept as Rᵀw/σ: the
            # image rebuilds exactly (it is marked approximate); refined, QR makes it
            # orthonormal (only what is left after every level, or rounding noise).
            ok = ((bound <= vector_tol) | (not refine)) & (sigma > tiny)
            Vl = np.empty_like(Y)
            Vl[:, ok] = Y[:, ok] / sigma[ok]
            if not ok.all():
                # Vectors the estimate cannot vouch for: orthonormal by construction instead.
                nb = int(np.count_nonzero(~ok))
                prog.step(f"orthonormalising {nb} singular vectors", _gemm_cost(n, nb, nb) * 4)
                V_prev = np.concatenate([V_acc, Vl[:, ok]], axis=1)
                Vl[:, ~ok] = _orthonormal_completion(Y[:, ~ok], V_prev, sigma[~ok], tiny, seed)
                prog.finish_step()
            Ut_parts.append(U_level)
            s_parts.append(sigma)
            Vt_parts.append(Vl)
            bound_parts.append(bound)
            break
        V_good = Y[:, :good] / sigma[:good]
        Ut_parts.append(U_level[:, :good])
        s_parts.append(sigma[:good])
        Vt_parts.append(V_good)
        bound_parts.append(bound[:good])
        V_acc = np.concatenate([V_acc, V_good], axis=1)
        # Next level: the rest of this block, with what was just accepted projected out.
        Q = U_level[:, good:]
        block = np.ascontiguousarray(Y[:, good:].T)
        del Y
        # Against every accepted v (not just this level's): rounding left components of the
        # size of *earlier* levels' σ, which would tilt this level's far smaller ones.
        for _ in range(2):
            block -= (block @ V_acc) @ V_acc.T
        q = q - good
        prog.step(f"Gram matrix {q}×{q} (level {level + 1})", _gemm_cost(q, q, n))
        G = block @ block.T
        prog.finish_step()

    return Ut_parts, s_parts, Vt_parts, bound_parts


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
    ``progress`` receives each step and is where cancellation is checked.
    """
    prog = progress if progress is not None else StepProgress()
    M = np.ascontiguousarray(A, dtype=np.float32)
    transposed = M.shape[0] > M.shape[1]
    if transposed:
        M = np.ascontiguousarray(M.T)
    m, n = M.shape
    k = int(min(max(top, 0), m - 1))
    total_energy = frobenius_squared(M)
    if progress is None:
        prog.plan(estimate_full_cost(m, n, k))

    # 1. top-k by PROPACK: exact to working precision, and cheap next to the rest.
    if start is not None:
        k = min(start.n_components, m - 1)
        Uk, sk, Vtk = (
            (start.Vt.T, start.s, start.U.T) if transposed else (start.U, start.s, start.Vt)
        )
        keep = int(np.count_nonzero(sk[:k] > sk[0] * 1e-3)) if k and sk[0] > 0 else 0
        Uk = np.ascontiguousarray(Uk[:, :keep], dtype=np.float32)
        Vk = np.ascontiguousarray(Vtk[:keep].T, dtype=np.float32)
        sk = np.asarray(sk[:keep], dtype=np.float32)
    elif k > 0 and total_energy > 0:
        from scipy.sparse.linalg import svds

        prog.step(f"top {k} singular triplets (PROPACK)", _RATE_TOPK * m * n * k)
        try:
            with lean_blas():
                Uk, sk, Vtk = svds(M, k=k, solver="propack", random_state=seed)
        except np.linalg.LinAlgError:
            # PROPACK stops on an invariant subspace (a matrix of rank < k, e.g. constant):
            # then the Gram levels alone are exact enough, there is little tail to protect.
            Uk, sk, Vtk = np.zeros((m, 0)), np.zeros(0), np.zeros((0, n))
        order = np.argsort(sk)[::-1]
        Uk, sk, Vk = Uk[:, order], sk[order], np.ascontiguousarray(Vtk[order].T)
        # Triplets of (numerically) zero σ from a rank-deficient matrix are left to the Gram
        # step, which handles them; PROPACK's vectors for them are arbitrary.
        keep = int(np.count_nonzero(sk > sk[0] * 1e-3)) if sk.size and sk[0] > 0 else 0
        Uk, sk, Vk = (
            Uk[:, :keep].astype(np.float32),
            sk[:keep].astype(np.float32),
            Vk[:, :keep].astype(np.float32),
        )
        prog.finish_step()
    else:
        Uk = np.zeros((m, 0), np.float32)
        Vk = np.zeros((n, 0), np.float32)
        sk = np.zeros(0, np.float32)
    k = int(sk.size)

    # 2. deflate both sides, so the residual's Gram matrix has the top k directions exactly
    # (to rounding) in its null space and the rest of the spectrum is untouched.
    prog.step(f"deflating the top {k}", _gemm_cost(4 * m, n, k))
    R = M - Uk @ (Uk.T @ M) if k else M.copy()
    if k:
        # Twice per side: one pass leaves components of size eps₃₂·σ₁ along U and V, which
        # would tilt the tail's vectors once σ_i is small next to σ₁.
        R -= (R @ Vk) @ Vk.T
        R -= Uk @ (Uk.T @ R)
        R -= (R @ Vk) @ Vk.T
    prog.finish_step()

    # Below this a σ is rounding noise of the float32 data (deflation rounds each entry to
    # about eps₃₂·|a_ij|); the usual rank tolerance σ₁·max(m, n)·eps would call a photo's
    # real tail (σ of a few grey levels) zero.
    s_top = float(sk[0]) if k else float(np.sqrt(max(total_energy, 0.0)))
    tiny = s_top * np.sqrt(max(m, n)) * EPS32
    # 3. Gram matrix of the residual (m×m), the deflated directions shifted below zero.
    prog.step(f"Gram matrix {m}×{m}", _gemm_cost(m, m, n))
    G = R @ R.T
    if k:
        # The shift must be about ‖G‖₂ = σ_{k+1}²: subtracting it rounds G's entries by
        # eps₃₂·μ, so a larger μ (σ_k², say, for a rank-deficient A) would drown the tail.
        mu = np.float32(2.0 * _top_eigenvalue(G) + tiny * tiny)
        G -= (Uk * mu) @ Uk.T
    prog.finish_step()

    q = m - k
    parts = _levels(
        None, R, G, Vk, q, tiny, vector_tol, max_levels if refine else 1, prog, seed, refine
    )
    del R, G
    Ut_parts, s_parts, Vt_parts, bound_parts = parts
    U = np.concatenate([Uk, *Ut_parts], axis=1)
    s = np.concatenate([sk, *s_parts]).astype(np.float32)
    V = np.concatenate([Vk, *Vt_parts], axis=1)
    bound = np.concatenate([np.zeros(k), *bound_parts])
    # Clustered values straddling the top-k boundary can arrive out of order by rounding.
    order = np.argsort(-s, kind="stable")
    U, s, V, bound = U[:, order], s[order], V[:, order], bound[order]
    approx = np.flatnonzero(bound > vector_tol)
    Vt = np.ascontiguousarray(V.T)
    if transposed:
        U, Vt = np.ascontiguousarray(Vt.T), np.ascontiguousarray(U.T)
        M = M.T
    res = _summarise(
        M,
        np.ascontiguousarray(U, dtype=np.float32),
        s,
        Vt.astype(np.float32, copy=False),
        tol=None,
        driver="propack+gram",
        partial=False,
        total_energy=total_energy,
    )
    if approx.size:
        object.__setattr__(res, "approx_from", int(approx[0]))
    return res


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
    runs on the factors alone (no image).  Returns ``res`` itself when nothing is approximate.
    """
    j = res.approx_from
    if j is None:
        return res
    prog = progress if progress is not None else StepProgress()
    m, n = res.shape
    # The orthonormal side of the first level is the shorter one (its eigenvectors).
    transposed = m > n
    Ut, Vt_ = (res.Vt.T, res.U.T) if transposed else (res.U, res.Vt)
    n_long = max(m, n)
    b = res.n_components - j
    prog.plan(prog.done + _RATE_EIGH * b**3 * 1.2 + _gemm_cost(n_long, b, b) * 3)
    prog.step(f"refining the last {b} singular vectors", _gemm_cost(b, b, n_long) * 2)
    Q = np.ascontiguousarray(Ut[:, j:])
    block = np.ascontiguousarray(res.s[j:, None] * Vt_[j:])
    V_acc = np.ascontiguousarray(Vt_[:j].T)
    for _ in range(2):
        block -= (block @ V_acc) @ V_acc.T
    G = block @ block.T
    prog.finish_step()
    tiny = float(res.s[0]) * np.sqrt(max(m, n)) * EPS32
    Ut_parts, s_parts, Vt_parts, bound_parts = _levels(
        Q, block, G, V_acc, b, tiny, vector_tol, max_levels, prog, seed, True, first_level=2
    )
    U = np.concatenate([Ut[:, :j], *Ut_parts], axis=1)
    s = np.concatenate([res.s[:j], *s_parts]).astype(np.float32)
    V = np.concatenate([V_acc, *Vt_parts], axis=1)
    bound = np.concatenate([np.zeros(j), *bound_parts])
    order = np.argsort(-s, kind="stable")
    U, s, V, bound = U[:, order], s[order], V[:, order], bound[order]
    approx = np.flatnonzero(bound > vector_tol)
    if transposed:
        U, V = V, U
    out = _summarise(
        np.broadcast_to(np.float32(0), (m, n)),
        np.ascontiguousarray(U, dtype=np.float32),
        s,
        np.ascontiguousarray(V.T, dtype=np.float32),
        tol=None,
        driver=res.driver,
        partial=False,
        total_energy=res.total_energy,
    )
    object.__setattr__(out, "approx_from", int(approx[0]) if approx.size else None)
    return out
