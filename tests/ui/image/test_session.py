"""The Image session and what first use found: progress, cancel and resume, preview marks,
stale metrics, honest byte counts (checked against Pillow), odd sizes and factor files."""

from __future__ import annotations

import io
import math
import re
import threading

import numpy as np
import pytest
from PIL import Image

from svdstudio.engine.decomposition import Cancelled
from svdstudio.engine.image import decompose_image, mode_reference
from svdstudio.engine.image.color import channel
from svdstudio.engine.image.crop import ErrorMapper
from svdstudio.io.image_factors import load_factors
from svdstudio.io.images import load_image
from svdstudio.ui.image import render as image_render
from svdstudio.ui.image import session as session_module
from svdstudio.ui.image import session_cache, session_decompose, session_measure
from svdstudio.ui.image.jobs import codec_job, preview_job
from svdstudio.ui.image.metrics_table import fmt_energy, fmt_percent
from svdstudio.ui.image.session import SvdProgress
from svdstudio.ui.image.tab import ImageTab
from svdstudio.workers import JobRunner

TIMEOUT = 30_000


def use_staged_svd(monkeypatch, svd) -> None:
    """Big images go through the preview and ``svd`` (in a thread), with a 60-pixel preview."""
    monkeypatch.setattr(session_decompose, "decompose_image", svd)
    monkeypatch.setattr(session_decompose, "FULL_IN_PROCESS", False)
    monkeypatch.setattr(session_decompose, "PREVIEW_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr(session_module, "PREVIEW_SIDE", 60)
    monkeypatch.setattr(session_module, "PREVIEW_MAX_SIDE", 60)


def top_40_stage(wait_for: threading.Event | None = None):
    """A staged SVD: the preview, then (once ``wait_for`` is set) the exact top 40 of each
    channel as a stage, then nothing until it is cancelled."""
    from svdstudio.engine import decompose_topk
    from svdstudio.engine.image import ImageFactors

    def svd(pixels, mode="rgb", *, preview_side=None, release_gil=False, job=None):
        if preview_side is not None:
            return decompose_image(pixels, mode, preview_side=preview_side, release_gil=True)
        if wait_for is not None:
            wait_for.wait(10)
        chans = [np.ascontiguousarray(pixels[..., c], dtype=np.float32) for c in range(3)]
        tops = tuple(decompose_topk(ch, 40, allow_float32=True) for ch in chans)
        job.partial(ImageFactors("rgb", *pixels.shape[:2], ("R", "G", "B"), tops))
        while not job.cancelled():
            threading.Event().wait(0.01)
        raise Cancelled()

    return svd


@pytest.fixture
def tab(qtbot, messages):
    runner = JobRunner()
    w = ImageTab(runner)
    qtbot.addWidget(w)
    w.resize(1200, 760)
    w.show()
    yield w
    runner.shutdown()


@pytest.fixture
def gate(monkeypatch):
    """The full-resolution SVD waits (on a thread) until the test opens the gate."""
    opened = threading.Event()

    def gated(pixels, mode="rgb", *, preview_side=None, release_gil=False, job=None):
        if preview_side is None:
            job.report(0.0, "decomposing channel 1 of 3 (R)")
            while not opened.wait(0.01):
                if job.cancelled():
                    raise Cancelled()
        return decompose_image(pixels, mode, preview_side=preview_side, release_gil=release_gil)

    monkeypatch.setattr(session_decompose, "decompose_image", gated)
    monkeypatch.setattr(session_decompose, "FULL_IN_PROCESS", False)
    monkeypatch.setattr(session_decompose, "PREVIEW_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr(session_module, "PREVIEW_SIDE", 60)
    monkeypatch.setattr(session_module, "PREVIEW_MAX_SIDE", 60)
    return opened


def smooth_rgb(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0) + 20 * np.cos((x + 2 * y) / 5.0)
    return np.clip(np.stack([base, 255 - base, base * 0.5 + x % 90], -1), 0, 255).astype(np.uint8)


@pytest.fixture
def big_rgb(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(smooth_rgb(150, 200)).save(path)
    return str(path)


def numpy_rank_k(a: np.ndarray, k: int) -> np.ndarray:
    U, s, Vt = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    return np.clip((U[:, :k] * s[:k]) @ Vt[:k], 0, 255)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_percent_formats_never_round_a_loss_away():
    assert fmt_percent(1.0) == "100 %" and fmt_percent(0.0) == "0 %"
    assert fmt_percent(0.9948) == "99.48 %"
    assert fmt_percent(0.999995) == ">99.99 %"
    assert fmt_percent(3e-5) == "<0.01 %"
    assert fmt_energy(0.9999991) == ">99.99 % (9e-05 % lost)"
    assert fmt_energy(0.5) == "50.00 %"


def test_big_image_preview_then_full(qtbot, tab, gate, big_rgb):
    s = tab.session
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        assert tab.open_file(big_rgb)
    # The preview is on show, the full SVD waits at the gate.
    f = s.factors
    assert s.is_preview and not s.full and f.downsample_factor == 4
    assert (f.height, f.width) == (150 // 4, 200 // 4)
    assert "(preview)" in tab.ui.recon_pane.title.text()
    table = tab.ui.metrics_table
    for key in ("psnr_db", "stored_values", "bytes_float32", "raw_bytes", "ratio_raw"):
        assert table.value(key).endswith("(preview)"), key
    assert table.value("stored_values") == f"{s.k * (37 + 50 + 1) * 3:,} (preview)"
    qtbot.waitUntil(lambda: bool(s.sweep), timeout=TIMEOUT)
    assert all("preview" in c.caption.text() for c in tab.ui.cards if c.rank)
    assert "preview" in tab.ui.notes_label.text()
    gate.set()
    qtbot.waitUntil(lambda: s.full, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: s.metrics_current, timeout=TIMEOUT)
    f = s.factors
    assert f.downsample_factor == 1 and (f.height, f.width) == (150, 200)
    assert "(preview)" not in tab.ui.recon_pane.title.text()
    assert table.value("stored_values") == f"{s.k * (150 + 200 + 1) * 3:,}"
    qtbot.waitUntil(
        lambda: all("preview" not in c.caption.text() for c in tab.ui.cards), timeout=5000
    )


def test_progress_names_the_step_and_the_time_left(qtbot, tab, gate, big_rgb):
    s = tab.session
    seen: list[SvdProgress] = []
    s.progress.connect(seen.append)
    tab.open_file(big_rgb)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=TIMEOUT)  # about one a second
    p = seen[-1]
    assert p.step == "decomposing channel 1 of 3 (R)" and 0 <= p.fraction < 1
    assert p.elapsed > seen[0].elapsed and p.left is not None
    assert "channel 1 of 3 (R)" in p.sentence()
    # The gate holds the job past any estimate: it says so rather than "almost done".
    assert p.left is not None
    if p.left < 1:
        assert "longer than the estimated" in p.sentence()
    else:
        assert "left" in p.sentence()
    label = tab.ui.progress_label
    assert label.isVisible() and label.text().startswith("Full-resolution SVD: decomposing")
    gate.set()
    qtbot.waitUntil(lambda: s.full, timeout=TIMEOUT)
    assert not label.isVisible()


def test_cancel_says_so_keeps_the_preview_and_resumes(qtbot, tab, gate, big_rgb):
    s = tab.session
    said: list[str] = []
    tab.status_message.connect(said.append)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(big_rgb)
    qtbot.waitUntil(lambda: bool(s.sweep), timeout=TIMEOUT)
    # The PNG/JPEG sizes wait for the full-resolution factors (they slowed the SVD down).
    assert "image.svd" in s.computing() and "image.codecs" not in s.computing()
    assert s.codecs is None
    tab.runner.cancel_all()  # what the status bar's Cancel and Esc do
    assert s.cancelled() == ["image.svd"] and s.computing() == []
    assert s.is_preview and s.factors is not None  # what was computed is kept
    assert said[-1].startswith("Cancelled: keeping the preview")
    notes = tab.ui.notes_label.text()
    assert "being computed" not in notes and "Cancelled: the full-resolution SVD" in notes
    assert tab.ui.resume_button.isVisible() and not tab.ui.progress_label.isVisible()
    gate.set()
    with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
        tab.ui.resume_button.click()
    assert s.full and s.cancelled() == [] and not tab.ui.resume_button.isVisible()


def test_cancelled_codecs_do_not_wait_for_ever(qtbot, tab, monkeypatch, tmp_path):
    started = threading.Event()

    def slow_codecs(pixels, mode, job=None):
        started.set()
        while not job.cancelled():
            threading.Event().wait(0.01)
        raise Cancelled()

    monkeypatch.setattr(session_measure, "codec_job", slow_codecs)
    path = tmp_path / "g.png"
    Image.fromarray(smooth_rgb(40, 50)[..., 0]).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT)
    table = tab.ui.metrics_table
    assert table.value("png_bytes") == "…"
    tab.runner.cancel("image.codecs")
    assert table.value("png_bytes") == "not computed (cancelled)"
    assert table.value("ratio_jpeg") == "not computed (cancelled)"
    assert "Cancelled: the PNG and JPEG sizes" in tab.ui.notes_label.text()
    monkeypatch.setattr(session_measure, "codec_job", codec_job)
    tab.ui.resume_button.click()
    qtbot.waitUntil(lambda: table.value("png_bytes") not in ("…", "–"), timeout=TIMEOUT)


def test_stale_metrics_are_greyed_until_the_new_ones_arrive(qtbot, tab, tmp_path):
    path = tmp_path / "s.png"
    Image.fromarray(smooth_rgb(64, 80)).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    table = tab.ui.metrics_table
    assert not table.stale
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.session.set_rank(5)
        assert table.stale  # at once: the figures on show are for the old k
        grey = table.item(1, 1).foreground().color().name()
        assert grey == "#9a9a9a"
    assert not table.stale and table.value("rank") == "5"
    tab.session.set_rank(9, preview=True)  # dragging: stale until the release
    assert table.stale


def test_png_jpeg_bytes_ratios_and_a_curve_point_match_pillow(qtbot, tab, tmp_path):
    rgb = smooth_rgb(60, 72)
    path = tmp_path / "c.png"
    Image.fromarray(rgb).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    s = tab.session
    qtbot.waitUntil(lambda: s.codecs is not None and bool(s.sweep), timeout=TIMEOUT)
    qtbot.waitUntil(
        lambda: s.metrics is not None and s.metrics.png_bytes is not None, timeout=TIMEOUT
    )
    png, jpeg75, jpeg50 = io.BytesIO(), io.BytesIO(), io.BytesIO()
    Image.fromarray(rgb).save(png, "PNG")
    Image.fromarray(rgb).save(jpeg75, "JPEG", quality=75)
    Image.fromarray(rgb).save(jpeg50, "JPEG", quality=50)
    m = s.metrics
    assert m.png_bytes == len(png.getvalue()) and m.jpeg_bytes == len(jpeg75.getvalue())
    f32 = 4 * s.k * (60 + 72 + 1) * 3
    assert m.bytes_float32 == f32
    table = tab.ui.metrics_table
    assert table.value("ratio_png").split(" · ")[0] == f"{len(png.getvalue()) / f32:,.2f}×"
    assert table.value("raw_bytes") == f"{60 * 72 * 3 / 1024:,.1f} KiB"
    units = {table.value(k).split()[-1] for k in ("bytes_float32", "raw_bytes", "png_bytes")}
    assert units == {"KiB"}  # one unit for the whole table
    # The JPEG curve's quality-50 point: Pillow's bytes, PSNR of Pillow's decoding.
    decoded = np.asarray(Image.open(io.BytesIO(jpeg50.getvalue())), dtype=np.float64)
    xs, ys = tab.ui.quality_plot.jpeg.getData()
    i = [p.quality for p in s.codecs.jpeg].index(50)
    assert xs[i] == pytest.approx(math.log10(len(jpeg50.getvalue()) / 1024))
    assert ys[i] == pytest.approx(psnr(rgb, decoded), abs=1e-6)
    # The SVD curve's rank-8 point: bytes k(m+n+1)·3·4, PSNR of a plain numpy rank-8 image.
    want = np.stack([numpy_rank_k(rgb[..., c], 8) for c in range(3)], -1)
    xs, ys = tab.ui.quality_plot.svd32.getData()
    j = [m.rank for m in s.sweep].index(8)
    assert xs[j] == pytest.approx(math.log10(4 * 8 * (60 + 72 + 1) * 3 / 1024))
    assert ys[j] == pytest.approx(psnr(rgb, want), abs=0.01)


def test_a_size_jpeg_cannot_store_is_said_and_the_rest_works(qtbot, tab, tmp_path, messages):
    wide = (np.arange(65535) % 256).astype(np.uint8)[None, :]
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        assert tab.open_file(str(path))
    s = tab.session
    qtbot.waitUntil(lambda: s.codecs is not None, timeout=TIMEOUT)
    table = tab.ui.metrics_table
    qtbot.waitUntil(
        lambda: "JPEG cannot store this size" in table.value("jpeg_bytes"), timeout=5000
    )
    assert "JPEG cannot store" in table.value("ratio_jpeg")
    png = io.BytesIO()
    Image.fromarray(wide).save(png, "PNG")
    assert s.codecs.png_bytes == len(png.getvalue())
    assert s.factors.max_rank == 1 and s.metrics.rank == 1
    assert messages == []  # no error dialog


def test_factor_file_ranks_and_error_against_the_original(qtbot, tab, tmp_path):
    rgb = smooth_rgb(48, 64)
    path = tmp_path / "o.png"
    Image.fromarray(rgb).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.session.set_rank(6)
    out = tmp_path / "o.svdz"
    assert tab.save_factor_file(str(out))
    factors, header = load_factors(out)
    assert header["ranks"] == [6, 6, 6] and (factors.height, factors.width) == (48, 64)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        assert tab.open_file(str(out))
    m = tab.session.metrics
    # Against the original (plain numpy): sqrt(Σ_{i>6} σ² / Σ σ²) over the three channels.
    s2 = [np.linalg.svd(rgb[..., c].astype(float), compute_uv=False) ** 2 for c in range(3)]
    want = math.sqrt(sum(x[6:].sum() for x in s2) / sum(x.sum() for x in s2))
    # The file's 8-bit factors add their own rounding to the truncation error: how much
    # depends on the last bits of the factors, so allow 1 % (it was 0.03 % to 0.5 %).
    assert m.relative_error == pytest.approx(want, rel=1e-2) and m.relative_error > 0.001
    text = tab.ui.metrics_table.value("relative_error")
    assert text.startswith(f"{100 * m.relative_error:.2f} %") and "vs the original" in text
    assert tab.ui.metrics_table.value("energy_retained") == fmt_energy(1 - want**2)


def test_luma_ssim_legends_and_signed_error(qtbot, tab, tmp_path):
    path = tmp_path / "l.png"
    Image.fromarray(smooth_rgb(64, 80)).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    s = tab.session
    qtbot.waitUntil(lambda: bool(s.sweep), timeout=TIMEOUT)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        s.set_rank(2)
    table = tab.ui.metrics_table
    assert table.item(2, 0).text() == "SSIM (luma)"
    assert all("SSIM (luma)" in c.caption.text() for c in tab.ui.cards if c.rank)
    assert tab.ui.error_legend.labels == ("darker −63", "0", "+63 brighter")
    tab.ui.view_tabs.setCurrentIndex(2)
    assert "mid-grey = 0" in tab.ui.layer_pane.title.text()
    ch = s.factors.channels
    peak = max(np.abs(c.s[0] * np.outer(c.U[:, 0], c.Vt[0])).max() for c in ch)
    low, mid, high = tab.ui.layer_legend.labels
    assert mid == "mid-grey = 0 (stretched)" and high == f"+{peak:,.1f}" and low == f"−{peak:,.1f}"
    # The error pane is signed: 128 + 2·(A_k − A) of the channel differing most.
    rec = tab.ui.recon_pane.item.image.astype(int)
    ref = np.asarray(Image.open(path)).astype(int)
    d = rec - ref
    pick = np.argmax(np.abs(d), axis=2)[..., None]
    d = np.take_along_axis(d, pick, axis=2)[..., 0]
    np.testing.assert_array_equal(tab.ui.error_pane.item.image, 128 + 2 * np.clip(d, -63, 63))
    assert (d > 0).any() and (d < 0).any()


def test_main_window_opens_the_last_image_only_when_its_tab_is_shown(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from svdstudio.app import create_main_window

    path = tmp_path / "last.png"
    Image.fromarray(smooth_rgb(40, 48)).save(path)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("initialized", True)
    settings.setValue("window/tab", 0)
    settings.setValue("image/lastFile", str(path))
    w = create_main_window(settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    tab = w.tab_by_kind["image"]
    try:
        assert tab.session.image is None and tab.pending_file() == str(path)
        assert not w.runner.is_running("image.svd")
        with qtbot.waitSignal(tab.factors_ready, timeout=TIMEOUT):
            w.tabs.setCurrentWidget(tab)
        assert tab.session.image.path == str(path)
        assert load_image(str(path)).pixels.shape == tab.session.pixels.shape
    finally:
        w.runner.shutdown()


def test_status_sentence_names_luma_ssim(qtbot, tab, tmp_path):
    said: list[str] = []
    tab.status_message.connect(said.append)
    path = tmp_path / "g.png"
    Image.fromarray(smooth_rgb(40, 50)[..., 1]).save(path)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    assert any(re.match(r"k = \d+: PSNR [\d.]+ dB, SSIM \(luma\) ", t) for t in said)


def test_a_new_metric_field_gets_a_row_by_name(qtbot, monkeypatch):
    import dataclasses

    from svdstudio.engine.image import ImageMetrics
    from svdstudio.ui.image import metrics_table

    @dataclasses.dataclass(frozen=True)
    class WithIndex(ImageMetrics):
        new_index: float = 0.0

    monkeypatch.setattr(metrics_table, "ImageMetrics", WithIndex)
    table = metrics_table.MetricsTable()
    qtbot.addWidget(table)
    m = WithIndex(
        rank=4, chroma_rank=None, psnr_db=30.0, ssim=0.9, relative_error=0.05,
        energy_retained=0.9975, stored_values=100, bytes_float32=400, bytes_float16=220,
        bytes_uint8=180, raw_bytes=1200, png_bytes=900, jpeg_bytes=None, jpeg_quality=None,
        compression_ratio=3.0, new_index=0.123456,
    )  # fmt: skip
    table.show_metrics(m)
    assert table.item(table.rowCount() - 1, 0).text() == "New index"
    assert table.value("new_index") == "0.1235"
    assert table.value("energy_retained") == "99.75 %" and table.value("rank") == "4"
    assert table.value("png_bytes") == "900 B" and table.value("jpeg_bytes") == "–"


def test_switching_the_colour_mode_back_reuses_the_kept_factors(qtbot, tab, tmp_path):
    path = tmp_path / "m.png"
    Image.fromarray(smooth_rgb(64, 80)).save(path)
    s = tab.session
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    qtbot.waitUntil(lambda: s.full and s.codecs is not None and not s.computing(), timeout=TIMEOUT)
    rgb, rgb_codecs = s.factors, s.codecs
    s.set_rank(7)
    qtbot.waitUntil(lambda: s.metrics_current and not s.computing(), timeout=TIMEOUT)
    rgb_metrics = s.metrics
    s.set_mode("ycbcr")
    qtbot.waitUntil(lambda: s.full and s.codecs is not None and not s.computing(), timeout=TIMEOUT)
    ycc = s.factors
    assert ycc.mode == "ycbcr" and ycc is not rgb
    starts: list[str] = []
    tab.runner.started.connect(lambda channel, _i, _d: starts.append(channel))
    s.set_mode("rgb")
    # At once, without an SVD: the same factors and PNG/JPEG figures as before the switch.
    assert s.factors is rgb and s.full and s.codecs is rgb_codecs and s.k == 7
    assert "image.svd" not in starts and "image.preview" not in starts
    assert "image.codecs" not in starts
    qtbot.waitUntil(lambda: s.metrics_current, timeout=TIMEOUT)
    assert s.metrics.psnr_db == pytest.approx(rgb_metrics.psnr_db, abs=1e-9)
    s.set_mode("ycbcr")
    assert s.factors is ycc and "image.svd" not in starts
    # Another image forgets them: its colour modes are decomposed afresh.
    other = tmp_path / "n.png"
    Image.fromarray(smooth_rgb(50, 70)).save(other)
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(other))
    qtbot.waitUntil(lambda: s.full and not s.computing(), timeout=TIMEOUT)
    starts.clear()
    s.set_mode("rgb")
    assert s.factors is None and "image.svd" in starts


def test_factors_are_not_kept_past_the_memory_budget(qtbot, tab, tmp_path, monkeypatch):
    monkeypatch.setattr(session_cache, "factor_cache_budget", lambda: 1000)  # bytes
    path = tmp_path / "b.png"
    Image.fromarray(smooth_rgb(64, 80)).save(path)
    s = tab.session
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.open_file(str(path))
    qtbot.waitUntil(lambda: s.full and not s.computing(), timeout=TIMEOUT)
    s.set_mode("ycbcr")
    qtbot.waitUntil(lambda: s.full and not s.computing(), timeout=TIMEOUT)
    s.set_mode("rgb")
    assert s.factors is None and "image.svd" in s.computing()  # decomposed again
    qtbot.waitUntil(lambda: s.full, timeout=TIMEOUT)


def test_stages_of_the_full_svd_wait_to_be_measured(qtbot, tab, monkeypatch, big_rgb):
    """A progressive SVD's stages are shown, but metrics, sweep and codecs wait for the end."""
    proceed = threading.Event()
    staged = threading.Event()

    def staged_svd(pixels, mode="rgb", *, preview_side=None, release_gil=False, job=None):
        if preview_side is not None:
            return decompose_image(pixels, mode, preview_side=preview_side, release_gil=True)
        full = decompose_image(pixels, mode)
        job.partial(full)  # a stage: every rank (as the quick factors are)
        staged.set()
        while not proceed.wait(0.01):
            if job.cancelled():
                raise Cancelled()
        return full

    use_staged_svd(monkeypatch, staged_svd)
    s = tab.session
    starts: list[str] = []
    tab.runner.started.connect(lambda channel, _i, _d: starts.append(channel))
    tab.open_file(big_rgb)
    qtbot.waitUntil(
        lambda: s.factors is not None and s.factors.downsample_factor == 1, timeout=TIMEOUT
    )
    assert staged.is_set() and not s.full and s.metrics is None and s.sweep == []
    starts.clear()
    s.set_rank(12)  # a release during the SVD: measured when the final factors land
    assert s.computing() == ["image.svd"] and starts == []
    proceed.set()
    qtbot.waitUntil(lambda: s.full and s.metrics_current and bool(s.sweep), timeout=TIMEOUT)
    assert s.metrics.rank == 12 and "image.codecs" in starts
    assert "(preview)" not in tab.ui.recon_pane.title.text()


def open_until_a_stage(qtbot, tab, path) -> list[str]:
    """Open ``path`` and wait for a full-resolution stage on show; the status messages said."""
    s = tab.session
    said: list[str] = []
    tab.status_message.connect(said.append)
    tab.open_file(path)
    qtbot.waitUntil(
        lambda: s.factors is not None and s.factors.downsample_factor == 1, timeout=TIMEOUT
    )
    return said


def test_a_cancel_during_a_stage_says_what_is_kept(qtbot, tab, monkeypatch, big_rgb):
    use_staged_svd(monkeypatch, top_40_stage())
    s = tab.session
    said = open_until_a_stage(qtbot, tab, big_rgb)
    tab.runner.cancel_all()
    assert s.cancelled() == ["image.svd"] and s.computing() == []
    assert said[-1] == (
        "Cancelled: keeping the top 40 of 150 full-resolution ranks; "
        "Compute the rest finishes the full-resolution SVD."
    )
    assert s.factors.max_rank == 40 and not s.full
    s.resume()  # the full SVD again; the stage on show is measured when it is replaced
    assert s.computing() == ["image.svd"]


def test_a_stage_stops_the_measurements_of_the_factors_it_replaced(
    qtbot, tab, monkeypatch, big_rgb
):
    """The preview's metrics and sweep, still running when the first full-resolution stage
    arrives, measure factors no longer on show: stopped then, not left to finish for nothing
    (under load they still ran when the user pressed Esc)."""
    measuring = threading.Event()
    stopped: list[str] = []

    def until_cancelled(name):
        def run(*_args, job=None, **_kwargs):
            if name == "metrics":
                measuring.set()
            while not job.cancelled():
                threading.Event().wait(0.01)
            stopped.append(name)
            raise Cancelled()

        return run

    use_staged_svd(monkeypatch, top_40_stage(measuring))
    monkeypatch.setattr(session_measure, "image_metrics", until_cancelled("metrics"))
    monkeypatch.setattr(session_measure, "sweep_job", until_cancelled("sweep"))
    s = tab.session
    said = open_until_a_stage(qtbot, tab, big_rgb)
    assert s.computing() == ["image.svd"]  # the measurements of the preview are stopped
    qtbot.waitUntil(lambda: sorted(stopped) == ["metrics", "sweep"], timeout=TIMEOUT)
    assert s.cancelled() == [] and not any(m.startswith("Cancelled") for m in said)
    tab.runner.cancel_all()
    assert s.cancelled() == ["image.svd"]


def test_png_jpeg_sizes_start_after_the_metrics_and_the_sweep(qtbot, tab, tmp_path):
    """Run together the three measurements held three copies of a big image at once."""
    path = tmp_path / "q.png"
    Image.fromarray(smooth_rgb(64, 80)).save(path)
    s = tab.session
    events: list[tuple[str, str]] = []
    tab.runner.started.connect(lambda channel, _i, _d: events.append(("start", channel)))
    tab.runner.result_ready.connect(lambda channel, _i, _v: events.append(("end", channel)))
    tab.open_file(str(path))
    qtbot.waitUntil(lambda: s.full and s.codecs is not None and not s.computing(), timeout=TIMEOUT)
    codecs = events.index(("start", "image.codecs"))
    ends = [
        i for i, e in enumerate(events) if e in (("end", "image.metrics"), ("end", "image.sweep"))
    ]
    starts = [
        i
        for i, e in enumerate(events)
        if e in (("start", "image.metrics"), ("start", "image.sweep"))
    ]
    assert len(starts) == 2 and len(ends) == 2 and max(ends) < codecs
    assert events.count(("start", "image.codecs")) == 1
    assert s.metrics.png_bytes == s.codecs.png_bytes  # the table got the sizes afterwards


def test_a_previews_error_map_uses_the_reference_its_job_rounded(
    qtbot, tab, gate, big_rgb, monkeypatch
):
    """The preview job rounds its downsampled original for the error map: rounding it on the
    GUI thread was a mode change's longest pause on a busy machine (113 ms).  The map is the
    exact one; the full-resolution factors use the original pane's pixels instead."""
    refs = []
    real = image_render.FastErrorMapper
    monkeypatch.setattr(image_render, "FastErrorMapper", lambda ref: refs.append(ref) or real(ref))
    s, r, ui = tab.session, tab.renderer, tab.ui
    assert tab.open_file(big_rgb)
    qtbot.waitUntil(lambda: s.factors is not None and s.is_preview, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: bool(refs) and not r._arrival.pending(), timeout=TIMEOUT)
    u8 = s.metric_reference_u8
    assert u8 is not None and u8.dtype == np.uint8 and u8.shape == s.metric_original.shape
    assert np.shares_memory(refs[-1], u8)  # a view of the job's rounding, not a new one
    rows, cols = r._grid
    exact = ErrorMapper(mode_reference(s.metric_original[rows, cols], s.mode))
    shown = np.asarray(ui.recon_pane.item.image)
    np.testing.assert_array_equal(ui.error_pane.item.image, exact.compute(shown))
    gate.set()
    qtbot.waitUntil(lambda: s.full, timeout=TIMEOUT)
    assert s.metric_reference_u8 is None  # the full factors' original is the image itself
    qtbot.waitUntil(lambda: len(refs) >= 2 and not r._arrival.pending(), timeout=TIMEOUT)
    assert refs[-1] is r._original_u8


def test_preview_job_gives_the_preview_factors_and_their_original():
    img = smooth_rgb(150, 200).astype(np.float32)
    p = preview_job(img, "ycbcr", 4)
    assert p.factors.downsample_factor == 4 and p.factors.mode == "ycbcr"
    assert (p.factors.height, p.factors.width) == (37, 50)
    small = img[:148, :200].reshape(37, 4, 50, 4, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(p.original, small, rtol=1e-6)
    assert not p.original.flags.writeable
    # ... and the same rounded for the error map, in the factors' mode (RGB for YCbCr).
    assert p.reference_u8.dtype == np.uint8 and p.reference_u8.shape == p.original.shape
    np.testing.assert_array_equal(
        p.reference_u8, np.clip(np.rint(mode_reference(p.original, "ycbcr")), 0, 255)
    )
    gray = preview_job(img, "gray", 4)
    assert gray.reference_u8.shape == (37, 50)  # the luma
    np.testing.assert_array_equal(
        gray.reference_u8, np.clip(np.rint(mode_reference(gray.original, "gray")), 0, 255)
    )
    # Its factors are the SVD of that copy's channels (against numpy's, in float64).
    for c, res in enumerate(p.factors.channels):
        ref = np.linalg.svd(channel(p.original, "ycbcr", c).astype(np.float64), compute_uv=False)
        big = ref >= 1e-3 * ref[0]
        np.testing.assert_allclose(res.s[big], ref[big], rtol=1e-5)


def test_preview_arrival_does_not_downsample_in_the_gui_thread(
    qtbot, tab, gate, big_rgb, monkeypatch
):
    # The preview job made the downsampled original; doing it again on arrival blocked
    # the window (about 0.2 s at 12 MP, busy machine).
    def no(*_a, **_k):
        raise AssertionError("downsampled in the GUI thread")

    monkeypatch.setattr(session_decompose, "downsample", no)
    s = tab.session
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        assert tab.open_file(big_rgb)
    assert s.is_preview and s.metric_original.shape == (37, 50, 3)
    assert s.metrics.psnr_db > 20


def test_gallery_pictures_come_with_the_sweep(qtbot, tab, gate, big_rgb, monkeypatch):
    from svdstudio.engine.image import display_grid, reconstruct_image
    from svdstudio.ui.image import measure as measure_module

    def no(*_a, **_k):
        raise AssertionError("a gallery picture was rebuilt in the GUI thread")

    monkeypatch.setattr(measure_module, "reconstruct_image", no)
    monkeypatch.setattr(measure_module, "mode_reference", no)
    s = tab.session
    tab.open_file(big_rgb)
    qtbot.waitUntil(lambda: bool(s.sweep), timeout=TIMEOUT)
    gate.set()
    qtbot.waitUntil(lambda: s.full and bool(s.sweep), timeout=TIMEOUT)
    f = s.factors
    rows, cols = display_grid(f.height, f.width, session_measure.THUMB_SIDE)
    want = np.clip(np.rint(reconstruct_image(f, 8, None, rows=rows, cols=cols)), 0, 255)
    np.testing.assert_array_equal(s.gallery_picture(8), want.astype(np.uint8))
    full = s.gallery_picture(f.full_rank)  # the image itself
    np.testing.assert_array_equal(full, np.rint(s.pixels[rows, cols]).astype(np.uint8))
    card = next(c for c in tab.ui.cards if c.rank == 8)
    assert card.caption.text().startswith("k = 8:") and not card.image().isNull()


@pytest.mark.parametrize("floor", [0, 256 << 20])
def test_cached_factors_leave_when_a_running_svd_needs_their_room(
    qtbot, tab, big_rgb, monkeypatch, floor
):
    # Budget: two sets of this image's factors (floor 0), or memory is no concern (256 MiB).
    # A YCbCr SVD reserves two sets (its quick stage and final factors): the RGB factors
    # must go when it starts, not after it ends (the GUI held all three at 12 MP).
    held = threading.Event()

    def svd(pixels, mode="rgb", *, preview_side=None, release_gil=False, job=None):
        if preview_side is None and mode == "ycbcr":
            held.set()
            while not job.cancelled():
                threading.Event().wait(0.01)
            raise Cancelled()
        return decompose_image(pixels, mode, preview_side=preview_side, release_gil=release_gil)

    monkeypatch.setattr(session_decompose, "decompose_image", svd)
    monkeypatch.setattr(session_decompose, "FULL_IN_PROCESS", False)
    monkeypatch.setattr(session_decompose, "PREVIEW_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr(session_module, "PREVIEW_SIDE", 60)
    monkeypatch.setattr(session_module, "PREVIEW_MAX_SIDE", 60)
    monkeypatch.setattr(session_cache, "CACHE_FLOOR", floor)
    s = tab.session
    tab.open_file(big_rgb)
    qtbot.waitUntil(lambda: s.full and not s.computing(), timeout=TIMEOUT)
    rgb = s.factors
    s.set_mode("ycbcr")
    qtbot.waitUntil(lambda: held.is_set() and "image.svd" in s.computing(), timeout=TIMEOUT)
    s.cancel()
    qtbot.waitUntil(lambda: "image.svd" in s.cancelled(), timeout=TIMEOUT)
    s.set_mode("rgb")
    if floor:
        assert s.factors is rgb and s.full and "image.svd" not in s.computing()
    else:  # decomposed again, preview first
        assert s.factors is None and "image.preview" in s.computing()
        qtbot.waitUntil(lambda: s.full, timeout=TIMEOUT)
