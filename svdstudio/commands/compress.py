"""``svdstudio-cli compress IMAGE --rank K [K ...]``: low-rank image compression with metrics."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from svdstudio.commands.common import CliError, print_json
from svdstudio.engine.image import COLOR_MODES, decompose_image, image_metrics, reconstruct_image
from svdstudio.io.images import ImageFileError, load_image, save_png

EPILOG = """\
example:
  svdstudio-cli compress photo.jpg --rank 8 32 128 --mode ycbcr -o out/
      writes out/photo_ycbcr_k8.png, out/photo_ycbcr_k32.png, out/photo_ycbcr_k128.png
      and prints PSNR, SSIM, errors, storage and compression ratios for each rank.

Sizes: a rank-k channel of an m×n image stores k(m+n+1) numbers; compression_ratio is
raw 8-bit pixel bytes / float32 factor bytes.  In ycbcr mode the chroma rank defaults to 8,
as in the app.
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


def run(args: argparse.Namespace) -> int:
    """Decompose once, write one PNG per rank, print the metrics."""
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
    factors = decompose_image(img.pixels, args.mode)
    for k in args.rank:
        if not 1 <= k <= factors.max_rank:
            raise CliError(
                f"{args.image}: rank {k} is out of range; this "
                f"{factors.width}×{factors.height} image has ranks 1 to {factors.max_rank}"
            )
    if args.chroma_rank is not None and not 0 <= args.chroma_rank <= factors.max_chroma_rank:
        raise CliError(f"--chroma-rank must be between 0 and {factors.max_chroma_rank}")
    rows = []
    stem = Path(args.image).stem
    for k in args.rank:
        chroma = args.chroma_rank if factors.mode == "ycbcr" else None
        rec = reconstruct_image(factors, k, chroma)
        out = outdir / f"{stem}_{factors.mode}_k{k}.png"
        try:
            save_png(out, rec)
        except OSError as exc:
            raise CliError(f"{out}: cannot write ({exc.strerror or exc})") from None
        m = image_metrics(img.pixels, factors, k, chroma, reconstruction=rec)
        rows.append((m, out))
    if args.json:
        print_json(
            [
                {
                    "rank": m.rank,
                    "chroma_rank": m.chroma_rank,
                    "psnr_db": m.psnr_db,
                    "ssim": m.ssim,
                    "relative_error": m.relative_error,
                    "energy_retained": m.energy_retained,
                    "stored_values": m.stored_values,
                    "bytes_float32": m.bytes_float32,
                    "bytes_float16": m.bytes_float16,
                    "bytes_uint8": m.bytes_uint8,
                    "raw_bytes": m.raw_bytes,
                    "compression_ratio": m.compression_ratio,
                    "output": str(out),
                }
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
