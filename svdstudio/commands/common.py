"""Shared plumbing for the command-line sub-commands."""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

__all__ = ["CliError", "print_json", "to_jsonable"]


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2, no traceback.

    The message should name the file (or ``-`` for standard input) and the problem.
    """


def to_jsonable(value: Any) -> Any:
    """Convert numpy arrays and scalars (recursively) to plain JSON types; inf/nan → None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def print_json(obj: Any) -> None:
    """Write one JSON object to standard output."""
    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")
