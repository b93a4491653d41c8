"""DisplayReconstructor: components copied block by block as ranks need them, packed frames."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.image import DisplayReconstructor, decompose_image, reconstruct_image
from svdstudio.engine.image.display import BLOCK
from tests.engine.image.test_image import smooth_image

ROWS, COLS = slice(1, 150, 3), slice(0, 170, 2)


@pytest.fixture(scope="module")
def factors():
    return {
        m: decompose_image(smooth_image(150, 170, color=True, seed=3), m)
        for m in ("rgb", "ycbcr", "gray")
    }


def exact(f, k):
    return np.rint(reconstruct_image(f, k, rows=ROWS, cols=COLS))


def test_building_copies_nothing_and_ranks_copy_whole_blocks(factors):
    f = factors["rgb"]
    view = DisplayReconstructor(f, ROWS, COLS)
    assert view.copied() == (0, 0, 0)  # a new stage costs no copy in the GUI thread
    view.render(5)
    assert view.copied() == (BLOCK,) * 3
    view.render(BLOCK + 1)
    assert view.copied() == (2 * BLOCK,) * 3
    view.render(3)  # going down copies nothing more
    assert view.copied() == (2 * BLOCK,) * 3
    view.render(150)  # the last block stops at the channel's components
    assert view.copied() == (150,) * 3


@pytest.mark.parametrize("mode", ["rgb", "ycbcr", "gray"])
def test_block_copies_rebuild_a_k_at_every_rank_reached(factors, mode):
    f = factors[mode]
    view = DisplayReconstructor(f, ROWS, COLS, exact_every=10**9)
    # Up and down across block edges by rank-1 updates, and jumps that rebuild.
    for k in (3, 63, 64, 65, 66, 130, 129, 128, 2, 150, 0, 70):
        got = view.render(k).astype(np.float64)
        want = exact(f, k)
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) <= 1.0, k
        assert np.mean(got != want) < 0.01, k  # off by one only where rounding is a tie


@pytest.mark.parametrize("mode", ["rgb", "ycbcr", "gray"])
def test_packed_words_hold_the_same_pixels(factors, mode):
    f = factors[mode]
    plain = DisplayReconstructor(f, ROWS, COLS)
    packed = DisplayReconstructor(f, ROWS, COLS, packed=True)
    assert plain.packed is None
    for k in (7, 40, 39, 100):
        a = plain.render(k).copy()
        b = packed.render(k)
        np.testing.assert_array_equal(b, a)
        words = packed.packed
        assert words.dtype == np.uint32 and words.shape == a.shape[:2]
        rgb = a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2)
        r, g, b8 = (rgb[..., c].astype(np.uint32) for c in range(3))
        np.testing.assert_array_equal(words, 0xFF000000 | (r << 16) | (g << 8) | b8)


def test_index_arrays_select_the_same_pixels_as_slices(factors):
    f = factors["rgb"]
    rows, cols = np.arange(150)[ROWS], np.arange(170)[COLS]
    a = DisplayReconstructor(f, rows, cols).render(20)
    np.testing.assert_array_equal(a, DisplayReconstructor(f, ROWS, COLS).render(20))


def test_many_rank_one_updates_do_not_drift(factors):
    f = factors["rgb"]
    view = DisplayReconstructor(f, ROWS, COLS, exact_every=10**9)
    view.render(40, exact=True)
    acc0 = view.float_pixels()
    for step in range(600):  # 40 → 70 → 40 …, one rank at a time, never rebuilt
        view.render(40 + (step % 60 if step % 60 <= 30 else 60 - step % 60))
    view.render(40)
    drift = np.max(np.abs(view.float_pixels() - acc0))
    assert drift < 0.01  # grey levels, after 600 incremental steps
    assert DisplayReconstructor(f).exact_every == 512
