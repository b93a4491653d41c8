"""Pure numpy/scipy SVD engine: arrays in, frozen dataclasses out.  No Qt, no Pillow, no I/O."""

from svdstudio.engine.decomposition import (
    Cancelled,
    SVDResult,
    decompose,
    decompose_topk,
    default_tolerance,
)
from svdstudio.engine.lowrank import (
    RankErrors,
    check_rank,
    cumulative_energy,
    rank_errors,
    rank_for_energy,
    rank_one_term,
    reconstruct,
    reduced,
)
from svdstudio.engine.signs import SIGN_CONVENTION, apply_sign_convention
from svdstudio.engine.validate import as_matrix

__all__ = [
    "SIGN_CONVENTION",
    "Cancelled",
    "RankErrors",
    "SVDResult",
    "apply_sign_convention",
    "as_matrix",
    "check_rank",
    "cumulative_energy",
    "decompose",
    "decompose_topk",
    "default_tolerance",
    "rank_errors",
    "rank_for_energy",
    "rank_one_term",
    "reconstruct",
    "reduced",
]
