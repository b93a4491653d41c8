"""Network files: safetensors and .npz state dicts, architecture JSON, and every bad file."""

import itertools
import json
import struct

import numpy as np
import pytest

from svdstudio.engine.network import (
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    MaxPool,
    Network,
    ReLU,
    analyse,
    compress,
    forward,
)
from svdstudio.io.filetypes import classify_path
from svdstudio.io.network_data import load_bundled_network, read_labelled_data
from svdstudio.io.networks import (
    ARCHITECTURE_KEY,
    BUNDLED_NETWORKS,
    PYTORCH_RECIPE,
    NetworkFileError,
    looks_like_state_dict,
    read_network,
    write_network,
)
from svdstudio.io.safetensors import read_safetensors, write_safetensors

RNG = np.random.default_rng(0)


def mlp_state(sizes=(6, 5, 3)):
    state = {}
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        state[f"{2 * i}.weight"] = RNG.normal(size=(b, a)).astype(np.float32)
        state[f"{2 * i}.bias"] = RNG.normal(size=b).astype(np.float32)
    return state


def cnn_state():
    return {
        "0.weight": RNG.normal(size=(4, 1, 3, 3)).astype(np.float32),
        "0.bias": RNG.normal(size=4).astype(np.float32),
        "4.weight": RNG.normal(size=(3, 64)).astype(np.float32),
        "4.bias": RNG.normal(size=3).astype(np.float32),
    }


CNN_ARCH = {
    "input_shape": [1, 8, 8],
    "layers": [
        {"type": "Conv2d", "name": "0", "stride": [1, 1], "padding": 1},
        {"type": "ReLU"},
        {"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 0},
        {"type": "Dropout"},
        {"type": "Flatten"},
        {"type": "Linear", "name": "4"},
    ],
}


# --- safetensors --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.uint8, np.int8])
def test_safetensors_round_trip(tmp_path, dtype):
    arrays = {
        "a.weight": (RNG.normal(size=(3, 4)) * 10).astype(dtype),
        "b": np.arange(5, dtype=dtype),
    }
    path = tmp_path / "t.safetensors"
    write_safetensors(path, arrays, {"k": "v"})
    got, meta = read_safetensors(path)
    assert list(got) == ["a.weight", "b"]
    assert meta == {"k": "v"}
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype
        np.testing.assert_array_equal(got[k], v)
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    assert (8 + header_len) % 8 == 0


def test_safetensors_bf16_is_widened(tmp_path):
    values = np.array([1.0, -2.5, 0.15625], np.float32)
    raw = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    path = tmp_path / "b.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + raw)
    got, _ = read_safetensors(path)
    np.testing.assert_array_equal(got["x"], values)


def _raw(tmp_path, header: bytes | dict, data=b"", length=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(h) if length is None else length) + h + data)
    return path


@pytest.mark.parametrize(
    ("header", "data", "length", "message"),
    [
        (b"{}", b"", 10**15, "the header claims 1000000000000000 bytes"),
        (b"{not json", b"", None, "the header is not valid JSON"),
        (b"[1, 2]", b"", None, "must be a JSON object"),
        (
            {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
            b"\0" * 4,
            None,
            "truncated or damaged",
        ),
        (
            {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "needs 12 bytes",
        ),
        ({"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 1]}}, b"\0", None, "dtype 'Q7'"),
        (
            {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            None,
            "invalid shape",
        ),
        (
            {"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4]}},
            b"",
            None,
            "over the limit",
        ),
        ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, None, "invalid data_offsets"),
        ({"__metadata__": {"a": 1}}, b"", None, "__metadata__ must map strings"),
    ],
)
def test_bad_safetensors_named_before_allocation(tmp_path, header, data, length, message):
    path = _raw(tmp_path, header, data, length)
    with pytest.raises(NetworkFileError, match=message) as info:
        read_network(path)
    assert str(path) in str(info.value)


def test_too_short_file(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\1\2")
    with pytest.raises(NetworkFileError, match="too short"):
        read_network(path)


# --- state dicts and architectures ----------------------------------------------------------


def test_plain_mlp_npz_needs_no_architecture(tmp_path):
    state = mlp_state((6, 5, 4, 3))
    path = tmp_path / "mlp.npz"
    np.savez(path, **state)
    assert looks_like_state_dict(path)
    assert classify_path(path) == "network"
    net, _ = read_network(path)
    assert [layer.kind for layer in net.layers] == ["dense", "relu", "dense", "relu", "dense"]
    assert [layer.name for layer in net.layers if layer.n_params] == ["0", "2", "4"]
    x = RNG.normal(size=(2, 6))
    h = np.maximum(x @ state["0.weight"].T + state["0.bias"], 0)
    h = np.maximum(h @ state["2.weight"].T + state["2.bias"], 0)
    np.testing.assert_allclose(
        forward(net, x), h @ state["4.weight"].T + state["4.bias"], rtol=1e-5
    )


def test_layer_order_is_numeric_not_lexical(tmp_path):
    state = {}
    sizes = [4] * 12
    for i in range(11):
        state[f"{i}.weight"] = np.eye(4, dtype=np.float32) * (i + 1)
    del sizes
    path = tmp_path / "deep.safetensors"
    write_safetensors(path, dict(reversed(state.items())))
    net, _ = read_network(path)
    assert [layer.name for layer in net.layers if layer.n_params] == [str(i) for i in range(11)]


def test_cnn_with_architecture_in_metadata(tmp_path):
    path = tmp_path / "cnn.safetensors"
    write_safetensors(path, cnn_state(), {ARCHITECTURE_KEY: json.dumps(CNN_ARCH)})
    net, meta = read_network(path)
    assert ARCHITECTURE_KEY in meta
    assert [layer.kind for layer in net.layers] == ["conv", "relu", "maxpool", "flatten", "dense"]
    assert net.layers[0].padding == (1, 1)
    assert net.input_shape == (1, 8, 8)
    assert forward(net, RNG.normal(size=(2, 64))).shape == (2, 3)


def test_cnn_with_sidecar_json(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, **cnn_state())
    (tmp_path / "model.json").write_text(json.dumps(CNN_ARCH))
    net, _ = read_network(path)
    assert net.layers[0].kind == "conv"


def test_cnn_without_architecture_says_what_to_add(tmp_path):
    path = tmp_path / "cnn.safetensors"
    write_safetensors(path, cnn_state())
    with pytest.raises(NetworkFileError, match=r"layer 0 has a 4-D weight.*sidecar cnn.json"):
        read_network(path)


def test_batchnorm_is_folded(tmp_path):
    state = cnn_state()
    state.update(
        {
            "1.weight": np.array([1.0, 2.0, 0.5, 1.5], np.float32),
            "1.bias": np.array([0.1, -0.2, 0.3, 0.0], np.float32),
            "1.running_mean": np.array([0.5, 0.0, -1.0, 2.0], np.float32),
            "1.running_var": np.array([1.0, 4.0, 0.25, 2.0], np.float32),
            "1.num_batches_tracked": np.array(7, np.int64),
        }
    )
    arch = json.loads(json.dumps(CNN_ARCH))
    arch["layers"].insert(1, {"type": "BatchNorm2d", "name": "1", "eps": 1e-5})
    path = tmp_path / "bn.safetensors"
    write_safetensors(path, state, {ARCHITECTURE_KEY: json.dumps(arch)})
    net, _ = read_network(path)
    assert not any(isinstance(layer, BatchNorm) for layer in net.layers)
    # Reference: conv, then the batch norm formula, then the rest.
    conv = Conv2d(state["0.weight"], state["0.bias"], (1, 1), (1, 1), "0")
    scale = state["1.weight"] / np.sqrt(state["1.running_var"] + 1e-5)
    shift = state["1.bias"] - state["1.running_mean"] * scale
    ref = Network(
        (
            conv,
            BatchNorm(scale, shift),
            ReLU(),
            MaxPool(),
            Flatten(),
            Dense(state["4.weight"], state["4.bias"], "4"),
        ),
        (1, 8, 8),
    )
    x = RNG.normal(size=(3, 1, 8, 8))
    np.testing.assert_allclose(forward(net, x), forward(ref, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda s, a: (
                s.update({"2.weight": s.pop("4.weight")}) or s.update({"2.bias": s.pop("4.bias")})
            ),
            "names layer '4'",
        ),
        (
            lambda s, a: s.update({"9.weight": np.ones((2, 2), np.float32)}),
            "weights for layer\\(s\\) 9",
        ),
        (
            lambda s, a: s["4.weight"].__setitem__((0, 0), np.nan),
            "key '4.weight' holds 1 non-finite",
        ),
        (
            lambda s, a: s.update({"4.weight": np.ones((3, 50), np.float32)}),
            "takes 50 inputs but the previous layer gives 64",
        ),
        (lambda s, a: s.update({"4.bias": np.ones(5, np.float32)}), "4.bias has shape \\(5,\\)"),
        (
            lambda s, a: s.update({"junk": np.ones(2, np.float32)}),
            "key 'junk' is not a state-dict entry",
        ),
        (lambda s, a: a["layers"].__setitem__(0, {"type": "Conv3d", "name": "0"}), "type 'Conv3d'"),
        (lambda s, a: a.__setitem__("input_shape", [1, 8]), "input_shape must be"),
        (lambda s, a: a["layers"][0].__setitem__("stride", "two"), "stride must be an integer"),
        (lambda s, a: a["layers"][0].__setitem__("groups", 2), "groups other than 1"),
        (
            lambda s, a: a["layers"].__setitem__(0, {"type": "Linear", "name": "0"}),
            "Linear but 0.weight is 4-D",
        ),
        (lambda s, a: a["layers"].pop(4), "takes a vector but gets a 4×4×4 input"),
        (lambda s, a: a.pop("input_shape"), "needs input_shape"),
    ],
)
def test_bad_networks_name_the_key_or_layer(tmp_path, mutate, message):
    state = cnn_state()
    arch = json.loads(json.dumps(CNN_ARCH))
    mutate(state, arch)
    path = tmp_path / "bad.safetensors"
    write_safetensors(path, state, {ARCHITECTURE_KEY: json.dumps(arch)})
    with pytest.raises(NetworkFileError, match=message) as info:
        read_network(path)
    assert str(path) in str(info.value)


def test_bad_architecture_json(tmp_path):
    path = tmp_path / "m.safetensors"
    write_safetensors(path, cnn_state(), {ARCHITECTURE_KEY: "{oops"})
    with pytest.raises(NetworkFileError, match="the architecture is not valid JSON"):
        read_network(path)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt", ".PT"])
def test_pickles_are_refused_with_the_recipe(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"PK\3\4 pretend zip with data.pkl")
    for call in (read_network, classify_path):
        with pytest.raises(ValueError, match="runs whatever code it contains") as info:
            call(path)
        assert "safetensors.torch import save_file" in str(info.value)
        assert str(path) in str(info.value)


def test_npz_with_objects_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, **{"0.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(NetworkFileError, match="never unpickled"):
        read_network(path)


def test_npz_classification_keeps_factors(tmp_path):
    path = tmp_path / "factors.npz"
    np.savez(path, U=np.eye(2), s=np.ones(2), Vt=np.eye(2))
    assert classify_path(path) == "factors"
    assert classify_path(tmp_path / "x.safetensors") == "network"


# --- writing, reopening -----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["spatial", "channel"])
def test_compressed_network_round_trip(tmp_path, scheme):
    path = tmp_path / "cnn.safetensors"
    write_safetensors(path, cnn_state(), {ARCHITECTURE_KEY: json.dumps(CNN_ARCH)})
    net, _ = read_network(path)
    factors = analyse(net, conv_scheme=scheme)
    small = compress(net, factors, {"0": 2, "4": 2})
    out = tmp_path / "small.safetensors"
    write_network(out, small, {"note": "test"})
    again, meta = read_network(out)
    assert meta["note"] == "test"
    assert [layer.name for layer in again.layers if layer.n_params] == ["0.0", "0.1", "4.0", "4.1"]
    x = RNG.normal(size=(5, 1, 8, 8))
    np.testing.assert_allclose(forward(again, x), forward(small, x), atol=1e-5, rtol=1e-5)


def test_write_network_keeps_scale_classes_and_unfolded_batchnorm(tmp_path):
    net = Network(
        (BatchNorm(np.array([2.0, 3.0]), np.array([1.0, 0.0]), "0"), Dense(np.eye(2), None, "1")),
        (2,),
        ("yes", "no"),
        input_scale=0.5,
    )
    path = tmp_path / "n.safetensors"
    write_network(path, net)
    again, _ = read_network(path)
    assert again.classes == ("yes", "no") and again.input_scale == 0.5
    x = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(forward(again, x), forward(net, x), rtol=1e-6)


# --- data -------------------------------------------------------------------------------------


def test_labelled_data_checks(tmp_path):
    good = tmp_path / "d.npz"
    np.savez(good, x=np.zeros((4, 6)), y=np.array([0, 1, 2, 1]))
    d = read_labelled_data(good, 3)
    assert d.n == 4 and d.y.dtype == np.int64
    cases = {
        "missing.npz": ({"x": np.zeros((2, 6))}, "missing key 'y'"),
        "range.npz": (
            {"x": np.zeros((2, 6)), "y": np.array([0, 3])},
            "label 3 of sample 1 is out of range",
        ),
        "nan.npz": (
            {"x": np.array([[0.0] * 6, [np.nan] * 6]), "y": np.array([0, 1])},
            "NaN or ±inf in sample 1",
        ),
        "count.npz": ({"x": np.zeros((3, 6)), "y": np.array([0, 1])}, "one label per sample"),
        "dims.npz": (
            {"x": np.zeros((3, 6, 2, 1, 1)), "y": np.array([0, 1, 1])},
            "not 5-D",
        ),
    }
    for name, (arrays, message) in cases.items():
        path = tmp_path / name
        np.savez(path, **arrays)
        with pytest.raises(NetworkFileError, match=message) as info:
            read_labelled_data(path, 3)
        assert name in str(info.value)
    with pytest.raises(NetworkFileError, match=r"must be an \.npz"):
        read_labelled_data(tmp_path / "d.csv")


@pytest.mark.parametrize("name", BUNDLED_NETWORKS)
def test_bundled_networks_load_with_splits_and_accuracy(name):
    b = load_bundled_network(name)
    assert set(b.splits) == {"train", "val", "test"}
    test = b.splits["test"]
    acc = np.mean(np.argmax(forward(b.network, test.x), 1) == test.y)
    assert acc >= 0.95
    assert b.network.classes == tuple(str(d) for d in range(10))
    assert not any(
        np.any((layer.weight != 0) & (np.abs(layer.weight) < np.finfo(np.float32).tiny))
        for layer in b.network.layers
        if layer.n_params
    ), "subnormal weights"
    # The splits are disjoint in size and cover the data file.
    assert sum(s.n for s in b.splits.values()) in (1797, 5000)


def test_recipe_is_short():
    assert len(PYTORCH_RECIPE.splitlines()) <= 7
    assert "save_file" in PYTORCH_RECIPE and ARCHITECTURE_KEY in PYTORCH_RECIPE


def test_npz_header_declaring_more_than_it_holds_is_refused_before_loading(tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)}
    )
    buf.write(b"\0" * 16)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("0.weight.npy", buf.getvalue())
    with pytest.raises(NetworkFileError, match=r"key '0\.weight' declares 40000000000 bytes"):
        read_network(path)
    data = tmp_path / "data.npz"
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("x.npy", buf.getvalue())
        zf.writestr("y.npy", buf.getvalue())
    with pytest.raises(NetworkFileError, match="declares 40000000000 bytes"):
        read_labelled_data(data)


def test_npz_architecture_key(tmp_path):
    path = tmp_path / "cnn.npz"
    np.savez(path, **cnn_state(), **{ARCHITECTURE_KEY: np.array(json.dumps(CNN_ARCH))})
    assert looks_like_state_dict(path)
    net, meta = read_network(path)
    assert net.input_shape == (1, 8, 8) and ARCHITECTURE_KEY in meta


def test_csv_exports(tmp_path):
    import csv

    from svdstudio.io.network_exports import layer_table_rows, write_csv_rows, write_curves_csv

    b = load_bundled_network("digits-mlp")
    factors = analyse(b.network)
    rows = layer_table_rows(factors, {"0": 8})
    path = tmp_path / "layers.csv"
    write_csv_rows(path, rows)
    with path.open() as fh:
        got = list(csv.DictReader(fh))
    assert [r["layer"] for r in got] == ["0", "2", "4"]
    assert got[0]["rank"] == "8" and got[1]["rank"] == ""
    assert int(got[0]["params_compressed"]) == 8 * (256 + 64) + 256
    assert float(got[0]["frobenius_error_squared"]) == pytest.approx(
        float(np.sum(factors["0"].singular_values[8:] ** 2)), rel=1e-6
    )
    curves = tmp_path / "curves.csv"
    write_curves_csv(curves, {"rank": [1, 2, 3], "plain": [0.1, 0.5, 0.9]})
    assert curves.read_text().splitlines() == ["rank,plain", "1,0.1", "2,0.5", "3,0.9"]
    with pytest.raises(ValueError, match="different lengths"):
        write_curves_csv(curves, {"a": [1], "b": [1, 2]})
