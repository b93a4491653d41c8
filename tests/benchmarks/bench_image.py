"""Image-lab speed, accuracy and memory on a 12-megapixel RGB photo; each figure beside its goal.

    python tests/benchmarks/bench_image.py          # 4000×3000 (about 2 minutes plus numpy's)
    python tests/benchmarks/bench_image.py --quick  # 1600×1200, well under a minute
    python tests/benchmarks/bench_image.py --huge   # also the top-k path on a 10000×10000 channel

Not part of pytest (timings on a shared machine are not unit tests).  The photo is the
astronaut sample upscaled to the target size with fine texture added (so it is not trivially
low-rank), saved as JPEG q=90 and decoded as the app would.  numpy's reference runs right
after each of our runs (interleaved), so a load change on this shared machine hits both sides
alike; figures are medians with the spread (min–max) and the load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# Before numpy: the package sets OpenBLAS's idle-thread timeout, as in the app and the CLI
# (svdstudio.blas_env).
import svdstudio  # noqa: F401

# isort: split
import numpy as np
from PIL import Image

from svdstudio.commands import compress
from svdstudio.engine import decompose_topk
from svdstudio.engine.image import (
    DisplayReconstructor,
    decompose_image,
    reconstruct_image,
    to_channels,
)
from svdstudio.engine.image.display_fast import one_blas_thread
from svdstudio.engine.image.fast_svd import SIGMA_TOL, fast_full_svd, refine_tail
from svdstudio.engine.image.preview import decompose_preview, preview_factor
from svdstudio.io.images import load_image, save_png
from svdstudio.resources import resource_path
from tests.benchmarks.machine import load, speed

PANE_PX = (575.0, 541.0)  # the compare pane of a 1920×1080 window (bench_app prints it)


def make_photo(width: int, height: int, path: Path) -> None:
    src = Image.open(resource_path("images", "astronaut.png")).convert("RGB")
    big = np.asarray(src.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    texture = 6 * np.sin(x / 3.1 + y / 5.3) + 4 * rng.standard_normal((height, width))
    photo = np.clip(big + texture[..., None], 0, 255).astype(np.uint8)
    Image.fromarray(photo).save(path, quality=90)


def spread(xs: list[float], unit: str = "s", fmt: str = ".2f") -> str:
    med = float(np.median(xs))
    if len(xs) == 1:
        return f"{med:{fmt}} {unit}".strip()
    return f"{med:{fmt}} {unit} ({min(xs):{fmt}}–{max(xs):{fmt}})".strip()


def line(what: str, value: str, goal: str, ok: bool | None) -> None:
    """One figure: its goal and OK/MISSED, or "info" for a figure without a goal."""
    goal = goal or "info"
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"{what:<52} {value:>14}   goal {goal}{mark}")


class _StageJob:
    """A JobContext-like job that records when each progressive hand-over arrives."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.stages: list[float] = []

    def cancelled(self) -> bool:
        return False

    def report(self, fraction: float, message: str = "") -> None:
        pass

    def partial(self, value: object) -> None:
        self.stages.append(time.perf_counter() - self.t0)


def numpy_job(path: Path, ranks: list[int], outdir: Path) -> None:
    """What compress does, in plain numpy: decode, linalg.svd of 3 channels, rebuilds, PNGs."""
    img = load_image(path)
    chans = to_channels(img.pixels, "rgb")
    svds = [np.linalg.svd(ch, full_matrices=False) for ch in chans]
    for k in ranks:
        rec = np.stack([(U[:, :k] * s[:k]) @ Vt[:k] for U, s, Vt in svds], -1)
        save_png(outdir / f"numpy_k{k}.png", np.clip(rec, 0, 255))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1600×1200 instead of 4000×3000")
    ap.add_argument("--huge", action="store_true", help="also top-k on a 10000×10000 channel")
    ap.add_argument("--runs", type=int, default=3, help="runs of the cheap figures (3)")
    args = ap.parse_args()
    width, height = (1600, 1200) if args.quick else (4000, 3000)
    view_w, view_h = (min(1920, width), min(1080, height))
    print(f"SVD Studio image benchmark: {width}×{height} RGB JPEG, view {view_w}×{view_h}")
    print(f"load average before: {load()}")
    print(speed())
    d = tempfile.TemporaryDirectory()
    tmp = Path(d.name) / "photo.jpg"
    make_photo(width, height, tmp)
    tracemalloc.start()
    t = time.perf_counter()
    img = load_image(tmp)
    decode = time.perf_counter() - t
    pixels = img.pixels
    print(f"(decode {decode:.2f} s, not counted)")

    # 1. First reconstruction on screen: the app's preview, a copy as fine as the compare pane
    # (575×541 device pixels in a 1920×1080 window, as bench_app measures), rank-32 view.
    factor = preview_factor(img.height, img.width, [PANE_PX])
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        preview, _small = decompose_preview(pixels, "rgb", factor)
        first = DisplayReconstructor(preview).render(min(32, preview.max_rank))
        times.append(time.perf_counter() - t)
    t_first = float(np.median(times))
    line(
        f"first reconstruction (preview {preview.width}×{preview.height}, k=32)",
        spread(times),
        "≤ 0.75 s",
        t_first <= 0.75,
    )
    del first

    # 2. Full factors of the three channels at full resolution, progressive as the app runs
    # it (top 128, then quick full factors, then refined), each channel followed by numpy's
    # linalg.svd of it (also the accuracy reference: it works in double).
    chans = to_channels(pixels, "rgb")
    results, t_top, t_quick, t_fine, ref, peak = [], [], [], [], [], 0
    worst_sigma = worst_u = worst_v = 0.0
    for ch in chans:
        t = time.perf_counter()
        top = decompose_topk(ch, 128, method="propack", allow_float32=True)
        t_top.append(time.perf_counter() - t)
        quick = fast_full_svd(ch, start=top, refine=False)
        t_quick.append(time.perf_counter() - t)
        res = refine_tail(quick)
        t_fine.append(time.perf_counter() - t)
        results.append(res)
        del top, quick
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()  # numpy's own memory is not ours
        t = time.perf_counter()
        _, s_np, _ = np.linalg.svd(ch, full_matrices=False)
        ref.append(time.perf_counter() - t)
        tracemalloc.start()
        s_np = s_np.astype(np.float64)
        cover = s_np >= 1e-3 * s_np[0]
        rel = np.abs(res.s[cover] - s_np[cover]) / s_np[cover]
        worst_sigma = max(worst_sigma, float(rel.max()))
        U = res.U.astype(np.float64)
        Vt = res.Vt.astype(np.float64)
        worst_u = max(worst_u, float(np.abs(U.T @ U - np.eye(U.shape[1])).max()))
        worst_v = max(worst_v, float(np.abs(Vt @ Vt.T - np.eye(Vt.shape[0])).max()))
        del U, Vt
    r_top = [a / b for a, b in zip(t_top, ref, strict=True)]
    r_quick = [a / b for a, b in zip(t_quick, ref, strict=True)]
    r_fine = [a / b for a, b in zip(t_fine, ref, strict=True)]
    line("numpy linalg.svd, 3 channels (reference)", f"{sum(ref):.2f} s", "", None)
    line("  top 128 of every channel (PROPACK)", f"{sum(t_top):.2f} s", "info", None)
    line("  full factors, tail marked approximate", f"{sum(t_quick):.2f} s", "", None)
    line(
        "    ratio to numpy, per channel",
        spread(r_quick, "", ".3f"),
        "≤ 0.25",
        float(np.median(r_quick)) <= 0.25,
    )
    line("  full factors, refined (every vector orthonormal)", f"{sum(t_fine):.2f} s", "", None)
    line("    ratio to numpy, per channel", spread(r_fine, "", ".3f"), "info", None)
    line("    (top 128 alone, ratio)", spread(r_top, "", ".3f"), "info", None)
    line(
        "  worst relative σ error (σ ≥ 1e-3 σ₁) vs numpy",
        f"{worst_sigma:.1e}",
        f"≤ {SIGMA_TOL:g}",
        worst_sigma <= SIGMA_TOL,
    )
    worst_orth = max(worst_u, worst_v)
    line("  vectors: max |UᵀU − I|, |VᵀV − I|", f"{worst_orth:.1e}", "≤ 1e-4", worst_orth <= 1e-4)
    del results[:]  # one set of factors at a time (the progressive run's are kept below)

    # 2b. The same, as the app runs it: decompose_image with a job that takes hand-overs
    # (top 128 of all three channels, then quick full factors, then refined), against the
    # numpy reference just measured on the same channels.
    job = _StageJob()
    full = decompose_image(pixels, "rgb", job=job)
    t_end = time.perf_counter() - job.t0
    stages = [*job.stages, t_end]
    np_total = sum(ref)
    print(f"(load average after the progressive run: {load()})")
    names = ("top 128 of all three", "full factors, tail approximate", "refined")
    for i, (name, t_stage) in enumerate(zip(names, stages, strict=False)):
        ratio = t_stage / np_total
        goal, ok = ("≤ 0.25", ratio <= 0.25) if i == 1 else ("", None)
        line(f"  progressive: {name}", f"{t_stage:.2f} s", "", None)
        line("    ratio to numpy (3 channels)", f"{ratio:.3f}", goal, ok)
    del chans
    factor_bytes = sum(ch.U.nbytes + ch.s.nbytes + ch.Vt.nbytes for ch in full.channels)

    # 3. Dragging the cutoff over a view-sized crop at full resolution.
    y0, x0 = (height - view_h) // 2, (width - view_w) // 2
    view = DisplayReconstructor(full, rows=slice(y0, y0 + view_h), cols=slice(x0, x0 + view_w))
    view.render(40, exact=True)
    ranks = [int(k) for k in np.r_[np.linspace(40, 400, 61), np.linspace(400, 5, 61)]]
    fps_runs = []
    for _ in range(args.runs):
        t = time.perf_counter()
        for k in ranks:
            # On one BLAS thread, as the Image tab renders a drag frame: with the other core
            # busy, two threads made it 52-55 frames/s against 102-119 (idle: about equal).
            with one_blas_thread():
                view.render(k)
        fps_runs.append(len(ranks) / (time.perf_counter() - t))
    fps = float(np.median(fps_runs))
    line(
        "drag the cutoff (k 40→400→5, ~6 ranks per frame)",
        spread(fps_runs, "frames/s", ".0f"),
        "≥ 120",
        fps >= 120,
    )
    t = time.perf_counter()
    rec = reconstruct_image(full, 128)
    line(
        "full-resolution rank-128 image (export)", f"{time.perf_counter() - t:.2f} s", "info", None
    )
    del rec

    # 4. Top-k only (the path past the full SVD's reach), here on one channel of the photo.
    ch = to_channels(pixels, "rgb")[1]
    t = time.perf_counter()
    top = decompose_topk(ch, 256, method="propack", allow_float32=True)
    t_256 = time.perf_counter() - t
    s_full = full.channels[1].s[:256]
    ok_top = float(np.max(np.abs(top.s - s_full) / s_full))
    line(f"top 256 of {min(height, width)} (PROPACK, channel G)", f"{t_256:.2f} s", "info", None)
    line("  its σ vs the full factors (relative)", f"{ok_top:.1e}", "≤ 1e-4", ok_top <= 1e-4)
    del ch, top

    peak = max(peak, tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    budget = 3 * (pixels.nbytes + factor_bytes)
    line(
        "peak traced memory vs 3×(float32 image + factors)",
        f"{peak / 2**20:.0f} MiB",
        f"≤ {budget / 2**20:.0f} MiB",
        peak <= budget,
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line("  (process max RSS, includes Python, numpy, BLAS)", f"{rss:.0f} MiB", "info", None)
    del full, results, view

    # 5. svdstudio-cli compress at two ranks vs the same job in plain numpy, interleaved
    # ours, numpy's, ours (a load change on this shared machine then hits both sides alike).
    outdir = Path(d.name) / "out"
    outdir.mkdir()
    cli_ranks = [32, 128]

    def run_cli(**options: object) -> float:
        cargs = argparse.Namespace(
            image=str(tmp),
            rank=cli_ranks,
            mode="rgb",
            chroma_rank=None,
            outdir=str(outdir),
            json=True,  # also keeps the progress line off a terminal running the benchmark
            metrics=True,
            file_sizes=False,
        )
        vars(cargs).update(options)
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            compress.run(cargs)
        return time.perf_counter() - t

    print(f"(load average before compress: {load()})")
    t_cli = [run_cli()]
    t = time.perf_counter()
    numpy_job(tmp, cli_ranks, outdir)
    t_np = time.perf_counter() - t
    t_cli.append(run_cli())
    ratio = float(np.mean(t_cli)) / t_np
    line("svdstudio-cli compress, ranks 32 and 128 (+ metrics)", spread(t_cli), "", None)
    line("  the same job in plain numpy (no metrics)", f"{t_np:.2f} s", "", None)
    line("  ratio compress / numpy (mean of the 2 runs)", f"{ratio:.3f}", "≤ 0.5", ratio <= 0.5)
    t_bare = run_cli(metrics=False)
    line("  compress --no-metrics (storage figures only)", f"{t_bare:.2f} s", "", None)
    t_sizes = run_cli(file_sizes=True)
    line("  compress --file-sizes (PNG/JPEG of the original too)", f"{t_sizes:.2f} s", "", None)
    print(f"(load average after compress: {load()})")

    # 6. The displayed reconstruction at any rank within half a grey level of the exact one
    # (issue 11 §2): the quick factors (tail approximate) and the refined ones, against
    # numpy's float64-accumulated SVD, on the view crop, at ranks from 1 to full.
    ch = to_channels(pixels, "rgb")[1]
    quick = fast_full_svd(ch, refine=False)
    fine = refine_tail(quick)
    U, s_np, Vt = np.linalg.svd(ch.astype(np.float64), full_matrices=False)
    del ch
    rows, cols = slice(y0, y0 + view_h), slice(x0, x0 + view_w)
    p = min(height, width)
    worst = {"quick": 0.0, "refined": 0.0}
    for k in sorted({1, 8, 32, 128, 512, p // 2, p - 1, p}):
        exact = np.clip((U[rows, :k] * s_np[:k]) @ Vt[:k, cols], 0, 255)
        for name, res in (("quick", quick), ("refined", fine)):
            ours = np.clip((res.U[rows, :k] * res.s[:k]) @ res.Vt[:k, cols], 0, 255)
            worst[name] = max(worst[name], float(np.abs(ours - exact).max()))
    del U, Vt, quick, fine
    for name, value in worst.items():
        line(
            f"rank-k view vs exact, k = 1…{p}, {name} factors (G)",
            f"{value:.3f} grey",
            "≤ 0.5",
            value <= 0.5,
        )

    if args.huge:
        side = 10000
        rng = np.random.default_rng(1)
        big = np.empty((side, side), np.float32)
        for a in range(0, side, 1000):  # smooth + noise, built a band at a time
            yy, xx = np.mgrid[a : a + 1000, 0:side]
            big[a : a + 1000] = 128 + 60 * np.sin(xx / 97.0) * np.cos(yy / 61.0)
            big[a : a + 1000] += 6 * rng.standard_normal((1000, side)).astype(np.float32)
        t = time.perf_counter()
        decompose_topk(big, 256, method="propack", allow_float32=True)
        t_big = time.perf_counter() - t
        line("top 256 of 10000 (100-MP channel, PROPACK)", f"{t_big:.1f} s", "≤ 30 s", t_big <= 30)
    print(f"load average after: {load()}")
    d.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
