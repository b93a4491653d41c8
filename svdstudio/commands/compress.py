"""``svdstudio-cli compress IMAGE --rank K [K ...]``: low-rank image compression with metrics."""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from svdstudio.commands.common import CliError, TerminalProgress, print_json
from svdstudio.engine.image import (
    COLOR_MODES,
    DEFAULT_CHROMA_RANK,
    TOPK_DEFAULT,
    ImageFactors,
    ImageMetrics,
    channel_ranks,
    choose_method,
    decompose_image,
    effective_mode,
    energy_retained,
    estimated_full_seconds,
    image_metrics,
    reconstruct_image,
    storage_cost,
)
from svdstudio.engine.image.fast_svd import estimate_full_cost, topk_cost
from svdstudio.engine.image.metrics import MetricsReference, metrics_reference
from svdstudio.io.image_codecs import FileSizes, file_sizes
from svdstudio.io.images import ImageFileError, load_image, save_png

EPILOG = """\
example:
  svdstudio-cli compress photo.jpg --rank 8 32 128 --mode ycbcr -o out/
      writes out/photo_ycbcr_k8.png, out/photo_ycbcr_k32.png, out/photo_ycbcr_k128.png
      and prints PSNR, SSIM, errors, storage and compression ratios for each rank.

Sizes: a rank-k channel of an m×n image stores k(m+n+1) numbers; compression_ratio is
raw 8-bit pixel bytes / float32 factor bytes.  In ycbcr mode the chroma rank defaults to 8,
as in the app.

Only what the ranks need is computed: the top max(K) triplets of each channel (PROPACK, exact
to float32 precision) when that is cheaper than the full SVD; energies and errors stay exact
(‖A‖_F² is known).  PSNR, SSIM and the relative error compare each written image with the
original (--no-metrics skips them: storage figures only); --file-sizes also encodes the
original as PNG and JPEG (quality 75), beside the SVD, for ratios against those files.
On a terminal (and without --json), one progress line on stderr: step, percent, time left.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``compress`` sub-command."""
    p = sub.add_parser(
        "compress",
        help="compress an image with a rank-k SVD and report quality and size",
        description="Rebuild IMAGE from its top-k singular values for each K, save one PNG "
        "per rank and print quality metrics and storage costs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", metavar="IMAGE", help="image file (PNG, JPEG, TIFF, BMP, GIF, …)")
    p.add_argument(
        "--rank", "-k", metavar="K", type=int, nargs="+", required=True, help="rank(s) to keep"
    )
    p.add_argument(
        "--mode",
        choices=COLOR_MODES,
        default="rgb",
        help="colour handling: gray (luma only), rgb (per channel), ycbcr (luma rank K, "
        "chroma rank --chroma-rank); default rgb (grayscale images always use gray)",
    )
    p.add_argument(
        "--chroma-rank",
        metavar="C",
        type=int,
        default=None,
        help="ycbcr chroma rank (default 8, as in the app)",
    )
    p.add_argument("-o", "--outdir", metavar="OUTDIR", default=".", help="where PNGs go (.)")
    p.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="PSNR, SSIM and relative error of each rank against the original (default on; "
        "--no-metrics prints the storage figures only, null in --json)",
    )
    p.add_argument(
        "--file-sizes",
        action="store_true",
        help="also encode the original as PNG and as JPEG (quality 75) and give the ratios "
        "to those file sizes",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(run=run)


def _fmt(value: float | None, spec: str) -> str:
    if value is None:
        return "-".rjust(int(spec.split(".")[0]) if spec[0].isdigit() else 1)
    return "inf" if math.isinf(value) else format(value, spec)


# Nominal seconds per unit of work on this class of machine (2 cores, idle), used only to
# split the progress line between the steps; the time left is measured, not taken from these.
_RATE_REBUILD = 4e-9  # per output sample, plus the GEMM below
_RATE_GEMM = 3e-12  # per multiply-add
_RATE_MEASURE = 6e-8  # per pixel, PSNR + SSIM against a prepared reference
_RATE_REFERENCE = 4e-8  # per pixel, the reference side of the metrics
_RATE_PNG = 1.6e-7  # per sample, zlib at Pillow's default level
# PNG files being encoded at once (each holds a float32 reconstruction; zlib runs without
# the GIL, so two use both cores while the next rank is rebuilt and measured).
_PNG_WRITERS = 2


def _rank_limit(height: int, width: int, ranks: list[int]) -> int | None:
    """Top-k size to compute, or None for the full SVD (whichever is cheaper here)."""
    top = max(ranks)
    p = min(height, width)
    if top >= p - 1:
        return None
    if choose_method(height, width) == "topk" and top > TOPK_DEFAULT:
        return top  # past the full SVD's reach: the ranks asked for, not the default 256
    return top if topk_cost(height, width, top) < estimate_full_cost(height, width) else None


def _describe(factors: ImageFactors) -> dict[str, Any]:
    """How the factors were computed, in words and numbers, for the JSON and the table."""
    p = min(factors.height, factors.width)
    first = factors.channels[0]
    computed = first.n_components
    if first.is_partial:
        solver = first.driver.upper()
        text = (
            f"top {computed} of {p} singular triplets per channel ({solver}, float32): "
            "exact to float32 precision; energies and errors exact (‖A‖_F² is known)"
        )
    else:
        text = f"full thin SVD per channel ({first.driver}): every rank rebuilt exactly"
    out: dict[str, Any] = {"decomposition": text, "triplets_computed": computed, "full_rank": p}
    chroma = factors.channels[1:] if factors.mode == "ycbcr" else ()
    if chroma and chroma[0].n_components != computed:
        # The chroma channels need only the chroma rank: their own top triplets.
        kc = chroma[0].n_components
        out["decomposition"] = (
            f"luma: {text.replace(' per channel', '')}; chroma: top {kc} of {p} singular "
            f"triplets ({chroma[0].driver.upper()}, float32), exact to float32 precision"
        )
        out["chroma_triplets_computed"] = kc
    return out


def _storage_row(factors: ImageFactors, k: int, chroma: int | None, raw: int) -> dict[str, Any]:
    """Every ImageMetrics field, with the quality figures left empty (--no-metrics)."""
    ranks = channel_ranks(factors, k, chroma)
    cost = storage_cost(factors.height, factors.width, ranks)
    row: dict[str, Any] = {f.name: None for f in dataclasses.fields(ImageMetrics)}
    row.update(
        rank=int(k),
        chroma_rank=ranks[1] if factors.mode == "ycbcr" else None,
        energy_retained=energy_retained(factors, ranks),
        stored_values=cost.stored_values,
        bytes_float32=cost.bytes_float32,
        bytes_float16=cost.bytes_float16,
        bytes_uint8=cost.bytes_uint8,
        raw_bytes=raw,
        compression_ratio=raw / cost.bytes_float32 if cost.bytes_float32 else math.inf,
    )
    return row


def _with_sizes(row: dict[str, Any], sizes: FileSizes | None) -> dict[str, Any]:
    if sizes is not None:
        row.update(
            png_bytes=sizes.png_bytes,
            jpeg_bytes=sizes.jpeg_bytes,
            jpeg_quality=sizes.jpeg_quality if sizes.jpeg_bytes is not None else None,
        )
    return row


def _ratio(ref: int | None, size: int) -> float | None:
    return None if ref is None else (ref / size if size else math.inf)


def _check_args(args: argparse.Namespace, pixels: np.ndarray) -> tuple[str, list[int]]:
    """The colour mode used and every channel rank needed, or a CliError (before any work)."""
    height, width = pixels.shape[:2]
    p = min(height, width)
    for k in args.rank:
        if not 1 <= k <= p:
            raise CliError(
                f"{args.image}: rank {k} is out of range; this "
                f"{width}×{height} image has ranks 1 to {p}"
            )
    mode = effective_mode(pixels, args.mode)
    if args.chroma_rank is not None and mode == "ycbcr" and not 0 <= args.chroma_rank <= p:
        raise CliError(f"--chroma-rank must be between 0 and {p}")
    # A rank given twice ("-k 8 8") is one output file: computed, written and printed once.
    args.rank = list(dict.fromkeys(args.rank))
    ranks = list(args.rank)
    if mode == "ycbcr":
        # The chroma channels need their own rank too (the default one when none is given).
        ranks.append(DEFAULT_CHROMA_RANK if args.chroma_rank is None else args.chroma_rank)
    return mode, ranks


def run(args: argparse.Namespace) -> int:
    """Decompose once (as far as the ranks need), write one PNG per rank, print the metrics."""
    # Scripts reading --json, pipes and logs get nothing on stderr but errors.
    progress = TerminalProgress.for_stream(enabled=not getattr(args, "json", False))
    try:
        return _run(args, progress)
    finally:
        if progress is not None:
            progress.close()


def _run(args: argparse.Namespace, progress: TerminalProgress | None) -> int:
    want_metrics = getattr(args, "metrics", True)
    want_sizes = getattr(args, "file_sizes", False)
    t0 = time.perf_counter()
    if progress is not None:
        progress.step(f"decoding {Path(args.image).name}", 1.0)
    try:
        img = load_image(args.image)
    except ImageFileError as exc:
        raise CliError(str(exc)) from None
    outdir = Path(args.outdir)
    if not outdir.is_dir():
        try:
            outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"{outdir}: cannot create the output folder ({exc.strerror})") from None
    height, width = img.pixels.shape[:2]
    # Arguments are checked before any computation, against the image's size.
    mode, ranks = _check_args(args, img.pixels)
    # The luma (or every channel) needs the largest rank asked for; YCbCr's chroma channels
    # only the chroma rank (appended last by _check_args).
    # (When the chroma rank is the larger, every channel gets it, as for RGB.)
    own_chroma = mode == "ycbcr" and ranks[-1] < max(args.rank)
    luma_ranks = args.rank if own_chroma else ranks
    limit = _rank_limit(height, width, [max(r, 1) for r in luma_ranks])
    chroma_limit = max(ranks[-1], 1) if own_chroma else None
    if limit is None and choose_method(height, width) == "topk":
        # Past the full SVD's reach only the top-k path runs, and it stops short of full rank.
        p = min(height, width)
        raise CliError(
            f"{args.image}: rank {max(ranks)} needs the full SVD of this {width}×{height} "
            f"image, about {estimated_full_seconds(height, width):.0f} s per channel here; "
            f"ranks up to {p - 2} need only the top triplets"
        )
    nc = 1 if mode == "gray" else 3
    samples = height * width * nc
    luma_cost = topk_cost(height, width, limit) if limit else estimate_full_cost(height, width)
    chroma_cost = luma_cost if chroma_limit is None else topk_cost(height, width, chroma_limit)
    svd_cost = height * width * _RATE_REFERENCE * want_metrics + luma_cost + (nc - 1) * chroma_cost
    rebuild_cost = sum(samples * (_RATE_REBUILD + _RATE_GEMM * k) for k in args.rank)
    measure_cost = height * width * _RATE_MEASURE * len(args.rank) if want_metrics else 0
    png_cost = _RATE_PNG * samples * len(args.rank) / _PNG_WRITERS
    if progress is not None:
        progress.resize(time.perf_counter() - t0)  # the decode, measured
        progress.plan(time.perf_counter() - t0 + svd_cost + rebuild_cost + measure_cost + png_cost)
    stem = Path(args.image).stem
    rows: list[tuple[dict[str, Any], Path]] = []
    with ThreadPoolExecutor(max_workers=_PNG_WRITERS + 2) as pool:
        # The original's PNG/JPEG sizes (GIL-free encoders) run beside the SVD.
        sizes_job = pool.submit(file_sizes, img.pixels) if want_sizes else None
        # So does the reference side of the metrics (its blurs hold the GIL, but PROPACK's
        # products release it between its short Fortran steps).
        reference_job = pool.submit(metrics_reference, img.pixels, mode) if want_metrics else None
        if progress is not None:
            progress.step("decomposing", svd_cost)
        # Unrefined full factors rebuild every rank as exactly; only the tail's vectors would
        # gain orthonormality from refining, and nothing here reads them.
        factors = decompose_image(
            img.pixels,
            mode,
            max_rank=limit,
            job=progress,
            refine=False,
            chroma_max_rank=chroma_limit,
        )
        reference: MetricsReference | None = None
        if reference_job is not None:
            if progress is not None:
                progress.step("preparing the metrics", 0.0)
            reference = reference_job.result()
        chroma = args.chroma_rank if factors.mode == "ycbcr" else None
        pending: deque[tuple[Path, Future[None]]] = deque()
        to_measure: deque[tuple[int, np.ndarray, Path]] = deque()
        raw = height * width * nc

        def measure(k: int, rec: np.ndarray, out: Path) -> None:
            if reference is None:
                rows.append((_storage_row(factors, k, chroma, raw), out))
                return
            if progress is not None:
                progress.step(f"rank {k}: measuring", height * width * _RATE_MEASURE)
            m = image_metrics(
                img.pixels, factors, k, chroma, reconstruction=rec, reference=reference
            )
            rows.append((m.as_dict(), out))

        for k in args.rank:
            if progress is not None:
                progress.step(f"rank {k}: rebuilding", samples * (_RATE_REBUILD + _RATE_GEMM * k))
            rec = reconstruct_image(factors, k, chroma)
            out = outdir / f"{stem}_{factors.mode}_k{k}.png"
            while len(pending) >= _PNG_WRITERS:  # at most this many images held for writing
                _wait_png(*pending.popleft())
            pending.append((out, pool.submit(save_png, out, rec)))
            to_measure.append((k, rec, out))
            # Measuring holds the GIL (scipy.ndimage), PNG encoding does not: measure once
            # every writer has an image, so both cores stay busy to the end.
            if len(to_measure) >= _PNG_WRITERS:
                measure(*to_measure.popleft())
            del rec
        while to_measure:
            measure(*to_measure.popleft())
        if progress is not None:
            progress.step("writing the PNG files", png_cost)
        while pending:
            _wait_png(*pending.popleft())
        sizes = None
        if sizes_job is not None:
            if progress is not None:
                progress.step("PNG and JPEG sizes of the original", 0.0)
            sizes = sizes_job.result()
    reference = None  # its maps are as large as the image; the printing needs none of it
    how = _describe(factors)
    records = [{**_with_sizes(row, sizes), **how, "output": str(out)} for row, out in rows]
    if args.json:
        # Every ImageMetrics field by name (png/jpeg bytes null unless --file-sizes; the
        # quality figures null with --no-metrics), and how the factors were computed.
        print_json(records)
        return 0
    if progress is not None:
        progress.close()
    _print_table(img, factors, records, how, sizes)
    return 0


def _wait_png(out: Path, job: Future[None]) -> None:
    try:
        job.result()
    except OSError as exc:
        raise CliError(f"{out}: cannot write ({exc.strerror or exc})") from None


def _print_table(
    img: Any,
    factors: ImageFactors,
    records: list[dict[str, Any]],
    how: dict[str, Any],
    sizes: FileSizes | None,
) -> None:
    print(
        f"{img.path}: {factors.width}×{factors.height}, mode {factors.mode}, "
        f"raw {records[0]['raw_bytes']:,} bytes"
    )
    for note in img.notes:
        print(f"note: {note}")
    print(f"factors: {how['decomposition']}")
    if sizes is not None:
        png = "cannot store" if sizes.png_bytes is None else f"{sizes.png_bytes:,} bytes"
        jpeg = "cannot store" if sizes.jpeg_bytes is None else f"{sizes.jpeg_bytes:,} bytes"
        print(f"original as PNG: {png}; as JPEG (quality {sizes.jpeg_quality}): {jpeg}")
        for note in sizes.notes:
            print(f"note: {note}")
    ycc = factors.mode == "ycbcr"
    head = (
        f"{'k/chroma' if ycc else 'rank':>8} {'PSNR dB':>8} {'SSIM':>6} {'rel.err':>8} "
        f"{'energy':>8} "
        f"{'values':>10} {'bytes f32':>11} {'ratio':>7}"
    )
    if sizes is not None:
        head += f" {'vs PNG':>7} {'vs JPEG':>7}"
    print(head + "  file")
    for r in records:
        label = f"{r['rank']}/{r['chroma_rank']}" if ycc else str(r["rank"])
        line = (
            f"{label:>8} {_fmt(r['psnr_db'], '8.2f')} {_fmt(r['ssim'], '6.4f')} "
            f"{_fmt(r['relative_error'], '8.5f')} "
            f"{r['energy_retained']:8.5f} {r['stored_values']:>10,} {r['bytes_float32']:>11,} "
            f"{_fmt(r['compression_ratio'], '6.2f')}×"
        )
        if sizes is not None:
            vs_png = _ratio(r["png_bytes"], r["bytes_float32"])
            vs_jpeg = _ratio(r["jpeg_bytes"], r["bytes_float32"])
            line += f" {_fmt(vs_png, '6.2f')}× {_fmt(vs_jpeg, '6.2f')}×"
        print(f"{line}  {r['output']}")
    if records[0]["ssim"] is None:
        print("(--no-metrics: PSNR, SSIM and the relative error were not computed)")
