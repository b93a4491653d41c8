"""``svdstudio-cli network``: options, JSON keys, calibration rules and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from svdstudio.cli import main
from svdstudio.engine.network import forward
from svdstudio.io.network_data import load_bundled_network
from svdstudio.io.networks import read_network, write_network

ROOT = Path(__file__).resolve().parent.parent

LAYER_KEYS = {
    "name",
    "kind",
    "shape",
    "matrix_shape",
    "singular_values",
    "rank",
    "max_rank",
    "params",
    "params_compressed",
    "macs",
    "macs_compressed",
    "frobenius_error",
    "frobenius_error_squared",
    "spectral_error",
    "energy_retained",
}


def run_json(capsys, *args):
    code = main(["network", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def test_spectra_only(capsys):
    out, _ = run_json(capsys, "digits-mlp")
    assert [layer["name"] for layer in out["layers"]] == ["0", "2", "4"]
    for layer in out["layers"]:
        assert set(layer) >= LAYER_KEYS
        assert layer["rank"] is None
        assert layer["params_compressed"] == layer["params"]
        assert layer["energy_retained"] == pytest.approx(1.0)
    first = out["layers"][0]
    assert first["kind"] == "dense" and first["shape"] == [256, 64]
    assert first["matrix_shape"] == [256, 64] and first["max_rank"] == 64
    assert first["factorised_matrix"] == "W (out × in)"
    assert len(first["singular_values"]) == 64
    assert out["params"] == out["params_compressed"] == 50826
    assert out["macs"] == 64 * 256 + 256 * 128 + 128 * 10
    assert out["method"] == "plain"
    assert out["samples"] == 359 and out["accuracy"] == out["accuracy_compressed"]
    lo, hi = out["accuracy_ci95"]
    assert lo < out["accuracy"] < hi


def test_rank_for_all_and_one_layer(capsys):
    out, _err = run_json(capsys, "digits-mlp", "--rank", "8", "--rank", "2=20")
    ranks = {layer["name"]: layer["rank"] for layer in out["layers"]}
    assert ranks == {"0": 8, "2": 20, "4": 8}
    layer0 = out["layers"][0]
    assert layer0["params_compressed"] == 8 * (256 + 64) + 256
    s = np.array(layer0["singular_values"])
    assert layer0["frobenius_error_squared"] == pytest.approx(np.sum(s[8:] ** 2), rel=1e-9)
    assert layer0["spectral_error"] == pytest.approx(s[8])
    assert out["params_compressed"] == sum(layer["params_compressed"] for layer in out["layers"])
    assert out["accuracy_compressed"] < out["accuracy"]


def test_rank_that_saves_nothing_keeps_the_layer(capsys):
    out, _ = run_json(capsys, "digits-mlp", "--rank", "4=10", "--rank", "0=500")
    ranks = {layer["name"]: layer["rank"] for layer in out["layers"]}
    assert ranks["4"] is None and ranks["0"] is None
    assert any("layer 4: rank 10 saves nothing" in w for w in out["warnings"])


def test_energy(capsys):
    out, _ = run_json(capsys, "digits-cnn", "--energy", "90", "--conv", "channel")
    for layer in out["layers"]:
        if layer["rank"] is not None:
            assert layer["energy_retained"] >= 0.9
    conv = out["layers"][1]
    assert conv["kind"] == "conv" and conv["matrix_shape"] == [32, 16 * 9]


@pytest.mark.parametrize("rule", ["energy", "uniform", "global"])
def test_budget_rules(capsys, rule):
    out, _ = run_json(capsys, "digits-mlp", "--budget", "0.3", "--allocate", rule)
    alloc = out["allocation"]
    assert alloc["rule"] == rule and alloc["fits"]
    assert alloc["fraction"] <= 0.3
    assert out["calibration"] is None and out["samples"] == 359


def test_greedy_calibrates_on_the_validation_split(capsys):
    out, _ = run_json(capsys, "digits-mlp", "--budget", "25%", "--allocate", "greedy")
    assert "val split" in out["calibration"]["source"]
    assert out["samples"] == 359  # the test split is scored whole


def test_data_aware_with_data_uses_a_seeded_half(capsys, tmp_path):
    b = load_bundled_network("digits-mlp")
    data = tmp_path / "data.npz"
    test = b.splits["test"]
    np.savez(data, x=test.x, y=test.y)
    out, _ = run_json(
        capsys, "digits-mlp", "--data", str(data), "--method", "data-aware", "--rank", "8"
    )
    assert out["method"] == "data-aware"
    assert "whitened" in out["layers"][0]["factorised_matrix"]
    assert out["calibration"]["samples"] == 179 and "seeded half" in out["calibration"]["source"]
    assert out["samples"] == 180
    cal = tmp_path / "cal.npz"
    np.savez(cal, x=b.splits["train"].x, y=b.splits["train"].y)
    out, _ = run_json(
        capsys,
        "digits-mlp",
        "--data",
        str(data),
        "--calibrate",
        str(cal),
        "--method",
        "data-aware",
        "--rank",
        "8",
    )
    assert out["samples"] == 359 and out["calibration"]["samples"] == b.splits["train"].n


def test_output_reopens_with_the_same_outputs(capsys, tmp_path):
    path = tmp_path / "small.safetensors"
    out, _ = run_json(capsys, "digits-cnn", "--rank", "2=6", "--rank", "6=10", "-o", str(path))
    assert out["output"] == str(path)
    again, _meta = read_network(path)
    assert again.n_params == out["params_compressed"]
    b = load_bundled_network("digits-cnn")
    x = b.splits["test"].x[:50]
    from svdstudio.engine.network import analyse, compress

    f = analyse(b.network)
    small = compress(b.network, f, {"2": 6, "6": 10})
    np.testing.assert_allclose(forward(again, x), forward(small, x), atol=1e-5, rtol=1e-5)
    code = main(["network", str(path), "--data", str(tmp_path / "none.npz")])
    assert code == 2


def test_text_output(capsys):
    assert main(["network", "mnist-mlp", "--budget", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "total params 235146 →" in out and "accuracy on 1000 samples" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch.safetensors"], "nosuch.safetensors: no such file"),
        (["model.pt"], "runs whatever code it contains"),
        (["digits-mlp", "--rank", "x"], "--rank x: the rank must be a whole number"),
        (
            ["digits-mlp", "--rank", "7=3"],
            "no factorisable layer '7'; the dense and convolution layers are 0, 2, 4",
        ),
        (["digits-mlp", "--rank", "0"], "the rank must be at least 1"),
        (["digits-mlp", "--budget", "2"], "--budget must be above 0 and at most 1"),
        (["digits-mlp", "--budget", "abc"], "is not a fraction"),
        (["digits-mlp", "--energy", "0"], "--energy must be above 0"),
        (
            ["digits-mlp", "--rank", "3", "--energy", "90"],
            "choose one of --rank, --energy, --budget",
        ),
    ],
)
def test_bad_input_exit_2_one_line(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"PK")
    assert main(["network", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_data_files(capsys, tmp_path):
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((5, 63)), y=np.zeros(5, int))
    assert main(["network", "digits-mlp", "--data", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert "wrong.npz" in err and "63 features per sample but the network takes 64" in err
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=np.zeros((5, 64)), y=np.array([0, 1, 2, 3, 12]))
    assert main(["network", "digits-mlp", "--data", str(labels)]) == 2
    assert "label 12 of sample 4 is out of range" in capsys.readouterr().err


def test_user_network_without_data_needs_calibration_for_data_aware(capsys, tmp_path):
    b = load_bundled_network("digits-mlp")
    path = tmp_path / "mine.safetensors"
    write_network(path, b.network)
    out, _ = run_json(capsys, str(path), "--rank", "4")
    assert "accuracy" not in out and out["params_compressed"] < out["params"]
    assert main(["network", str(path), "--method", "data-aware", "--rank", "4"]) == 2
    assert "need calibration data" in capsys.readouterr().err


def test_subprocess_exit_status():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(
        [sys.executable, "-m", "svdstudio.cli", "network", "digits-mlp", "--rank", "9=1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("svdstudio-cli: error: --rank 9=1: no factorisable layer '9'")


def test_network_ending_in_relu_and_no_bias(capsys, tmp_path):
    from svdstudio.engine.network import Dense, Network, ReLU

    rng = np.random.default_rng(0)
    net = Network(
        (
            Dense(rng.normal(size=(20, 64)), None, "0"),
            ReLU(),
            Dense(rng.normal(size=(10, 20)), None, "2"),
            ReLU(),
        ),
        (64,),
    )
    path = tmp_path / "relu.safetensors"
    write_network(path, net)
    b = load_bundled_network("digits-mlp")
    data = tmp_path / "d.npz"
    np.savez(data, x=b.splits["test"].x, y=b.splits["test"].y)
    out, _ = run_json(capsys, str(path), "--data", str(data), "--rank", "0=3")
    assert out["layers"][0]["rank"] == 3
    assert out["layers"][0]["params_compressed"] == 3 * (20 + 64)  # no bias
    assert out["samples"] == 359
