"""The uint8 error map of the screen path gives exactly the engine's ErrorMapper indices."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.image.crop import ErrorMapper
from svdstudio.engine.image.display_fast import FastErrorMapper


@pytest.mark.parametrize("shape", [(37, 50, 3), (40, 33), (1, 1, 3)])
def test_same_indices_as_error_mapper(shape):
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 256, shape, dtype=np.uint8)
    shown = np.clip(ref.astype(int) + rng.integers(-200, 200, shape), 0, 255).astype(np.uint8)
    shown[::3] = ref[::3]  # exact rows: index 128
    fast, slow = FastErrorMapper(ref), ErrorMapper(ref)
    np.testing.assert_array_equal(fast.compute(shown), slow.compute(shown))
    # The buffers are reused: a second frame is right too.
    other = rng.integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(fast.compute(other), slow.compute(other))


def test_ties_saturation_and_signs():
    ref = np.array([[[100, 100, 100], [0, 255, 0], [10, 20, 30], [200, 0, 0]]], np.uint8)
    shown = np.array([[[110, 90, 100], [255, 0, 0], [10, 20, 30], [190, 5, 0]]], np.uint8)
    # Equal |d| (10 and 10): the first channel wins (+10 → 148); ±255 saturate at ±63 and
    # the first (+255) wins; exact → 128; |−10| > |+5| → 128 − 20.
    np.testing.assert_array_equal(FastErrorMapper(ref).compute(shown), [[148, 254, 128, 108]])


def test_float_reference_is_rounded_and_shape_checked():
    ref = np.array([[1.4, 1.6]], np.float32)
    assert FastErrorMapper(ref).compute(np.array([[1, 2]], np.uint8)).tolist() == [[128, 128]]
    with pytest.raises(ValueError, match="do not match"):
        FastErrorMapper(ref).compute(np.zeros((2, 2), np.uint8))
