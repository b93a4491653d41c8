"""Shared plumbing for the command-line sub-commands."""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import sys
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

__all__ = [
    "ASCII_STAND_INS",
    "CliError",
    "TerminalProgress",
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


def _duration(seconds: float) -> str:
    if seconds < 1.5:
        return "about a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


class TerminalProgress:
    """One status line on a terminal — step, percent, time left — rewritten in place.

    The job is planned as steps of estimated cost (any unit, e.g. nominal seconds): ``plan``
    the total, announce each ``step``; within a step, ``report(fraction, message)`` (the
    engine's JobContext protocol, with ``cancelled()``) moves the bar through that step's
    share.  The percentage never goes back and stays below 100 until :meth:`close`, which
    clears the line.  The time left is extrapolated from the time so far, once there is
    enough of it to go by.  Use :meth:`for_stream`: it gives None unless the stream is a
    terminal, so pipes, logs and ``--json`` runs get nothing extra.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.t0 = clock()
        self.total = 1.0
        self.done = 0.0  # cost of the steps finished
        self.cost = 0.0  # cost of the current step
        self.name = ""
        self.shown = 0.0
        self.width = 0
        self.last_draw = -math.inf
        self.last_text = ""

    @classmethod
    def for_stream(
        cls, stream: TextIO | None = None, *, enabled: bool = True
    ) -> TerminalProgress | None:
        """A progress line on ``stream`` (default stderr) if it is a terminal, else None."""
        stream = sys.stderr if stream is None else stream
        isatty = getattr(stream, "isatty", None)
        try:
            tty = bool(isatty()) if callable(isatty) else False
        except (ValueError, OSError):  # closed or detached
            tty = False
        return cls(stream) if enabled and tty else None

    def plan(self, total: float) -> None:
        """Set the estimated cost of the whole job (what is done included)."""
        self.total = max(float(total), self.done + self.cost, 1e-12)

    def step(self, name: str, cost: float) -> None:
        """Finish the current step and start ``name`` of estimated ``cost``."""
        self.done += self.cost
        self.cost = max(float(cost), 0.0)
        self.name = name
        self._draw(0.0, name, force=True)

    def resize(self, cost: float) -> None:
        """Re-estimate the current step's cost (e.g. once it has been measured)."""
        self.cost = max(float(cost), 0.0)
        self.total = max(self.total, self.done + self.cost, 1e-12)

    def report(self, fraction: float, message: str = "") -> None:
        """Progress inside the current step (``message`` details it, e.g. the channel).

        A fraction of -1 (unknown) keeps the bar where it is.
        """
        # The engine's own time estimate covers only its part; the line shows the job's.
        detail = message.split(" · ")[0]
        text = f"{self.name}: {detail}" if detail and detail != self.name else self.name
        self._draw(min(max(float(fraction), 0.0), 1.0), text, force=False)

    def cancelled(self) -> bool:
        """Nothing cancels a command-line run short of Ctrl+C."""
        return False

    def fraction(self, within: float = 0.0) -> float:
        """The job's fraction done (never backwards, below 1 until closed)."""
        now = (self.done + self.cost * within) / self.total
        self.shown = max(self.shown, min(now, 0.99))
        return self.shown

    def eta(self, fraction: float) -> float | None:
        """Seconds left at the pace so far, or None while too little is done to tell."""
        elapsed = self.clock() - self.t0
        if fraction < 0.02 or elapsed < 1.0:
            return None
        return elapsed * (1.0 - fraction) / fraction

    def _draw(self, within: float, text: str, *, force: bool) -> None:
        # A new message is always shown (there are a few per step); the same one at most
        # every ``interval`` seconds.
        now = self.clock()
        if not force and text == self.last_text and now - self.last_draw < self.interval:
            return
        self.last_draw, self.last_text = now, text
        frac = self.fraction(within)
        eta = self.eta(frac)
        line = f"[{frac * 100:3.0f}%] {text}"
        if eta is not None:
            line += f" · {_duration(eta)} left"
        line = line[: self._columns() - 1]
        try:
            self.stream.write("\r" + line.ljust(self.width))
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the job goes on without it
            return
        self.width = len(line)

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        if columns <= 0:  # a terminal that does not know its size (a bare pty, a serial line)
            try:
                columns = int(os.environ.get("COLUMNS", "80"))
            except ValueError:
                columns = 80
        return max(20, columns)

    def close(self) -> None:
        """Clear the status line (the terminal is left as it was)."""
        if self.width:
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()
            self.width = 0
