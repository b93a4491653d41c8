"""Shared plumbing for the command-line sub-commands."""

from __future__ import annotations

import codecs
import contextlib
import json
import sys
import unicodedata
from typing import Any

import numpy as np

__all__ = [
    "ASCII_STAND_INS",
    "CliError",
    "one_line",
    "plain_text_fallback",
    "print_json",
    "to_jsonable",
]

# Control characters (a newline in a file name) written as escapes, so an error stays one line.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_CONTROLS.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})

#: Plain-ASCII stand-ins for the maths symbols, for terminals whose encoding lacks them.
ASCII_STAND_INS = {
    "σ": "s",
    "Σ": "S",
    "‖": "||",
    "ᵀ": "^T",
    "₂": "2",
    "²": "^2",
    "−": "-",
    "–": "-",
    "—": "-",
    "≤": "<=",
    "≥": ">=",
    "≈": "~",
    "×": "x",
    "·": "*",
    "⋮": ":",
    "…": "...",
    "→": "->",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "µ": "u",
    "Δ": "D",
}
_HANDLER = "svdstudio-plain"


def _stand_in(ch: str) -> str:
    if ch in ASCII_STAND_INS:
        return ASCII_STAND_INS[ch]
    # é -> e, ﬁ -> fi, ₃ -> 3; whatever has no ASCII form becomes "?".
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
    return plain or "?"


def _plain(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(_stand_in(c) for c in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_HANDLER, _plain)


def plain_text_fallback(*streams: Any) -> None:
    """Let ``streams`` (stdout, stderr) write what their encoding lacks as ASCII stand-ins
    ("σ" as "s", "×" as "x") instead of raising UnicodeEncodeError (PYTHONIOENCODING=ascii)."""
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A closed or detached stream is left as it is.
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=_HANDLER)


def one_line(text: str) -> str:
    """``text`` with control characters escaped ("a\\nb.csv"), so a message is one line."""
    return text.translate(_CONTROLS)


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
