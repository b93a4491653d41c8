"""8-bit affine quantization of image factors (one scale and offset per singular vector)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from svdstudio.engine.decomposition import SVDResult
from svdstudio.engine.image.color import CHANNEL_NAMES, COLOR_MODES
from svdstudio.engine.image.factors import ImageFactors, channel_ranks

__all__ = ["QuantizedChannel", "dequantize_factors", "quantize_factors"]


@dataclass(frozen=True, eq=False)
class QuantizedChannel:
    """Rank-k factors of one channel with 8-bit entries.

    u_i ≈ u_offset[i] + u_scale[i]·u_q[:, i] and v_i ≈ vt_offset[i] + vt_scale[i]·vt_q[i];
    σ and the scales/offsets stay float32.  ``total_energy`` is ‖channel‖_F².
    """

    u_q: np.ndarray
    u_scale: np.ndarray
    u_offset: np.ndarray
    s: np.ndarray
    vt_q: np.ndarray
    vt_scale: np.ndarray
    vt_offset: np.ndarray
    total_energy: float


def _quantize(a: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = a.min(axis=axis, keepdims=True)
    hi = a.max(axis=axis, keepdims=True)
    scale = (hi - lo) / 255.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint((a - lo) / scale), 0, 255).astype(np.uint8)
    return q, scale.reshape(-1).astype(np.float32), lo.reshape(-1).astype(np.float32)


def quantize_factors(
    factors: ImageFactors, k: int, chroma_k: int | None = None
) -> tuple[QuantizedChannel, ...]:
    """8-bit affine quantization of each channel's rank-k factors (one scale/offset per vector)."""
    ranks = channel_ranks(factors, k, chroma_k)
    out = []
    for ch, kc in zip(factors.channels, ranks, strict=True):
        U = ch.U[:, :kc].astype(np.float32)
        Vt = ch.Vt[:kc].astype(np.float32)
        uq, us, uo = _quantize(U, axis=0)
        vq, vs, vo = _quantize(Vt, axis=1)
        out.append(
            QuantizedChannel(uq, us, uo, ch.s[:kc].astype(np.float32), vq, vs, vo, ch.total_energy)
        )
    return tuple(out)


def dequantize_factors(
    mode: str, height: int, width: int, channels: Sequence[QuantizedChannel]
) -> ImageFactors:
    """Rebuild (partial) :class:`ImageFactors` from quantized channels."""
    if mode not in COLOR_MODES:
        raise ValueError(f"unknown colour mode {mode!r}")
    results = []
    for q in channels:
        U = q.u_offset[np.newaxis, :] + q.u_scale[np.newaxis, :] * q.u_q.astype(np.float32)
        Vt = q.vt_offset[:, np.newaxis] + q.vt_scale[:, np.newaxis] * q.vt_q.astype(np.float32)
        k = q.s.shape[0]
        results.append(
            SVDResult(
                U=U.astype(np.float32),
                s=q.s.astype(np.float32),
                Vt=Vt.astype(np.float32),
                shape=(int(height), int(width)),
                dtype="float32",
                rank=k,
                tolerance=0.0,
                condition_number=float("nan"),
                total_energy=float(q.total_energy),
                driver="quantized",
                is_partial=k < min(height, width),
            )
        )
    return ImageFactors(
        mode=mode,
        height=int(height),
        width=int(width),
        channel_names=CHANNEL_NAMES[mode],
        channels=tuple(results),
    )
