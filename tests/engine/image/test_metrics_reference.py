"""The metrics' shared reference side and float32 sums give the figures of a direct computation."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from svdstudio.engine.image import decompose_image, image_metrics, psnr, reconstruct_image, ssim
from svdstudio.engine.image.metrics import _sums, metrics_reference, relative_error

ROOT = Path(__file__).resolve().parents[3]


def photo(h: int, w: int, seed: int = 3) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = 128 + 70 * np.sin(x / 17.0) * np.cos(y / 11.0) + 10 * rng.standard_normal((h, w))
    rgb = np.stack([base, np.roll(base, 5, axis=0), 255 - base], -1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.float32)


@pytest.mark.parametrize("mode", ["gray", "rgb", "ycbcr"])
def test_reference_gives_the_same_figures(mode):
    img = photo(90, 140)
    f = decompose_image(img, mode)
    ref = metrics_reference(img, f.mode)
    for k in (1, 6, 40):
        rec = reconstruct_image(f, k)
        plain = image_metrics(img, f, k, reconstruction=rec)
        shared = image_metrics(img, f, k, reconstruction=rec, reference=ref)
        assert shared.psnr_db == pytest.approx(plain.psnr_db, abs=1e-9)
        assert shared.relative_error == pytest.approx(plain.relative_error, rel=1e-9)
        assert shared.ssim == pytest.approx(plain.ssim, abs=1e-12)
        assert shared.energy_retained == plain.energy_retained
        assert shared.stored_values == plain.stored_values


def test_reference_without_ssim_stats_and_gray_images():
    img = photo(40, 50)
    gray = img[..., 0]
    f = decompose_image(gray, "rgb")  # a grayscale image is always measured in gray
    ref = metrics_reference(gray, "rgb", with_ssim=False)
    assert ref.mode == "gray" and ref.ssim_stats is None
    rec = reconstruct_image(f, 5)
    m = image_metrics(gray, f, 5, reconstruction=rec, reference=ref)
    assert m.ssim == pytest.approx(ssim(gray, rec), abs=1e-12)
    assert ref.sum_squares == pytest.approx(float(np.sum(gray.astype(np.float64) ** 2)), 1e-12)


def test_reference_of_another_mode_is_refused():
    img = photo(30, 40)
    f = decompose_image(img, "rgb")
    with pytest.raises(ValueError, match="mode ycbcr but the factors are rgb"):
        image_metrics(img, f, 3, reference=metrics_reference(img, "ycbcr"))


def test_float32_sums_match_float64():
    """float32 pixels are summed in float32 chunks: within 1e-9 of the float64 sums."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (700, 900, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 12, x.shape), 0, 255).astype(np.float32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    diff2, ref2, count = _sums(x, y)
    assert diff2 == pytest.approx(float(np.sum((x64 - y64) ** 2)), rel=1e-9)
    assert ref2 == pytest.approx(float(np.sum(x64**2)), rel=1e-9)
    assert count == x.size
    mse = np.mean((x64 - y64) ** 2)
    assert psnr(x, y) == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-8)
    rel = np.linalg.norm(x64 - y64) / np.linalg.norm(x64)
    assert relative_error(x, y) == pytest.approx(rel, rel=1e-9)
    # float64 input keeps float64 and does not touch its arguments
    before = x64.copy()
    assert _sums(x64, y64)[0] == pytest.approx(float(np.sum((x64 - y64) ** 2)), rel=1e-12)
    np.testing.assert_array_equal(x64, before)
    np.testing.assert_array_equal(x, before.astype(np.float32))


def test_scipy_ndimage_waits_for_the_first_ssim():
    code = (
        "import sys, numpy as np, svdstudio.engine.image as e; "
        "print('scipy.ndimage' in sys.modules); "
        "e.ssim(np.zeros((12, 12)), np.ones((12, 12))); "
        "print('scipy.ndimage' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split() == ["False", "True"]
