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
    for as_json in (False, True):
        args = Namespace(
            image=str(src),
            rank=[4],
            mode="ycbcr",
            chroma_rank=None,
            outdir=str(tmp_path),
            json=as_json,
        )
        assert compress.run(args) == 0
        captured = capsys.readouterr()
        if as_json:
            assert json.loads(captured.out)[0]["rank"] == 4
            assert captured.err == ""  # scripts reading --json get nothing extra
        elif tty:
            assert "\r[" in captured.err and "channel Cb (2 of 3)" in captured.err
            assert "rank 4: measuring" in captured.err and "writing the PNG files" in captured.err
            assert captured.err.endswith("\r")  # the status line is cleared at the end
            assert "\r" not in captured.out and "PSNR dB" in captured.out
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


# ---- every printed figure against an independent numpy computation (float64) ----------

_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_FROM_YCC = np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])
_LUMA = np.array([0.299, 0.587, 0.114])


def _numpy_job(rgb: np.ndarray, mode: str, k: int, chroma: int = 8):
    """(reference, reconstruction, kept energy / total) in float64 from numpy's full SVD."""
    x = rgb.astype(np.float64)
    if mode == "gray":
        chans, ks = [x @ _LUMA], [k]
    elif mode == "rgb":
        chans, ks = [x[..., c] for c in range(3)], [k, k, k]
    else:
        ycc = x @ _TO_YCC.T
        chans, ks = [ycc[..., c] for c in range(3)], [k, chroma, chroma]
    rebuilt, kept, total = [], 0.0, 0.0
    for ch, kc in zip(chans, ks, strict=True):
        U, s, Vt = np.linalg.svd(ch, full_matrices=False)
        rebuilt.append((U[:, :kc] * s[:kc]) @ Vt[:kc])
        kept += float(np.sum(s[:kc] ** 2))
        total += float(np.sum(s**2))
    if mode == "gray":
        return chans[0], np.clip(rebuilt[0], 0, 255), kept / total
    rec = np.stack(rebuilt, -1)
    if mode == "ycbcr":
        rec = rec @ _FROM_YCC.T
    return x, np.clip(rec, 0, 255), kept / total


def _valid_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al.'s mean SSIM over the 11×11 windows inside the image (Gaussian σ 1.5)."""
    r = 5
    g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * 1.5**2))
    g /= g.sum()

    def window(m: np.ndarray) -> np.ndarray:  # weighted sums over whole windows only
        h, w = m.shape
        rows = sum(g[t] * m[t : h - 2 * r + t] for t in range(2 * r + 1))
        return sum(g[t] * rows[:, t : w - 2 * r + t] for t in range(2 * r + 1))

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = window(a), window(b)
    va, vb = window(a * a) - ma**2, window(b * b) - mb**2
    cov = window(a * b) - ma * mb
    smap = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(smap.mean())


@pytest.mark.parametrize("mode", ["rgb", "gray", "ycbcr"])
def test_every_figure_matches_numpy(tmp_path, mode):
    src = tmp_path / "photo.png"
    rgb = _photo_like(src, 120, 150)
    out = tmp_path / "out"
    r = cli("compress", str(src), "--rank", "5", "20", "--mode", mode, "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    nch = 1 if mode == "gray" else 3
    for row, k in zip(rows, [5, 20], strict=True):
        ref, rec, energy = _numpy_job(rgb, mode, k)
        mse = float(np.mean((ref - rec) ** 2))
        assert row["psnr_db"] == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-3)
        rel = np.linalg.norm(ref - rec) / np.linalg.norm(ref)
        assert row["relative_error"] == pytest.approx(rel, rel=1e-4)
        luma = (ref, rec) if mode == "gray" else (ref @ _LUMA, rec @ _LUMA)
        assert row["ssim"] == pytest.approx(_valid_ssim(*luma), abs=1e-4)
        assert row["energy_retained"] == pytest.approx(energy, rel=1e-5)
        ranks = [k] if mode == "gray" else ([k, 8, 8] if mode == "ycbcr" else [k] * 3)
        assert row["stored_values"] == sum(kc * (120 + 150 + 1) for kc in ranks)
        assert row["bytes_float32"] == 4 * row["stored_values"]
        assert row["raw_bytes"] == 120 * 150 * nch
        assert row["compression_ratio"] == pytest.approx(row["raw_bytes"] / row["bytes_float32"])
        assert row["triplets_computed"] >= k and row["full_rank"] == 120
        written = np.asarray(Image.open(row["output"]), dtype=np.float64)
        # The PNG is the reconstruction rounded to 8 bits (a value at .5 may round either way).
        assert written.shape == rec.shape
        assert np.abs(written - rec).max() <= 0.5 + 1e-3


def test_topk_is_stated_and_metrics_stay_exact(tmp_path):
    """A 400×520 photo at ranks 8 and 24 needs only the top 24: said so, figures exact."""
    src = tmp_path / "photo.png"
    rgb = _photo_like(src)
    r = cli("compress", str(src), "-k", "8", "24", "-o", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    for row, k in zip(rows, [8, 24], strict=True):
        assert row["triplets_computed"] == 24 and row["full_rank"] == 400
        assert row["decomposition"].startswith("top 24 of 400 singular triplets")
        assert "exact to float32 precision" in row["decomposition"]
        ref, rec, energy = _numpy_job(rgb, "rgb", k)
        mse = float(np.mean((ref - rec) ** 2))
        assert row["psnr_db"] == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-3)
        assert row["ssim"] == pytest.approx(_valid_ssim(ref @ _LUMA, rec @ _LUMA), abs=1e-4)
        assert row["energy_retained"] == pytest.approx(energy, rel=1e-6)
    table = cli("compress", str(src), "-k", "8", "-o", str(tmp_path))
    assert "factors: top 8 of 400 singular triplets per channel" in table.stdout


def test_no_metrics_skips_quality_keeps_storage(tmp_path, monkeypatch, capsys):
    from argparse import Namespace

    from svdstudio.commands import compress

    src = tmp_path / "pic.png"
    make_image(src)

    def fail(*a, **k):
        raise AssertionError("measured anyway")

    monkeypatch.setattr(compress, "image_metrics", fail)
    monkeypatch.setattr(compress, "metrics_reference", fail)
    base = dict(image=str(src), rank=[3, 7], mode="rgb", chroma_rank=None, outdir=str(tmp_path))
    assert compress.run(Namespace(**base, json=True, metrics=False)) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["psnr_db"] for row in rows] == [None, None]
    assert [row["ssim"] for row in rows] == [None, None]
    assert [row["relative_error"] for row in rows] == [None, None]
    assert rows[1]["stored_values"] == 3 * 7 * (30 + 40 + 1)
    assert rows[1]["bytes_uint8"] == 3 * 7 * (70 + 20)
    _, _, energy = _numpy_job(make_image(tmp_path / "again.png"), "rgb", 7)
    assert rows[1]["energy_retained"] == pytest.approx(energy, rel=1e-6)
    assert (tmp_path / "pic_rgb_k7.png").is_file()
    assert compress.run(Namespace(**base, json=False, metrics=False)) == 0
    table = capsys.readouterr().out
    assert "not computed" in table and "       -      -        -" in table


def test_file_sizes_are_the_encoders_own(tmp_path):
    import io

    src = tmp_path / "pic.png"
    rgb = make_image(src).astype(np.uint8)
    png, jpeg = io.BytesIO(), io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    Image.fromarray(rgb).save(jpeg, format="JPEG", quality=75)
    r = cli("compress", str(src), "-k", "4", "-o", str(tmp_path), "--file-sizes", "--json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["png_bytes"] == len(png.getvalue())
    assert row["jpeg_bytes"] == len(jpeg.getvalue()) and row["jpeg_quality"] == 75
    t = cli("compress", str(src), "-k", "4", "-o", str(tmp_path), "--file-sizes")
    assert f"as PNG: {len(png.getvalue()):,} bytes" in t.stdout
    ratio = len(png.getvalue()) / row["bytes_float32"]
    assert f"{ratio:6.2f}×" in t.stdout.splitlines()[-1]
    plain = json.loads(cli("compress", str(src), "-k", "4", "-o", str(tmp_path), "--json").stdout)
    assert plain[0]["png_bytes"] is None and plain[0]["jpeg_bytes"] is None


def _run_on_pty(*args: str) -> tuple[str, str, int]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "svdstudio.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            pytest.fail("no output from the CLI for 120 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = proc.stdout.read().decode()
    proc.stdout.close()
    return out, err.decode(), proc.wait(timeout=120)


def test_progress_line_on_a_real_terminal(tmp_path):
    src = tmp_path / "photo.png"
    _photo_like(src)
    out, err, code = _run_on_pty("compress", str(src), "-k", "8", "24", "-o", str(tmp_path))
    assert code == 0, err
    assert "\n" not in err  # one line, rewritten in place
    frames = [f.strip() for f in err.split("\r") if f.strip()]
    assert frames[0].startswith("[  0%] decoding photo.png")
    percents = [int(f[1:4]) for f in frames]
    assert percents == sorted(percents) and percents[-1] < 100
    text = " ".join(frames)
    for step in ("decomposing", "channel G (2 of 3)", "rank 24: rebuilding", "rank 8: measuring"):
        assert step in text
    assert err.endswith("\r") and err.rstrip("\r").split("\r")[-1].strip() == ""  # cleared
    assert "PSNR dB" in out and "\r" not in out and "[" not in out.splitlines()[0][:1]
    out, err, code = _run_on_pty("compress", str(src), "-k", "8", "-o", str(tmp_path), "--json")
    assert code == 0 and err == ""  # --json: nothing extra, even on a terminal
    assert json.loads(out)[0]["rank"] == 8


def test_terminal_progress_percent_and_time_left():
    import io

    from svdstudio.commands.common import TerminalProgress

    now = [0.0]
    stream = io.StringIO()
    bar = TerminalProgress(stream, interval=0.0, clock=lambda: now[0])

    def shown() -> str:  # the line now on screen (older, longer lines are blanked out)
        return stream.getvalue().split("\r")[-1].rstrip()

    bar.plan(10.0)
    bar.step("first", 2.0)
    assert stream.getvalue() == "\r[  0%] first"
    now[0] = 1.0
    bar.report(0.5, "half · about 9 s left")  # the engine's own estimate is dropped
    assert shown() == "[ 10%] first: half · 9 s left"
    now[0] = 2.0
    bar.step("second", 8.0)
    assert shown() == "[ 20%] second · 8 s left"
    bar.report(0.0, "again")  # never backwards
    assert shown() == "[ 20%] second: again · 8 s left"
    now[0] = 200.0
    bar.report(2.0, "over")  # clamped, and short of 100 % until closed
    assert shown() == "[ 99%] second: over · 2 s left"  # 1 % more at the pace so far
    width = len(shown())
    bar.close()
    blank = stream.getvalue().split("\r")[-2]
    assert stream.getvalue().endswith("\r") and blank == " " * len(blank) and len(blank) >= width
    assert TerminalProgress.for_stream(io.StringIO()) is None  # not a terminal


def test_full_rank_past_the_full_svds_reach_is_refused_first(tmp_path, monkeypatch):
    """Past ~30 s per channel only the top-k path runs: rank p is refused before any work."""
    from argparse import Namespace

    from svdstudio.commands import compress
    from svdstudio.commands.common import CliError

    src = tmp_path / "pic.png"
    make_image(src)
    monkeypatch.setattr(compress, "choose_method", lambda h, w, max_rank=None: "topk")
    monkeypatch.setattr(compress, "decompose_image", lambda *a, **k: pytest.fail("decomposed"))
    args = Namespace(
        image=str(src), rank=[30], mode="rgb", chroma_rank=None, outdir=str(tmp_path), json=True
    )
    with pytest.raises(CliError, match="rank 30 needs the full SVD of this 40×30 image"):
        compress.run(args)


def test_a_rank_given_twice_is_computed_written_and_printed_once(tmp_path, monkeypatch, capsys):
    """``-k 8 32 8``: one row and one PNG per distinct rank, in the order first given."""
    from argparse import Namespace

    from svdstudio.commands import compress

    src = tmp_path / "pic.png"
    make_image(src)
    saved: list[str] = []
    real = compress.save_png

    def spy(out, rec):
        saved.append(Path(out).name)
        return real(out, rec)

    monkeypatch.setattr(compress, "save_png", spy)
    args = Namespace(
        image=str(src),
        rank=[8, 2, 8, 2],
        mode="rgb",
        chroma_rank=None,
        outdir=str(tmp_path),
        json=True,
    )
    assert compress.run(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["rank"] for row in rows] == [8, 2]
    assert sorted(saved) == ["pic_rgb_k2.png", "pic_rgb_k8.png"]
    assert [Path(row["output"]).name for row in rows] == ["pic_rgb_k8.png", "pic_rgb_k2.png"]


def test_ycbcr_chroma_channels_get_only_the_chroma_rank(tmp_path):
    """YCbCr at ranks 8 and 60: the luma's top 60, the chroma's top 8 + 16 spare; figures exact."""
    src = tmp_path / "photo.png"
    rgb = _photo_like(src)
    r = cli("compress", str(src), "-k", "8", "60", "--mode", "ycbcr", "-o", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    for row, k in zip(rows, [8, 60], strict=True):
        assert row["triplets_computed"] == 60 and row["chroma_triplets_computed"] == 24
        assert row["chroma_rank"] == 8
        assert "chroma: top 24 of 400" in row["decomposition"]
        ref, rec, energy = _numpy_job(rgb, "ycbcr", k)
        mse = float(np.mean((ref - rec) ** 2))
        assert row["psnr_db"] == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-3)
        assert row["energy_retained"] == pytest.approx(energy, rel=1e-5)
    r = cli(
        "compress",
        str(src),
        "-k",
        "40",
        "--mode",
        "ycbcr",
        "--chroma-rank",
        "3",
        "-o",
        str(tmp_path),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["chroma_rank"] == 3 and row["chroma_triplets_computed"] == 19
    assert row["triplets_computed"] == 40
    assert row["stored_values"] == (40 + 3 + 3) * (400 + 520 + 1)
