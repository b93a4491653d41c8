"""crop_pixels: full-resolution original, rank-k rebuild and error of one region."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image import decompose_image, mode_reference, reconstruct_image
from svdstudio.engine.image.crop import crop_pixels, error_indices


def pixels(h: int = 40, w: int = 56) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = 120 + 60 * np.sin(x / 5.0) * np.cos(y / 4.0) + 30 * ((x + y) % 2)
    return np.clip(np.stack([base, 255 - base, 0.5 * base + x], -1), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode", ["gray", "rgb", "ycbcr"])
def test_crop_matches_the_full_rebuild(mode):
    img = pixels()
    f = decompose_image(img, mode)
    rows, cols = slice(5, 33, 2), slice(3, 50, 1)
    chroma = 2 if mode == "ycbcr" else None
    crop = crop_pixels(f, img, 6, chroma, rows, cols)
    full = reconstruct_image(f, 6, chroma)
    expected = np.clip(np.rint(full), 0, 255).astype(np.uint8)[rows, cols]
    np.testing.assert_array_equal(crop.reconstruction, expected)
    ref = np.clip(np.rint(mode_reference(img, mode)), 0, 255).astype(np.uint8)[rows, cols]
    np.testing.assert_array_equal(crop.original, ref)
    diff = expected.astype(int) - ref.astype(int)  # signed: A_k − A
    if diff.ndim == 3:  # the channel with the largest |difference| (the first on ties)
        pick = np.argmax(np.abs(diff), axis=2)[..., None]
        diff = np.take_along_axis(diff, pick, axis=2)[..., 0]
    np.testing.assert_array_equal(crop.error, 128 + 2 * np.clip(diff, -63, 63))
    assert (crop.k, crop.chroma_k) == (6, chroma)


def test_error_indices_are_signed_and_capped():
    a = np.array([[0, 10, 200, 50, 7]], np.uint8)
    b = np.array([[1, 0, 0, 250, 7]], np.uint8)
    # 128 + 2·(b − a), the difference clipped to ±63 grey levels; 128 is "no error".
    np.testing.assert_array_equal(error_indices(a, b), [[130, 108, 2, 254, 128]])
    # Colour: the channel with the largest |difference| decides, with its sign.
    rgb_a = np.array([[[10, 10, 10], [100, 100, 100]]], np.uint8)
    rgb_b = np.array([[[12, 5, 10], [101, 130, 60]]], np.uint8)
    np.testing.assert_array_equal(error_indices(rgb_a, rgb_b), [[118, 48]])


def test_crop_needs_full_factors_and_honours_cancel():
    img = pixels(80, 96)
    preview = decompose_image(img, "gray", preview_side=40)
    with pytest.raises(ValueError, match="full-resolution"):
        crop_pixels(preview, img, 3, None, slice(0, 10), slice(0, 10))

    class Job:
        def cancelled(self) -> bool:
            return True

    f = decompose_image(img, "gray")
    with pytest.raises(Cancelled):
        crop_pixels(f, img, 3, None, slice(0, 10), slice(0, 10), job=Job())


def test_ycbcr_crop_against_plain_numpy():
    """JPEG's full-range YCbCr, a float64 numpy SVD per channel, back to RGB: the same crop."""
    img = pixels()
    rgb = img.astype(np.float64)
    to_ycc = np.array(
        [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
    )
    ycc = rgb @ to_ycc.T  # chroma centred on 0

    def rank(a: np.ndarray, k: int) -> np.ndarray:
        U, s, Vt = np.linalg.svd(a, full_matrices=False)
        return (U[:, :k] * s[:k]) @ Vt[:k]

    approx = np.stack([rank(ycc[..., 0], 6), rank(ycc[..., 1], 2), rank(ycc[..., 2], 2)], -1)
    back = approx @ np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]).T
    rows, cols = slice(5, 33, 2), slice(3, 50, 1)
    want = np.clip(np.rint(back), 0, 255)[rows, cols]
    crop = crop_pixels(decompose_image(img, "ycbcr"), img, 6, 2, rows, cols)
    assert np.abs(crop.reconstruction.astype(float) - want).max() <= 1.0
    np.testing.assert_array_equal(crop.original, img[rows, cols])
