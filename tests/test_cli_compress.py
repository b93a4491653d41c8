"""``svdstudio-cli compress`` as a user runs it (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_image(path: Path) -> np.ndarray:
    y, x = np.mgrid[0:30, 0:40]
    rgb = np.stack([x * 6, y * 8, (x * y) % 256], -1).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return rgb.astype(np.float64)


def test_json_output_and_pngs(tmp_path):
    src = tmp_path / "pic.png"
    rgb = make_image(src)
    out = tmp_path / "out"
    r = cli("compress", str(src), "--rank", "2", "8", "--mode", "rgb", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["rank"] for row in rows] == [2, 8]
    keys = {
        "rank",
        "psnr_db",
        "ssim",
        "relative_error",
        "energy_retained",
        "stored_values",
        "bytes_float32",
        "compression_ratio",
    }
    assert keys <= set(rows[0])
    assert rows[0]["psnr_db"] < rows[1]["psnr_db"]
    assert rows[1]["stored_values"] == 3 * 8 * (30 + 40 + 1)
    assert rows[1]["bytes_float32"] == 4 * rows[1]["stored_values"]
    assert rows[1]["compression_ratio"] == 30 * 40 * 3 / rows[1]["bytes_float32"]
    written = np.asarray(Image.open(out / "pic_rgb_k8.png"), dtype=np.float64)
    assert written.shape == (30, 40, 3)
    mse = np.mean((written - rgb) ** 2)
    # The PNG holds the reconstruction rounded to 8 bits: PSNR within rounding of the report.
    assert abs(10 * np.log10(255**2 / mse) - rows[1]["psnr_db"]) < 0.5
    assert (out / "pic_rgb_k2.png").is_file()


def test_table_output_ycbcr(tmp_path):
    src = tmp_path / "pic.png"
    make_image(src)
    r = cli("compress", str(src), "-k", "8", "--mode", "ycbcr", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "PSNR dB" in r.stdout and "8/8" in r.stdout  # the one default chroma rank, 8
    assert (tmp_path / "pic_ycbcr_k8.png").is_file()


def test_bad_image_one_line_exit_2(tmp_path):
    bad = tmp_path / "fake.png"
    bad.write_text("not an image")
    r = cli("compress", str(bad), "--rank", "4")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "not an image" in lines[0]
    assert "Traceback" not in r.stderr


def test_rank_out_of_range(tmp_path):
    src = tmp_path / "pic.png"
    make_image(src)
    r = cli("compress", str(src), "--rank", "31", "-o", str(tmp_path))
    assert r.returncode == 2
    assert "ranks 1 to 30" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_help_has_example():
    r = cli("compress", "--help")
    assert r.returncode == 0
    assert "example:" in r.stdout and "svdstudio-cli compress" in r.stdout


def _photo_like(path: Path, h: int = 400, w: int = 520) -> np.ndarray:
    """A smooth picture with texture (not low-rank), saved as PNG."""
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(5)
    base = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0) + 8 * rng.standard_normal((h, w))
    rgb = np.stack([base, np.roll(base, 7, axis=1), base[::-1]], -1)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return rgb.astype(np.float32)


def test_few_ranks_use_topk_with_exact_metrics(tmp_path, monkeypatch, capsys):
    """Ranks far below the full rank need only the top triplets; every figure stays exact."""
    from argparse import Namespace

    from svdstudio.commands import compress
    from svdstudio.engine.image import decompose_image, image_metrics

    src = tmp_path / "photo.png"
    rgb = _photo_like(src)
    calls = []
    real = compress.decompose_image

    def spy(*args, **kwargs):
        calls.append(kwargs.get("max_rank"))
        return real(*args, **kwargs)

    monkeypatch.setattr(compress, "decompose_image", spy)
    args = Namespace(
        image=str(src), rank=[8, 24], mode="rgb", chroma_rank=None, outdir=str(tmp_path), json=True
    )
    assert compress.run(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert calls == [24]  # top 24 of 400, not the full SVD
    full = decompose_image(rgb, "rgb")
    for row in rows:
        exact = image_metrics(rgb, full, row["rank"])
        assert row["energy_retained"] == pytest.approx(exact.energy_retained, rel=1e-6)
        assert row["relative_error"] == pytest.approx(exact.relative_error, rel=1e-4)
        assert row["psnr_db"] == pytest.approx(exact.psnr_db, abs=1e-3)
        assert row["stored_values"] == 3 * row["rank"] * (400 + 520 + 1)


@pytest.mark.parametrize("tty", [False, True])
def test_progress_on_stderr_only_on_a_terminal(tmp_path, monkeypatch, capsys, tty):
    from argparse import Namespace

    from svdstudio.commands import compress

    src = tmp_path / "pic.png"
    make_image(src)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    args = Namespace(
        image=str(src), rank=[4], mode="ycbcr", chroma_rank=None, outdir=str(tmp_path), json=True
    )
    assert compress.run(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["rank"] == 4
    if tty:
        assert "\r[" in captured.err and "channel Cb (2 of 3)" in captured.err
        assert captured.err.endswith("\r")  # the status line is cleared at the end
    else:
        assert captured.err == ""


def test_progress_never_on_a_pipe(tmp_path):
    src = tmp_path / "pic.png"
    make_image(src)
    r = cli("compress", str(src), "--rank", "3", "-o", str(tmp_path))
    assert r.returncode == 0 and r.stderr == ""


def test_rank_checked_before_any_decomposition(tmp_path, monkeypatch):
    from argparse import Namespace

    from svdstudio.commands import compress
    from svdstudio.commands.common import CliError

    src = tmp_path / "pic.png"
    make_image(src)
    monkeypatch.setattr(compress, "decompose_image", lambda *a, **k: pytest.fail("decomposed"))
    for bad in ([0], [31], [5, 400]):
        args = Namespace(
            image=str(src), rank=bad, mode="rgb", chroma_rank=None, outdir=str(tmp_path), json=False
        )
        with pytest.raises(CliError, match="ranks 1 to 30"):
            compress.run(args)
