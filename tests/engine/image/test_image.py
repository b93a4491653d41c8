"""Image engine: metrics against independent formulas, factors, fast views, rank targets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from svdstudio.engine import Cancelled
from svdstudio.engine.image import (
    DisplayReconstructor,
    channel_ranks,
    decompose_image,
    dequantize_factors,
    downsample,
    from_channels,
    image_metrics,
    psnr,
    quantize_factors,
    rank_for_byte_budget,
    rank_for_energy_target,
    rank_for_psnr_target,
    rank_one_layer,
    reconstruct_image,
    relative_error,
    ssim,
    storage_cost,
    to_channels,
)


def smooth_image(h: int, w: int, color: bool, seed: int = 0) -> np.ndarray:
    """A photo-like test image: smooth gradients plus a little noise, inside [0, 255]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 128 + 60 * np.sin(x / 7.0) * np.cos(y / 11.0) + 30 * np.cos((x + y) / 13.0)
    chans = [base + 20 * rng.standard_normal((h, w)) for _ in range(3 if color else 1)]
    if color:
        chans[1] = 0.6 * chans[1] + 40
        chans[2] = 255 - chans[2]
    img = np.stack(chans, axis=-1) if color else chans[0]
    return np.clip(img, 0, 255).astype(np.float32)


def reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al. 2004 written out: 11×11 Gaussian (σ 1.5) weights over each valid window."""
    r, sigma = 5, 1.5
    g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
    g /= g.sum()
    win = np.outer(g, g)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    vals = []
    for i in range(r, a.shape[0] - r):
        for j in range(r, a.shape[1] - r):
            pa = a[i - r : i + r + 1, j - r : j + r + 1]
            pb = b[i - r : i + r + 1, j - r : j + r + 1]
            ma, mb = np.sum(win * pa), np.sum(win * pb)
            va = np.sum(win * (pa - ma) ** 2)
            vb = np.sum(win * (pb - mb) ** 2)
            cov = np.sum(win * (pa - ma) * (pb - mb))
            vals.append(
                ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    return float(np.mean(vals))


def numpy_rank_k(channel: np.ndarray, k: int) -> np.ndarray:
    U, s, Vt = np.linalg.svd(channel.astype(np.float64), full_matrices=False)
    return (U[:, :k] * s[:k]) @ Vt[:k]


def test_psnr_matches_mse_formula():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 255, (20, 30))
    b = a + rng.normal(0, 5, a.shape)
    mse = np.sum((a - b) ** 2) / a.size
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / mse), rel=1e-12)
    assert psnr(a, a) == math.inf


def test_ssim_matches_reference_implementation():
    a = smooth_image(24, 30, color=False, seed=2)
    rng = np.random.default_rng(3)
    b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255)
    assert ssim(a, b) == pytest.approx(reference_ssim(a, b), abs=1e-7)
    assert ssim(a, a) == pytest.approx(1.0)


def test_ssim_uses_luminance_for_colour():
    a = smooth_image(24, 24, color=True, seed=4)
    b = np.clip(a * 0.9 + 10, 0, 255)
    ya = a @ np.array([0.299, 0.587, 0.114])
    yb = b @ np.array([0.299, 0.587, 0.114])
    assert ssim(a, b) == pytest.approx(reference_ssim(ya, yb), abs=1e-6)


@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_metrics_match_direct_computation(mode):
    img = smooth_image(30, 40, color=True, seed=5)
    f = decompose_image(img, mode)
    k = 6
    if mode == "gray":
        ref = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        rec = np.clip(numpy_rank_k(ref, k), 0, 255)
    else:
        ref = img.astype(np.float64)
        rec = np.stack([np.clip(numpy_rank_k(ref[..., c], k), 0, 255) for c in range(3)], -1)
    m = image_metrics(img, f, k)
    mse = np.mean((ref - rec) ** 2)
    assert m.psnr_db == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-3)
    assert m.relative_error == pytest.approx(np.linalg.norm(ref - rec) / np.linalg.norm(ref), 1e-4)
    assert m.ssim == pytest.approx(
        reference_ssim(
            ref if mode == "gray" else ref @ [0.299, 0.587, 0.114],
            rec if mode == "gray" else rec @ [0.299, 0.587, 0.114],
        ),
        abs=1e-4,
    )
    chans = [ref] if mode == "gray" else [ref[..., c] for c in range(3)]
    svals = [np.linalg.svd(c, compute_uv=False) for c in chans]
    kept = sum(np.sum(s[:k] ** 2) for s in svals)
    total = sum(np.sum(s**2) for s in svals)
    assert m.energy_retained == pytest.approx(kept / total, rel=1e-5)
    nch = 1 if mode == "gray" else 3
    assert m.stored_values == nch * k * (30 + 40 + 1)
    assert m.bytes_float32 == 4 * m.stored_values
    assert m.bytes_float16 == nch * (2 * k * 70 + 4 * k)
    assert m.bytes_uint8 == nch * k * (70 + 20)
    assert m.raw_bytes == 30 * 40 * nch
    assert m.compression_ratio == pytest.approx(m.raw_bytes / m.bytes_float32)
    m2 = image_metrics(img, f, k, png_bytes=1000, jpeg_bytes=500)
    assert m2.ratio("png", "uint8") == pytest.approx(1000 / m.bytes_uint8)
    assert m2.ratio("jpeg") == pytest.approx(500 / m.bytes_float32)


def test_storage_cost_counts_k_m_n_plus_1():
    c = storage_cost(512, 512, (32,))
    assert c.stored_values == 32 * 1025
    assert c.bytes_float32 == 4 * 32 * 1025


def test_ycbcr_round_trip_and_chroma_rank():
    img = smooth_image(20, 26, color=True, seed=6)
    back = from_channels(to_channels(img, "ycbcr"), "ycbcr")
    assert np.max(np.abs(back - img)) < 0.01
    f = decompose_image(img, "ycbcr")
    # One default chroma rank, DEFAULT_CHROMA_RANK = 8, whatever k (GUI and CLI alike).
    assert channel_ranks(f, 8) == (8, 8, 8)
    assert channel_ranks(f, 2) == (2, 8, 8)
    assert channel_ranks(f, 8, 3) == (8, 3, 3)
    assert channel_ranks(f, 20) == (20, 8, 8)
    gray = reconstruct_image(f, 5, 0)
    np.testing.assert_allclose(gray[..., 0], gray[..., 1], atol=1e-3)
    np.testing.assert_allclose(gray[..., 1], gray[..., 2], atol=1e-3)
    full = reconstruct_image(f, 20, 20)
    assert np.max(np.abs(full - img)) < 0.05
    assert image_metrics(img, f, 8).chroma_rank == 8
    small = decompose_image(smooth_image(6, 5, color=True, seed=1), "ycbcr")
    assert channel_ranks(small, 3) == (3, 5, 5)  # capped at the channels' rank


def test_grayscale_image_always_gray_mode():
    img = smooth_image(16, 12, color=False)
    f = decompose_image(img, "rgb")
    assert f.mode == "gray" and len(f.channels) == 1


def test_region_reconstruction_is_exact_subset():
    img = smooth_image(40, 50, color=True, seed=7)
    f = decompose_image(img, "rgb")
    full = reconstruct_image(f, 9)
    part = reconstruct_image(f, 9, rows=slice(3, 30, 2), cols=np.arange(5, 45, 3))
    np.testing.assert_allclose(part, full[3:30:2][:, 5:45:3], atol=1e-3)


@pytest.mark.parametrize("mode", ["gray", "rgb", "ycbcr"])
def test_display_reconstructor_tracks_rank_changes(mode):
    img = smooth_image(36, 44, color=True, seed=8)
    f = decompose_image(img, mode)
    view = DisplayReconstructor(f, rows=slice(0, 36, 2), cols=slice(1, 44, 2))
    for k in (3, 10, 9, 25, 24, 2, 36, 0, 5):
        got = view.render(k).astype(np.float64)
        want = np.rint(reconstruct_image(f, k, rows=slice(0, 36, 2), cols=slice(1, 44, 2)))
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) <= 1.0
    assert view.ranks == channel_ranks(f, 5)


def test_top_k_factors_match_full_spectrum():
    img = smooth_image(90, 80, color=True, seed=9)
    full = decompose_image(img, "rgb")
    part = decompose_image(img, "rgb", max_rank=12)
    assert part.is_partial and part.max_rank == 12
    for a, b in zip(full.channels, part.channels, strict=True):
        np.testing.assert_allclose(b.s, a.s[:12], rtol=1e-4)
    ma, mb = image_metrics(img, full, 12), image_metrics(img, part, 12)
    assert mb.psnr_db == pytest.approx(ma.psnr_db, abs=0.01)
    assert mb.energy_retained == pytest.approx(ma.energy_retained, abs=1e-6)


def test_preview_downsamples():
    img = smooth_image(64, 48, color=True)
    f = decompose_image(img, "rgb", preview_side=20)
    assert f.downsample_factor == 4 and (f.height, f.width) == (16, 12)
    np.testing.assert_allclose(downsample(img, 4)[0, 0], img[:4, :4].mean(axis=(0, 1)), rtol=1e-5)


def test_layers_sum_to_reconstruction():
    img = smooth_image(20, 24, color=True, seed=10)
    f = decompose_image(img, "rgb")
    total = sum(rank_one_layer(f, i) for i in range(1, 5))
    np.testing.assert_allclose(total, reconstruct_image(f, 4, clip=False), atol=1e-2)
    with pytest.raises(ValueError, match="between 1 and 20"):
        rank_one_layer(f, 21)


def test_rank_targets():
    img = smooth_image(40, 48, color=True, seed=11)
    f = decompose_image(img, "rgb")
    k = rank_for_energy_target(f, 0.99)
    assert image_metrics(img, f, k).energy_retained >= 0.99
    assert image_metrics(img, f, k - 1).energy_retained < 0.99
    kp = rank_for_psnr_target(img, f, 30.0)
    assert image_metrics(img, f, kp).psnr_db >= 30.0
    assert image_metrics(img, f, kp - 1).psnr_db < 30.0
    kb = rank_for_byte_budget(f, 5_000, "uint8")
    assert (
        image_metrics(img, f, kb).bytes_uint8 <= 5_000 < image_metrics(img, f, kb + 1).bytes_uint8
    )
    with pytest.raises(ValueError, match="too small"):
        rank_for_byte_budget(f, 10)


def test_quantized_factors_close_to_float():
    img = smooth_image(40, 50, color=True, seed=12)
    f = decompose_image(img, "ycbcr")
    q = quantize_factors(f, 10, 3)
    assert q[0].u_q.dtype == np.uint8 and q[0].u_q.shape == (40, 10)
    assert q[1].vt_q.shape == (3, 50)
    g = dequantize_factors("ycbcr", 40, 50, q)
    assert channel_ranks(g, 10, 3) == (10, 3, 3)
    a, b = reconstruct_image(f, 10, 3), reconstruct_image(g, 10, 3)
    assert psnr(a, b) > 35


def test_decompose_cancels_between_channels():
    class Job:
        def cancelled(self):
            return True

        def report(self, fraction, message):
            pass

    with pytest.raises(Cancelled):
        decompose_image(smooth_image(10, 10, True), "rgb", job=Job())


def test_bad_input_rejected():
    with pytest.raises(ValueError, match="H×W"):
        decompose_image(np.zeros((4, 4, 2)), "rgb")
    with pytest.raises(ValueError, match="colour mode"):
        decompose_image(np.zeros((4, 4, 3)), "cmyk")
    f = decompose_image(smooth_image(10, 12, False), "gray")
    with pytest.raises(ValueError, match="between 0 and 10"):
        reconstruct_image(f, 11)
    assert relative_error(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0


def test_gil_releasing_preview_path_matches_scipy():
    img = smooth_image(40, 30, color=True, seed=13)
    a = decompose_image(img, "ycbcr")
    b = decompose_image(img, "ycbcr", release_gil=True)
    assert b.channels[0].driver == "numpy-gesdd"
    for x, y in zip(a.channels, b.channels, strict=True):
        np.testing.assert_allclose(y.s, x.s, rtol=1e-4, atol=1e-3)
        assert y.total_energy == pytest.approx(x.total_energy, rel=1e-5)
    np.testing.assert_allclose(reconstruct_image(a, 5), reconstruct_image(b, 5), atol=0.05)


def test_ssim_bands_match_single_pass(monkeypatch):
    from svdstudio.engine.image import metrics as image_metrics  # where SSIM lives

    a = smooth_image(70, 33, color=False, seed=14)
    b = np.clip(a + np.random.default_rng(15).normal(0, 9, a.shape), 0, 255)
    whole = ssim(a, b)
    monkeypatch.setattr(image_metrics, "_SSIM_BAND", 16)
    assert ssim(a, b) == pytest.approx(whole, abs=1e-12)
    assert whole == pytest.approx(reference_ssim(a, b), abs=1e-7)
