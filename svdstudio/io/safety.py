"""Open input files defensively: refuse what would hang, loop or exhaust memory before reading.

Every reader in ``svdstudio.io`` opens its file through :func:`open_regular_file` and decodes
text through :func:`decode_text`, so each class of hostile input gets the same answer:

* Named pipes, sockets and device files (``/dev/zero``) are refused *before* any read: the file
  is opened non-blocking (a FIFO without a writer would otherwise block ``open`` for ever) and
  checked with ``fstat`` on the open descriptor (no race with a swapped path).
* Folders, symbolic-link loops, dangling links, missing and unreadable files get one sentence.
* A size limit is checked against ``st_size`` (a 5 GB sparse file is refused without reading it),
  and :func:`read_limited` stops at the limit as well, for files whose size lies (``/proc``).
* Text in UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM; anything else that is not
  UTF-8 is named as such with the line of the first bad byte.

Errors are :class:`InputFileError` (a ``ValueError``) with ``reason`` free of the file name, so
each reader can put the name the user knows in front.  No Qt here.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
from typing import IO, BinaryIO

import numpy as np

__all__ = [
    "InputFileError",
    "check_regular_file",
    "decode_text",
    "describe_size",
    "open_regular_file",
    "read_limited",
    "read_npy_header",
]

_BOMS = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


# A field may be as long as the file (a long quoted note or number); the readers' size limits
# bound it, so the csv module's own 128 KiB guard would only turn a valid table into an error.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


class InputFileError(ValueError):
    """A file that cannot be read safely; ``reason`` is the message without the file name."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple[type[InputFileError], tuple[str, str]]:  # for worker processes
        return (InputFileError, (self.source, self.reason))


def describe_size(nbytes: float) -> str:
    """A byte count for messages: "512 MiB", "4.0 GiB", "37 KiB", "12 bytes"."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(nbytes)} bytes"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a file; save the data to a file and open that"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file; save the data to a file and open that"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def _why_not_opened(path: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that loops back on itself; it points at no file"
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return "is a symbolic link to a file that does not exist"
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied); check the file's permissions"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return f"cannot be read ({exc.strerror or exc})"


def check_regular_file(path: str | os.PathLike[str], source: str | None = None) -> int:
    """The size of ``path`` if it is a regular file, found without opening it; else raise
    :class:`InputFileError` (missing, folder, link loop, pipe, device, …)."""
    spath = os.fspath(path)
    name = spath if source is None else source
    try:
        st = os.stat(spath)
    except OSError as exc:
        raise InputFileError(name, _why_not_opened(spath, exc)) from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise InputFileError(name, kind)
    return int(st.st_size)


def open_regular_file(
    path: str | os.PathLike[str],
    source: str | None = None,
    *,
    max_bytes: int | None = None,
    what: str = "files",
) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file of at most ``max_bytes``.

    ``source`` is the name used in messages (default: the path as given); ``what`` names the
    kind of file in the size message ("tables up to 512 MiB can be opened").  Never blocks on
    a FIFO; raises :class:`InputFileError` for anything that is not a readable regular file.
    """
    spath = os.fspath(path)
    name = spath if source is None else source
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    # A FIFO or device is refused from its path first: some devices act on open itself.
    try:
        pre = os.stat(spath)
    except OSError as exc:
        raise InputFileError(name, _why_not_opened(spath, exc)) from None
    kind = _kind(pre.st_mode)
    if kind is not None:
        raise InputFileError(name, kind)
    try:
        fd = os.open(spath, flags)
    except OSError as exc:
        raise InputFileError(name, _why_not_opened(spath, exc)) from None
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind is not None:
            raise InputFileError(name, kind)
        if max_bytes is not None and st.st_size > max_bytes:
            raise InputFileError(
                name,
                f"the file is {describe_size(st.st_size)}; {what} up to "
                f"{describe_size(max_bytes)} can be opened",
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(fh: BinaryIO, source: str, max_bytes: int, *, what: str = "files") -> bytes:
    """Read all of ``fh`` but never more than ``max_bytes`` (then raise, naming the limit)."""
    try:
        data = fh.read(max_bytes + 1)
    except PermissionError:
        raise InputFileError(source, "cannot be read (permission denied)") from None
    except OSError as exc:
        raise InputFileError(source, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise InputFileError(
            source,
            f"holds more than {describe_size(max_bytes)}; {what} up to "
            f"{describe_size(max_bytes)} can be opened",
        )
    return data


def decode_text(
    data: bytes, source: str, *, hint: str = "save it as UTF-8 text", latin1: bool = False
) -> tuple[str, str]:
    """(text, encoding name) from bytes: a UTF-8/16/32 byte-order mark is honoured, else UTF-8.

    A NUL byte without a BOM means a binary file.  Bytes that are not UTF-8 are read as Latin-1
    when ``latin1`` (the caller says so), else the first bad byte is named with its line.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    source, f"is not valid {label} text (bad bytes at offset {exc.start})"
                ) from None
            return text.lstrip("\ufeff"), label
    if b"\x00" in data[:65536]:
        sample = data[: min(len(data), 512) // 2 * 2]
        even, odd = sample[0::2], sample[1::2]
        text_half = odd if not any(even) else even if not any(odd) else b""
        if len(text_half) >= 4 and all(b in b"\t\n\r" or 32 <= b < 127 for b in text_half):
            # Every other byte zero: ASCII text in UTF-16 that lost (or never had) its BOM.
            raise InputFileError(
                source,
                "looks like UTF-16 text without its byte-order mark; save it as UTF-8 "
                "(or as Unicode text with a byte-order mark)",
            )
        raise InputFileError(source, "is a binary file, not text")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        if latin1:
            return data.decode("latin-1"), "Latin-1"
        sep = b"\n" if b"\n" in data[: exc.start] else b"\r"  # a lone-\r file has no \n
        line = data.count(sep, 0, exc.start) + 1
        raise InputFileError(
            source,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02X} on line {line}); {hint}",
        ) from None


def read_npy_header(fh: IO[bytes], source: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the ``.npy`` header at ``fh``'s position, leaving ``fh`` at the data.

    Nothing is allocated for the data and nothing is unpickled, so the caller can check the
    declared size and dtype first.  Raises :class:`InputFileError` for a damaged header.
    """
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise InputFileError(
                source,
                f"is a .npy file of version {version[0]}.{version[1]}, which is not read; "
                "save it with numpy.save",
            )
    except InputFileError:
        raise
    except Exception as exc:  # numpy's header parser raises many kinds (TokenError, …)
        raise InputFileError(source, f"is not a valid .npy file (damaged header: {exc})") from None
    return tuple(int(d) for d in shape), dtype
