"""``svdstudio-cli``: the command-line twin of SVD Studio (no Qt is imported here)."""

from __future__ import annotations

import argparse
import sys

from svdstudio import __version__
from svdstudio.commands import compress, network, project, svd
from svdstudio.commands.common import CliError, one_line, plain_text_fallback

# Each module adds one sub-command; keep the list in the order shown by --help.
COMMANDS = [svd, compress, project, network]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="svdstudio-cli",
        description="Scripted SVD experiments: decompose matrices, compress images, "
        "project datasets, compress networks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"svdstudio-cli {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input or usage)."""
    # Every command, its --help and its errors work on an ASCII-only terminal.
    plain_text_fallback(sys.stdout, sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"svdstudio-cli: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
