"""The one atomic-write helper: modes like open(), nothing left behind, stale files cleaned."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from svdstudio.io.atomic import (
    atomic_path,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    clean_stale_temporaries,
)
from svdstudio.io.datasets import write_projection_csv
from svdstudio.io.image_factors import save_factors
from svdstudio.io.images import save_png
from svdstudio.io.matrix import write_matrix


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_the_mode_open_would_give(tmp_path, umask022):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    atomic_write_bytes(tmp_path / "a.bin", b"abc")
    atomic_write_text(tmp_path / "b.txt", "é\n")
    assert _mode(tmp_path / "a.bin") == _mode(plain) == 0o644
    assert _mode(tmp_path / "b.txt") == 0o644
    assert (tmp_path / "b.txt").read_bytes() == "é\n".encode()


def test_umask_077_is_respected(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"abc")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.bin") == 0o600


def test_replacing_keeps_the_old_files_mode(tmp_path, umask022):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o640


def test_failure_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write(b"partial")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_atomic_path_keeps_the_suffix_and_cleans_up(tmp_path):
    target = tmp_path / "plot.png"
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".tmp.png") and tmp.parent == tmp_path
        tmp.write_bytes(b"png")
    assert target.read_bytes() == b"png"
    with pytest.raises(OSError), atomic_path(tmp_path / "x.svg") as tmp:
        raise OSError("exporter failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "a", "a"):
        pass


def test_a_killed_writer_leaves_a_temp_that_the_next_write_removes(tmp_path):
    code = (
        "import os, sys\n"
        "from svdstudio.io.atomic import atomic_write\n"
        "with atomic_write(sys.argv[1]) as fh:\n"
        "    fh.write(b'partial'); fh.flush()\n"
        "    os._exit(9)\n"  # dies mid-write, as a kill would
    )
    target = tmp_path / "export.png"
    subprocess.run([sys.executable, "-c", code, str(target)], check=False)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".export.png.svdstudio-")
    # someone else's file with a similar name is never touched
    (tmp_path / ".export.png.mine.tmp").write_bytes(b"keep")
    atomic_write_bytes(tmp_path / "other.csv", b"1,2\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.png.mine.tmp", "other.csv"]


def test_live_writers_temporaries_are_kept(tmp_path):
    live = tmp_path / f".a.bin.svdstudio-{os.getpid()}-0123abcd.tmp"
    live.write_bytes(b"")
    assert clean_stale_temporaries(tmp_path) == []
    assert live.exists()


def test_every_writer_gives_ordinary_modes(tmp_path, umask022):
    """Matrix, dataset, PNG and factor writers all go through the helper."""
    from svdstudio.engine.image import decompose_image

    pixels = np.linspace(0, 255, 48, dtype=np.float32).reshape(6, 8)
    write_matrix(tmp_path / "m.csv", np.eye(2))
    write_matrix(tmp_path / "m.npy", np.eye(2))
    save_png(tmp_path / "p.png", pixels)
    save_factors(tmp_path / "f.svdz", decompose_image(pixels, "gray"), 2)
    write_projection_csv(tmp_path / "d.csv", np.zeros((3, 2)), component_names=["PC1", "PC2"])
    modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
    assert modes == {n: 0o644 for n in ("m.csv", "m.npy", "p.png", "f.svdz", "d.csv")}
