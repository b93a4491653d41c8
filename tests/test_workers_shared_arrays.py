"""Arrays born in shared memory (io/shared_arrays) go to a worker by descriptor, not copied."""

from __future__ import annotations

import gc
import os
import sys

import numpy as np
import pytest
from PIL import Image

from svdstudio import shared_buffers
from svdstudio.io import shared_arrays
from svdstudio.io.images import load_image
from svdstudio.io.shared_arrays import is_shared, shared_copy, shared_empty, shared_file_of
from tests import _transport_jobs
from tests.test_workers_shared import _in_shared_memory, _round_trip

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="memfd and /proc are Linux's"
)


@pytest.fixture(autouse=True)
def shared_memory_on(monkeypatch):
    monkeypatch.delenv(shared_arrays.DISABLE_ENV, raising=False)


def _array_files() -> set[int]:
    """Inodes of this process's open shared-array files (ours and the mapping's descriptor)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if shared_arrays.MEMFD_NAME in target:
            found.add(os.stat(f"/proc/self/fd/{fd}").st_ino)
    return found


def _inode_of(a: np.ndarray) -> int:
    return _transport_jobs.mapping_of(a)[1]


def test_a_shared_array_lives_in_its_own_file_until_its_last_view_goes(qtbot):
    before = _array_files()
    a = shared_copy(np.arange(1 << 18, dtype=np.float64).reshape(512, 512))
    assert a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
    assert a[3, 5] == 3 * 512 + 5 and is_shared(a) and is_shared(a[10:20, ::3])
    fd, offset = shared_file_of(memoryview(a[2:]))
    assert offset == 2 * 512 * 8 and os.fstat(fd).st_size == a.nbytes
    assert _inode_of(a) == os.fstat(fd).st_ino
    inode = os.fstat(fd).st_ino
    assert inode in _array_files() and inode not in before
    view = a[100]
    del a
    gc.collect()
    assert view[7] == 100 * 512 + 7 and inode in _array_files()
    del view
    gc.collect()
    # Unmapped and closed by a background thread (20-30 ms at 144 MiB), not by this one.
    qtbot.waitUntil(lambda: inode not in _array_files(), timeout=5000)
    with open("/proc/self/maps") as fh:
        assert not [line for line in fh if line.split()[4] == str(inode)]  # nor its mapping


def test_small_arrays_and_the_switch_stay_ordinary(monkeypatch):
    assert not is_shared(shared_empty((100, 100), np.float32))  # 40 KB: not worth a file
    monkeypatch.setenv(shared_arrays.DISABLE_ENV, "1")
    big = shared_copy(np.ones((1024, 1024), np.float32))
    assert not is_shared(big) and big.sum() == 1024 * 1024
    assert shared_file_of(memoryview(np.ones(1 << 20))) is None


def test_a_shared_array_is_sent_by_descriptor_and_received_copy_on_write(monkeypatch):
    a = shared_copy(np.arange(1 << 19, dtype=np.float32))
    other = np.arange(1 << 18, dtype=np.float64)  # 2 MiB, not shared: a file of its own
    written: list[int] = []
    real = shared_buffers._write_shared

    def counting(raws):
        written.append(sum(r.nbytes for r in raws))
        return real(raws)

    monkeypatch.setattr(shared_buffers, "_write_shared", counting)
    got = _round_trip({"a": a, "view": a[1000:], "other": other})
    assert written == [other.nbytes]  # only the other array was written anew
    inode = os.fstat(shared_file_of(memoryview(a))[0]).st_ino
    assert _inode_of(got["a"]) == inode and _inode_of(got["view"]) == inode  # the same pages
    assert _in_shared_memory(got["other"])  # a message buffer, as before
    np.testing.assert_array_equal(got["a"], a)
    np.testing.assert_array_equal(got["view"], a[1000:])
    np.testing.assert_array_equal(got["other"], other)
    assert got["a"].flags.writeable
    got["a"][5] = -1.0  # copy-on-write: the sender's array is untouched
    assert a[5] == 5.0 and got["view"][0] == 1000.0


def test_a_worker_job_gets_the_pixels_file_without_a_copy(qtbot, runner, monkeypatch):
    a = shared_copy(np.full((1000, 1000), 2.0, np.float32))
    written: list[int] = []
    real = shared_buffers._write_shared
    monkeypatch.setattr(
        shared_buffers, "_write_shared", lambda raws: written.append(len(raws)) or real(raws)
    )
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _transport_jobs.mapping_of, a, in_process=True)
    path, inode, total = blocker.args[2]
    assert written == []  # the GUI side wrote nothing for the job
    assert shared_arrays.MEMFD_NAME in path
    assert inode == os.fstat(shared_file_of(memoryview(a))[0]).st_ino
    assert total == 2.0 * 1000 * 1000


def test_a_decoded_photo_is_in_shared_memory(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (600, 700, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "a.png")  # the composited path
    for name in ("p.png", "a.png"):
        img = load_image(tmp_path / name)
        assert is_shared(img.pixels) and not img.pixels.flags.writeable
        assert img.pixels.dtype == np.float32 and img.pixels.flags.c_contiguous
        np.testing.assert_array_equal(img.pixels, rgb.astype(np.float32))
    small = load_image_small(tmp_path)
    assert not is_shared(small.pixels) and small.pixels.flags.c_contiguous


def load_image_small(tmp_path):
    Image.fromarray(np.full((20, 30), 7, np.uint8)).save(tmp_path / "s.png")
    img = load_image(tmp_path / "s.png")
    assert img.pixels.shape == (20, 30) and float(img.pixels[3, 4]) == 7.0
    return img


def test_the_banded_decode_gives_pillows_pixels(tmp_path, monkeypatch):
    from svdstudio.io import images

    monkeypatch.setattr(images, "_BAND_BYTES", 1000)  # bands of 1, 2 or 3 rows, a short last
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (37, 333, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb[..., 1]).save(tmp_path / "l.png")
    Image.fromarray(rgb[..., 2] > 127).save(tmp_path / "bits.png")  # mode "1"
    for name, mode in (("rgb.png", "RGB"), ("l.png", "L"), ("bits.png", "L")):
        with Image.open(tmp_path / name) as im:
            expected = np.asarray(im.convert(mode), dtype=np.float32)
        got = load_image(tmp_path / name).pixels
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)
