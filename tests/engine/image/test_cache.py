"""FactorCache reservations: a running SVD's factors count before they arrive."""

from __future__ import annotations

import numpy as np

from svdstudio.engine.image import FactorCache, decompose_image, factor_bytes
from svdstudio.engine.image.cache import full_factor_bytes


def _px(h: int = 40, w: int = 30) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.uniform(0, 255, (h, w, 3)).astype(np.float32)


def test_full_factor_bytes_is_what_a_full_decomposition_holds():
    px = _px()
    for mode, nc in (("rgb", 3), ("gray", 1)):
        f = decompose_image(px, mode)
        assert factor_bytes(f) == full_factor_bytes(40, 30, nc)


def test_reserving_evicts_before_the_factors_arrive():
    px = _px()
    rgb, gray = decompose_image(px, "rgb"), decompose_image(px, "gray")
    size = factor_bytes(rgb)
    cache = FactorCache(max_bytes=2 * size)
    assert cache.put("img", "gray", gray) and cache.put("img", "rgb", rgb)
    # A YCbCr SVD starts: its factors (one set) fit beside rgb only if gray goes.
    cache.reserve("img", "ycbcr", size)
    assert cache.reserved == size
    assert cache.get("img", "gray") is None and cache.get("img", "rgb") is rgb
    assert cache.nbytes + cache.reserved <= cache.max_bytes
    # Twice that: rgb goes too, before anything arrived.
    cache.reserve("img", "ycbcr", 2 * size)
    assert len(cache) == 0
    # The factors arrive: the reservation ends and they are kept.
    ycc = decompose_image(px, "ycbcr")
    assert cache.put("img", "ycbcr", ycc) and cache.reserved == 0
    assert cache.get("img", "ycbcr") is ycc


def test_release_and_drop_end_reservations():
    px = _px()
    rgb = decompose_image(px, "rgb")
    cache = FactorCache(max_bytes=10 * factor_bytes(rgb))
    cache.reserve("img", "gray", 123)
    cache.reserve("img", "ycbcr", 456)
    cache.release("img", "gray")
    assert cache.reserved == 456
    cache.release()
    assert cache.reserved == 0
    cache.reserve("img", "gray", 7)
    cache.put("img", "rgb", rgb)
    cache.drop("img")
    assert cache.reserved == 0 and len(cache) == 0
    # The factors being reserved for are never the ones evicted.
    small = FactorCache(max_bytes=factor_bytes(rgb))
    small.put("img", "rgb", rgb)
    small.reserve("img", "rgb", factor_bytes(rgb))
    assert small.get("img", "rgb") is rgb
