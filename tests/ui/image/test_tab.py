"""Image tab GUI flow: open a sample, move k, export; bad files; modes; targets; factor files."""

from __future__ import annotations

import csv
import io
import threading

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from svdstudio.engine.image import display_grid, reconstruct_image
from svdstudio.io.image_factors import load_factors
from svdstudio.io.images import load_image
from svdstudio.resources import resource_path
from svdstudio.ui.image import tab as image_tab_module
from svdstudio.ui.image.tab import ImageTab
from svdstudio.workers import JobRunner

CAMERA = str(resource_path("images", "camera.png"))
TIMEOUT = 30_000


@pytest.fixture
def tab(qtbot, messages):
    runner = JobRunner()
    w = ImageTab(runner)
    qtbot.addWidget(w)
    w.resize(1200, 760)
    yield w
    runner.shutdown()


def smooth(h: int, w: int, color: bool) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0) + 20 * np.cos((x + 2 * y) / 5.0)
    if not color:
        return np.clip(base, 0, 255).astype(np.uint8)
    return np.clip(np.stack([base, 255 - base, base * 0.5 + x], -1), 0, 255).astype(np.uint8)


@pytest.fixture
def small_gray(tmp_path):
    path = tmp_path / "small_gray.png"
    Image.fromarray(smooth(72, 96, False)).save(path)
    return str(path)


@pytest.fixture
def small_rgb(tmp_path):
    path = tmp_path / "small_rgb.png"
    Image.fromarray(smooth(64, 80, True)).save(path)
    return str(path)


def open_and_wait(qtbot, tab, path) -> None:
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        assert tab.open_file(path)


def numpy_rank_k(a: np.ndarray, k: int) -> np.ndarray:
    U, s, Vt = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    return np.clip((U[:, :k] * s[:k]) @ Vt[:k], 0, 255)


def test_object_names_and_accessibility(tab):
    for name in (
        "imageTab",
        "imageOriginalView",
        "imageReconstructionView",
        "imageRankSpin",
        "imageMetricsTable",
        "imageGallery",
    ):
        w = tab if name == "imageTab" else tab.findChild(QtWidgets.QWidget, name)
        assert w is not None and w.objectName() == name
    for w in tab.findChildren(QtWidgets.QAbstractButton) + tab.findChildren(QtWidgets.QComboBox):
        if w.objectName().startswith("image"):
            assert w.toolTip() and w.accessibleName(), w.objectName()
    assert "*.png" in tab.file_filter()


def test_open_sample_move_k_and_export(qtbot, tab, tmp_path, monkeypatch):
    opened = []
    tab.file_opened.connect(opened.append)
    open_and_wait(qtbot, tab, CAMERA)
    assert opened and opened[0].endswith("camera.png")
    cam = load_image(CAMERA).pixels.astype(np.float64)
    spin = tab.findChild(QtWidgets.QSpinBox, "imageRankSpin")
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        spin.setValue(8)
    assert tab.rank() == 8
    want = numpy_rank_k(cam, 8)
    psnr = 10 * np.log10(255**2 / np.mean((cam - want) ** 2))
    table = tab.findChild(QtWidgets.QTableWidget, "imageMetricsTable")
    assert table.value("PSNR") == f"{psnr:.2f} dB"
    assert table.value("Stored values") == f"{8 * (512 + 512 + 1):,}"
    shown = tab.ui.recon_pane.item.image
    assert shown.shape == (512, 512)
    assert np.max(np.abs(shown.astype(float) - np.rint(want))) <= 1.0

    # Export PNG through the dialog path, CSV and factors directly.
    out_png = tmp_path / "rec.png"
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out_png), "")
    )
    tab.export("png")
    saved = np.asarray(Image.open(out_png), dtype=np.float64)
    assert saved.shape == (512, 512) and np.max(np.abs(saved - np.rint(want))) <= 1.0
    qtbot.waitUntil(
        lambda: tab.session.codecs is not None and bool(tab.session.sweep), timeout=TIMEOUT
    )
    out_csv = tmp_path / "m.csv"
    assert tab.export_metrics_csv(str(out_csv))
    with out_csv.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["row"] == "current" and int(rows[0]["rank"]) == 8
    assert float(rows[0]["psnr_db"]) == pytest.approx(psnr, abs=1e-3)
    assert int(rows[0]["bytes_float32"]) == 4 * 8 * 1025
    png, jpeg = io.BytesIO(), io.BytesIO()
    Image.fromarray(cam.astype(np.uint8)).save(png, "PNG")
    Image.fromarray(cam.astype(np.uint8)).save(jpeg, "JPEG", quality=75)
    assert int(rows[0]["png_bytes"]) == len(png.getvalue())
    assert int(rows[0]["jpeg_bytes"]) == len(jpeg.getvalue())
    sweep = [r for r in rows if r["row"] == "sweep"]
    assert [int(r["rank"]) for r in sweep][:6] == [1, 2, 4, 8, 16, 32]
    assert int(sweep[3]["bytes_float32"]) == 4 * 8 * 1025
    out_f = tmp_path / "cam.svdz"
    assert tab.save_factor_file(str(out_f))
    factors, header = load_factors(out_f)
    assert header["ranks"] == [8] and header["mode"] == "gray"
    assert (factors.height, factors.width, factors.max_rank) == (512, 512, 8)
    # The 8-bit factors rebuild the rank-8 image to within a few grey levels.
    rebuilt = reconstruct_image(factors, 8)
    assert np.sqrt(np.mean((rebuilt - want) ** 2)) < 2.0


def test_factor_file_reopens(qtbot, tab, tmp_path, small_gray):
    open_and_wait(qtbot, tab, small_gray)
    tab.set_rank(12)
    path = tmp_path / "cam.svdz"
    assert tab.save_factor_file(str(path))
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        assert tab.open_file(str(path))
    assert tab.rank() == 12 and tab.session.factors.max_rank == 12
    assert "Factor file" in tab.ui.notes_label.text()


def test_gallery_labels(qtbot, tab, small_gray):
    open_and_wait(qtbot, tab, small_gray)
    qtbot.waitUntil(lambda: bool(tab.session.sweep), timeout=TIMEOUT)
    captions = [c.caption.text() for c in tab.ui.cards]
    assert captions[0].startswith("k = 8:") and "dB" in captions[0]
    assert captions[3].startswith("k = full:")
    # The full-rank card is the image itself, subsampled like the others.
    pic = tab.ui.cards[3].image()
    rows, cols = display_grid(72, 96, image_tab_module.THUMB_SIDE)
    want = np.rint(load_image(small_gray).pixels[rows, cols]).astype(np.uint8)
    got = np.array(
        [[QtGui.qGray(pic.pixel(x, y)) for x in range(pic.width())] for y in range(pic.height())]
    )
    np.testing.assert_array_equal(got, want)
    assert tab.findChild(QtWidgets.QWidget, "imageGallery") is tab.ui.gallery


def test_bad_files_keep_current_image(qtbot, tab, tmp_path, messages, small_gray):
    open_and_wait(qtbot, tab, small_gray)
    bad = tmp_path / "fake.png"
    bad.write_text("no picture here")
    assert not tab.open_file(str(bad))
    assert messages and "fake.png" in messages[-1] and "not an image" in messages[-1]
    trunc = tmp_path / "t.png"
    trunc.write_bytes(resource_path("images", "camera.png").read_bytes()[:2000])
    assert not tab.open_file(str(trunc))
    assert "truncated or corrupt" in messages[-1]
    assert tab.session.image.path == small_gray and tab.session.factors is not None


@pytest.fixture
def bomb(tmp_path, monkeypatch):
    """A 160×120 PNG above a safety limit of 5000 pixels, and the question's answers."""
    img = np.random.default_rng(0).integers(0, 255, (120, 160), dtype=np.uint8)
    path = tmp_path / "big.png"
    Image.fromarray(img).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    monkeypatch.setattr(image_tab_module, "DOWNSCALE_TO", 4800)
    asked: list[tuple[str, bool]] = []
    answer = {"choice": "downscale"}

    def ask(parent, text, offer_full):
        asked.append((text, offer_full))
        return answer["choice"]

    monkeypatch.setattr(image_tab_module, "ask_large_image", ask)
    return path, img, asked, answer


def test_bomb_offers_downscaled_copy(qtbot, tab, bomb):
    path, _img, asked, _answer = bomb
    open_and_wait(qtbot, tab, str(path))
    text, offer_full = asked[0]
    assert "19,200 pixels" in text and offer_full  # 160×120 fits in any machine's memory
    assert tab.session.pixels.shape[0] * tab.session.pixels.shape[1] <= 4800
    assert "Downscaled" in tab.ui.notes_label.text()
    assert Image.MAX_IMAGE_PIXELS == 5000  # the limit is never raised


def test_bomb_full_image_when_memory_allows(qtbot, tab, bomb, monkeypatch):
    path, img, asked, answer = bomb
    answer["choice"] = "full"
    monkeypatch.setattr(image_tab_module, "available_memory", lambda: 8 * 2**30)
    open_and_wait(qtbot, tab, str(path))
    text, offer_full = asked[0]
    need = image_tab_module.full_open_bytes(160, 120, False)
    # float32 pixels, two working copies of the channel, full factors (p = 120).
    assert need == 3 * 4 * 160 * 120 + 4 * 120 * (160 + 120 + 1)
    assert offer_full and f"about {need / 2**30:.1f} GiB" in text and "8.0 GiB" in text
    np.testing.assert_array_equal(tab.session.pixels, img.astype(np.float32))
    assert "Downscaled" not in tab.ui.notes_label.text()
    assert Image.MAX_IMAGE_PIXELS == 5000


def test_bomb_full_image_not_offered_without_memory(qtbot, tab, bomb, monkeypatch, small_gray):
    path, _img, asked, answer = bomb
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 72×96 opens without a question
    open_and_wait(qtbot, tab, small_gray)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    monkeypatch.setattr(image_tab_module, "available_memory", lambda: 100_000)
    answer["choice"] = "cancel"
    assert not tab.open_file(str(path))
    assert len(asked) == 1
    text, offer_full = asked[0]
    assert not offer_full and "more than the 0.0 GiB available" in text
    # Refused: nothing is lost, the image on show stays.
    assert tab.session.image.path == small_gray and tab.session.factors is not None


def test_big_file_decodes_on_a_thread_and_a_failure_keeps_the_image(
    qtbot, tab, tmp_path, monkeypatch, small_gray
):
    open_and_wait(qtbot, tab, small_gray)
    monkeypatch.setattr(image_tab_module, "DECODE_IN_THREAD_ABOVE", 1000)
    rgb = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    good = tmp_path / "photo.png"
    Image.fromarray(rgb).save(good)
    threads = []
    real = image_tab_module.load_image

    def spy(*a, **k):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    monkeypatch.setattr(image_tab_module, "load_image", spy)
    opened = []
    tab.file_opened.connect(opened.append)
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        assert tab.open_file(str(good))
        assert tab.session.image.path == small_gray  # still decoding: the old one shows
    assert threads == [False] and opened and opened[0].endswith("photo.png")
    np.testing.assert_array_equal(tab.session.pixels, rgb.astype(np.float32))
    # A file whose header is fine but whose data is cut: the failure leaves the image.
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    failures = []
    tab.runner.failed.connect(lambda *a: failures.append(a))
    statuses = []
    tab.status_message.connect(statuses.append)
    assert tab.open_file(str(cut))
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT)
    assert "cut.png" in failures[0][2] and "truncated or corrupt" in failures[0][2]
    assert any(t.startswith("Did not open cut.png") for t in statuses)
    assert tab.session.image.path == str(good)


def test_ycbcr_mode_and_chroma_rank(qtbot, tab, small_rgb):
    open_and_wait(qtbot, tab, small_rgb)
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        tab.ui.mode_combo.setCurrentIndex(tab.ui.mode_combo.findData("ycbcr"))
    assert tab.session.factors.mode == "ycbcr" and tab.ui.chroma_spin.isEnabled()
    with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
        tab.ui.chroma_spin.setValue(3)
    assert tab.session.metrics.chroma_rank == 3 and tab.session.metrics.rank == tab.rank()
    assert tab.ui.recon_pane.item.image.shape == (64, 80, 3)


@pytest.mark.parametrize("target", [50.0, 95.0, 99.9])
def test_energy_target(qtbot, tab, small_gray, target):
    open_and_wait(qtbot, tab, small_gray)
    tab.ui.target_kind.setCurrentIndex(tab.ui.target_kind.findData("energy"))
    tab.ui.target_value.setValue(target)
    # Independently: the smallest k whose Σ_{i≤k} σ_i² reaches the target share of ‖A‖_F².
    a = load_image(small_gray).pixels.astype(np.float64)
    s2 = np.linalg.svd(a, compute_uv=False) ** 2
    want = int(np.searchsorted(np.cumsum(s2) / s2.sum(), target / 100 - 1e-12) + 1)
    if want != tab.rank():
        with qtbot.waitSignal(tab.metrics_ready, timeout=TIMEOUT):
            tab.ui.target_button.click()
    assert tab.rank() == want
    assert tab.findChild(QtWidgets.QSpinBox, "imageRankSpin").value() == want


def test_drop_opens_file(qtbot, tab, tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "drop.png")
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(tmp_path / "drop.png"))])
    ev = QtGui.QDropEvent(
        QtCore.QPointF(10, 10),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        tab.dropEvent(ev)
    assert tab.session.pixels.shape == (40, 50, 3)


def test_state_round_trip_reopens_lazily(qtbot, tab, tmp_path, small_gray):
    open_and_wait(qtbot, tab, small_gray)
    tab.set_rank(20)
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    tab.save_state(settings)
    runner = JobRunner()
    other = ImageTab(runner)
    qtbot.addWidget(other)
    other.restore_state(settings)
    # Not on show: nothing is read or decomposed yet, the file waits for the first show.
    assert other.session.image is None and not runner.is_running()
    assert other.pending_file() == small_gray and other.rank() == 20
    with qtbot.waitSignal(other.factors_ready, timeout=TIMEOUT):
        other.show()
    assert other.rank() == 20 and other.session.image.path == small_gray
    assert other.pending_file() is None
    runner.shutdown()


def test_layers_view(qtbot, tab, small_gray):
    open_and_wait(qtbot, tab, small_gray)
    tab.ui.view_tabs.setCurrentIndex(2)
    tab.ui.layer_spin.setValue(3)
    f = tab.session.factors
    ch = f.channels[0]
    layer = ch.s[2] * np.outer(ch.U[:, 2], ch.Vt[2])
    want = np.clip(np.rint(128 + layer * 127 / np.abs(layer).max()), 0, 255)
    assert np.max(np.abs(tab.ui.layer_pane.item.image.astype(float) - want)) <= 1
    cum = (ch.U[:, :3] * ch.s[:3]) @ ch.Vt[:3]
    got = tab.ui.cumulative_pane.item.image.astype(float)
    assert np.max(np.abs(got - np.clip(np.rint(cum), 0, 255))) <= 1
    assert tab.ui.layer_pane.title.text().startswith("Layer 3: σ = ")


def test_colour_mode_choice_survives_a_grayscale_image(qtbot, tab, small_gray, small_rgb):
    open_and_wait(qtbot, tab, small_rgb)
    with qtbot.waitSignals([tab.factors_ready, tab.metrics_ready], timeout=TIMEOUT):
        tab.ui.mode_combo.setCurrentIndex(tab.ui.mode_combo.findData("ycbcr"))
    open_and_wait(qtbot, tab, small_gray)
    assert tab.ui.mode_combo.currentData() == "gray" and not tab.ui.mode_combo.isEnabled()
    open_and_wait(qtbot, tab, small_rgb)
    assert tab.ui.mode_combo.currentData() == "ycbcr" and tab.session.factors.mode == "ycbcr"


@pytest.mark.parametrize("first", ["defaults", "remembered"])
def test_a_file_opened_at_start_wins_over_the_deferred_reopen(qtbot, tmp_path, monkeypatch, first):
    """A file opened just after the tab is shown (command line, drag-drop) while it is still
    decoding on a thread must not be replaced by the sample or the remembered file, whose
    open was deferred to the show (it once was: the sample cancelled the photo's decode)."""
    monkeypatch.setattr(image_tab_module, "DECODE_IN_THREAD_ABOVE", 1000)
    rgb = np.random.default_rng(2).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    photo = tmp_path / "photo.png"
    Image.fromarray(rgb).save(photo)
    runner = JobRunner()
    t = ImageTab(runner)
    qtbot.addWidget(t)
    if first == "defaults":
        t.load_defaults()
    else:
        other = tmp_path / "last.png"
        Image.fromarray(rgb[:, ::-1].copy()).save(other)
        settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
        settings.setValue("image/lastFile", str(other))
        t.restore_state(settings)
    assert t.pending_file() is not None  # deferred until the tab is shown
    t.show()
    assert t.open_file(str(photo))  # decoding on a thread: the session has no image yet
    assert t.session.image is None
    qtbot.waitUntil(lambda: t.session.factors is not None, timeout=TIMEOUT)
    qtbot.wait(50)  # the deferred reopen's turn has long come
    assert t.session.name == "photo.png" and t.session.image.path == str(photo)
    np.testing.assert_array_equal(t.session.pixels, rgb.astype(np.float32))
    runner.shutdown()
