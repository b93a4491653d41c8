"""SVD factorisation of dense and convolution layers, plain or data-aware.

Every factorisable layer is first written as a matrix M that acts on input vectors, y = M p:

* **dense** W (out × in): M = W, p = the input vector.
* **channel** (Zhang et al. 2015; AIMET "weight SVD"): M = W reshaped to out × (in·kh·kw),
  p = a kh×kw patch. Rank k gives a kh×kw convolution to k channels, then a 1×1 convolution.
* **spatial** (Jaderberg et al. 2014; AIMET "spatial SVD"): M[(o, j), (c, i)] = W[o, c, i, j],
  an (out·kw) × (in·kh) matrix, p = a kh×1 column patch. Rank k gives a kh×1 convolution to
  k channels, then a 1×kw convolution.

M ≈ U_k Σ_k V_kᵀ becomes two layers: first (Σ_k V_kᵀ), then U_k with the bias. **Data-aware**
factorisation whitens M by the centred covariance C of the layer's inputs p on calibration data
(M S with S = C^½, ridge-regularised), truncates that, and maps back: M′ = (M S)_k S⁻¹; the bias
absorbs the mean: b′ = b + (M − M′)μ. For the spatial scheme the kh×1 column patches at all kw
offsets are pooled into one covariance (an approximation: neighbouring columns are correlated).
The Eckart–Young figures are those of the matrix actually factorised (M, or M S when
data-aware).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.linalg

from svdstudio.engine.network.inference import im2col
from svdstudio.engine.network.layers import Conv2d, Dense, conv_output_hw

__all__ = [
    "CONV_SCHEMES",
    "METHODS",
    "EckartYoung",
    "InputStatistics",
    "LayerFactors",
    "factor_layer",
    "input_statistics",
    "layer_matrix",
]

CONV_SCHEMES = ("spatial", "channel")
METHODS = ("plain", "data-aware")
# Ridge added to the activation covariance, as a fraction of its mean eigenvalue: it keeps
# directions the calibration data never excites (e.g. always-blank pixels) from blowing up S⁻¹.
DEFAULT_RIDGE = 1e-2


@dataclass(frozen=True)
class EckartYoung:
    """Errors of the rank-k truncation of the factorised matrix, from its singular values."""

    rank: int
    frobenius_error: float  # ‖M − M_k‖_F
    frobenius_error_squared: float  # ‖M − M_k‖_F² = Σ_{i>k} σ_i²
    spectral_error: float  # ‖M − M_k‖₂ = σ_{k+1} (0 at full rank)
    energy_retained: float  # Σ_{i≤k} σ_i² / Σ σ_i²
    relative_error: float  # ‖M − M_k‖_F / ‖M‖_F


def layer_matrix(layer: Dense | Conv2d, scheme: str) -> np.ndarray:
    """The matrix M (float64) that the scheme factorises; see the module docstring."""
    w = layer.weight.astype(np.float64)
    if isinstance(layer, Dense):
        return w
    o, c, kh, kw = w.shape
    if scheme == "channel":
        return w.reshape(o, c * kh * kw)
    if scheme == "spatial":
        return w.transpose(0, 3, 1, 2).reshape(o * kw, c * kh)
    raise ValueError(f"unknown convolution scheme {scheme!r}; use one of {', '.join(CONV_SCHEMES)}")


def _patches(layer: Dense | Conv2d, scheme: str, x: np.ndarray) -> np.ndarray:
    """The input vectors p that M multiplies, from a batch of the layer's inputs."""
    if isinstance(layer, Dense):
        return x.reshape(x.shape[0], -1)
    _, _, kh, kw = layer.weight.shape
    if scheme == "channel":
        return im2col(x, (kh, kw), layer.stride, layer.padding)[0]
    return im2col(x, (kh, 1), (layer.stride[0], 1), layer.padding)[0]


class InputStatistics:
    """Running sums of a layer's input vectors p, fed batch by batch (``add``), so that
    calibration never needs every layer's activations in memory at once."""

    def __init__(self, layer: Dense | Conv2d, scheme: str) -> None:
        self.layer, self.scheme = layer, scheme
        self.count = 0  # input vectors seen
        self.samples = 0  # calibration samples seen
        self._s1: np.ndarray | None = None
        self._s2: np.ndarray | None = None

    def add(self, x: np.ndarray) -> None:
        """Add a batch of the layer's inputs (N × in, or N × C × H × W)."""
        p = _patches(self.layer, self.scheme, x).astype(np.float64)
        s1, s2 = p.sum(axis=0), p.T @ p
        self._s1 = s1 if self._s1 is None else self._s1 + s1
        self._s2 = s2 if self._s2 is None else self._s2 + s2
        self.count += p.shape[0]
        self.samples += x.shape[0]

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean μ and centred covariance C (float64)."""
        if self._s1 is None or self._s2 is None or self.count == 0:
            raise ValueError(f"layer {self.layer.name}: no calibration samples were given")
        mu = self._s1 / self.count
        cov = self._s2 / self.count - np.outer(mu, mu)
        return mu, (cov + cov.T) / 2


def input_statistics(
    layer: Dense | Conv2d, scheme: str, x: np.ndarray, chunk: int = 256
) -> InputStatistics:
    """The running statistics of the input vectors p over the batch ``x``, in chunks."""
    stats = InputStatistics(layer, scheme)
    for start in range(0, x.shape[0], chunk):
        stats.add(x[start : start + chunk])
    return stats


@dataclass(frozen=True, eq=False)
class LayerFactors:
    """One layer's SVD, ready to be cut at any rank (decompose once, slice many times).

    ``u``, ``singular_values``, ``vt`` are the SVD of the factorised matrix (M, or M S).
    ``in_hw`` / ``out_hw`` are a convolution's input and output sizes (None for dense).
    """

    layer: Dense | Conv2d
    scheme: str  # "dense", "spatial" or "channel"
    method: str  # "plain" or "data-aware"
    matrix: np.ndarray  # M, float64
    u: np.ndarray
    singular_values: np.ndarray
    vt: np.ndarray
    unwhiten: np.ndarray | None = None  # S⁻¹ (data-aware only)
    mean: np.ndarray | None = None  # μ of the input vectors (data-aware only)
    in_hw: tuple[int, int] | None = None
    out_hw: tuple[int, int] | None = None
    calibration_samples: int | None = None
    warning: str | None = None

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def kind(self) -> str:
        return self.layer.kind

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.layer.weight.shape)

    @property
    def matrix_shape(self) -> tuple[int, int]:
        rows, cols = self.matrix.shape
        return (int(rows), int(cols))

    @property
    def matrix_description(self) -> str:
        """What was factorised, for labels: e.g. "W (out × in)" or "W·C^½ (whitened)"."""
        what = {
            "dense": "W (out × in)",
            "channel": "W as out × (in·kh·kw)",
            "spatial": "W as (out·kw) × (in·kh)",
        }[self.scheme]
        return what if self.unwhiten is None else f"{what} · C^½ (whitened by the inputs)"

    @property
    def max_rank(self) -> int:
        return int(self.singular_values.size)

    @property
    def n_out(self) -> int:
        return int(self.layer.weight.shape[0])

    @property
    def params(self) -> int:
        """Weights and bias of the layer kept whole."""
        return self.layer.n_params

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample of the layer kept whole."""
        if self.out_hw is None:
            return int(self.layer.weight.size)
        return int(self.layer.weight.size) * self.out_hw[0] * self.out_hw[1]

    def params_at(self, k: int) -> int:
        """Weights and bias of the two layers at rank k: k(rows + cols) + out."""
        rows, cols = self.matrix_shape
        return k * (rows + cols) + (self.n_out if self.layer.bias is not None else 0)

    def macs_at(self, k: int) -> int:
        """Exact multiply-accumulates per sample of the two layers at rank k."""
        rows, cols = self.matrix_shape
        if self.out_hw is None:
            return k * (rows + cols)
        ho, wo = self.out_hw
        o, c, kh, kw = self.shape
        if self.scheme == "channel":
            return k * cols * ho * wo + o * k * ho * wo
        assert self.in_hw is not None
        assert isinstance(self.layer, Conv2d)
        mid_w = self.in_hw[1] + 2 * self.layer.padding[1]  # the kh×1 layer keeps every column
        return k * c * kh * ho * mid_w + o * k * kw * ho * wo

    def cost_at(self, k: int | None, cost: str = "params") -> int:
        """``params_at`` or ``macs_at`` (``cost`` "params"/"macs"); k None = kept whole."""
        if cost not in ("params", "macs"):
            raise ValueError(f"unknown cost {cost!r}; use params or macs")
        if k is None:
            return self.params if cost == "params" else self.macs
        return self.params_at(k) if cost == "params" else self.macs_at(k)

    def break_even_rank(self, cost: str = "params") -> int:
        """The smallest rank that saves nothing: from there on the layer is better kept whole."""
        whole = self.cost_at(None, cost)
        for k in range(1, self.max_rank + 1):
            if self.cost_at(k, cost) >= whole:
                return k
        return self.max_rank + 1

    def saves(self, k: int, cost: str = "params") -> bool:
        """Whether rank k costs less than the whole layer."""
        return self.cost_at(k, cost) < self.cost_at(None, cost)

    @cached_property
    def _energy_cumulative(self) -> np.ndarray:
        e = np.cumsum(self.singular_values.astype(np.float64) ** 2)
        return e / e[-1] if e[-1] > 0 else np.ones_like(e)

    def energy(self, k: int) -> float:
        """Energy retained at rank k, Σ_{i≤k} σ_i² / Σ σ_i²."""
        return 0.0 if k <= 0 else float(self._energy_cumulative[min(k, self.max_rank) - 1])

    def rank_for_energy(self, fraction: float) -> int:
        """The smallest rank (≥ 1) keeping at least ``fraction`` of the energy."""
        k = int(np.searchsorted(self._energy_cumulative, fraction - 1e-12)) + 1
        return max(1, min(k, self.max_rank))

    def errors(self, k: int) -> EckartYoung:
        """Eckart–Young figures at rank k (0 ≤ k ≤ max_rank)."""
        k = self._check_rank(k, allow_zero=True)
        s = self.singular_values.astype(np.float64)
        tail = float(np.sum(s[k:] ** 2))
        total = float(np.sum(s**2))
        return EckartYoung(
            rank=k,
            frobenius_error=math.sqrt(tail),
            frobenius_error_squared=tail,
            spectral_error=float(s[k]) if k < s.size else 0.0,
            energy_retained=self.energy(k) if k else 0.0,
            relative_error=math.sqrt(tail / total) if total > 0 else 0.0,
        )

    def _check_rank(self, k: int, *, allow_zero: bool = False) -> int:
        k = int(k)
        low = 0 if allow_zero else 1
        if not low <= k <= self.max_rank:
            raise ValueError(
                f"layer {self.name}: rank {k} is out of range; choose {low} to {self.max_rank}"
            )
        return k

    def factors(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """A (rows × k), B (k × cols) with M′ = A B in the original coordinates, and b′."""
        k = self._check_rank(k)
        a = self.u[:, :k]
        b = self.singular_values[:k, None] * self.vt[:k]
        if self.unwhiten is not None:
            b = b @ self.unwhiten
        bias = None if self.layer.bias is None else self.layer.bias.astype(np.float64)
        if self.mean is not None:
            delta = self.matrix @ self.mean - a @ (b @ self.mean)
            if self.scheme == "spatial":
                delta = delta.reshape(self.n_out, -1).sum(axis=1)
            bias = delta if bias is None else bias + delta
        return a, b, bias

    def approximation(self, k: int) -> np.ndarray:
        """M′ at rank k in the original coordinates (for comparing with M)."""
        a, b, _ = self.factors(k)
        return a @ b

    def layers_at(self, k: int) -> tuple[Dense, Dense] | tuple[Conv2d, Conv2d]:
        """The two layers that replace this one at rank k, named NAME.0 and NAME.1."""
        a, b, bias = self.factors(k)
        first, second = f"{self.name}.0", f"{self.name}.1"
        layer = self.layer
        if isinstance(layer, Dense):
            return Dense(b, None, first), Dense(a, bias, second)
        o, c, kh, kw = self.shape
        if self.scheme == "channel":
            return (
                Conv2d(b.reshape(k, c, kh, kw), None, layer.stride, layer.padding, first),
                Conv2d(a.reshape(o, k, 1, 1), bias, (1, 1), (0, 0), second),
            )
        w2 = a.reshape(o, kw, k).transpose(0, 2, 1).reshape(o, k, 1, kw)
        return (
            Conv2d(b.reshape(k, c, kh, 1), None, (layer.stride[0], 1), layer.padding, first),
            Conv2d(w2, bias, (1, layer.stride[1]), (0, 0), second),
        )


def _svd(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        return scipy.linalg.svd(m, full_matrices=False, lapack_driver="gesdd")
    except np.linalg.LinAlgError:
        return scipy.linalg.svd(m, full_matrices=False, lapack_driver="gesvd")


def factor_layer(
    layer: Dense | Conv2d,
    scheme: str = "spatial",
    method: str = "plain",
    *,
    inputs: np.ndarray | None = None,
    statistics: InputStatistics | None = None,
    in_hw: tuple[int, int] | None = None,
    ridge: float = DEFAULT_RIDGE,
) -> LayerFactors:
    """Decompose one layer. ``scheme`` matters for convolutions only (dense layers use "dense").

    Data-aware needs ``inputs``, a calibration batch of the layer's inputs (never the test
    split), or their ``statistics`` gathered batch by batch. ``in_hw`` is a convolution's
    input height and width (taken from ``inputs`` if given).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if isinstance(layer, Dense):
        scheme = "dense"
    elif scheme not in CONV_SCHEMES:
        raise ValueError(
            f"unknown convolution scheme {scheme!r}; use one of {', '.join(CONV_SCHEMES)}"
        )
    m = layer_matrix(layer, scheme)
    out_hw = None
    if isinstance(layer, Conv2d):
        if inputs is not None:
            in_hw = (int(inputs.shape[2]), int(inputs.shape[3]))
        if in_hw is None:
            raise ValueError(f"layer {layer.name}: a convolution needs its input size (in_hw)")
        out_hw = conv_output_hw(in_hw, layer.weight.shape[2:], layer.stride, layer.padding)
    if method == "plain":
        u, s, vt = _svd(m)
        return LayerFactors(layer, scheme, method, m, u, s, vt, in_hw=in_hw, out_hw=out_hw)
    if statistics is None:
        if inputs is None:
            raise ValueError(f"layer {layer.name}: data-aware SVD needs calibration inputs")
        statistics = input_statistics(layer, scheme, inputs)
    mu, cov = statistics.mean_cov()
    count = statistics.count
    lam, q = np.linalg.eigh(cov)
    lam = np.clip(lam, 0.0, None)
    lam = lam + ridge * max(float(lam.mean()), 1e-12)
    root = np.sqrt(lam)
    whiten = (q * root) @ q.T
    unwhiten = (q / root) @ q.T
    u, s, vt = _svd(m @ whiten)
    warning = None
    n_samples = statistics.samples
    if count < m.shape[1]:
        warning = (
            f"layer {layer.name}: {count} calibration vectors for {m.shape[1]} inputs; with "
            "fewer samples than inputs data-aware SVD is usually worse than plain SVD"
        )
    return LayerFactors(
        layer,
        scheme,
        method,
        m,
        u,
        s,
        vt,
        unwhiten=unwhiten,
        mean=mu,
        in_hw=in_hw,
        out_hw=out_hw,
        calibration_samples=n_samples,
        warning=warning,
    )
