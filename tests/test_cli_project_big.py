"""``svdstudio-cli project`` on the Dask path: engines agree, long tables, export, cluster."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from svdstudio import cli
from svdstudio.commands import project_big

pytest.importorskip("dask.array")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", "project", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def in_process(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["project", *args])
    out, err = capsys.readouterr()
    return code, out, err


def make_csv(path: Path, n: int = 600, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) @ rng.normal(size=(4, 4)) + [1, 2, 3, 4]
    lines = ["id_text,a,b,c,d,flat,kind"]
    for i in range(n):
        cells = [f"{v:.17g}" for v in X[i]]
        if i % 97 == 10:
            cells[i % 4] = "NA"
        kind = "left" if i < n // 3 else ("mid" if i < 2 * n // 3 else "right")
        lines.append(",".join([f"r{i}", *cells, "0", kind]))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("method", ["tsvd", "pca", "standardized"])
def test_dask_and_memory_engines_agree_on_a_csv(tmp_path, capsys, method):
    path = make_csv(tmp_path / "t.csv")
    common = [str(path), "--method", method, "--components", "3", "--json"]
    code_m, out_m, err_m = in_process(capsys, *common, "--engine", "memory")
    code_d, out_d, err_d = in_process(capsys, *common, "--engine", "dask", "--chunk-rows", "45")
    assert code_m == code_d == 0, err_d
    mem, big = json.loads(out_m), json.loads(out_d)
    assert big["engine"] == "dask" and "TSQR" in big["algorithm"]
    np.testing.assert_allclose(big["singular_values"], mem["singular_values"], rtol=1e-8)
    np.testing.assert_allclose(big["explained_variance_ratio"], mem["explained_variance_ratio"])
    np.testing.assert_allclose(big["components"], mem["components"], atol=1e-9)
    scale = np.abs(mem["projection"]).max()
    np.testing.assert_allclose(big["projection"], mem["projection"], atol=1e-6 * scale)
    for key in ("labels", "row_numbers", "feature_names", "dropped_rows", "dropped_columns"):
        assert big[key] == mem[key], key
    assert big["notices"] == mem["notices"]
    assert err_d.count("note:") == err_m.count("note:") == len(mem["notices"])


def test_parquet_and_npy_inputs(tmp_path, capsys):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3)) * [1, 5, 2]
    pq.write_table(
        pa.table({"u": X[:, 0], "v": X[:, 1], "w": X[:, 2], "cls": ["p", "q", "r"] * 100}),
        tmp_path / "t.parquet",
        row_group_size=40,
    )
    np.save(tmp_path / "t.npy", X)
    code, out, err = in_process(capsys, str(tmp_path / "t.parquet"), "--method", "pca", "--json")
    assert code == 0, err
    a = json.loads(out)
    code, out, err = in_process(capsys, str(tmp_path / "t.npy"), "--method", "pca", "--json")
    assert code == 0, err
    b = json.loads(out)
    assert a["labels"][:3] == ["p", "q", "r"] and b["labels"] is None
    assert a["feature_names"] == ["u", "v", "w"] and b["feature_names"] == [
        "column_1",
        "column_2",
        "column_3",
    ]
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)[:2]
    np.testing.assert_allclose(a["singular_values"], s, rtol=1e-10)
    np.testing.assert_allclose(b["projection"], a["projection"], atol=1e-10)


def test_long_table_json_omits_rows_and_export_streams_all(tmp_path):
    n = 100_001
    rng = np.random.default_rng(1)
    np.save(tmp_path / "long.npy", rng.normal(size=(n, 3)))
    out = tmp_path / "coords.parquet"
    r = run_cli(str(tmp_path / "long.npy"), "--json", "-o", str(out), "--chunk-rows", "30000")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["projection_omitted"] is True and res["rows"] == n
    assert "projection" not in res and "row_numbers" not in res
    assert len(res["singular_values"]) == 2
    t = pq.read_table(out)
    assert t.num_rows == n and t.column_names == ["row", "SVD1", "SVD2"]
    np.testing.assert_array_equal(t.column("row").to_numpy()[[0, -1]], [1, n])


def test_memory_engine_applies_the_json_rule_too(tmp_path, capsys):
    n = 100_050
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, 2))
    path = tmp_path / "long.csv"
    path.write_text("x,y\n" + "\n".join(f"{a:.6f},{b:.6f}" for a, b in X) + "\n")
    code, out, err = in_process(capsys, str(path), "--engine", "memory", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["projection_omitted"] is True and res["rows"] == n and "projection" not in res


def test_csv_export_of_the_dask_path(tmp_path, capsys):
    path = make_csv(tmp_path / "t.csv", n=200)
    out = tmp_path / "o.csv"
    code, stdout, err = in_process(
        capsys, str(path), "--engine", "dask", "--chunk-rows", "30", "-o", str(out)
    )
    assert code == 0, err
    assert "rows × 4 features" in stdout and f"wrote {out}" in stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "row,kind,SVD1,SVD2"
    assert len(lines) == 1 + 200 - 2  # rows 11 and 108 hold NA: dropped
    assert lines[1].startswith("1,left,")


def test_memory_engine_refuses_a_table_that_will_not_fit(tmp_path, capsys, monkeypatch):
    path = make_csv(tmp_path / "t.csv", n=50)
    monkeypatch.setattr(project_big, "available_memory", lambda: 10_000)
    code, _, err = in_process(capsys, str(path), "--engine", "memory")
    assert code == 2
    assert "needs about" in err and "use --engine dask" in err and len(err.splitlines()) == 1


def test_auto_engine_goes_to_dask_and_says_so(tmp_path, capsys, monkeypatch):
    path = make_csv(tmp_path / "t.csv", n=80)
    monkeypatch.setattr(project_big, "available_memory", lambda: 40_000)
    code, out, err = in_process(capsys, str(path), "--json")
    assert code == 0, err
    assert "processing it chunk by chunk with Dask" in err
    assert json.loads(out)["engine"] == "dask"
    assert "Dask threaded scheduler" in json.loads(out)["scheduler"]


def test_scheduler_address_runs_on_a_local_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    path = make_csv(tmp_path / "t.csv", n=300)
    args = [str(path), "--method", "pca", "--json", "--chunk-rows", "60"]
    code, out, err = in_process(capsys, *args, "--engine", "dask")
    assert code == 0, err
    threads = json.loads(out)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        code, out, err = in_process(capsys, *args, "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    remote = json.loads(out)
    assert cluster.scheduler_address in remote["scheduler"]
    np.testing.assert_allclose(remote["singular_values"], threads["singular_values"], rtol=1e-12)
    np.testing.assert_allclose(remote["projection"], threads["projection"], atol=1e-10)


def test_bad_scheduler_and_bad_combinations(tmp_path, capsys, monkeypatch):
    path = make_csv(tmp_path / "t.csv", n=30)
    monkeypatch.setattr(
        project_big, "DaskCompute", functools.partial(project_big.DaskCompute, connect_timeout=1)
    )
    code, _, err = in_process(capsys, str(path), "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    code, _, err = in_process(capsys, str(path), "--scheduler", "tcp://x:1", "--engine", "memory")
    assert code == 2 and "cannot be combined with --engine memory" in err
    code, _, err = in_process(capsys, str(path), "--engine", "dask", "--chunk-rows", "0")
    assert code == 2 and "--chunk-rows must be at least 1" in err
    code, _, err = in_process(capsys, str(path), "--engine", "dask", "--components", "9")
    assert code == 2 and "--components must be between 1 and 4" in err


def test_bad_cell_on_the_dask_path_is_one_line(tmp_path):
    path = make_csv(tmp_path / "t.csv", n=300)
    lines = path.read_text().splitlines()
    cells = lines[250].split(",")
    cells[2] = "oops"
    lines[250] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    r = run_cli(str(path), "--engine", "dask", "--chunk-rows", "40")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"svdstudio-cli: error: {path}: row 250 (line 251), column 3 'b' holds 'oops', "
        "which is not a finite number"
    ]


def test_importing_the_app_engine_and_cli_does_not_import_dask():
    probe = (
        "import sys, json\n"
        "import svdstudio.app, svdstudio.engine, svdstudio.engine.outofcore, svdstudio.io\n"
        "import svdstudio.io.bigtables\n"
        "from svdstudio.cli import build_parser\n"
        "build_parser()\n"
        "heavy = ('dask', 'distributed', 'pyarrow')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []
