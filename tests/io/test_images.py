"""Image loading for every Pillow mode, bad files, bombs, atomic writes, factor files."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from svdstudio.engine.image import decompose_image, reconstruct_image
from svdstudio.io.atomic import atomic_write
from svdstudio.io.image_factors import load_factors, save_factors
from svdstudio.io.images import (
    ImageFileError,
    ImageTooLargeError,
    encode_png,
    jpeg_round_trip,
    load_image,
    probe_image,
    save_png,
)
from svdstudio.resources import resource_path


def gradient(h: int = 12, w: int = 16) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 15 % 256, y * 20 % 256, (x + y) * 7 % 256], -1).astype(np.uint8)


def test_samples_load():
    cam = load_image(resource_path("images", "camera.png"))
    assert cam.pixels.shape == (512, 512) and cam.pixels.dtype == np.float32
    ast = load_image(resource_path("images", "astronaut.png"))
    assert ast.pixels.shape == (512, 512, 3)
    cof = load_image(resource_path("images", "coffee.png"))
    assert cof.pixels.shape == (400, 600, 3) and cof.original_size == (600, 400)
    assert cof.pixels.min() >= 0 and cof.pixels.max() <= 255
    assert not cof.pixels.flags.writeable


def test_l_rgb_and_1(tmp_path):
    rgb = gradient()
    Image.fromarray(rgb, "RGB").save(tmp_path / "a.png")
    got = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(got.pixels, rgb.astype(np.float32))
    assert got.source_mode == "RGB" and got.notes == ()
    Image.fromarray(rgb[..., 0], "L").save(tmp_path / "l.png")
    np.testing.assert_array_equal(load_image(tmp_path / "l.png").pixels, rgb[..., 0])
    Image.fromarray(rgb[..., 0] > 100).convert("1").save(tmp_path / "b.png")
    bw = load_image(tmp_path / "b.png")
    assert bw.source_mode == "1"
    np.testing.assert_array_equal(bw.pixels, np.where(rgb[..., 0] > 100, 255, 0))


def test_rgba_composited_on_background(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 64  # 25 % opaque red
    rgba[0, 0, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = load_image(tmp_path / "a.png", background=(0, 0, 255))
    a = 64 / 255
    np.testing.assert_allclose(got.pixels[1, 1], [200 * a, 0, 255 * (1 - a)], atol=1e-3)
    np.testing.assert_allclose(got.pixels[0, 0], [200, 0, 0])
    assert any("Alpha" in n for n in got.notes)


def test_la_on_white_stays_gray(tmp_path):
    la = np.zeros((3, 3, 2), np.uint8)
    la[..., 0] = 100
    la[..., 1] = 128
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    got = load_image(tmp_path / "la.png")
    assert got.pixels.ndim == 2
    a = 128 / 255
    np.testing.assert_allclose(got.pixels, 100 * a + 255 * (1 - a), atol=1e-3)


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (4, 3))
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((0, 0), 1)
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    got = load_image(tmp_path / "p.png", background=(10, 20, 30))
    np.testing.assert_allclose(got.pixels[0, 0], [0, 255, 0])
    np.testing.assert_allclose(got.pixels[2, 3], [10, 20, 30])
    assert got.source_mode == "P"


def test_cmyk(tmp_path):
    im = Image.new("CMYK", (3, 2), (0, 255, 255, 0))  # pure red
    im.save(tmp_path / "c.tif")
    got = load_image(tmp_path / "c.tif")
    assert got.source_mode == "CMYK"
    np.testing.assert_allclose(got.pixels[0, 0], [255, 0, 0])
    assert any("CMYK" in n for n in got.notes)


def test_sixteen_bit_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 257, 1000], [30000, 65535, 512]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "x16.png")
    got = load_image(tmp_path / "x16.png")
    assert got.source_mode.startswith("I")
    np.testing.assert_allclose(got.pixels, arr / 257.0, rtol=1e-6)
    assert got.pixels.max() == pytest.approx(255.0)


def test_int32_and_float_modes(tmp_path):
    big = np.array([[-100, 0], [50, 900]], dtype=np.int32)
    Image.fromarray(big, "I").save(tmp_path / "i.tif")
    got = load_image(tmp_path / "i.tif")
    np.testing.assert_allclose(got.pixels, (big + 100) * 255 / 1000, rtol=1e-6)
    unit = np.array([[0.0, 0.5], [0.25, 1.0]], dtype=np.float32)
    Image.fromarray(unit, "F").save(tmp_path / "f.tif")
    np.testing.assert_allclose(load_image(tmp_path / "f.tif").pixels, unit * 255, rtol=1e-6)


def test_exif_orientation_applied(tmp_path):
    rgb = gradient(4, 6)
    im = Image.fromarray(rgb, "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    im.save(tmp_path / "rot.png", exif=exif)
    got = load_image(tmp_path / "rot.png")
    assert got.pixels.shape == (6, 4, 3)
    np.testing.assert_array_equal(got.pixels, np.rot90(rgb, k=-1))
    assert got.original_size == (6, 4)


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("L", (5, 4), v) for v in (10, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    got = load_image(tmp_path / "anim.gif")
    assert got.frame_count == 2
    assert got.pixels.ndim == 2 and np.all(got.pixels == 10)
    assert any("frame 1 of 2" in n for n in got.notes)


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def _noise(h: int = 64, w: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("trunc.png", _png_bytes(_noise())[:400], "truncated or corrupt|cannot read"),
        (
            "random.png",
            bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8)),
            "not an image",
        ),
        ("text.png", b"hello, I am not a picture\n", "not an image"),
        ("empty.jpg", b"", "not an image"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageFileError, match=match) as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_noise()).save(buf, "JPEG", quality=90)
    path = tmp_path / "t.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageFileError, match="truncated or corrupt"):
        load_image(path)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ImageFileError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageFileError, match="not a file"):
        load_image(tmp_path)


@pytest.mark.parametrize("side", [40, 50])  # 1600 px: Pillow warns; 2500 px: Pillow errors
def test_decompression_bomb_and_downscaled_copy(tmp_path, monkeypatch, side):
    Image.fromarray(gradient(side, side)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageTooLargeError) as info:
        load_image(tmp_path / "big.png")
    err = info.value
    assert err.pixel_count == side * side and err.limit == 1000
    assert f"{side * side:,} pixels" in str(err) and "downscaled" in str(err)
    small = load_image(tmp_path / "big.png", max_pixels=err.pixel_count, downscale_to=400)
    assert small.pixels.shape[0] * small.pixels.shape[1] <= 400
    assert small.original_size == (side, side)
    assert any("Downscaled" in n for n in small.notes)
    assert Image.MAX_IMAGE_PIXELS == 1000  # never changed behind the caller's back


def test_bomb_jpeg_uses_draft(tmp_path, monkeypatch):
    Image.fromarray(gradient(64, 80)).save(tmp_path / "big.jpg", quality=90)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageTooLargeError):
        load_image(tmp_path / "big.jpg")
    small = load_image(tmp_path / "big.jpg", max_pixels=64 * 80, downscale_to=64 * 80 // 16)
    assert small.pixels.shape[:2] == (16, 20)


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_accepted_large_image_opens_in_full_and_the_limit_stays(tmp_path, monkeypatch, ext):
    rgb = gradient(40, 48)
    path = tmp_path / f"big.{ext}"
    Image.fromarray(rgb).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1920 px: between 1× and 2×
    with pytest.raises(ImageTooLargeError):
        probe_image(path)
    probe = probe_image(path, accept_large=True)
    assert probe.size == (48, 40) and probe.pixel_count == 1920 and probe.is_color
    full = load_image(path, accept_large=True)
    assert full.pixels.shape == (40, 48, 3) and not any("Downscaled" in n for n in full.notes)
    if ext == "png":
        np.testing.assert_array_equal(full.pixels, rgb)
    assert Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(ImageTooLargeError):  # another call, not accepted: refused again
        load_image(path)
    # max_pixels still caps an accepted file.
    with pytest.raises(ImageTooLargeError, match="1,920 pixels"):
        load_image(path, accept_large=True, max_pixels=1500)


def test_probe_reads_the_header_only_and_names_bad_files(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (30, 20), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "g.png")
    cut = tmp_path / "cut.png"
    cut.write_bytes((tmp_path / "g.png").read_bytes()[:200])  # of about 650
    probe = probe_image(cut)  # the header is whole; the pixels are not read
    assert probe.size == (20, 30) and probe.format == "PNG" and not probe.is_color
    with pytest.raises(ImageFileError, match="truncated or corrupt"):
        load_image(cut)
    (tmp_path / "x.png").write_text("no picture")
    with pytest.raises(ImageFileError, match=r"x\.png"):
        probe_image(tmp_path / "x.png")


def test_max_pixels_stricter_than_pillow(tmp_path):
    Image.fromarray(gradient(10, 10)).save(tmp_path / "a.png")
    with pytest.raises(ImageTooLargeError, match="100 pixels"):
        load_image(tmp_path / "a.png", max_pixels=50)


def test_save_png_round_trip_and_atomic(tmp_path):
    pix = gradient().astype(np.float32) + 0.4
    path = tmp_path / "out.png"
    save_png(path, pix)
    np.testing.assert_array_equal(load_image(path).pixels, gradient())
    before = path.read_bytes()
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"partial")
        raise RuntimeError("disk full")
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


def test_encoders():
    pix = gradient(32, 32).astype(np.float32)
    assert encode_png(pix)[:8] == b"\x89PNG\r\n\x1a\n"
    n, dec = jpeg_round_trip(pix, 75)
    # the byte count and the decoded pixels are Pillow's own, computed here independently
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(
        np.clip(np.rint(pix), 0, 255).astype(np.uint8), "L" if pix.ndim == 2 else "RGB"
    ).save(buf, format="JPEG", quality=75)
    assert n == len(buf.getvalue())
    buf.seek(0)
    with Image.open(buf) as im:
        np.testing.assert_array_equal(dec, np.asarray(im, dtype=np.float32))
    assert dec.shape == pix.shape and dec.dtype == np.float32


@pytest.mark.parametrize("mode", ["gray", "rgb", "ycbcr"])
def test_factor_file_round_trip(tmp_path, mode):
    pix = gradient(24, 30).astype(np.float32)
    f = decompose_image(pix, mode)
    path = tmp_path / "f.svdz"
    header = save_factors(path, f, 6, 2 if mode == "ycbcr" else None, source="/x/grad.png")
    g, h2 = load_factors(path)
    assert h2 == header and h2["source"] == "grad.png" and h2["mode"] == f.mode
    assert g.mode == f.mode and (g.height, g.width) == (24, 30)
    assert [c.n_components for c in g.channels] == header["ranks"]
    a = reconstruct_image(f, 6, 2 if mode == "ycbcr" else None)
    b = reconstruct_image(g, 6, 2 if mode == "ycbcr" else None)
    assert np.max(np.abs(a - b)) < 3.0
    with np.load(path, allow_pickle=False) as npz:
        assert npz["c0_u"].dtype == np.uint8 and npz["c0_s"].dtype == np.float32
        assert json.loads(str(npz["header"]))["version"] == 1


def test_bad_factor_files(tmp_path):
    (tmp_path / "t.svdz").write_text("nope")
    with pytest.raises(ValueError, match="not a valid SVD Studio factor file"):
        load_factors(tmp_path / "t.svdz")
    np.savez(tmp_path / "m.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="no header"):
        load_factors(tmp_path / "m.npz")
    f = decompose_image(gradient(8, 8).astype(np.float32), "rgb")
    save_factors(tmp_path / "g.npz", f, 2)
    with np.load(tmp_path / "g.npz") as npz:
        data = dict(npz)
    data["c1_u"] = data["c1_u"][:, :1]
    np.savez(tmp_path / "broken.npz", **data)
    with pytest.raises(ValueError, match="c1_u has shape"):
        load_factors(tmp_path / "broken.npz")


@pytest.mark.parametrize("shape", [(7, 5), (9, 4, 3), (1, 11), (13, 1, 3)])
def test_to_uint8_in_bands_equals_one_pass(monkeypatch, shape):
    import svdstudio.io.images as images_module

    rng = np.random.default_rng(3)
    pix = rng.uniform(-40, 300, size=shape).astype(np.float32)
    pix.flat[:4] = [0.5, 1.5, 254.5, 255.49]  # ties round to even, as np.rint does
    expected = np.clip(np.rint(pix), 0, 255).astype(np.uint8)
    monkeypatch.setattr(images_module, "_UINT8_BAND_SAMPLES", 7)  # a few rows per band
    got = images_module.to_uint8(pix)
    assert got.dtype == np.uint8 and got.shape == shape
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(images_module.to_uint8(pix.astype(np.float64)), expected)
    assert images_module.to_uint8(expected) is expected  # 8-bit input is not copied
    assert pix.min() < 0  # the input is left alone
