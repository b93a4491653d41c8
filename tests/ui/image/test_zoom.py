"""Zooming into a big image shows its full-resolution pixels, not the coarse display grid."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from svdstudio.engine.image import reconstruct_image
from svdstudio.engine.image.crop import error_indices
from svdstudio.io.images import to_uint8
from svdstudio.ui.image import render as image_render
from svdstudio.ui.image.tab import ImageTab
from svdstudio.ui.image.zoom import detail_region
from svdstudio.workers import JobRunner

TIMEOUT = 30_000
GRID_SIDE = 320  # display grid of the test (the app uses 1600 px; smaller keeps this fast)


def detailed(h: int, w: int) -> np.ndarray:
    """Smooth colour gradients plus a one-pixel checkerboard that a strided grid cannot show."""
    y, x = np.mgrid[0:h, 0:w]
    base = 100 + 50 * np.sin(x / 40.0) * np.cos(y / 30.0)
    checker = 40.0 * ((x + y) % 2)
    rgb = np.stack([base + checker, base * 0.8 + 0.1 * x % 60, 200 - base + checker], -1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.fixture
def big_image(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(detailed(720, 960)).save(path)
    return str(path)


@pytest.fixture
def tab(qtbot, monkeypatch):
    monkeypatch.setattr(image_render, "MAX_DISPLAY_SIDE", GRID_SIDE)
    runner = JobRunner()
    w = ImageTab(runner)
    qtbot.addWidget(w)
    w.resize(1100, 760)
    w.show()
    qtbot.waitExposed(w)
    yield w
    runner.shutdown()


def zoom_to(tab, x0: float, x1: float, y0: float, y1: float) -> None:
    """Zoom the rank-k pane as a user would (the other panes follow)."""
    tab.ui.compare_group.auto_fit = False
    tab.ui.recon_pane.view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)


def shown_detail(pane):
    return pane.detail.image if pane.detail_shown() else None


def test_detail_region_rules():
    view = ((100.0, 300.0), (50.0, 200.0), 400.0, 300.0)  # 0.5 image px per screen px
    assert detail_region([view], (960, 720), grid_step=1) is None  # grid is full resolution
    rows, cols = detail_region([view], (960, 720), grid_step=3)
    assert (rows, cols) == (slice(50, 200, 1), slice(100, 300, 1))
    # Zoomed out beyond the grid's resolution: the grid is enough.
    wide = ((0.0, 960.0), (0.0, 720.0), 300.0, 225.0)
    assert detail_region([wide], (960, 720), grid_step=3) is None
    # 2 image px per screen px: stride 2, aligned to it, clipped to the image.
    mid = ((-11.0, 789.0), (101.0, 701.0), 400.0, 300.0)
    rows, cols = detail_region([mid], (960, 720), grid_step=3)
    assert (rows, cols) == (slice(100, 701, 2), slice(0, 789, 2))
    # A pixel budget forces a coarser stride.
    rows, cols = detail_region([view], (960, 720), grid_step=8, max_pixels=10_000)
    assert rows.step == cols.step > 1
    assert len(range(*rows.indices(720))) * len(range(*cols.indices(960))) <= 10_000


def test_zoom_shows_full_resolution_crop_and_fit_returns_to_grid(qtbot, tab, big_image):
    with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
        assert tab.open_file(big_image)
    qtbot.waitUntil(lambda: tab.session.full, timeout=TIMEOUT)
    f = tab.session.factors
    assert (f.width, f.height, f.downsample_factor) == (960, 720, 1)
    grid_shape = tab.ui.recon_pane.item.image.shape
    assert grid_shape[:2] == (240, 320)  # stride 3
    panes = (tab.ui.original_pane, tab.ui.recon_pane, tab.ui.error_pane)
    assert not any(p.detail_shown() for p in panes)

    zoom_to(tab, 400, 480, 300, 360)
    qtbot.waitUntil(lambda: all(p.detail_shown() for p in panes), timeout=TIMEOUT)
    crop = tab.zoom_detail.crop
    rows, cols = crop.rows, crop.cols
    assert rows.step == cols.step == 1  # zoomed far in: every pixel
    (x0, x1), (y0, y1) = tab.ui.recon_pane.view.viewRange()
    assert cols.start <= x0 and cols.stop >= x1 and rows.start <= y0 and rows.stop >= y1
    # The overlays sit exactly over their pixels.
    rect = tab.ui.recon_pane.detail.mapRectToParent(tab.ui.recon_pane.detail.boundingRect())
    assert (rect.left(), rect.top()) == (cols.start, rows.start)
    assert (rect.width(), rect.height()) == (cols.stop - cols.start, rows.stop - rows.start)

    pixels = tab.session.pixels
    original = shown_detail(tab.ui.original_pane)
    np.testing.assert_array_equal(original, pixels[rows, cols])  # the checkerboard is there
    assert np.abs(np.diff(original[..., 0].astype(int), axis=1)).mean() > 20
    k = tab.rank()
    expected = to_uint8(reconstruct_image(f, k, rows=rows, cols=cols))
    recon = shown_detail(tab.ui.recon_pane)
    np.testing.assert_array_equal(recon, expected)
    # Independently: the crop of the rank-k product of the full factors.
    ref = np.stack(
        [(ch.U[:, :k] * ch.s[:k]).astype(np.float64) @ ch.Vt[:k] for ch in f.channels], -1
    )[rows, cols]
    assert np.abs(recon.astype(float) - np.clip(ref, 0, 255)).max() <= 1.0
    np.testing.assert_array_equal(shown_detail(tab.ui.error_pane), error_indices(original, recon))
    # The grid below is coarser: it could not show these pixels.
    assert tab.ui.recon_pane.item.image.shape == grid_shape

    # A committed rank change rebuilds the crop at the new rank.
    tab.set_rank(k + 40)
    qtbot.waitUntil(lambda: tab.zoom_detail.crop.k == k + 40, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: tab.ui.recon_pane.detail_shown(), timeout=TIMEOUT)
    np.testing.assert_array_equal(
        shown_detail(tab.ui.recon_pane),
        to_uint8(reconstruct_image(f, k + 40, rows=rows, cols=cols)),
    )
    # A drag preview drops the stale rank-k detail at once; the grid shows the preview.
    tab.session.set_rank(5, preview=True)
    assert not tab.ui.recon_pane.detail_shown() and not tab.ui.error_pane.detail_shown()
    assert tab.ui.original_pane.detail_shown()
    qtbot.waitUntil(lambda: tab.ui.recon_pane.detail_shown(), timeout=TIMEOUT)
    assert tab.zoom_detail.crop.k == 5
    # Hidden panes drop their detail; shown again, it comes back.
    tab.ui.view_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not tab.ui.original_pane.detail_shown(), timeout=TIMEOUT)
    tab.ui.view_tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: all(p.detail_shown() for p in panes), timeout=TIMEOUT)

    tab.fit_views()
    qtbot.waitUntil(lambda: not any(p.detail_shown() for p in panes), timeout=TIMEOUT)
    assert tab.zoom_detail.crop is None
    assert tab.ui.recon_pane.item.image.shape == grid_shape


def test_small_images_and_previews_never_build_detail(qtbot, tab, tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(detailed(200, 240)).save(path)  # fits the grid: already full resolution
    with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
        assert tab.open_file(str(path))
    qtbot.waitUntil(lambda: tab.session.full, timeout=TIMEOUT)
    zoom_to(tab, 10, 40, 10, 30)
    tab.zoom_detail.update_now()
    assert tab.zoom_detail.region() is None
    assert not tab.ui.recon_pane.detail_shown()
