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
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg.cython_lapack as _cython_lapack

from svdstudio.engine.decomposition import Cancelled, SVDResult, _summarise, decompose
from svdstudio.engine.jobs import JobControl
from svdstudio.engine.scaled import sum_of_squares
from svdstudio.engine.validate import as_matrix

__all__ = [
    "DRIVER",
    "STEPWISE_MIN_SIZE",
    "SingularValues",
    "decompose_stepwise",
    "estimate_seconds",
    "values_only_result",
]

#: The ``driver`` of a step-wise result: gesdd's own stages, called one at a time.
DRIVER = "gebrd+bdsdc"

# Seconds per M·N² (M ≥ N) of a full float64 SVD on the 2-core machines this was measured on
# (5000×5000 ≈ 30 s idle); only the first guess before the job has a pace of its own.
_SECONDS_PER_MN2 = 30.0 / 5000**3

#: Below this min(m, n) the whole SVD takes well under a second: one ``gesdd`` call, no steps.
STEPWISE_MIN_SIZE = 500

_P = ctypes.c_void_p
_int = ctypes.c_int
_VOID = None


def _lapack(name: str, nargs: int) -> Callable[..., None]:
    """A LAPACK routine from scipy's Cython table, callable with pointers (GIL released)."""
    capsule = _cython_lapack.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, get_name(capsule))
    prototype = ctypes.CFUNCTYPE(_VOID, *([_P] * nargs))
    fn: Callable[..., None] = prototype(address)
    return fn


_routines: dict[str, Callable[..., None]] = {}


def _call(name: str, *args: object) -> None:
    fn = _routines.get(name)
    if fn is None:
        fn = _routines[name] = _lapack(name, len(args))
    fn(*(_ptr(a) for a in args))


def _ptr(a: object) -> int | bytes:
    if isinstance(a, np.ndarray):
        return int(a.ctypes.data)
    if isinstance(a, bytes):
        return a  # a one-character LAPACK option
    if isinstance(a, ctypes._SimpleCData):
        return ctypes.addressof(a)
    raise TypeError(f"cannot pass {type(a).__name__} to LAPACK")


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
    ctl = job if job is not None else _noop_job()
    t0 = time.perf_counter()
    M0 = as_matrix(A)
    m, n = M0.shape
    # LAPACK is column-major: the C-order buffer of F is the Fortran matrix T = Fᵀ.  Choose F so
    # that T is tall (rows ≥ columns): F = A when n ≥ m (T = Aᵀ), else F = Aᵀ (T = A).
    wide = n >= m
    F = np.array(M0 if wide else M0.T, dtype=np.float64, order="C")  # overwritten below
    rows, cols = F.shape[1], F.shape[0]  # T is rows × cols, rows ≥ cols
    done = 0.0

    def step(name: str, message: str) -> None:
        nonlocal done
        if ctl.cancelled():
            raise Cancelled()
        number = list(_WEIGHTS).index(name) + 1
        ctl.report(done, f"step {number} of {len(_WEIGHTS)}: {message}")
        done += _WEIGHTS[name]

    def lwork_of(query: Callable[[np.ndarray, ctypes.c_int], None]) -> int:
        work = np.zeros(1)
        info = _int(0)
        query(work, info)
        return max(1, int(work[0]))

    mi, ni, lda = _int(rows), _int(cols), _int(rows)
    d = np.zeros(cols)
    e = np.zeros(max(cols - 1, 1))
    tauq = np.zeros(cols)
    taup = np.zeros(cols)
    info = _int(0)

    step("gebrd", "reducing the matrix to bidiagonal form")
    lw = lwork_of(lambda w, i: _call("dgebrd", mi, ni, F, lda, d, e, tauq, taup, w, _int(-1), i))
    work = np.zeros(lw)
    _call("dgebrd", mi, ni, F, lda, d, e, tauq, taup, work, _int(lw), info)
    _check_info("dgebrd", info)
    del work

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

    step("bdsdc", "singular vectors of the bidiagonal form")
    ub = np.zeros((cols, cols))  # Fortran U_B, stored as its C transpose
    vtb = np.zeros((cols, cols))
    work = np.zeros(3 * cols * cols + 4 * cols)
    _call("dbdsdc", b"U", b"I", ni, d, e, ub, ni, vtb, ni, dummy, iwork, work, iwork, info)
    del work
    if info.value != 0:
        return decompose(M0)

    step("ormbr_q", "left singular vectors U")
    # C = [U_B; 0] (rows × cols, Fortran) → Q C, the left singular vectors of T.
    uq = np.zeros((cols, rows))  # C-order cols × rows = Fortran rows × cols
    uq[:, :cols] = ub
    del ub
    ldc = _int(rows)

    def ormbr(vect: bytes, side: bytes, trans: bytes, cm: int, cn: int, c: np.ndarray) -> None:
        # K is the reduced matrix's column count for Q, its row count for P.
        k = _int(cols if vect == b"Q" else rows)
        args = (vect, side, trans, _int(cm), _int(cn), k, F, lda)
        tau = tauq if vect == b"Q" else taup
        ld = _int(cm)
        lw = lwork_of(lambda w, i: _call("dormbr", *args, tau, c, ld, w, _int(-1), i))
        work = np.zeros(lw)
        _call("dormbr", *args, tau, c, ld, work, _int(lw), info)
        _check_info("dormbr", info)

    ormbr(b"Q", b"L", b"N", rows, cols, uq)
    del ldc

    step("ormbr_p", "right singular vectors Vᵀ")
    ormbr(b"P", b"R", b"T", cols, cols, vtb)
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
        driver=DRIVER,
        partial=False,
        total_energy=total,
    )


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
