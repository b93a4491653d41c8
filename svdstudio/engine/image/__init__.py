"""Low-rank image compression: colour channels, cached factors, fast rebuilds, honest metrics.

Pixels follow the Image lab convention: float32 H×W or H×W×3 in [0, 255] (peak 255 for PSNR).
Colour modes:

- ``gray``: one channel, the BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B of a colour image.
- ``rgb``: R, G and B decomposed separately, all at rank k.
- ``ycbcr``: JPEG's full-range YCbCr; Y at rank k, the two chroma channels at their own rank
  (``chroma_k``).  Chroma is stored centred (Cb − 128, Cr − 128) so chroma rank 0 is gray.

Each channel is decomposed once, by the fastest path that keeps the stated accuracy
(:func:`choose_method`: float64 LAPACK for small images, PROPACK top-k + Gram levels of the
residual (:mod:`.fast_svd`) for photos, only the top :data:`TOPK_DEFAULT` triplets past the
full SVD's reach); every rank change reuses those factors, and :class:`FactorCache` keeps
them per colour mode.  Storage of a rank-k channel of an m×n image keeps
k(m + n + 1) numbers; byte counts: float32 4k(m+n+1); float16 2k(m+n) + 4k (σ stays float32,
it overflows float16); 8-bit quantized k(m+n) + 20k (uint8 entries plus float32 σ, scale and
offset per vector, see :func:`quantize_factors`).  Raw pixels count 1 byte per sample.

The parts live in their own modules (re-exported here): :mod:`.color` (colour modes),
:mod:`.factors` (decompose once, rebuild any rank), :mod:`.fast_svd` (the step-wise full
SVD), :mod:`.cache` (factors per mode), :mod:`.display` (fast screen
rebuilds), :mod:`.metrics` (quality and bytes), :mod:`.targets` (k for a target)
and :mod:`.quantize` (8-bit factors).
"""

from __future__ import annotations

from svdstudio.engine.image.cache import FactorCache, factor_bytes
from svdstudio.engine.image.color import (
    CHANNEL_NAMES,
    COLOR_MODES,
    PEAK,
    downsample,
    effective_mode,
    from_channels,
    luminance,
    mode_reference,
    to_channels,
)
from svdstudio.engine.image.display import DisplayReconstructor
from svdstudio.engine.image.factors import (
    DEFAULT_CHROMA_RANK,
    FULL_SVD_SECONDS,
    PREVIEW_ABOVE_PIXELS,
    PREVIEW_MAX_SIDE,
    PREVIEW_SIDE,
    SMALL_SIDE,
    TOPK_DEFAULT,
    ImageFactors,
    channel_ranks,
    choose_method,
    decompose_image,
    default_chroma_rank,
    display_grid,
    estimated_full_seconds,
    rank_one_layer,
    reconstruct_image,
)
from svdstudio.engine.image.metrics import (
    ImageMetrics,
    StorageCost,
    energy_retained,
    image_metrics,
    psnr,
    rank_sweep,
    relative_error,
    ssim,
    storage_cost,
)
from svdstudio.engine.image.preview import decompose_preview, gram_svd, preview_factor
from svdstudio.engine.image.quantize import QuantizedChannel, dequantize_factors, quantize_factors
from svdstudio.engine.image.targets import (
    rank_for_byte_budget,
    rank_for_energy_target,
    rank_for_psnr_target,
)

__all__ = [
    "CHANNEL_NAMES",
    "COLOR_MODES",
    "DEFAULT_CHROMA_RANK",
    "FULL_SVD_SECONDS",
    "PEAK",
    "PREVIEW_ABOVE_PIXELS",
    "PREVIEW_MAX_SIDE",
    "PREVIEW_SIDE",
    "SMALL_SIDE",
    "TOPK_DEFAULT",
    "DisplayReconstructor",
    "FactorCache",
    "ImageFactors",
    "ImageMetrics",
    "QuantizedChannel",
    "StorageCost",
    "channel_ranks",
    "choose_method",
    "decompose_image",
    "decompose_preview",
    "default_chroma_rank",
    "dequantize_factors",
    "display_grid",
    "downsample",
    "effective_mode",
    "energy_retained",
    "estimated_full_seconds",
    "factor_bytes",
    "from_channels",
    "gram_svd",
    "image_metrics",
    "luminance",
    "mode_reference",
    "preview_factor",
    "psnr",
    "quantize_factors",
    "rank_for_byte_budget",
    "rank_for_energy_target",
    "rank_for_psnr_target",
    "rank_one_layer",
    "rank_sweep",
    "reconstruct_image",
    "relative_error",
    "ssim",
    "storage_cost",
    "to_channels",
]
