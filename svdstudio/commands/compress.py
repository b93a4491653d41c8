"""``svdstudio-cli compress IMAGE --rank K [K ...]``: low-rank image compression with metrics."""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from svdstudio.commands.common import CliError, print_json
from svdstudio.engine.image import (
    COLOR_MODES,
    DEFAULT_CHROMA_RANK,
    decompose_image,
    effective_mode,
    image_metrics,
    reconstruct_image,
)
from svdstudio.engine.image.fast_svd import estimate_full_cost, topk_cost
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
(‖A‖_F² is known).  On a terminal, progress goes to stderr.
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
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(run=run)


def _fmt(value: float, spec: str) -> str:
    return "inf" if math.isinf(value) else format(value, spec)


class _TerminalProgress:
    """A JobContext-like sink that redraws one status line on stderr (terminals only)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.width = 0

    def cancelled(self) -> bool:
        return False

    def report(self, fraction: float, message: str) -> None:
        text = f"[{fraction * 100:3.0f}%] {message}"[:110]
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def done(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _rank_limit(height: int, width: int, ranks: list[int]) -> int | None:
    """Top-k size to compute, or None for the full SVD (whichever is cheaper here)."""
    top = max(ranks)
    p = min(height, width)
    if top >= p - 1:
        return None
    return top if topk_cost(height, width, top) < estimate_full_cost(height, width) else None


def run(args: argparse.Namespace) -> int:
    """Decompose once (as far as the ranks need), write one PNG per rank, print the metrics."""
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
    p = min(height, width)
    # Arguments are checked before any computation, against the image's size.
    for k in args.rank:
        if not 1 <= k <= p:
            raise CliError(
                f"{args.image}: rank {k} is out of range; this "
                f"{width}×{height} image has ranks 1 to {p}"
            )
    mode = effective_mode(img.pixels, args.mode)
    if args.chroma_rank is not None and mode == "ycbcr" and not 0 <= args.chroma_rank <= p:
        raise CliError(f"--chroma-rank must be between 0 and {p}")
    ranks = list(args.rank)
    if mode == "ycbcr":
        # The chroma channels need their own rank too (the default one when none is given).
        ranks.append(DEFAULT_CHROMA_RANK if args.chroma_rank is None else args.chroma_rank)
    limit = _rank_limit(height, width, [max(r, 1) for r in ranks])
    progress = _TerminalProgress() if sys.stderr.isatty() else None
    try:
        # Unrefined full factors rebuild every rank as exactly; only the tail's vectors would
        # gain orthonormality from refining, and nothing here reads them.
        factors = decompose_image(img.pixels, args.mode, max_rank=limit, job=progress, refine=False)
    finally:
        if progress is not None:
            progress.done()
    rows = []
    stem = Path(args.image).stem
    # PNG encoding (zlib, GIL released) overlaps with the next rank's rebuild and metrics.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: list[tuple[Path, Future]] = []
        for k in args.rank:
            chroma = args.chroma_rank if factors.mode == "ycbcr" else None
            rec = reconstruct_image(factors, k, chroma)
            out = outdir / f"{stem}_{factors.mode}_k{k}.png"
            pending.append((out, pool.submit(save_png, out, rec)))
            m = image_metrics(img.pixels, factors, k, chroma, reconstruction=rec)
            rows.append((m, out))
            del rec
        for out, fut in pending:
            try:
                fut.result()
            except OSError as exc:
                raise CliError(f"{out}: cannot write ({exc.strerror or exc})") from None
    if args.json:
        print_json(
            [
                # Every ImageMetrics field by name (png/jpeg bytes are null: not computed here).
                {**m.as_dict(), "output": str(out)}
                for m, out in rows
            ]
        )
        return 0
    print(
        f"{img.path}: {factors.width}×{factors.height}, mode {factors.mode}, "
        f"raw {rows[0][0].raw_bytes:,} bytes"
    )
    for note in img.notes:
        print(f"note: {note}")
    ycc = factors.mode == "ycbcr"
    head = (
        f"{'k/chroma' if ycc else 'rank':>8} {'PSNR dB':>8} {'SSIM':>6} {'rel.err':>8} "
        f"{'energy':>8} "
        f"{'values':>10} {'bytes f32':>11} {'ratio':>7}  file"
    )
    print(head)

    def label(m: object) -> str:
        return f"{m.rank}/{m.chroma_rank}" if ycc else str(m.rank)

    for m, out in rows:
        print(
            f"{label(m):>8} {_fmt(m.psnr_db, '8.2f')} {m.ssim:6.4f} "
            f"{m.relative_error:8.5f} "
            f"{m.energy_retained:8.5f} {m.stored_values:>10,} {m.bytes_float32:>11,} "
            f"{_fmt(m.compression_ratio, '6.2f')}×  {out}"
        )
    return 0
