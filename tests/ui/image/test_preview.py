"""A big image's preview is as fine as the compare panes: its size, and the first frame drawn."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from PIL import Image

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image import decompose_image
from svdstudio.ui.image import session as session_module
from svdstudio.ui.image import session_decompose
from svdstudio.ui.image.tab import ImageTab
from svdstudio.workers import JobRunner

TIMEOUT = 30000


@pytest.fixture
def gated(monkeypatch):
    """Big from 10,000 pixels, a preview floor of 100 pixels, and a full SVD that waits."""
    opened = threading.Event()

    def full(pixels, mode="rgb", *, job=None, **kwargs):
        while not opened.wait(0.01):
            if job is not None and job.cancelled():
                raise Cancelled()
        return decompose_image(pixels, mode, **kwargs)

    monkeypatch.setattr(session_decompose, "decompose_image", full)
    monkeypatch.setattr(session_decompose, "FULL_IN_PROCESS", False)
    monkeypatch.setattr(session_decompose, "PREVIEW_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr(session_module, "PREVIEW_SIDE", 100)
    yield opened
    opened.set()


@pytest.fixture
def photo(tmp_path):
    y, x = np.mgrid[0:900, 0:1200]
    base = 128 + 60 * np.sin(x / 19.0) * np.cos(y / 13.0) + 20 * np.cos((x + 2 * y) / 7.0)
    rgb = np.stack([base, 255 - base, base * 0.5 + x % 90], -1)
    path = tmp_path / "photo.png"
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return str(path)


def pane_px(pane) -> tuple[float, float]:
    dpr = pane.graphics.devicePixelRatioF()
    return pane.view.width() * dpr, pane.view.height() * dpr


def open_in(qtbot, size: tuple[int, int], path: str):
    runner = JobRunner()
    tab = ImageTab(runner)
    qtbot.addWidget(tab)
    tab.resize(*size)
    tab.show()
    qtbot.waitExposed(tab)
    with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
        assert tab.open_file(path)
    return tab, runner


@pytest.mark.parametrize("size", [(900, 620), (1700, 1100)])
def test_preview_follows_the_panes_and_its_first_frame_fills_them(
    qtbot, messages, gated, photo, size
):
    tab, runner = open_in(qtbot, size, photo)
    try:
        s, ui = tab.session, tab.ui
        f = s.factors
        assert s.is_preview and not s.full
        # The factor: the finest compare pane's image pixels per device pixel, rounded down.
        panes = [pane_px(p) for p in (ui.original_pane, ui.recon_pane, ui.error_pane)]
        per_px = min(max(1200 / pw, 900 / ph) for pw, ph in panes if pw >= 48 and ph >= 48)
        assert f.downsample_factor == max(1, math.floor(per_px)) == s.preview_factor()
        assert (f.height, f.width) == (900 // f.downsample_factor, 1200 // f.downsample_factor)
        assert "(preview)" in ui.recon_pane.title.text()
        assert f"computed on a {f.width}×{f.height} copy" in ui.notes_label.text()
        # The first frame drawn holds one sample per device pixel of the fitted image.
        qtbot.waitUntil(lambda: ui.recon_pane.item.image is not None, timeout=TIMEOUT)
        fh, fw = ui.recon_pane.item.image.shape[:2]
        pw, ph = pane_px(ui.recon_pane)
        fitted = max(1200 / pw, 900 / ph)
        assert fw >= min(1200, round(1200 / fitted)) and fh >= min(900, round(900 / fitted))
        assert (fh, fw) == (f.height, f.width)
    finally:
        runner.shutdown()


def test_small_and_large_windows_get_different_previews(qtbot, messages, gated, photo):
    factors = []
    for size in ((900, 620), (1700, 1100)):
        tab, runner = open_in(qtbot, size, photo)
        factors.append(tab.session.factors.downsample_factor)
        runner.shutdown()
    assert factors[0] > factors[1] >= 1


def test_a_resize_does_not_restart_the_preview(qtbot, messages, gated, photo):
    tab, runner = open_in(qtbot, (900, 620), photo)
    try:
        s = tab.session
        f, gen = s.factors, s.generation
        submitted = []
        runner.started.connect(lambda channel, _id, *_a: submitted.append(channel))
        tab.resize(1700, 1100)
        qtbot.waitUntil(lambda: pane_px(tab.ui.recon_pane)[0] > 500, timeout=TIMEOUT)
        qtbot.wait(300)  # the display grid follows the resize (debounced)
        assert s.factors is f and s.generation == gen and "image.preview" not in submitted
        # ... but the next preview (a colour mode change) is sized for the new panes.
        before = f.downsample_factor
        with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
            s.set_mode("gray")
        assert s.factors.mode == "gray" and s.factors.downsample_factor < before
        assert s.factors.downsample_factor == s.preview_factor()
    finally:
        runner.shutdown()
