"""Messages between the GUI and its worker processes, big array buffers in shared memory.

A message is pickled with protocol 5: the pickle itself (small) always travels through the
``multiprocessing`` connection, and so do small out-of-band buffers.  The buffers of at least
:data:`MIN_SHARED_BYTES` (the factors of an image: 240 MiB at 12 MP) are written by the sender
into one anonymous shared-memory file per message (``memfd_create``), whose descriptor goes over
the connection's Unix socket (``SCM_RIGHTS``) with their offsets.  The receiver maps it and gives
the unpickler views of the mapping: the arrays it builds are backed by that memory, with no
copy and no pipe transfer (which took 0.9 s for 240 MiB, 1.9 s beside a thread that holds the
GIL).  Nothing is ever unpickled from shared memory: it holds raw array bytes only.

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
import queue
import socket
import stat
import struct
import threading
import time
import weakref
from typing import Any

__all__ = [
    "DISABLE_ENV",
    "MIN_SHARED_BYTES",
    "TransportError",
    "background_unmaps",
    "receive_message",
    "send_message",
    "watch_parent",
]

MIN_SHARED_BYTES = 1 << 20  # smaller buffers cost less in the pipe than a file and a mapping
DISABLE_ENV = "SVDSTUDIO_NO_SHARED_MEMORY"
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

    Read it with :func:`receive_message` at the other end.
    """
    buffers: list[pickle.PickleBuffer] = []
    payload = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    parts = [(r.nbytes, -1) for r in raws]  # (size, offset in the shared file; -1: the pipe)
    big = [i for i, r in enumerate(raws) if r.nbytes >= MIN_SHARED_BYTES]
    fd = None
    if shared and big and _can_share(conn):
        try:
            fd, offsets = _write_shared([raws[i] for i in big])
        except OSError:
            fd = None  # no room (ENOSPC, ENOMEM): the pipe still works
        else:
            for i, off in zip(big, offsets, strict=True):
                parts[i] = (raws[i].nbytes, off)
    try:
        conn.send(("oob", payload, parts, fd is not None))
        if fd is not None:
            with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                socket.send_fds(sock, [b"B"], [fd])
        for raw, (_, off) in zip(raws, parts, strict=True):
            if off < 0:
                conn.send_bytes(raw)
    finally:
        if fd is not None:
            os.close(fd)  # the receiver holds its own descriptor (or the socket does)


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
    _, payload, parts, has_shared = msg
    mapping = _map_shared(_receive_fd(conn), parts) if has_shared else None
    buffers: list[Any] = []
    carriers = []
    for size, off in parts:
        if off < 0:
            buffers.append(_receive_buffer(conn, size))
        elif mapping is None:
            raise TransportError("a message placed a buffer in shared memory it did not send")
        else:
            carriers.append(_carrier(mapping, off, size))
            buffers.append(carriers[-1])
    if mapping is not None:
        _unmap_when_unused(mapping, carriers)
        del mapping, carriers
    return pickle.loads(payload, buffers=buffers)


def _carrier(mapping: mmap.mmap, offset: int, size: int) -> Any:
    # The unpickler gets a uint8 array over the mapping, not a memoryview: numpy builds its
    # arrays over an ndarray directly, so every array of this buffer (and every view of them)
    # has it as its base, and it goes exactly when the last of them goes.  (Over a memoryview
    # numpy would wrap it in a memoryview of its own, and ours would go at once.)
    import numpy as np

    return np.frombuffer(mapping, dtype=np.uint8, count=size, offset=offset)


def _receive_fd(conn: Any) -> int:
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        data, fds, _flags, _addr = socket.recv_fds(sock, 1, 1, flags)
    if not data:
        for fd in fds:
            os.close(fd)
        raise EOFError
    if len(fds) != 1 or data != b"B":
        for fd in fds:
            os.close(fd)
        raise TransportError("the shared buffer of a message did not come with it")
    return fds[0]


def _map_shared(fd: int, parts: list[tuple[int, int]]) -> mmap.mmap:
    """Map the message's shared file read-write (then close ``fd``)."""
    try:
        size = os.fstat(fd).st_size
        if any(off + n > size for n, off in parts if off >= 0):
            raise TransportError("the shared buffer of a message is shorter than announced")
        mapping = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
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
        _unmapper().put(mapping)


_unmap_queue: queue.SimpleQueue[mmap.mmap] | None = None
_unmap_lock = threading.Lock()


def _unmapper() -> queue.SimpleQueue[mmap.mmap]:
    # Unmapping 240 MiB of shared memory, which frees its pages, took 150-300 ms on a busy
    # machine (an anonymous array of that size: under 10 ms).  The last array of a result
    # usually goes in the GUI thread (the next stage replaces it): unmap in this thread instead.
    global _unmap_queue
    with _unmap_lock:
        if _unmap_queue is None:
            _unmap_queue = queue.SimpleQueue()
            threading.Thread(
                target=_unmap_forever, args=(_unmap_queue,), name="svdstudio-unmap", daemon=True
            ).start()
        return _unmap_queue


def _unmap_forever(q: queue.SimpleQueue[mmap.mmap]) -> None:
    global _background_unmaps
    while True:
        mapping = q.get()
        for _ in range(200):
            try:
                mapping.close()
            except BufferError:
                # The thread that freed the last array runs the finaliser before it lets go
                # of the buffer: give it a moment.
                time.sleep(0.005)
            else:
                _background_unmaps += 1
                break
        del mapping  # still exported after a second (never seen): it unmaps when it goes


_background_unmaps = 0


def background_unmaps() -> int:
    """How many mappings the unmapper thread has unmapped so far (for tests)."""
    return _background_unmaps


def _unmap_when_unused(mapping: mmap.mmap, carriers: list[Any]) -> None:
    """Unmap ``mapping`` in the unmapper thread once every one of ``carriers`` is gone."""
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


def watch_parent(gui_pid: int, interval: float = 0.5) -> threading.Thread:
    """In a worker: exit once the GUI process ``gui_pid`` is gone, instead of computing (and
    holding memory) for nobody."""

    def run() -> None:
        while os.getppid() == gui_pid:
            time.sleep(interval)
        os._exit(0)

    thread = threading.Thread(target=run, name="svdstudio-parent-watch", daemon=True)
    thread.start()
    return thread
