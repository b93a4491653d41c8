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
import threading
import time
import weakref
from typing import Any

import numpy as np

__all__ = [
    "DISABLE_ENV",
    "MIN_SHARED_ARRAY_BYTES",
    "is_shared",
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
    _freer().put((mapping, fd))


_free_queue: queue.SimpleQueue[tuple[mmap.mmap, int]] | None = None


def _freer() -> queue.SimpleQueue[tuple[mmap.mmap, int]]:
    global _free_queue
    with _lock:
        if _free_queue is None:
            _free_queue = queue.SimpleQueue()
            threading.Thread(
                target=_free_forever, args=(_free_queue,), name="svdstudio-free", daemon=True
            ).start()
        return _free_queue


def _free_forever(q: queue.SimpleQueue[tuple[mmap.mmap, int]]) -> None:
    while True:
        mapping, fd = q.get()
        for _ in range(200):
            try:
                mapping.close()
            except BufferError:
                time.sleep(0.005)  # the carrier's finaliser runs before it lets go of the buffer
            else:
                break
        del mapping  # still exported after a second (never seen): it unmaps when it goes
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
