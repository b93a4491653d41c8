"""A battery of hostile files against every io reader: a clear ValueError, fast, no big allocation.

Readers: matrices (CSV/.npy), datasets, images, factor files, and the file-type sniffer the
GUI's open path uses.  Each message must name the file and say what is wrong in words.
"""

from __future__ import annotations

import os
import pickle
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from svdstudio.io import image_factors
from svdstudio.io.datasets import DatasetError, read_dataset
from svdstudio.io.filetypes import classify_path
from svdstudio.io.image_codecs import codec_report
from svdstudio.io.image_factors import load_factors, save_factors
from svdstudio.io.images import ImageFileError, ImageTooLargeError, load_image
from svdstudio.io.matrix import (
    MAX_MATRIX_FILE_BYTES,
    MatrixFileError,
    read_matrix,
    read_matrix_stream,
)
from tests import _hostile as H  # noqa: N812

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks are POSIX here")

READERS: dict[str, tuple[str, Callable[[Path], object], type[Exception]]] = {
    "matrix": (".csv", read_matrix, MatrixFileError),
    "matrix_npy": (".npy", read_matrix, MatrixFileError),
    "dataset": (".csv", read_dataset, DatasetError),
    "image": (".png", load_image, ImageFileError),
    "factors": (".svdz", load_factors, ValueError),
    "classify": (".csv", classify_path, ValueError),
}


def _refused(reader: Callable[[Path], object], path: Path, error: type[Exception]) -> str:
    """Run ``reader`` on ``path`` in a thread (a hang fails the test instead of the suite)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = reader(path)
        except BaseException as exc:  # the test inspects whatever came out
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    if t.is_alive():  # unblock a reader stuck on a FIFO, then fail
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail(f"{reader.__name__} hung on {path.name}")
    exc = box.get("error")
    assert exc is not None, f"{reader.__name__} accepted {path.name}: {box.get('value')!r}"
    assert isinstance(exc, error), repr(exc)
    message = str(exc)
    assert path.name in message and "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("case", sorted(H.PATH_CASES))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_paths_that_are_not_regular_files(tmp_path, reader, case):
    suffix, read, error = READERS[reader]
    path = H.make_path_case(tmp_path, case, suffix)
    message = _refused(read, path, error)
    assert H.PATH_CASES[case] in message


@pytest.mark.parametrize("reader", sorted(set(READERS) - {"classify"}))
def test_unreadable_file_simulated(tmp_path, monkeypatch, reader):
    suffix, read, error = READERS[reader]
    path = tmp_path / f"secret{suffix}"
    path.write_bytes(b"1,2\n3,4\n")
    H.denied_open(monkeypatch, path)
    assert "permission denied" in _refused(read, path, error)


def _peak_during(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
    except ValueError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize(
    ("reader", "nbytes", "words"),
    [
        ("matrix", 5 * 2**30, "5.0 GiB; matrix files up to 256 MiB"),
        ("matrix", MAX_MATRIX_FILE_BYTES + 1, "matrix files up to 256 MiB"),
        ("dataset", 5 * 2**30, "5.0 GiB; tables up to 512 MiB"),
        ("factors", 5 * 2**30, "5.0 GiB; factor files up to 1.0 GiB"),
    ],
)
def test_sparse_files_refused_by_size_without_reading(tmp_path, reader, nbytes, words):
    suffix, read, error = READERS[reader]
    path = H.sparse_file(tmp_path / f"huge{suffix}", nbytes)
    assert words in _refused(read, path, error)
    assert _peak_during(lambda: read(path)) < 16 * 2**20


@pytest.mark.parametrize(
    ("shape", "dtype", "data", "words"),
    [
        ((1_000_000, 1_000_000), "<f8", b"", "= 1,000,000,000,000 values"),
        ((2**40,), "|u1", b"", "values"),
        ((300, 300), "<f8", b"\x00" * 80, "truncated: its header declares 300×300 float64"),
        ((5, 5), "|O", b"\x80\x04", "holds Python objects"),
        ((4, 4), "<c16", b"\x00" * 256, "complex"),
    ],
)
def test_npy_headers_checked_before_allocating(tmp_path, shape, dtype, data, words):
    path = H.npy_declaring(tmp_path / "bomb.npy", shape, dtype, data)
    message = _refused(read_matrix, path, MatrixFileError)
    assert words in message and "allow_pickle" not in message
    assert _peak_during(lambda: read_matrix(path)) < 16 * 2**20


def test_npy_damaged_header(tmp_path):
    path = tmp_path / "bad.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}\n" + b"\x00" * 8)
    assert "not a valid .npy file" in _refused(read_matrix, path, MatrixFileError)


def test_standard_input_is_read_up_to_the_limit(monkeypatch):
    import io

    from svdstudio.io import matrix

    monkeypatch.setattr(matrix, "MAX_MATRIX_FILE_BYTES", 1000)
    with pytest.raises(MatrixFileError, match=r"^-: holds more than 1000 bytes"):
        read_matrix_stream(io.BytesIO(b"1,2\n" * 10_000), "-")
    assert read_matrix_stream(io.BytesIO(b"1,2\n3,4\n"), "-").tolist() == [[1, 2], [3, 4]]


# --- factor files -----------------------------------------------------------------------------


def test_factor_zip_bomb_refused_from_declared_sizes(tmp_path, monkeypatch):
    # 40 MiB of zeros deflate to ~40 KiB; with a 4 MiB limit it is a bomb (the real limit is 2 GiB).
    monkeypatch.setattr(image_factors, "MAX_FACTOR_BYTES", 4 * 2**20)
    path = H.zip_with_member(tmp_path / "bomb.svdz", {"c0_u.npy": b"\x00" * (40 * 2**20)})
    assert path.stat().st_size < 200_000
    message = _refused(load_factors, path, ValueError)
    assert "would inflate to 40 MiB, above the 4.0 MiB limit" in message
    assert _peak_during(lambda: load_factors(path)) < 16 * 2**20


@pytest.mark.parametrize(
    ("members", "words"),
    [
        (
            {"header.npy": H.npy_bytes(np.array([1, "x"], dtype=object), allow_pickle=True)},
            "object",
        ),
        (H.factor_members(c0_u=H.npy_bytes(np.zeros(3))[:60] + b"\x00" * 4), "array c0_u"),
        (
            H.factor_members(
                c0_u=b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f8', 'shape': (999999999,)" + b"}"
            ),
            "array c0_u",
        ),
        # A member declaring far more than the header's image: refused from its npy header.
        (
            H.factor_members(
                c0_u=H.npy_bytes(np.zeros((1, 1), np.uint8)).replace(b"(1, 1)", b"(9999, 9999)")
            ),
            "expected (4, 1)",
        ),
        (H.factor_members(c0_s=H.npy_bytes(np.array([np.nan], np.float32))), "holds NaN or inf"),
        ({k: v for k, v in H.factor_members().items() if k != "c0_vt.npy"}, "missing array c0_vt"),
        ({"header.npy": H.factor_header(height=100_000, width=100_000)}, "above the safety limit"),
        ({"header.npy": H.factor_header(ranks=[99])}, "ranks [99] do not fit"),
        ({"header.npy": H.factor_header(format="something else")}, "wrong format name"),
        ({"notes.txt": b"hello"}, "no header"),
    ],
)
def test_damaged_factor_files_never_get_numpy_pickle_advice(tmp_path, members, words):
    path = H.zip_with_member(tmp_path / "damaged.svdz", members)
    message = _refused(load_factors, path, ValueError)
    assert words in message and "allow_pickle" not in message
    assert "not a valid SVD Studio factor file" in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (pickle.dumps({"evil": 1}), "not a zip archive"),
        (H.npy_bytes(np.zeros((2, 2))), "a single .npy array"),
        (b"", "empty"),
        (b"PK\x03\x04" + b"\x00" * 100, "the archive is damaged"),
    ],
)
def test_not_a_factor_archive(tmp_path, content, words):
    path = tmp_path / "fake.svdz"
    path.write_bytes(content)
    message = _refused(load_factors, path, ValueError)
    assert words in message and "allow_pickle" not in message and "pickle" not in message


def test_hand_made_valid_factor_file_opens(tmp_path):
    path = H.zip_with_member(tmp_path / "ok.svdz", H.factor_members())
    factors, header = load_factors(path)
    assert (factors.height, factors.width, header["ranks"]) == (4, 5, [1])


def test_valid_factor_file_still_round_trips(tmp_path):
    from svdstudio.engine.image import decompose_image

    img = np.add.outer(np.arange(12.0), np.arange(9.0)).astype(np.float32) * 5
    save_factors(tmp_path / "ok.svdz", decompose_image(img, "gray"), 2)
    factors, header = load_factors(tmp_path / "ok.svdz")
    assert (factors.height, factors.width, header["ranks"]) == (12, 9, [2])


# --- images -----------------------------------------------------------------------------------


def test_image_header_declaring_a_bomb(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(H.png_header(100_000, 100_000))
    with pytest.raises(ImageTooLargeError) as err:
        load_image(path)
    assert err.value.pixel_count == 10**10 and str(path) in str(err.value)


@pytest.mark.parametrize(
    ("value", "where", "what"),
    [(np.nan, (2, 5), "NaN"), (np.inf, (0, 0), "+inf"), (-np.inf, (6, 1), "-inf")],
)
def test_float_tiff_with_non_finite_pixel_named(tmp_path, value, where, what):
    arr = np.linspace(0, 1, 8 * 7, dtype=np.float32).reshape(7, 8)
    arr[where] = value
    path = tmp_path / "float.tif"
    Image.fromarray(arr, mode="F").save(path)
    message = _refused(load_image, path, ImageFileError)
    y, x = where
    assert f"pixel x={x + 1}, y={y + 1}" in message and f"holds {what}" in message


def test_float_tiff_with_many_nans_counts_them(tmp_path):
    arr = np.full((4, 4), np.nan, dtype=np.float32)
    path = tmp_path / "nan.tif"
    Image.fromarray(arr, mode="F").save(path)
    assert "15 more pixels are not finite" in _refused(load_image, path, ImageFileError)


@pytest.mark.parametrize(("h", "w"), [(1, 65535), (65535, 1), (2, 65501)])
def test_jpeg_cannot_store_the_size_png_still_can(h, w):
    pixels = np.linspace(0, 255, h * w, dtype=np.float32).reshape(h, w)
    report = codec_report(pixels, qualities=(50, 75))
    assert report.jpeg == () and report.jpeg_reference is None
    assert f"JPEG cannot store this size: {w}×{h} pixels" in report.cannot_store["JPEG"]
    assert "PNG" not in report.cannot_store and report.png_bytes > 0


def test_jpeg_at_its_limit_is_stored():
    pixels = np.full((1, 65500), 128.0, dtype=np.float32)
    report = codec_report(pixels, qualities=(75,))
    assert report.cannot_store == {} and report.jpeg[0].nbytes > 0


# --- any bytes: a ValueError naming the file, never another exception -------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PREFIXES = [b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00", b"\xff\xfe", b"\x00\x00\xfe\xff", b"\x89PNG"]


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=300))
def test_any_bytes_in_every_reader(tmp_path, prefix, body):
    for reader, (suffix, read, error) in READERS.items():
        path = tmp_path / f"fuzz_{reader}{suffix}"
        path.write_bytes(prefix + body)
        try:
            read(path)
        except error as exc:
            assert path.name in str(exc) and "allow_pickle" not in str(exc)


@pytest.mark.parametrize("end", [b"\n", b"\r"])
def test_too_many_lines_refused_before_parsing(tmp_path, monkeypatch, end):
    from svdstudio.io import dataset_records, matrix

    monkeypatch.setattr(matrix, "MAX_MATRIX_ROWS", 1000)
    monkeypatch.setattr(dataset_records, "MAX_ROWS", 1000)
    path = tmp_path / "tall.csv"
    path.write_bytes(b"a,b,label" + end + (b"1,2,x" + end) * 5000)
    assert "has 5,001 lines; matrices of up to 1,000 rows" in _refused(
        read_matrix, path, MatrixFileError
    )
    assert "has 5,001 lines; tables of up to 1,000 rows" in _refused(
        read_dataset, path, DatasetError
    )
