"""``svdstudio-cli project`` end to end, in a subprocess like a user runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", "project", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_iris_pca():
    r = cli("iris", "--method", "pca", "--components", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["method"] == "pca"
    np.testing.assert_allclose(out["explained_variance_ratio"], [0.92461872, 0.05306648], atol=1e-7)
    assert len(out["singular_values"]) == 2
    comps = np.array(out["components"])
    proj = np.array(out["projection"])
    assert comps.shape == (2, 4) and proj.shape == (150, 2)
    assert out["labels"][:1] == ["setosa"] and len(out["labels"]) == 150
    assert out["feature_names"][0] == "sepal_length_cm"
    # Against plain numpy on the bundled CSV read with the csv module: the principal axes are
    # the right singular vectors of the centred table (up to sign), and the projection is the
    # centred table times them.
    with (ROOT / "resources" / "datasets" / "iris.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    X = np.array([[float(v) for v in r[:4]] for r in rows[1:]])
    Xc = X - X.mean(axis=0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    signs = np.sign(np.sum(comps * Vt[:2], axis=1))
    np.testing.assert_allclose(comps, Vt[:2] * signs[:, None], atol=1e-9)
    np.testing.assert_allclose(proj, Xc @ Vt[:2].T * signs, atol=1e-9)
    np.testing.assert_allclose(out["singular_values"], s[:2], rtol=1e-10)


def test_default_tsvd_text_and_csv_output(tmp_path):
    out = tmp_path / "iris_svd.csv"
    r = cli("iris", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "SVD1: singular value 95.9599" in r.stdout
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["row", "species", "SVD1", "SVD2"]
    assert len(rows) == 151 and rows[1][:2] == ["1", "setosa"]
    assert float(rows[1][2]) == pytest.approx(5.9128, abs=1e-3)


def test_user_file_with_label_column_and_notices(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("a\tb\tflat\tkind\n1\t2\t0\tx\n2\t1\t0\ty\n4\tNA\t0\tx\n3\t0\t0\tz\n5\t5\t0\tz\n")
    r = cli(str(p), "--label-column", "kind", "--method", "standardized", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["labels"] == ["x", "y", "z", "z"]
    assert out["dropped_rows"] == 1 and out["dropped_columns"] == ["flat"]
    assert "note: 1 row with missing values" in r.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a,b,kind\n1,2,x\n2,zz,y\n4,4,x\n", "row 2 (line 3), column 2 'b' holds 'zz'"),
        ("a,b\n1,2\n3,4\n", "only 2 usable rows"),
        ("a,kind\n1,x\n2,y\n3,z\n", "only 1 usable numeric column ('a')"),
    ],
)
def test_bad_table_exit_2_one_line(tmp_path, text, needle):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    r = cli(str(p))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("svdstudio-cli: error: ") and str(p) in lines[0]
    assert needle in lines[0]
    assert r.stdout == ""


def test_label_column_by_number(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,c\n1,2,0\n2,1,1\n4,4,0\n3,0,1\n")
    r = cli(str(p), "--label-column", "3", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["label_name"] == "c" and out["labels"] == ["0", "1", "0", "1"]
    assert out["feature_names"] == ["a", "b"]


def test_bad_components_and_missing_file(tmp_path):
    r = cli("iris", "--components", "9")
    assert r.returncode == 2 and "between 1 and 4" in r.stderr
    r = cli(str(tmp_path / "none.csv"))
    assert r.returncode == 2 and "no such file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_help_has_example():
    r = cli("--help")
    assert r.returncode == 0
    assert "svdstudio-cli project iris" in r.stdout and "standardized" in r.stdout


@pytest.mark.parametrize(
    ("method", "key", "ratio0"),
    [
        ("Truncated SVD", "tsvd", None),
        ("truncated svd (raw data)", "tsvd", None),
        ("standardised pca", "standardized", 0.72962445),
        ("Standardized PCA (centered and scaled)", "standardized", 0.72962445),
        ("STD", "standardized", 0.72962445),
        ("PCA (centred)", "pca", 0.92461872),
    ],
)
def test_method_accepts_gui_names_any_case_and_spelling(method, key, ratio0):
    r = cli("iris", "--method", method, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["method"] == key
    if ratio0 is not None:
        assert out["explained_variance_ratio"][0] == pytest.approx(ratio0, abs=1e-7)


def test_unknown_method_lists_the_names_and_help_shows_them():
    r = cli("iris", "--method", "nmf")
    assert r.returncode == 2
    assert "'nmf'" in r.stderr and "std" in r.stderr and "Truncated SVD" in r.stderr
    h = cli("--help")
    assert h.returncode == 0
    for name in ("Truncated SVD (raw data)", "PCA (centred)", "Standardised PCA", "std"):
        assert name in h.stdout
