"""``svdstudio-cli svd MATRIX [--rank K] [--json]`` (being written: see issue 2)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``svd`` sub-command."""
    p = sub.add_parser("svd", help="decompose a matrix file")
    p.add_argument("matrix")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Not yet implemented."""
    raise NotImplementedError
