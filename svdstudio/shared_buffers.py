"""Messages between the GUI and its worker processes, big array buffers in shared memory.

A message is pickled with protocol 5: the pickle itself (small) always travels through the
``multiprocessing`` connection, and so do small out-of-band buffers.  The buffers of at least
:data:`MIN_SHARED_BYTES` (the factors of an image: 240 MiB at 12 MP) are written by the sender
into one anonymous shared-memory file per message (``memfd_create``), whose descriptor goes over
the connection's Unix socket (``SCM_RIGHTS``) with their offsets.  The receiver maps it and gives
the unpickler views of the mapping: the arrays it builds are backed by that memory, with no
copy and no pipe transfer (which took 0.9 s for 240 MiB, 1.9 s beside a thread that holds the
GIL).  Nothing is ever unpickled from shared memory: it holds raw array bytes only.
A buffer that already lies in shared memory (an array made by
:func:`svdstudio.io.shared_arrays.shared_empty`: an image's pixels, decoded there) is not
written again: its own file's descriptor is sent, and the receiver maps it copy-on-write.

Lifetime: the file has no name, so nothing can be left behind in ``/dev/shm``.  The kernel frees
it when the last descriptor and the last mapping are gone: the sender closes its descriptor once
sent, the receiver once mapped, and the mapping lives while any array over it does (array → its
uint8 carrier → mmap); a background thread unmaps it then.  A worker killed mid-send, a job
cancelled with a stage still in the socket, a GUI killed with a result half received: each
process's descriptors close when it exits, and a descriptor in flight goes with the socket.
Named segments (``multiprocessing.shared_memory``) would need an unlink by someone, and Python
3.11's resource tracker registers a segment in every process that attaches to it and warns about
(and unlinks) those another process was to unlink.

Where ``memfd_create`` or descriptor passing is missing (not Linux, or a connection that is not a
Unix socket), the room for the buffers cannot be had, or ``SVDSTUDIO_NO_SHARED_MEMORY`` is set in
the environment, buffers take the pipe as before.  No Qt here: a worker process imports this.
"""

from __future__ import annotations

import mmap
import os
import pickle
import socket
import stat
import struct
import threading
import time
import weakref
from typing import Any

from svdstudio.io.shared_arrays import (
    BACKGROUND_NICE,
    DISABLE_ENV,
    background_closes,
    close_later,
    lower_thread_priority,
    shared_file_of,
)

__all__ = [
    "BACKGROUND_NICE",
    "DISABLE_ENV",
    "MIN_SHARED_BYTES",
    "TransportError",
    "background_unmaps",
    "lower_thread_priority",
    "receive_message",
    "send_message",
    "watch_parent",
]

MIN_SHARED_BYTES = 1 << 20  # smaller buffers cost less in the pipe than a file and a mapping
_ALIGN = 4096  # each buffer starts on a page: any dtype is aligned, and a view spans few pages
_PAGE = mmap.PAGESIZE
_MEMFD_NAME = "svdstudio-buffers"  # shows in /proc/PID/maps as /memfd:svdstudio-buffers


class TransportError(Exception):
    """A message could not be received whole (e.g. its shared buffer did not come)."""


def _can_share(conn: Any) -> bool:
    if os.environ.get(DISABLE_ENV) or not hasattr(os, "memfd_create"):
        return False
    if not hasattr(socket, "send_fds"):
        return False
    try:
        return stat.S_ISSOCK(os.fstat(conn.fileno()).st_mode)
    except (OSError, AttributeError, ValueError):
        return False


def send_message(conn: Any, message: Any, *, shared: bool = True) -> None:
    """Send ``message`` through ``conn``, big buffers through shared memory when ``shared``.

    A buffer already in the shared file of a :func:`~svdstudio.io.shared_arrays.shared_empty`
    array (an image's pixels) is sent by that file's descriptor, never copied again; the
    other big buffers are written into one new file.  Read it with :func:`receive_message`.
    """
    buffers: list[pickle.PickleBuffer] = []
    payload = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    # (size, file index, offset in that file); file index -1: the pipe
    parts = [(r.nbytes, -1, 0) for r in raws]
    fds: list[int] = []  # the files sent with the message
    kept: list[bool] = []  # per file: another's (an array's file), mapped copy-on-write
    fresh = -1  # index of the file written for this message, if any
    if shared and _can_share(conn):
        big = [i for i, r in enumerate(raws) if r.nbytes >= MIN_SHARED_BYTES]
        rest = []
        for i in big:
            found = shared_file_of(raws[i])
            if found is None:
                rest.append(i)
                continue
            if found[0] not in fds:
                fds.append(found[0])
                kept.append(True)
            parts[i] = (raws[i].nbytes, fds.index(found[0]), found[1])
        if rest:
            try:
                fd, offsets = _write_shared([raws[i] for i in rest])
            except OSError:
                pass  # no room (ENOSPC, ENOMEM): the pipe still works
            else:
                fresh = len(fds)
                fds.append(fd)
                kept.append(False)
                for i, off in zip(rest, offsets, strict=True):
                    parts[i] = (raws[i].nbytes, fresh, off)
    try:
        conn.send(("oob", payload, parts, kept))
        if fds:
            with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                socket.send_fds(sock, [b"B"], fds)
        for raw, (_, index, _) in zip(raws, parts, strict=True):
            if index < 0:
                conn.send_bytes(raw)
    finally:
        if fresh >= 0:
            os.close(fds[fresh])  # the receiver holds its own descriptor (or the socket does)


def _write_shared(raws: list[memoryview]) -> tuple[int, list[int]]:
    """Write ``raws`` into a new anonymous shared file; its descriptor and each offset."""
    offsets, total = [], 0
    for raw in raws:
        offsets.append(total)
        total += -(-raw.nbytes // _ALIGN) * _ALIGN
    fd = os.memfd_create(_MEMFD_NAME, os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, total)
        # pwrite, not a mapping: the pages never count in this process's resident memory, no
        # room is a clean ENOSPC (not a SIGBUS), and the GIL is released for each call.
        for raw, off in zip(raws, offsets, strict=True):
            done = 0
            while done < raw.nbytes:
                done += os.pwrite(fd, raw[done:], off + done)
    except BaseException:
        os.close(fd)
        raise
    return fd, offsets


def receive_message(conn: Any) -> Any:
    """Receive one message sent by :func:`send_message` (or a plain ``conn.send``)."""
    msg = conn.recv()
    if not (isinstance(msg, tuple) and len(msg) == 4 and msg[0] == "oob"):
        return msg
    _, payload, parts, kept = msg
    mappings = _map_files(_receive_fds(conn, len(kept)), parts, kept) if kept else []
    buffers: list[Any] = []
    carriers: list[list[Any]] = [[] for _ in mappings]
    for size, index, off in parts:
        if index < 0:
            buffers.append(_receive_buffer(conn, size))
        elif index >= len(mappings):
            raise TransportError("a message placed a buffer in shared memory it did not send")
        else:
            carriers[index].append(_carrier(mappings[index], off, size))
            buffers.append(carriers[index][-1])
    for mapping, theirs in zip(mappings, carriers, strict=True):
        _unmap_when_unused(mapping, theirs)
    del mappings, carriers
    return pickle.loads(payload, buffers=buffers)


def _carrier(mapping: mmap.mmap, offset: int, size: int) -> Any:
    # The unpickler gets a uint8 array over the mapping, not a memoryview: numpy builds its
    # arrays over an ndarray directly, so every array of this buffer (and every view of them)
    # has it as its base, and it goes exactly when the last of them goes.  (Over a memoryview
    # numpy would wrap it in a memoryview of its own, and ours would go at once.)
    import numpy as np

    return np.frombuffer(mapping, dtype=np.uint8, count=size, offset=offset)


def _receive_fds(conn: Any, count: int) -> list[int]:
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        data, fds, _flags, _addr = socket.recv_fds(sock, 1, count, flags)
    if not data:
        for fd in fds:
            os.close(fd)
        raise EOFError
    if len(fds) != count or data != b"B":
        for fd in fds:
            os.close(fd)
        raise TransportError("the shared buffer of a message did not come with it")
    return list(fds)


def _map_files(fds: list[int], parts: list[tuple[int, int, int]], kept: list[bool]) -> list[Any]:
    """Map each of the message's files (then close its descriptor)."""
    mappings: list[Any] = []
    try:
        for index, fd in enumerate(fds):
            within = [(n, off) for n, i, off in parts if i == index]
            mappings.append(_map_shared(fd, within, private=kept[index]))
            fds[index] = -1
    finally:
        for fd in fds:
            if fd >= 0:
                os.close(fd)
    return mappings


def _map_shared(fd: int, parts: list[tuple[int, int]], *, private: bool = False) -> mmap.mmap:
    """Map the message's shared file read-write (then close ``fd``).

    ``private``: the file is another's (an array's, still in use by the sender): mapped
    copy-on-write, so that the receiver may write to its arrays as to a copy of its own.
    """
    try:
        size = os.fstat(fd).st_size
        if any(off + n > size for n, off in parts):
            raise TransportError("the shared buffer of a message is shorter than announced")
        flags = mmap.MAP_PRIVATE if private else mmap.MAP_SHARED
        mapping = mmap.mmap(fd, size, flags=flags, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)  # mmap keeps a descriptor of its own until it is unmapped
    _prefault(mapping)
    return mapping


def _prefault(mapping: mmap.mmap) -> None:
    # Touch one byte per page here, in the receiving thread, with the GIL released (a numpy
    # reduction): else the page faults (≈ 40 ms per 240 MiB) happen in whichever thread first
    # reads the arrays, often the GUI thread.  MAP_POPULATE would hold the GIL in mmap().
    import numpy as np

    if len(mapping):
        np.frombuffer(mapping, dtype=np.uint8)[::_PAGE].max()


class _Release:
    """Holds a mapping until the last of its views is gone, then hands it to the unmapper."""

    def __init__(self, mapping: mmap.mmap, views: int) -> None:
        self._mapping: mmap.mmap | None = mapping
        self._views = views
        self._lock = threading.Lock()

    def one_gone(self) -> None:
        with self._lock:
            self._views -= 1
            if self._views > 0 or self._mapping is None:
                return
            mapping, self._mapping = self._mapping, None
        close_later(mapping)


def background_unmaps() -> int:
    """How many mappings have been unmapped by the background thread so far (for tests)."""
    return background_closes()


def _unmap_when_unused(mapping: mmap.mmap, carriers: list[Any]) -> None:
    """Unmap ``mapping`` in the unmapper thread once every one of ``carriers`` is gone."""
    if not carriers:
        close_later(mapping)
        return
    release = _Release(mapping, len(carriers))
    for carrier in carriers:
        weakref.finalize(carrier, release.one_gone).atexit = False


def _read_exact(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _receive_buffer(conn: Any, size: int) -> memoryview:
    # numpy.empty leaves the pages untouched; bytearray(size) would zero them holding the GIL.
    import numpy as np

    buf = memoryview(np.empty(size, dtype=np.uint8))
    if os.name != "posix":
        conn.recv_bytes_into(buf)
        return buf
    # Read the connection's framing (a 4-byte length, or -1 and an 8-byte length) and then the
    # bytes straight into ``buf``; os.readv releases the GIL for the whole transfer.
    fd = conn.fileno()
    (n,) = struct.unpack("!i", _read_exact(fd, 4))
    if n == -1:
        (n,) = struct.unpack("!Q", _read_exact(fd, 8))
    if n != size:
        raise OSError(f"worker message of {n} bytes where {size} were announced")
    got = 0
    while got < size:
        step = os.readv(fd, [buf[got:]])
        if step == 0:
            raise EOFError
        got += step
    return buf


def watch_parent(gui_pid: int, interval: float = 0.5) -> threading.Thread | None:
    """In a worker: exit once the GUI process ``gui_pid`` is gone, instead of computing (and
    holding memory) for nobody.

    The GUI need not be the worker's parent (a fork server's worker is the server's child, and
    the server lives while any worker does): on Linux the GUI is watched through a pidfd
    (immune to a reused pid), elsewhere by the parent's pid changing.
    """
    try:
        pidfd = os.pidfd_open(gui_pid)
    except (AttributeError, OSError):
        pidfd = -1

    def gone() -> bool:
        if pidfd >= 0:
            import select

            return bool(select.select([pidfd], [], [], 0)[0])  # readable once it has exited
        return os.getppid() != gui_pid

    def run() -> None:
        while not gone():
            time.sleep(interval)
        os._exit(0)

    if pidfd < 0 and os.getppid() != gui_pid:
        return None  # neither a pidfd nor the GUI as parent: nothing to watch it by
    thread = threading.Thread(target=run, name="svdstudio-parent-watch", daemon=True)
    thread.start()
    return thread
