"""The hostile battery against every CLI command: exit 2, one line on stderr, within seconds.

Paths that could hang (a named pipe, /dev/zero) run in a subprocess with a timeout; the rest
run in-process through ``svdstudio.cli.main`` (fast, and PermissionError can be simulated).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from svdstudio.cli import main
from tests import _hostile as H  # noqa: N812

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks are POSIX here")

# Command -> (argument list before the path, after it, the suffix its input has).
COMMANDS = {
    "svd": (["svd"], ["--rank", "1"], ".csv"),
    "compress": (["compress"], ["--rank", "2"], ".png"),
    "project": (["project"], [], ".csv"),
}


def run_cli(*args: str, env: dict | None = None, stdin: bytes | None = None):
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", *args],
        cwd=ROOT,
        env=full_env,
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def one_error_line(stderr: str, path: Path | str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("svdstudio-cli: error: ") and str(path) in lines[0]
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("case", ["fifo", "device"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_pipes_and_devices_do_not_hang(tmp_path, command, case):
    before, after, suffix = COMMANDS[command]
    path = H.make_path_case(tmp_path, case, suffix)
    r = run_cli(
        *before,
        str(path),
        *after,
        "-o" if command == "compress" else "--json",
        *([str(tmp_path)] if command == "compress" else []),
    )
    assert r.returncode == 2
    line = one_error_line(r.stderr.decode(), path)
    assert H.PATH_CASES[case] in line


@pytest.mark.parametrize("case", ["folder", "loop", "dangling", "missing"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_paths_in_process(tmp_path, capsys, command, case):
    before, after, suffix = COMMANDS[command]
    path = H.make_path_case(tmp_path, case, suffix)
    assert main([*before, str(path), *after]) == 2
    line = one_error_line(capsys.readouterr().err, path.name)
    assert H.PATH_CASES[case] in line


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unreadable_file_simulated(tmp_path, capsys, monkeypatch, command):
    before, after, suffix = COMMANDS[command]
    path = tmp_path / f"secret{suffix}"
    path.write_bytes(b"1,2\n3,4\n")
    H.denied_open(monkeypatch, path)
    assert main([*before, str(path), *after]) == 2
    assert "permission denied" in one_error_line(capsys.readouterr().err, path.name)


@pytest.mark.parametrize(
    ("command", "name", "words"),
    [
        ("svd", "huge.csv", "matrix files up to 256 MiB"),
        # A table too big for memory goes to the Dask path, which reads it in chunks.
        ("project", "huge.csv", "binary file"),
        ("compress", "huge.png", "huge.png"),
    ],
)
def test_sparse_5gb_file(tmp_path, capsys, command, name, words):
    before, after, _ = COMMANDS[command]
    path = H.sparse_file(tmp_path / name, 5 * 2**30, head=b"\x00" * 16)
    assert (
        main(
            [*before, str(path), *after, *(["-o", str(tmp_path)] if command == "compress" else [])]
        )
        == 2
    )
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if ln.startswith("svdstudio-cli: note: ")]
    assert words in one_error_line(
        "\n".join(ln for ln in err.splitlines() if ln not in notes), path.name
    )


def test_npy_bomb_and_damaged_factor_file(tmp_path, capsys):
    bomb = H.npy_declaring(tmp_path / "bomb.npy", (100_000, 100_000))
    assert main(["svd", str(bomb)]) == 2
    assert "100000×100000 = 10,000,000,000 values" in one_error_line(capsys.readouterr().err, bomb)


def test_float_tiff_with_nan_pixel(tmp_path, capsys):
    arr = np.ones((5, 6), dtype=np.float32)
    arr[3, 4] = np.nan
    path = tmp_path / "nan.tif"
    Image.fromarray(arr, mode="F").save(path)
    assert main(["compress", str(path), "--rank", "1", "-o", str(tmp_path)]) == 2
    assert "pixel x=5, y=4" in one_error_line(capsys.readouterr().err, path)


def test_label_column_99_names_what_was_typed(capsys):
    assert main(["project", "iris", "--label-column", "99"]) == 2
    line = one_error_line(capsys.readouterr().err, "iris.csv")
    assert "label column 99 does not exist: the table has 5 columns" in line


def test_space_separated_table_that_cannot_be_split(tmp_path, capsys):
    path = tmp_path / "names.txt"
    path.write_text("sepal length sepal width species\n5.1 3.5 setosa\n4.9 3.0 setosa\n")
    assert main(["project", str(path)]) == 2
    assert "cannot split the table into columns" in one_error_line(capsys.readouterr().err, path)


def test_stdin_beyond_the_limit(monkeypatch, capsys):
    import io

    from svdstudio.io import matrix

    monkeypatch.setattr(matrix, "MAX_MATRIX_FILE_BYTES", 100)
    fake_stdin = io.TextIOWrapper(io.BytesIO(b"1 2\n" * 100))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    assert main(["svd", "-"]) == 2
    assert "holds more than 100 bytes" in one_error_line(capsys.readouterr().err, "-")


@pytest.mark.parametrize(
    ("values", "rank", "relative", "energy"),
    [
        ([[1e308, 2e307], [3e307, 1e308]], 2, 0.5147474836223, 0.7350350281045),
        ([[1e-305, 2e-306], [3e-306, 1e-305]], 2, 0.5147474836223, 0.7350350281045),
        ([[1e300, 0.0], [0.0, 1e-300]], 1, 1e-600 / 1e300, 1.0),
    ],
)
def test_extreme_magnitudes_json(tmp_path, capsys, values, rank, relative, energy):
    path = tmp_path / "x.csv"
    path.write_text("\n".join(",".join(repr(v) for v in row) for row in values) + "\n")
    assert main(["svd", str(path), "--rank", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rank"] == rank
    assert out["relative_error"] == pytest.approx(relative, rel=1e-9, abs=1e-300)
    assert out["energy_retained"] == pytest.approx(energy, rel=1e-9)
    s = np.array(values)
    assert out["frobenius_error"] == pytest.approx(np.linalg.svd(s / s.max())[1][1] * s.max())


def test_norm_beyond_float_range_is_refused(tmp_path, capsys):
    path = tmp_path / "over.csv"
    path.write_text("1.5e308,1.5e308\n1.5e308,1.5e308\n")
    assert main(["svd", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err, path)
    assert "Frobenius norm is about 3.00e+308" in line and "divide it" in line


# --- an ASCII-only terminal -------------------------------------------------------------------


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "pic.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["svd", "{article}", "--rank", "2"], 0),
        (["svd", "-", "--rank", "1"], 0),
        (["compress", "{picture}", "--rank", "2", "8", "--mode", "ycbcr", "-o", "{out}"], 0),
        (["project", "iris", "--method", "Standardised PCA"], 0),
        (["project", "--help"], 0),
        (["svd", "--help"], 0),
        (["compress", "--help"], 0),
        (["--help"], 0),
        (["svd", "{out}/matrizé×.csv"], 2),
        (["project", "iris", "--method", "Standardisé"], 2),
    ],
)
def test_every_command_on_an_ascii_terminal(tmp_path, picture, args, status):
    article = tmp_path / "article.csv"
    article.write_text("6,6,2\n0,1,3\n4,0,1\n0,6,2\n")
    args = [a.format(picture=picture, out=tmp_path, article=article) for a in args]
    r = run_cli(*args, env={"PYTHONIOENCODING": "ascii"}, stdin=b"6 6 2\n0 1 3\n4 0 1\n0 6 2\n")
    err = r.stderr.decode("ascii")  # raises if anything but ASCII came out
    out = r.stdout.decode("ascii")
    assert "Traceback" not in err and "UnicodeEncodeError" not in err
    assert r.returncode == status, err
    if status == 0:
        assert out.strip()
    else:
        assert err.strip().splitlines()[-1].startswith(("svdstudio-cli: error:", "svdstudio-cli "))


@pytest.mark.parametrize("name", ["new\nline.csv", "tab\there.csv", "bell\x07.csv"])
def test_control_characters_in_a_file_name_keep_the_error_on_one_line(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_text("1,2\n3,x\n")
    assert main(["svd", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err, repr(name)[1:-1])
    assert "row 2, column 2 holds 'x'" in line


def test_undecodable_file_name_bytes(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/bad\xff.csv"
    with open(raw, "wb") as fh:
        fh.write(b"1,2\n")
    r = run_cli("svd", os.fsdecode(raw), "--rank", "5")
    assert r.returncode == 2
    err = r.stderr.decode("utf-8")  # valid UTF-8: the stray byte became a stand-in
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "bad?.csv: --rank must be between 1 and 1" in err
