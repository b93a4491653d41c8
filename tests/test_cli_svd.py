"""``svdstudio-cli svd`` through a real subprocess, as a user or a script runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from svdstudio import __version__

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_CSV = "6,6,2\n0,1,3\n4,0,1\n0,6,2\n"


def cli(*args, stdin=None, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def article(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "article.csv"
    path.write_text(ARTICLE_CSV)
    return path


def _text(proc):
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    return proc.stdout.decode("utf-8")


def test_text_report_of_the_article_matrix(article):
    out = _text(cli("svd", article))
    assert f"Matrix {article}: 4 × 3" in out
    assert "  σ1 = 10.5136\n  σ2 = 5.0557\n  σ3 = 2.6277\n" in out
    assert "Numerical rank: 3 (singular values above tolerance" in out
    assert "Condition number σ1 / σ3: 4.0011" in out
    assert "Sign convention: each right singular vector v_i has its largest-magnitude" in out
    assert "   0.5582  0.7655  0.3199\n" in out  # first row of Vᵀ
    assert "A_2" not in out and "Errors" not in out


def test_text_report_with_rank(article):
    out = _text(cli("svd", article, "--rank", "2", "--precision", "2"))
    assert "  σ1 = 10.51\n  σ2 = 5.06\n  σ3 = 2.63\n" in out
    assert "   0.56  0.77  0.32\n   0.83 -0.54 -0.16\n  -0.05 -0.36  0.93\n" in out  # Vᵀ
    # A_2 exactly as the article prints it, and U_2 Σ_2 up to column sign.
    assert (
        "   5.97  5.80  2.51\n   0.12  1.87  0.72\n   4.04  0.26  0.31\n  -0.01  5.91  2.25\n"
        in out
    )
    assert "   8.58  1.43\n   1.73 -1.02\n   2.55  3.15\n   5.23 -3.54\n" in out
    lines = {line.split("  ")[1].strip(): line.split()[-1] for line in out.splitlines()[-6:]}
    assert lines == {
        "Frobenius norm of the error ‖A − A_2‖_F": "2.63",
        'Squared Frobenius norm ‖A − A_2‖_F² (the article\'s "approximation error")': "6.90",
        "Sum of dropped squared singular values Σ_{i>2} σ_i²": "6.90",
        "Spectral norm of the error ‖A − A_2‖₂ = σ3": "2.63",
        "Relative error ‖A − A_2‖_F / ‖A‖_F": "%)",
        "Energy retained Σ_{i ≤ 2} σ_i² / Σ σ_i²": "%)",
    }
    assert "Relative error ‖A − A_2‖_F / ‖A‖_F" in out and "0.22  (22 %)" in out
    assert "0.95  (95 %)" in out


def test_json_report(article):
    data = json.loads(_text(cli("svd", article, "--rank", "2", "--json")))
    assert data["shape"] == [4, 3]
    assert np.round(data["singular_values"], 2).tolist() == [10.51, 5.06, 2.63]
    assert data["rank"] == 3
    s_numpy = np.linalg.svd(
        np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]], float), False, False
    )
    assert data["tolerance"] == pytest.approx(s_numpy[0] * 4 * np.finfo(float).eps, rel=1e-12)
    assert "largest-magnitude" in data["sign_convention"]
    U, Vt, s = np.array(data["U"]), np.array(data["Vt"]), np.array(data["singular_values"])
    assert data["condition_number"] == pytest.approx(s[0] / s[2], rel=1e-12)
    A = np.array([[6, 6, 2], [0, 1, 3], [4, 0, 1], [0, 6, 2]], dtype=float)
    np.testing.assert_allclose((U * s) @ Vt, A, atol=1e-12)
    assert data["k"] == 2
    assert np.round(data["reconstruction"], 2).tolist() == [
        [5.97, 5.8, 2.51],
        [0.12, 1.87, 0.72],
        [4.04, 0.26, 0.31],
        [-0.01, 5.91, 2.25],
    ]
    reduced = np.array(data["reduced"])
    assert np.round(np.abs(reduced), 2).tolist() == [
        [8.58, 1.43],
        [1.73, 1.02],
        [2.55, 3.15],
        [5.23, 3.54],
    ]
    assert data["frobenius_error_squared"] == pytest.approx(6.904768216213785, rel=1e-12)
    assert data["frobenius_error"] == pytest.approx(np.sqrt(6.904768216213785), rel=1e-12)
    assert data["spectral_error"] == pytest.approx(s[2], rel=1e-12)
    assert data["relative_error"] == pytest.approx(np.sqrt(6.904768216213785 / np.sum(A**2)))
    assert data["energy_retained"] == pytest.approx((s[0] ** 2 + s[1] ** 2) / np.sum(s**2))


def test_stdin_without_rank():
    out = _text(cli("svd", "-", "--json", stdin=b"6 6 2\n0 1 3\n4 0 1\n0 6 2\n"))
    data = json.loads(out)
    assert {"shape", "singular_values", "rank", "condition_number", "U", "Vt"} <= set(data)
    assert "k" not in data and "reconstruction" not in data
    assert np.round(data["singular_values"], 2).tolist() == [10.51, 5.06, 2.63]
    assert data["source"] == "- (standard input)"


def test_npy_file_with_rank_1(tmp_path):
    np.save(tmp_path / "m.npy", np.diag([3.0, 4.0, 1.0]))
    data = json.loads(_text(cli("svd", tmp_path / "m.npy", "--json", "--rank", "1")))
    assert data["singular_values"] == [4.0, 3.0, 1.0]
    assert data["frobenius_error_squared"] == pytest.approx(3.0**2 + 1.0**2)
    assert data["spectral_error"] == 3.0
    assert data["reconstruction"] == [[0.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]]


def test_ascii_terminal_gets_ascii_labels(article):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="ascii")
    proc = subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", "svd", str(article), "--rank", "2"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode("ascii")
    assert "s3 = 2.6277" in out and "||A - A_2||_F^2" in out


def test_version():
    proc = cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == f"svdstudio-cli {__version__}"


def test_help_has_an_example():
    top = cli("--help")
    assert top.returncode == 0 and b"svd" in top.stdout
    proc = cli("svd", "--help")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert "examples:" in text and "svdstudio-cli svd A.csv --rank 2" in text
    assert "--json" in text and "--decimal-comma" in text and "--precision" in text


def _bad(proc, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("svdstudio-cli: error: ")
    for needle in needles:
        assert needle in err, err
    assert proc.stdout == b""
    return err


def test_missing_file(tmp_path):
    _bad(cli("svd", tmp_path / "nope.csv"), str(tmp_path / "nope.csv"), "no such file")


def test_ragged_file_is_named_as_typed(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.csv").write_text("1,2,3\n4,5\n")
    err = _bad(cli("svd", "sub/r.csv", cwd=tmp_path), "row 2 has 2 values but row 1 has 3")
    assert err.startswith("svdstudio-cli: error: sub/r.csv: row 2")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("words.csv", "1,2\n3,abc\n", "row 2, column 2 holds 'abc'"),
        ("nan.csv", "1,2\n3,nan\n", "row 2, column 2 holds NaN"),
        ("empty.csv", "", "is empty"),
        ("binary.dat", b"\x00\x01\x02\xff", "is a binary file"),
        ("cube.npy", None, "is 3-D"),
    ],
)
def test_bad_files(tmp_path, name, content, needle):
    path = tmp_path / name
    if content is None:
        np.save(path, np.zeros((2, 2, 2)))
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _bad(cli("svd", path), str(path), needle)


def test_folder(tmp_path):
    _bad(cli("svd", tmp_path), str(tmp_path), "is a folder")


@pytest.mark.parametrize(
    ("rank", "needle"),
    [
        ("0", "--rank must be between 1 and 3 for this 4 × 3 matrix; got 0"),
        ("4", "--rank must be between 1 and 3 for this 4 × 3 matrix; got 4"),
        ("two", "--rank must be a whole number; got 'two'"),
    ],
)
def test_bad_rank(article, rank, needle):
    _bad(cli("svd", article, f"--rank={rank}"), str(article), needle)


def test_bad_stdin():
    _bad(cli("svd", "-", stdin=b"1 2\n3 x\n"), "- (standard input): row 2, column 2 holds 'x'")


def test_usage_errors_exit_2(article):
    for args in (["svd"], ["svd", article, "--precision", "x"]):
        proc = cli(*args)
        assert proc.returncode == 2
        assert b"Traceback" not in proc.stderr
        assert b"usage:" in proc.stderr


def test_squared_error_worded_as_in_the_app(article):
    from svdstudio.engine.lowrank import SQUARED_ERROR_ARTICLE, squared_error_label

    out = _text(cli("svd", article, "--rank", "1"))
    assert squared_error_label(1) in out and SQUARED_ERROR_ARTICLE in out
    # The Matrix tab's error panel uses the same words (no Qt here: read its source).
    source = (ROOT / "svdstudio" / "ui" / "matrix" / "error_panel.py").read_text(encoding="utf-8")
    assert "SQUARED_ERROR_WORDS" in source and "the article's “" not in source
