"""The metrics are made a band of rows at a time: same figures, no full-resolution copies."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image import decompose_image, image_metrics, rank_sweep, reconstruct_image
from svdstudio.engine.image import metrics as metrics_module
from svdstudio.engine.image.metrics import metrics_reference


def photo(h: int, w: int, seed: int = 3) -> np.ndarray:
    """A smooth colour image with some noise (float32 [0, 255]), not low rank."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 70 * np.sin(x / 13.0) * np.cos(y / 9.0) + rng.normal(0, 12, (h, w))
    img = np.stack([base, 255 - base, 0.5 * base + (x % 60)], -1)
    return np.clip(img, 0, 255).astype(np.float32)


@pytest.mark.parametrize("mode", ["gray", "rgb", "ycbcr"])
@pytest.mark.parametrize("with_reference", [False, True])
def test_banded_metrics_equal_the_whole_image_ones(monkeypatch, mode, with_reference):
    img = photo(97, 61)
    f = decompose_image(img, mode)
    chroma = 3 if mode == "ycbcr" else None
    ref = metrics_reference(img, f.mode) if with_reference else None
    rec = reconstruct_image(f, 7, chroma)
    whole = image_metrics(img, f, 7, chroma, reconstruction=rec, reference=ref)
    # Bands of 32 rows (the smallest): four bands, the last one short.
    monkeypatch.setattr(metrics_module, "_BAND_PIXELS", 1)
    banded = image_metrics(img, f, 7, chroma, reference=ref)
    assert banded.rank == whole.rank and banded.chroma_rank == whole.chroma_rank
    assert banded.psnr_db == pytest.approx(whole.psnr_db, rel=1e-6)
    assert banded.relative_error == pytest.approx(whole.relative_error, rel=1e-5)
    assert banded.ssim == pytest.approx(whole.ssim, abs=1e-6)
    assert banded.energy_retained == whole.energy_retained
    assert banded.bytes_float32 == whole.bytes_float32 and banded.raw_bytes == whole.raw_bytes
    # ... and the whole-image figures are the independent float64 ones.
    x = img.astype(np.float64)
    if mode == "gray":
        x = x @ np.array([0.299, 0.587, 0.114])
    mse = np.mean((x - rec.astype(np.float64)) ** 2)
    assert banded.psnr_db == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-4)


def test_metrics_of_a_big_image_hold_no_full_resolution_copy(monkeypatch):
    img = photo(480, 640)
    f = decompose_image(img, "rgb")
    monkeypatch.setattr(metrics_module, "_BAND_PIXELS", 1)  # 32-row bands
    image_metrics(img, f, 20)  # scipy.ndimage imported, caches warm
    tracemalloc.start()
    try:
        m = image_metrics(img, f, 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The rebuild, a float32 copy of the original, two lumas and SSIM's scratch were whole
    # images (peak 4.3 × the image's bytes); 42-row bands of 480 rows take 0.45 × here, and
    # a band is a far smaller share of a photo's rows (128 of 3000 at 12 MP).
    assert peak < 0.75 * img.nbytes, peak / img.nbytes
    assert 20 < m.psnr_db < 60


def test_sweep_subsamples_before_it_copies():
    img = photo(480, 640)
    f = decompose_image(img, "rgb")
    rank_sweep(img, f, [4], step=4)
    tracemalloc.start()
    try:
        out = rank_sweep(img, f, [4, 8], step=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * img.nbytes, peak / img.nbytes  # 1.3 × with a whole float32 copy first
    assert [m.rank for m in out] == [4, 8] and out[1].psnr_db > out[0].psnr_db


class _Job:
    """Cancelled once it has been asked ``after`` times."""

    def __init__(self, after: int | None) -> None:
        self.after, self.asked = after, 0

    def cancelled(self) -> bool:
        self.asked += 1
        return self.after is not None and self.asked > self.after

    def report(self, fraction: float, message: str = "") -> None:
        pass


def test_metrics_stop_between_bands_when_cancelled(monkeypatch):
    img = photo(200, 61)
    f = decompose_image(img, "rgb")
    monkeypatch.setattr(metrics_module, "_BAND_PIXELS", 1)  # 32-row bands: 7 of them
    plain = image_metrics(img, f, 5)
    job = _Job(None)
    assert image_metrics(img, f, 5, job=job) == plain and job.asked == 7
    job = _Job(2)
    with pytest.raises(Cancelled):
        image_metrics(img, f, 5, job=job)
    assert job.asked == 3  # stopped at the third band, not after all seven
