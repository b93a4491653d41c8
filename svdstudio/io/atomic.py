"""The one way SVD Studio writes a file: to a temporary file beside it, renamed over it when done.

A failed or killed write never leaves half a file at the target.  The result has the mode a
plain ``open(path, "w")`` would give it (0o666 less the umask, or the replaced file's own mode),
not ``mkstemp``'s owner-only 0600.  Temporary files are named ``.NAME.svdstudio-PID-RANDOM.tmp``;
one left behind by a killed process is removed by the next write into the same folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_path",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "clean_stale_temporaries",
]

_TEMP_RE = re.compile(r"^\..+\.svdstudio-(\d+)-[0-9a-f]{8}\.tmp(\.\w+)?$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process
    return True


def clean_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove this app's temporary files in ``folder`` whose writing process is gone."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _temp_name(target: Path, suffix: str = "") -> Path:
    tag = f"svdstudio-{os.getpid()}-{os.urandom(4).hex()}"
    return target.parent / f".{target.name}.{tag}.tmp{suffix}"


def _publish(tmp: Path, target: Path) -> None:
    with contextlib.suppress(OSError):  # keep an existing file's permissions
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that takes a file name (an exporter).

    The temporary name keeps ``path``'s suffix (``….tmp.png``), for writers that pick the format
    by it.  On success the file is renamed over ``path``; on any exception it is removed.
    """
    target = Path(path)
    clean_stale_temporaries(target.parent if str(target.parent) else ".")
    tmp = _temp_name(target, target.suffix)
    try:
        # Create it first with os.open(0o666) so the umask decides its mode.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield tmp
        _publish(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; replace ``path`` only if all went well.

    ``mode`` is ``"wb"`` or ``"w"`` (text: UTF-8, newlines written as given).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    clean_stale_temporaries(target.parent if str(target.parent) else ".")
    tmp = _temp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        encoding, newline = (None, None) if mode == "wb" else ("utf-8", "")
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8, newlines as given."""
    with atomic_write(path, "w") as fh:
        fh.write(text)


def write_with(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(binary_file)`` on a temporary file and publish it atomically at ``path``."""
    with atomic_write(path, "wb") as fh:
        write(fh)
