"""``svdstudio-cli compress`` as a user runs it (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
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
