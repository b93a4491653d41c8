"""Arrays born in shared memory: a big image's pixels, written once, sent to workers for free.

:func:`shared_empty` gives an array over an anonymous shared-memory file (``memfd_create``)
that this process keeps open while the array (or any view of it) lives.  When such an array
is sent to a worker process (:mod:`svdstudio.shared_buffers`), its file's descriptor goes over
the socket instead of its bytes: the worker maps the very same pages, copy-on-write, so every
job of the image (the full SVD of each colour mode, ...) gets the pixels without a copy.
Writing the 144 MiB of a 12-MP photo's float32 pixels into a fresh file for each job cost the
GUI process 55-60 ms of a core per job, on a machine whose two cores the SVD also wants.

Where ``memfd_create`` is missing, the room cannot be had, or ``SVDSTUDIO_NO_SHARED_MEMORY``
is set, the array is an ordinary one (and travels as before).  No Qt here: the loader, a
plain reader of files, allocates through this.  The file's last descriptor is closed by a
background thread: freeing a 12-MP photo's 144 MiB of shared pages took 25-30 ms of whichever
thread dropped the last array (the GUI thread, when the next image is opened).
"""

from __future__ import annotations

import mmap
import os
import queue
import sys
import threading
import time
import weakref
from typing import Any

import numpy as np

__all__ = [
    "BACKGROUND_NICE",
    "DISABLE_ENV",
    "MIN_SHARED_ARRAY_BYTES",
    "background_closes",
    "close_later",
    "is_shared",
    "lower_thread_priority",
    "shared_copy",
    "shared_empty",
    "shared_file_of",
]

DISABLE_ENV = "SVDSTUDIO_NO_SHARED_MEMORY"
# Smaller arrays cost less in a pipe than a file, its descriptor and a mapping per job.
MIN_SHARED_ARRAY_BYTES = 1 << 20
MEMFD_NAME = "svdstudio-arrays"  # shows in /proc/PID/maps as /memfd:svdstudio-arrays

# id(mapping) → (descriptor of its file, address of its first byte), while the mapping lives.
_files: dict[int, tuple[int, int]] = {}
_lock = threading.Lock()


def shared_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-ordered array in shared memory (an ordinary one where none can be
    had, or below :data:`MIN_SHARED_ARRAY_BYTES`)."""
    dt = np.dtype(dtype)
    count = 1
    for n in shape:
        count *= int(n)
    nbytes = count * dt.itemsize
    if nbytes < MIN_SHARED_ARRAY_BYTES or os.environ.get(DISABLE_ENV):
        return np.empty(shape, dt)
    if not hasattr(os, "memfd_create"):
        return np.empty(shape, dt)
    try:
        fd = os.memfd_create(MEMFD_NAME, os.MFD_CLOEXEC)
    except OSError:
        return np.empty(shape, dt)
    try:
        os.ftruncate(fd, nbytes)
        # The pages are taken now: no room is a clean error here (and an ordinary array),
        # not a SIGBUS when the decoder first writes to a page the kernel cannot give.
        os.posix_fallocate(fd, 0, nbytes)
        mapping = mmap.mmap(
            fd, nbytes, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE
        )
    except (OSError, ValueError):
        os.close(fd)
        return np.empty(shape, dt)
    flat = np.frombuffer(mapping, dtype=np.uint8)  # the carrier: every view's base
    start = int(flat.__array_interface__["data"][0])
    with _lock:
        _files[id(mapping)] = (fd, start)
    # The file goes with the last array over it, unmapped and closed by a background thread.
    weakref.finalize(flat, _forget, mapping, fd).atexit = False
    return flat.view(dt).reshape(shape)


def _forget(mapping: mmap.mmap, fd: int) -> None:
    with _lock:
        _files.pop(id(mapping), None)
    close_later(mapping, fd)


# Niceness of the GUI process's helper threads (job threads, worker watchers, the unmapper below):
# the GUI thread, at the process's own, then wins a contended core at once.  In stalls of
# 50-370 ms the GUI thread had used 2-43 ms of CPU: it was waiting for a core (or the GIL)
# that these threads had.  Worker processes keep the process's niceness (their SVD would
# otherwise lose to any other program on a busy machine).  Measured on Linux, which schedules
# a session (autogroup) as one group: workers at nice 10 shortened the pauses while a 12-MP
# photo's factors arrived on an idle machine (36-61 ms against 51-160), but with a busy program
# in the same session the full SVD took 2.7 times as long (0.435 of numpy's time against
# 0.161), and with one in another session the pauses grew (240 ms); a worker in a session of
# its own (setsid) gained nothing.  Not adopted.
BACKGROUND_NICE = 5


def lower_thread_priority(nice: int | None = None) -> None:
    """Run the calling thread at niceness ``nice`` (default :data:`BACKGROUND_NICE`; Linux,
    where niceness is per thread; a no-op elsewhere, or when the thread is already nicer)."""
    nice = BACKGROUND_NICE if nice is None else nice
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:
        pass  # not allowed (a sandbox): the thread keeps its priority


_close_queue: queue.SimpleQueue[tuple[mmap.mmap, int | None]] | None = None
_closed_in_background = 0


def close_later(mapping: mmap.mmap, fd: int | None = None) -> None:
    """Unmap ``mapping`` (and close ``fd``) in one background thread, not in the caller's.

    Freeing a big shared mapping's pages took 25-300 ms of whichever thread let go of the last
    array (often the GUI thread): the shared pixels here, a worker's hand-over in
    :mod:`svdstudio.shared_buffers`.
    """
    global _close_queue
    with _lock:
        if _close_queue is None:
            _close_queue = queue.SimpleQueue()
            threading.Thread(
                target=_close_forever, args=(_close_queue,), name="svdstudio-unmap", daemon=True
            ).start()
        q = _close_queue
    q.put((mapping, fd))


def background_closes() -> int:
    """How many mappings the background thread has unmapped so far (for tests)."""
    return _closed_in_background


def _close_forever(q: queue.SimpleQueue[tuple[mmap.mmap, int | None]]) -> None:
    global _closed_in_background
    lower_thread_priority()
    while True:
        mapping, fd = q.get()
        for _ in range(200):
            try:
                mapping.close()
            except BufferError:
                # The thread that freed the last array runs the finaliser before it lets go
                # of the buffer: give it a moment.
                time.sleep(0.005)
            else:
                _closed_in_background += 1
                break
        del mapping  # still exported after a second (never seen): it unmaps when it goes
        if fd is not None:
            os.close(fd)


def shared_copy(a: np.ndarray, dtype: Any = None) -> np.ndarray:
    """A C-ordered copy of ``a`` (cast to ``dtype``) in shared memory, see :func:`shared_empty`."""
    out = shared_empty(a.shape, a.dtype if dtype is None else dtype)
    np.copyto(out, a, casting="unsafe")
    return out


def _file_of(obj: Any) -> tuple[int, int] | None:
    """(descriptor, address of the first byte) of the shared file under ``obj``, or None."""
    for _ in range(64):  # arrays over arrays over the mapping's memoryview
        if isinstance(obj, mmap.mmap):
            with _lock:
                return _files.get(id(obj))
        if isinstance(obj, np.ndarray):
            obj = obj.base
        elif isinstance(obj, memoryview):
            obj = obj.obj
        else:
            return None
    return None


def is_shared(a: np.ndarray) -> bool:
    """True when ``a`` lies in the shared file of a :func:`shared_empty` array."""
    return _file_of(a) is not None


def shared_file_of(buffer: memoryview) -> tuple[int, int] | None:
    """(descriptor, offset) of ``buffer`` in the shared file of a :func:`shared_empty` array,
    or None when it is not in one.  The descriptor stays this module's: do not close it."""
    known = _file_of(buffer.obj)
    if known is None:
        return None
    fd, start = known
    addr = int(np.frombuffer(buffer, dtype=np.uint8).__array_interface__["data"][0])
    return fd, addr - start
