"""Crash insurance for the Matrix tab: unsaved edits are written to disk a few seconds after
the last edit, and offered back after a session that ended without saving them.

One file per running process (``matrix-autosave-PID.npz``) in the autosave folder: beside the
settings file when ``$SVDSTUDIO_SETTINGS`` names one, else the app's data folder.  The file is
an ``.npz`` of plain arrays (values, the invalid cells' positions and texts, the file path) and
is read back with ``allow_pickle=False``.  A file whose process is gone was left by a crash or
a kill; a clean exit (or a save, or undoing back to the saved state) removes the file.

With a job runner the file is written on a thread (a 5000×5000 matrix took about 0.5 s of the
GUI thread): writes are serialised and numbered, so an older write never replaces a newer
one, and a removal asked for while a write is under way removes what that write leaves.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from svdstudio.io.atomic import write_with
from svdstudio.workers import JobRunner

__all__ = [
    "AUTOSAVE_DELAY_MS",
    "Autosave",
    "Recovered",
    "autosave_folder",
    "find_orphans",
    "read_autosave",
    "write_autosave",
]

#: Wait this long after the last edit (a burst of typing is one write).
AUTOSAVE_DELAY_MS = 3000
SETTINGS_ENV = "SVDSTUDIO_SETTINGS"
_NAME_RE = re.compile(r"^matrix-autosave-(\d+)\.npz$")


def autosave_folder() -> Path:
    """Beside ``$SVDSTUDIO_SETTINGS`` when it is set, else the app's data folder."""
    env = os.environ.get(SETTINGS_ENV)
    if env:
        return Path(env).expanduser().resolve().parent
    where = QStandardPaths.StandardLocation.AppDataLocation
    return Path(QStandardPaths.writableLocation(where))


@dataclass(frozen=True)
class Recovered:
    """What an autosave file holds."""

    values: np.ndarray
    invalid: dict[tuple[int, int], str]
    path: str | None  # the file the matrix came from, if any
    saved_at: float  # seconds since the epoch
    source: Path  # the autosave file itself


def write_autosave(
    target: Path, values: np.ndarray, invalid: dict[tuple[int, int], str], path: str | None
) -> None:
    """Write one autosave file atomically (the previous one stays whole until replaced)."""
    keys = sorted(invalid)
    values = np.asarray(values, dtype=np.float64)
    if np.isnan(values).any():  # the invalid cells (their texts are kept apart)
        values = np.nan_to_num(values, nan=0.0)
    arrays = {
        "values": values,
        "invalid_rc": np.array(keys, dtype=np.int64).reshape(-1, 2),
        "invalid_text": np.array([invalid[k] for k in keys], dtype=np.str_),
        "path": np.array(path or "", dtype=np.str_),
        "saved_at": np.array(time.time()),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    # Straight into the temporary file, not through an in-memory copy: file writes release
    # the GIL, copies into a BytesIO do not (the GUI thread waits for a writing thread).
    write_with(target, lambda fh: np.savez(fh, **arrays))


def read_autosave(source: Path) -> Recovered:
    """Read an autosave file (ValueError/OSError when it is damaged)."""
    with np.load(source, allow_pickle=False) as z:
        values = np.array(z["values"], dtype=np.float64)
        rc = np.array(z["invalid_rc"], dtype=np.int64).reshape(-1, 2)
        texts = [str(t) for t in z["invalid_text"]]
        path = str(z["path"]) or None
        saved_at = float(z["saved_at"])
    if values.ndim != 2 or values.size == 0 or len(texts) != len(rc):
        raise ValueError(f"{source.name}: not a matrix autosave")
    invalid = {
        (int(r), int(c)): t
        for (r, c), t in zip(rc.tolist(), texts, strict=True)
        if 0 <= r < values.shape[0] and 0 <= c < values.shape[1]
    }
    for r, c in invalid:
        values[r, c] = np.nan
    return Recovered(values, invalid, path, saved_at, source)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def find_orphans(folder: Path) -> list[Path]:
    """Autosave files whose process is gone, newest first."""
    try:
        entries = [p for p in folder.iterdir() if _NAME_RE.match(p.name)]
    except OSError:
        return []
    orphans = [p for p in entries if not _alive(int(_NAME_RE.match(p.name).group(1)))]
    return sorted(orphans, key=lambda p: p.stat().st_mtime, reverse=True)


class _Writes:
    """The writes of one autosave file, in order, from any thread.

    Each write gets a number when asked for; a write runs only if no newer one was asked for
    since (that one will write) and no removal came after it.  A removal marks every write
    asked for so far as removed: one under way removes the file it leaves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one write at a time: an older never replaces a newer
        self._asked = 0
        self._removed = 0  # writes numbered up to this one must not leave a file

    def ask(self) -> int:
        """A write is wanted (GUI thread): its number."""
        self._asked += 1
        return self._asked

    def mark_removed(self) -> None:
        """Every write asked for so far must not leave a file (GUI thread; never waits)."""
        self._removed = self._asked

    def write(
        self,
        number: int,
        target: Path,
        values: np.ndarray,
        invalid: dict[tuple[int, int], str],
        path: str | None,
    ) -> str:
        """Write ``target`` unless superseded; "" or the sentence saying why it failed."""
        with self._lock:
            if number < self._asked or number <= self._removed:
                return ""
            try:
                write_autosave(target, values, invalid, path)
            except (OSError, ValueError) as exc:
                return f"Could not autosave the matrix: {exc}"
            if number <= self._removed:  # removed while this was written
                with contextlib.suppress(OSError):
                    target.unlink()
        return ""


class Autosave(QObject):
    """Debounced writer of this process's autosave file.

    ``schedule()`` after each edit; the owner's ``snapshot()`` callable gives
    ``(values, invalid, path)`` or None when nothing is unsaved (the file is then removed).
    The values must not change afterwards (the model's read-only snapshot).  With ``runner``
    the file is written on a thread; ``written`` says when a write asked for has ended.
    """

    failed = Signal(str)  # one sentence: the autosave could not be written
    written = Signal()  # a write (or its skip, when superseded) has ended

    CHANNEL = "matrix.autosave"

    def __init__(
        self, snapshot, parent: QObject | None = None, runner: JobRunner | None = None
    ) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._runner = runner
        self._writes = _Writes()
        self._again = False  # asked for while a write was under way
        if runner is not None:
            runner.finished.connect(self._on_finished)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.write_now)

    def target(self) -> Path:
        """This process's autosave file."""
        return autosave_folder() / f"matrix-autosave-{os.getpid()}.npz"

    def schedule(self) -> None:
        """An edit happened: write in a few seconds (restarting the wait)."""
        self._timer.start(AUTOSAVE_DELAY_MS)

    def write_now(self) -> None:
        """Write the unsaved matrix now (or remove the file when nothing is unsaved)."""
        self._timer.stop()
        if self._runner is not None and self._runner.is_running(self.CHANNEL):
            self._again = True  # once the write under way has ended (one job at a time)
            return
        snap = self._snapshot()
        if snap is None:
            self.remove()
            return
        args = (self._writes.ask(), self.target(), *snap)
        if self._runner is None:
            self._done(self._writes.write(*args))
            return
        # A thread, not a process: the file writes release the GIL, and a process would cost
        # a spawn per autosave.  Its write runs to the end even if the job is cancelled (Esc
        # cancels every job): only its report is dropped.
        try:
            self._runner.submit(
                self.CHANNEL,
                self._writes.write,
                *args,
                description="Autosaving the matrix",
                in_process=False,
                on_result=self._done,
            )
        except RuntimeError:  # the runner has been shut down (the app is closing)
            self._done(self._writes.write(*args))

    def _done(self, message: str) -> None:
        if message:
            self.failed.emit(message)
        self.written.emit()

    def _on_finished(self, channel: str, _job_id: int) -> None:
        # After the result, an error or a cancel: a write asked for meanwhile goes now.
        if channel == self.CHANNEL and self._again:
            self._again = False
            self.write_now()

    def remove(self) -> None:
        """Forget the autosave (clean exit, save, or back to the saved state)."""
        self._timer.stop()
        self._again = False
        self._writes.mark_removed()
        with contextlib.suppress(OSError):
            self.target().unlink()
