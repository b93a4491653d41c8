"""One layer's outputs at many ranks, cheaply: the layer's first factor is applied once at full
rank, and each rank adds its own columns (rank k = rank k−1 + the k-th component).

Used by the sweeps: a full accuracy-vs-rank curve costs about one forward pass of the layer plus
one pass of the layers after it per rank, instead of two factor layers per rank.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from svdstudio.engine.network.factorize import LayerFactors
from svdstudio.engine.network.inference import im2col

__all__ = ["outputs_by_rank"]


def _full(
    f: LayerFactors,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A (rows × R), B (R × cols) at full rank, float32; the per-component mean terms c_r = B_r μ
    and the rank-independent bias b + M μ (data-aware) or b."""
    a, b, _ = f.factors(f.max_rank)
    bias = None if f.layer.bias is None else f.layer.bias.astype(np.float64)
    c = None
    if f.mean is not None:
        c = b @ f.mean  # (R,)
        mm = f.matrix @ f.mean
        if f.scheme == "spatial":
            mm = mm.reshape(f.n_out, -1).sum(axis=1)
        bias = mm if bias is None else bias + mm
    return a.astype(np.float32), b.astype(np.float32), c, bias


def outputs_by_rank(
    f: LayerFactors, x: np.ndarray, ranks: Sequence[int]
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (k, the layer's output at rank k) for each k in ``ranks`` (ascending) on input ``x``.

    Equal (to float32 rounding) to running ``f.layers_at(k)`` on ``x``.
    """
    ks = sorted(int(k) for k in ranks)
    if not ks:
        return
    if ks[0] < 1 or ks[-1] > f.max_rank:
        raise ValueError(f"layer {f.name}: ranks must lie in 1..{f.max_rank}")
    a, b, c, bias = _full(f)
    n = x.shape[0]
    o = f.n_out
    if f.scheme == "dense":
        t = x.reshape(n, -1) @ b.T  # N × R
        width, cols, w2 = 1, t, a  # rank r adds t[:, r] a[:, r]ᵀ
        shape_out = None
    elif f.scheme == "channel":
        _, _, kh, kw = f.shape
        patches, ho, wo = im2col(x, (kh, kw), f.layer.stride, f.layer.padding)  # type: ignore[union-attr]
        cols = patches @ b.T  # (N·Ho·Wo) × R
        width, w2 = 1, a
        shape_out = (n, ho, wo)
    else:  # spatial: kh×1 to R channels once, then 1×kw patches of those channels
        _, _, kh, kw = f.shape
        layer = f.layer
        patches, ho, w1 = im2col(x, (kh, 1), (layer.stride[0], 1), layer.padding)  # type: ignore[union-attr]
        t = (patches @ b.T).reshape(n, ho, w1, -1).transpose(0, 3, 1, 2)  # N × R × Ho × W1
        cols, ho, wo = im2col(np.ascontiguousarray(t), (1, kw), (1, layer.stride[1]), (0, 0))  # type: ignore[union-attr]
        width = kw
        # cols are ordered (component r, offset j); a's rows are (out o, offset j).
        w2 = a.reshape(o, kw, -1).transpose(0, 2, 1).reshape(o, -1)  # O × (R·kw)
        shape_out = (n, ho, wo)
    y = np.zeros((cols.shape[0], o), np.float32)
    done = 0
    corr = np.zeros(o, np.float64)
    for k in ks:
        if k > done:
            y += cols[:, done * width : k * width] @ w2[:, done * width : k * width].T
            if c is not None:  # the data-aware bias: b′_k = b + Mμ − A_k (B_k μ)
                term = a[:, done:k].astype(np.float64) @ c[done:k]
                corr += term.reshape(o, -1).sum(axis=1) if f.scheme == "spatial" else term
            done = k
        out = y.copy()
        if bias is not None:
            out += (bias - corr).astype(np.float32)
        if shape_out is not None:
            out = np.ascontiguousarray(out.reshape(*shape_out, o).transpose(0, 3, 1, 2))
        yield k, out
