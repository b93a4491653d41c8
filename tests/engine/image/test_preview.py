"""The preview's size from the panes, and its Gram-matrix SVD against LAPACK."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image import (
    decompose_preview,
    downsample,
    gram_svd,
    preview_factor,
    reconstruct_image,
)


def test_preview_factor_leaves_one_sample_per_device_pixel_of_the_finest_pane():
    # 4000×3000 fitted in a 575×541 pane: 6.96 image pixels per device pixel → factor 6,
    # a 666×500 copy (571×428 with today's fixed 640 side would be coarser than the pane).
    assert preview_factor(3000, 4000, [(575, 541)]) == 6
    assert preview_factor(3000, 4000, [(575, 541), (575, 541), (0, 0)]) == 6
    # High DPI: twice the device pixels, half the factor (3.48 → 3).
    assert preview_factor(3000, 4000, [(1150, 1082)]) == 3
    # The finest usable pane decides; panes not laid out yet (< 48 px) say nothing.
    assert preview_factor(3000, 4000, [(575, 541), (1150, 1082), (20, 20)]) == 3
    # A tall pane: the width limits the fitted image (4000 / 500 = 8; a 500×375 copy once the
    # floor allows it, else the floor's 4000 // 640 = 6).
    assert preview_factor(3000, 4000, [(500, 900)], min_side=100) == 8
    assert preview_factor(3000, 4000, [(500, 900)]) == 6


def test_preview_factor_floor_cap_and_unknown_panes():
    # A tiny pane still gets a copy whose longer side is at least min_side (4000 // 640 = 6).
    assert preview_factor(3000, 4000, [(100, 80)]) == 6
    # A pane finer than the cap: the copy stays within max_side (ceil(4000 / 1600) = 3).
    assert preview_factor(3000, 4000, [(4000, 3000)]) == 3
    assert preview_factor(3000, 4000, [(4000, 3000)], max_side=4000) == 1
    # No pane known: the longer side min_side, as before (ceil(4000 / 640) = 7).
    assert preview_factor(3000, 4000, []) == 7
    assert preview_factor(3000, 4000, [(30, 30)]) == 7
    # The cap wins over the floor.
    assert preview_factor(3000, 4000, [(100, 80)], min_side=2000, max_side=500) == 8


def photo_like(m: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:m, 0:n]
    base = 128 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0) + 20 * np.cos((x + 2 * y) / 5.0)
    return np.clip(base + 4 * rng.standard_normal((m, n)), 0, 255).astype(np.float32)


@pytest.mark.parametrize("shape", [(120, 160), (160, 120)])
def test_gram_svd_matches_lapack(shape):
    a = photo_like(*shape)
    res = gram_svd(a)
    U, s, Vt = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    p = min(shape)
    assert res.U.shape == (shape[0], p) and res.s.shape == (p,) and res.Vt.shape == (p, shape[1])
    assert res.driver == "gram-eigh-f64" and res.dtype == "float32"
    big = s >= 1e-3 * s[0]
    np.testing.assert_allclose(res.s[big], s[big], rtol=1e-5)
    assert res.total_energy == pytest.approx(float(np.sum(a.astype(np.float64) ** 2)), rel=1e-12)
    for k in (1, 8, 40, p):
        mine = (res.U[:, :k] * res.s[:k]) @ res.Vt[:k]
        ref = (U[:, :k] * s[:k]) @ Vt[:k]
        assert np.max(np.abs(mine - ref)) < 1e-3, k  # grey levels
    eye = np.eye(p)
    assert np.max(np.abs(res.U.T.astype(np.float64) @ res.U - eye)) < 1e-5
    assert np.max(np.abs(res.Vt.astype(np.float64) @ res.Vt.T - eye)) < 1e-4
    assert res.rank == p and res.approx_from is None


def test_gram_svd_of_a_rank_deficient_channel():
    rng = np.random.default_rng(1)
    a = (rng.random((50, 3)) @ rng.random((3, 70)) * 80).astype(np.float32)
    res = gram_svd(a)
    assert res.rank == 3
    assert np.all(res.s[3:] == 0) and np.all(res.Vt[3:] == 0)
    np.testing.assert_allclose((res.U[:, :3] * res.s[:3]) @ res.Vt[:3], a, atol=1e-3)
    flat = gram_svd(np.full((20, 30), 7.0, np.float32))
    assert flat.rank == 1 and flat.s[0] == pytest.approx(7.0 * np.sqrt(600), rel=1e-6)
    # A zero channel (the chroma of a grey photo in YCbCr): rank 0, nothing divided by 0.
    zero = gram_svd(np.zeros((20, 30), np.float32))
    assert zero.rank == 0 and not np.any(zero.s) and np.all(np.isfinite(zero.Vt))


def test_gram_svd_rejects_bad_input():
    bad = photo_like(10, 12)
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        gram_svd(bad)
    with pytest.raises(ValueError, match="non-empty 2-D"):
        gram_svd(np.zeros((0, 4), np.float32))


@pytest.mark.parametrize("mode", ["rgb", "ycbcr", "gray"])
def test_decompose_preview_rebuilds_the_downsampled_copy(mode):
    rgb = np.stack([photo_like(123, 157, s) for s in range(3)], axis=-1)
    f, small = decompose_preview(rgb, mode, 4)
    assert (f.height, f.width, f.downsample_factor, f.mode) == (30, 39, 4, mode)
    np.testing.assert_array_equal(small, downsample(rgb, 4))
    assert not small.flags.writeable
    full = reconstruct_image(f, f.full_rank, None if mode != "ycbcr" else f.full_rank, clip=False)
    ref = small if mode == "rgb" else None
    if mode == "gray":
        ref = small @ np.array([0.299, 0.587, 0.114], np.float32)
    if ref is not None:
        assert np.max(np.abs(full - ref)) < 1e-3  # grey levels
    else:  # ycbcr: back to RGB through the colour transform
        assert np.max(np.abs(full - small)) < 1e-2


def test_decompose_preview_checks_cancel_between_channels():
    class Job:
        def cancelled(self) -> bool:
            return True

    with pytest.raises(Cancelled):
        decompose_preview(photo_like(40, 60), "gray", 2, job=Job())
