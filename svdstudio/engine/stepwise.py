"""A full SVD in LAPACK's own steps, so the singular values arrive before the vectors.

``gesdd`` (what :func:`~svdstudio.engine.decomposition.decompose` calls) is, for a matrix with
M ≥ N, four stages run back to back inside one uninterruptible call: reduce A to bidiagonal
form B = Qᵀ A P (``dgebrd``, about 60 % of the time), the SVD of B by divide and conquer
(``dbdsdc``), then U = Q U_B and Vᵀ = V_Bᵀ Pᵀ (``dormbr``).  Here the same stages are called
one at a time (through the LAPACK that scipy ships, :mod:`scipy.linalg.cython_lapack`), with
one cheap extra: right after the reduction, ``dbdsdc`` without vectors gives σ (O(N²)), which
is handed over as a partial result while the vectors are still being computed.  Between
stages a job's cancel flag is checked and its progress reported.

Accuracy: these are the very routines ``gesdd`` runs, so σ agree with ``gesdd``'s to a few
units of rounding (‖Δσ‖∞ ≤ 1e-12 σ₁, tested) and U, V are orthonormal to working precision.
The calls release the GIL (ctypes), so a thread running them does not freeze the window.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.blas_threads import FastestBlasThreads
from svdstudio.engine.decomposition import Cancelled, SVDResult, _summarise, decompose
from svdstudio.engine.jobs import JobControl
from svdstudio.engine.lapack_table import routine
from svdstudio.engine.scaled import sum_of_squares
from svdstudio.engine.validate import as_matrix

__all__ = [
    "DRIVER",
    "DRIVER_QR",
    "QR_RATIO",
    "STEPWISE_MIN_SIZE",
    "SingularValues",
    "decompose_stepwise",
    "estimate_seconds",
    "values_only_result",
]

#: The ``driver`` of a step-wise result: gesdd's own stages, called one at a time.
DRIVER = "gebrd+bdsdc"
#: The ``driver`` of a step-wise result that took the QR step first (a tall or wide matrix).
DRIVER_QR = "geqrf+gebrd+bdsdc"
#: From this aspect ratio (long side ≥ QR_RATIO × short side) a QR factorisation comes first
#: and the bidiagonal reduction runs on its small square R (LAPACK's gesdd: 11/6).  Off (inf):
#: measured on 8000×2000, busy 2-core machine (load 4-6), QR first was not faster — interleaved
#: on one BLAS thread 1.22× and 1.47× the time without it; with the thread probe 0.56×, 1.18×
#: (and 1.44×, 0.48× on 2000×8000).  Set 1.5 to use it; it is tested as accurate as LAPACK.
QR_RATIO = math.inf

# Seconds per M·N² (M ≥ N) of a full float64 SVD on the 2-core machines this was measured on
# (5000×5000 ≈ 30 s idle); only the first guess before the job has a pace of its own.
_SECONDS_PER_MN2 = 30.0 / 5000**3

#: Below this min(m, n) the whole SVD takes well under a second: one ``gesdd`` call, no steps.
STEPWISE_MIN_SIZE = 500

# dgebrd's block size and its crossover to unblocked code (LAPACK's ILAENV defaults).
_NB, _NX = 32, 128
# Each back-transformation in this many slices from this size up (each slice recomputes the
# reflectors' T factors: +6 % on 800×800, one thread), for progress and cancel within it.
_SLICES, _SLICE_FROM = 4, 2000

_int = ctypes.c_int


def _lapack(name: str, nargs: int) -> Callable[..., None]:
    """A LAPACK routine from scipy's Cython table, callable with pointers (GIL released)."""
    return routine(name, nargs)[0]


_routines: dict[str, Callable[..., None]] = {}


def _call(name: str, *args: object) -> None:
    fn = _routines.get(name)
    if fn is None:
        fn = _routines[name] = _lapack(name, len(args))
    fn(*(_ptr(a) for a in args))


class _Address(int):
    """A raw address inside an array (a sub-matrix or a vector from some index on)."""


def _address(a: np.ndarray, offset: int = 0) -> _Address:
    """The address of ``a``'s ``offset``-th float64 (its buffer is contiguous)."""
    return _Address(int(a.ctypes.data) + 8 * int(offset))


def _ptr(a: object) -> int | bytes:
    if isinstance(a, _Address):
        return int(a)
    if isinstance(a, np.ndarray):
        return int(a.ctypes.data)
    if isinstance(a, bytes):
        return a  # a one-character LAPACK option
    if isinstance(a, ctypes._SimpleCData):
        return ctypes.addressof(a)
    raise TypeError(f"cannot pass {type(a).__name__} to LAPACK")


def _workspace(name: str, *args: object) -> int:
    """The optimal LWORK of a routine whose last arguments are WORK, LWORK, INFO."""
    work, info = np.zeros(1), _int(0)
    _call(name, *args, work, _int(-1), info)
    return max(1, int(work[0]))


def _check_info(name: str, info: ctypes.c_int) -> None:
    if info.value < 0:
        raise RuntimeError(f"LAPACK {name}: argument {-info.value} had an illegal value")
    if info.value > 0:
        raise np.linalg.LinAlgError(f"LAPACK {name} did not converge (info {info.value})")


@dataclass(frozen=True, eq=False)
class SingularValues:
    """The partial result of :func:`decompose_stepwise`: σ of A, the vectors still to come.

    ``s`` descending (float64), ``shape`` of A, ``total_energy`` = ‖A‖_F² (= Σσ²),
    ``seconds`` since the job started, ``seconds_left`` an estimate for the vectors.
    """

    s: np.ndarray
    shape: tuple[int, int]
    total_energy: float
    seconds: float
    seconds_left: float


def _noop_job() -> JobControl:
    class _Quiet:
        def cancelled(self) -> bool:
            return False

        def report(self, fraction: float, message: str = "") -> None:
            return None

    return _Quiet()


# Share of the total time each stage takes (measured on 2000² to 5000², 2 cores, OpenBLAS):
# the reduction is memory-bound BLAS2 for half its flops; the two back-transformations are
# BLAS3; dbdsdc with vectors deflates a lot on most matrices.
_WEIGHTS = {"gebrd": 0.55, "sigma": 0.01, "bdsdc": 0.12, "ormbr_q": 0.16, "ormbr_p": 0.16}


def decompose_stepwise(
    A: object,
    *,
    job: JobControl | None = None,
    on_values: Callable[[SingularValues], None] | None = None,
) -> SVDResult:
    """Thin SVD of A (float64) in LAPACK's steps; σ are handed to ``on_values`` (and to
    ``job.partial`` when the job has one) as soon as they are known, before U and Vᵀ.

    Checks ``job.cancelled()`` between steps (raising :class:`Cancelled`) and reports the
    fraction done with an estimate of the seconds left.  If the divide-and-conquer step fails
    to converge, falls back to :func:`decompose` (which then tries gesvd).
    """
    # BLAS on 1 thread or every core, whichever is faster now: probed again between steps
    # and panels (a 5000×5000 SVD takes 40 s, and the machine's load changes meanwhile).
    with FastestBlasThreads() as blas:
        return _stepwise(A, job if job is not None else _noop_job(), on_values, blas.update)


def _stepwise(
    A: object,
    ctl: JobControl,
    on_values: Callable[[SingularValues], None] | None,
    rethread: Callable[[], object] = lambda: None,
) -> SVDResult:
    t0 = time.perf_counter()
    M0 = as_matrix(A)
    m, n = M0.shape
    # LAPACK is column-major: the C-order buffer of F is the Fortran matrix T = Fᵀ.  Choose F so
    # that T is tall (rows ≥ columns): F = A when n ≥ m (T = Aᵀ), else F = Aᵀ (T = A).
    wide = n >= m
    F = np.array(M0 if wide else M0.T, dtype=np.float64, order="C")  # overwritten below
    rows, cols = F.shape[1], F.shape[0]  # T is rows × cols, rows ≥ cols
    qr = rows >= QR_RATIO * cols
    weights = _qr_weights(rows, cols) if qr else _WEIGHTS
    names = list(weights)
    done = 0.0

    def label(name: str, message: str) -> str:
        return f"step {names.index(name) + 1} of {len(names)}: {message}"

    def step(name: str, message: str) -> None:
        nonlocal done
        if ctl.cancelled():
            raise Cancelled()
        rethread()
        ctl.report(done, label(name, message))
        done += weights[name]

    def within(name: str, message: str) -> Callable[[float], None]:
        base = done - weights[name]

        def report(fraction: float) -> None:
            if ctl.cancelled():
                raise Cancelled()
            rethread()
            ctl.report(
                base + weights[name] * fraction,
                label(name, f"{message} ({100 * fraction:.0f} %)"),
            )

        return report

    info = _int(0)
    tau = np.zeros(cols)
    if qr:
        # T = Q R first: QR is BLAS3 throughout, where the bidiagonal reduction of a tall T is
        # half matrix-vector work; the reduction then runs on the small square R only.
        step("geqrf", "QR factorisation of the tall matrix")
        _qr_in_panels(F, rows, cols, tau, within("geqrf", "QR factorisation of the tall matrix"))
        Fq, rows_q = F, rows
        F = np.tril(F[:, :cols])  # C order of Fortran R (upper triangular), cols × cols
        rows = cols

    ni = _int(cols)
    d = np.zeros(cols)
    e = np.zeros(max(cols - 1, 1))
    tauq = np.zeros(cols)
    taup = np.zeros(cols)

    step("gebrd", "reducing the matrix to bidiagonal form")
    _bidiagonalize(
        F, rows, cols, d, e, tauq, taup, within("gebrd", "reducing the matrix to bidiagonal form")
    )

    step("sigma", "singular values")
    s = d.copy()
    es = e.copy()
    iwork = np.zeros(8 * cols, dtype=np.intc)
    work = np.zeros(max(4 * cols, 1))
    dummy = np.zeros(1)
    one = _int(1)
    _call("dbdsdc", b"U", b"N", ni, s, es, dummy, one, dummy, one, dummy, iwork, work, iwork, info)
    if info.value != 0:
        # Rare: let the robust path (gesdd, then gesvd) do it all.
        return decompose(M0)
    total = sum_of_squares(s)  # = ‖A‖_F², scaled as decompose does it
    elapsed = time.perf_counter() - t0
    left = elapsed * (1 - done) / done
    values = SingularValues(
        s=s, shape=(m, n), total_energy=total, seconds=elapsed, seconds_left=left
    )
    if on_values is not None:
        on_values(values)
    partial = getattr(ctl, "partial", None)
    if callable(partial):
        partial(values)

    # dbdsdc with vectors is one LAPACK call (divide and conquer, recursive inside): nothing
    # can report from within it, so its row says what it does and its share of the time.
    step("bdsdc", "singular vectors of the bidiagonal form")
    ub = np.zeros((cols, cols))  # Fortran U_B, stored as its C transpose
    vtb = np.zeros((cols, cols))
    work = np.zeros(3 * cols * cols + 4 * cols)
    _call("dbdsdc", b"U", b"I", ni, d, e, ub, ni, vtb, ni, dummy, iwork, work, iwork, info)
    del work
    if info.value != 0:
        return decompose(M0)

    def apply(
        name: str,
        routine: str,
        options: tuple[bytes, ...],
        reflectors: np.ndarray,
        lda_r: int,
        k: int,
        tau_r: np.ndarray,
        c: np.ndarray,
        cm: int,
        message: str,
    ) -> None:
        """Apply the reflectors of ``routine`` to C in independent slices, with progress and a
        cancel check: from the left (Q C) column block by column block, from the right (C Pᵀ)
        row block by row block.  C is Fortran cm × (its columns), in ``c``'s C buffer."""
        left = options[-2 if routine == "dormbr" else 0] == b"L"
        cn = c.shape[0] if left else cm  # Fortran C is cm × c.shape[0]
        first = done - weights[name]
        slices = _SLICES if cols >= _SLICE_FROM else 1
        extent = cn if left else cm
        parts = np.linspace(0, extent, slices + 1).astype(int)
        for j, (lo, hi) in enumerate(itertools.pairwise(parts)):
            if ctl.cancelled():
                raise Cancelled()
            if j:
                ctl.report(first + weights[name] * j / (len(parts) - 1), label(name, message))
            # Fortran C(1, lo) for a column block, C(lo, 1) for a row block.
            at = _address(c, lo * cm if left else lo)
            dims = (_int(cm), _int(hi - lo)) if left else (_int(hi - lo), _int(cn))
            args = (*options, *dims, _int(k), reflectors, _int(lda_r), tau_r, at, _int(cm))
            lw = _workspace(routine, *args)
            work = np.zeros(lw)
            _call(routine, *args, work, _int(lw), info)
            _check_info(routine, info)

    step("ormbr_q", "left singular vectors U")
    # C = [U_B; 0] (rows × cols, Fortran) → Q C, the left singular vectors of T.
    uq = np.zeros((cols, rows))  # C-order cols × rows = Fortran rows × cols
    uq[:, :cols] = ub
    del ub
    apply(
        "ormbr_q", "dormbr", (b"Q", b"L", b"N"), F, rows, cols, tauq, uq, rows,
        "left singular vectors U",
    )  # fmt: skip

    step("ormbr_p", "right singular vectors Vᵀ")
    apply(
        "ormbr_p", "dormbr", (b"P", b"R", b"T"), F, rows, rows, taup, vtb, cols,
        "right singular vectors Vᵀ",
    )  # fmt: skip
    if qr:
        # U_T = Q [U_R; 0]: the QR's reflectors (left in Fq below its diagonal) on U_R.
        step("ormqr", "left singular vectors U of the tall matrix")
        rows = rows_q
        full = np.zeros((cols, rows))
        full[:, :cols] = uq
        uq = full
        del full
        apply(
            "ormqr", "dormqr", (b"L", b"N"), Fq, rows, cols, tau, uq, rows,
            "left singular vectors U of the tall matrix",
        )  # fmt: skip
    if ctl.cancelled():
        raise Cancelled()
    # In C order: uq holds U_Tᵀ (cols × rows), vtb holds V_Tᵀᵀ = V_T (cols × cols, C view of
    # the Fortran Vᵀ_T).  Sort descending as dbdsdc returns them (it already does).
    UT_t = uq  # U_Tᵀ
    VtT_t = vtb  # (V_Tᵀ)ᵀ = V_T in C order
    if wide:  # T = Aᵀ = U_T Σ V_Tᵀ, so A = V_T Σ U_Tᵀ: U_A = V_T, Vt_A = U_Tᵀ
        U, Vt = VtT_t, UT_t
    else:  # T = A: U_A = U_T = (U_Tᵀ)ᵀ, Vt_A = V_Tᵀ
        U, Vt = UT_t.T, VtT_t.T
    ctl.report(1.0, "done")
    return _summarise(
        M0,
        np.ascontiguousarray(U),
        d.copy(),
        np.ascontiguousarray(Vt),
        tol=None,
        driver=DRIVER_QR if qr else DRIVER,
        partial=False,
        total_energy=total,
    )


def _qr_weights(rows: int, cols: int) -> dict[str, float]:
    """Shares of the time of the QR path's steps for a rows × cols T (flop counts, with the
    reduction of R and the vectors of R as measured for square matrices)."""
    qr_flops = 2 * rows * cols**2 - 2 / 3 * cols**3  # geqrf
    q_flops = 4 * rows * cols**2 - 2 * cols**3  # ormqr on rows × cols
    square = 8 / 3 * cols**3 / _WEIGHTS["gebrd"]  # the square path's total, in gebrd flops
    # BLAS3 runs about 3× the bidiagonal reduction's flop rate (half of it is BLAS2).
    parts = {"geqrf": qr_flops / 3, "ormqr": q_flops / 3}
    scale = {key: w * square for key, w in _WEIGHTS.items()}
    total = sum(parts.values()) + sum(scale.values())
    weights = {"geqrf": parts["geqrf"] / total}
    weights.update({key: w / total for key, w in scale.items()})
    weights["ormqr"] = parts["ormqr"] / total
    return weights


def _qr_in_panels(
    F: np.ndarray, rows: int, cols: int, tau: np.ndarray, within: Callable[[float], None]
) -> None:
    """Householder QR of the Fortran rows × cols T in F's buffer (as ``dgeqrf`` leaves it: R on
    and above the diagonal, the reflectors below, ``tau``), a few column panels at a time: the
    panel's QR, then its reflectors applied to the columns right of it.  The reflectors are
    those one ``dgeqrf`` call computes; ``within(fraction)`` runs between panels."""
    info = _int(0)
    panels = _SLICES if cols >= _SLICE_FROM else 1
    edges = np.linspace(0, cols, panels + 1).astype(int)
    # Panel [lo, hi) costs about its share of 2·rows·cols² − 2/3·cols³ flops.
    cost = [
        float((rows - lo) * (cols - lo) ** 2 - (rows - hi) * (cols - hi) ** 2)
        for lo, hi in itertools.pairwise(edges)
    ]
    total, spent = sum(cost) or 1.0, 0.0
    for p, (lo, hi) in enumerate(itertools.pairwise(edges)):
        if hi == lo:
            continue
        panel = _address(F, lo + lo * rows)  # Fortran T(lo, lo)
        args = (_int(rows - lo), _int(hi - lo), panel, _int(rows), _address(tau, lo))
        lw = _workspace("dgeqrf", *args)
        _call("dgeqrf", *args, np.zeros(lw), _int(lw), info)
        _check_info("dgeqrf", info)
        if hi < cols:
            rest = _address(F, lo + hi * rows)  # Fortran T(lo, hi)
            args2 = (
                b"L", b"T", _int(rows - lo), _int(cols - hi), _int(hi - lo), panel,
                _int(rows), _address(tau, lo), rest, _int(rows),
            )  # fmt: skip
            lw = _workspace("dormqr", *args2)
            _call("dormqr", *args2, np.zeros(lw), _int(lw), info)
            _check_info("dormqr", info)
        spent += cost[p]
        if hi < cols:
            within(spent / total)


def _bidiagonalize(
    F: np.ndarray,
    rows: int,
    cols: int,
    d: np.ndarray,
    e: np.ndarray,
    tauq: np.ndarray,
    taup: np.ndarray,
    within: Callable[[float], None],
) -> None:
    """LAPACK's dgebrd (rows ≥ cols, column-major in F's buffer), panel by panel.

    The loop of the reference dgebrd: dlabrd reduces ``_NB`` columns and rows and returns the
    matrices X, Y of the update; two dgemm apply it to the trailing matrix; the last ``_NX``
    columns are reduced unblocked (dgebd2).  ``within(fraction)`` is called between panels
    (the fraction of the reduction's flops done); it may raise to stop.
    """
    nb, lda = _NB, rows
    ldx, ldy = rows, cols
    work = np.zeros((rows + cols) * nb)
    x, y = _address(work), _address(work, ldx * nb)  # WORK(1), WORK(LDWRKX*NB+1)
    minus, plus = ctypes.c_double(-1.0), ctypes.c_double(1.0)
    starts = list(range(0, cols - _NX, nb)) if cols > _NX else []
    # Panel i costs ∝ (rows − i)(cols − i); the unblocked tail is counted the same way.
    cost = np.array([(rows - i) * (cols - i) for i in [*starts, len(starts) * nb]], float)
    cost[-1] *= min(cols - len(starts) * nb, _NX) / nb
    done_cost, total_cost = 0.0, float(cost.sum()) or 1.0
    reported = 0.0
    for p, i in enumerate(starts):

        def a(r: int, c: int) -> _Address:  # Fortran A(r, c), 0-based
            return _address(F, r + c * lda)

        _call(
            "dlabrd",
            _int(rows - i),
            _int(cols - i),
            _int(nb),
            a(i, i),
            _int(lda),
            _address(d, i),
            _address(e, i),
            _address(tauq, i),
            _address(taup, i),
            x,
            _int(ldx),
            y,
            _int(ldy),
        )
        mr, nr = _int(rows - i - nb), _int(cols - i - nb)
        # A(i+nb:, i+nb:) -= V Yᵀ + X Uᵀ
        _call(
            "dgemm",
            b"N",
            b"T",
            mr,
            nr,
            _int(nb),
            minus,
            a(i + nb, i),
            _int(lda),
            _Address(y + 8 * nb),
            _int(ldy),
            plus,
            a(i + nb, i + nb),
            _int(lda),
        )
        _call(
            "dgemm",
            b"N",
            b"N",
            mr,
            nr,
            _int(nb),
            minus,
            _Address(x + 8 * nb),
            _int(ldx),
            a(i, i + nb),
            _int(lda),
            plus,
            a(i + nb, i + nb),
            _int(lda),
        )
        for j in range(i, i + nb):  # put the bidiagonal back (dlabrd left the reflectors)
            F[j, j] = d[j]
            F[j + 1, j] = e[j]
        done_cost += cost[p]
        if done_cost / total_cost - reported >= 0.01:
            reported = done_cost / total_cost
            within(reported)
    i = len(starts) * nb
    info = _int(0)
    _call(
        "dgebd2",
        _int(rows - i),
        _int(cols - i),
        _address(F, i + i * lda),
        _int(lda),
        _address(d, i),
        _address(e, i),
        _address(tauq, i),
        _address(taup, i),
        _address(work),
        info,
    )
    _check_info("dgebd2", info)


def values_only_result(values: SingularValues) -> SVDResult:
    """An :class:`SVDResult` holding σ and no vectors (U is m×0, Vᵀ is 0×n): the summary
    figures (rank, condition number, errors of every rank) are already exact."""
    m, n = values.shape
    shape_only = np.broadcast_to(np.float64(0.0), (m, n))  # _summarise reads shape and dtype
    return _summarise(
        shape_only,
        np.zeros((m, 0)),
        values.s,
        np.zeros((0, n)),
        tol=None,
        driver=DRIVER,
        partial=False,
        total_energy=values.total_energy,
    )


def estimate_seconds(shape: tuple[int, int]) -> float:
    """A first guess of the step-wise SVD's duration on these machines (idle)."""
    big, small = max(shape), min(shape)
    return _SECONDS_PER_MN2 * big * small * small
