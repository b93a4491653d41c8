"""Network-lab speed and the issue's accuracy results on the bundled networks, beside each goal.

    python tests/benchmarks/bench_network.py            # about a minute on an idle machine
    python tests/benchmarks/bench_network.py --quick    # fewer repeats

Not part of pytest. Everything runs with one BLAS thread (two were 4–140× erratic on a busy
2-core machine): through threadpoolctl when it is installed, otherwise the script re-runs
itself in a subprocess with OPENBLAS_NUM_THREADS=1 (and the OMP/MKL/BLIS equivalents).
Timings are medians with the 10–90 % spread; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from svdstudio.engine.network import (
    RULES,
    Scorer,
    accuracy_tables,
    allocate,
    analyse,
    blas_threads,
    compress,
    forward,
    load_average,
    measure_latency,
    rank_sweep,
    replacements,
)
from svdstudio.engine.network.timing import ONE_THREAD_ENV, busy_warning
from svdstudio.io.network_data import load_bundled_network
from svdstudio.io.networks import BUNDLED_NETWORKS


def line(what: str, value: str, goal: str, ok: bool | None) -> None:
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"{what:<58} {value:>30}   goal {goal}{mark}", flush=True)


def timed(fn, repeats: int) -> tuple[float, float, float, object]:
    """Median, 10th and 90th percentile seconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    t = np.asarray(times)
    return float(np.median(t)), float(np.percentile(t, 10)), float(np.percentile(t, 90)), result


def fmt(med: float, lo: float, hi: float, unit: str = "ms") -> str:
    scale = 1e3 if unit == "ms" else 1.0
    return f"{med * scale:.3g} {unit} ({lo * scale:.3g}–{hi * scale:.3g})"


def pct(a: float) -> str:
    return f"{100 * a:.1f} %"


def _have_threadpoolctl() -> bool:
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    if not _have_threadpoolctl() and os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        env = dict(os.environ, **ONE_THREAD_ENV)
        print("threadpoolctl is not installed: re-running with OPENBLAS_NUM_THREADS=1", flush=True)
        return subprocess.call([sys.executable, *sys.argv], env=env)
    with blas_threads(1) as limited:
        how = "threadpoolctl" if _have_threadpoolctl() else "OPENBLAS_NUM_THREADS=1"
        print(f"one BLAS thread ({how}; in effect: {limited}); cores {os.cpu_count()}")
        return run(args)


def run(args) -> int:
    reps = 3 if args.quick else 7
    load0 = load_average()
    print(f"load average at start: {load0:.2f}" if load0 is not None else "load average: n/a")
    if warn := busy_warning(load0):
        print(f"warning: {warn}")
    print()
    # --- 1. open + all spectra ----------------------------------------------------------------
    for name in BUNDLED_NETWORKS:

        def open_all(name=name):
            b = load_bundled_network(name)
            return analyse(b.network)

        med, lo, hi, _ = timed(open_all, reps)
        line(f"open {name} and all its spectra", fmt(med, lo, hi), "< 1 s", med < 1.0)
    nets = {name: load_bundled_network(name) for name in BUNDLED_NETWORKS}
    # --- 2. re-score after a rank change --------------------------------------------------------
    for name in ("digits-mlp", "mnist-mlp"):
        b = nets[name]
        test = b.splits["test"]
        scorer = Scorer(b.network, test.x, test.y)
        factors = analyse(b.network)
        f = factors["0"]
        scorer.score()  # fill the cache once, as the tab does on opening
        ks = iter(np.random.default_rng(0).integers(1, f.max_rank + 1, size=1000))
        # As in the tab: every layer at its chosen rank, the first one's rank just changed.
        others = replacements(factors, allocate(factors, 0.25, "global").ranks)

        def rescore(s=scorer, f=f, ks=ks, others=others):
            return s.score({**others, "0": f.layers_at(int(next(ks)))})

        stats = measure_latency(rescore, runs=30, one_thread=False)
        line(
            f"re-score {name} after a rank change ({test.n} samples)",
            fmt(stats.median, stats.p10, stats.p90),
            "< 100 ms",
            stats.median < 0.1,
        )
    # --- 3. a full accuracy-vs-rank sweep of one layer ----------------------------------------
    for name, layer, scheme in (("mnist-mlp", "0", "spatial"), ("digits-cnn", "2", "spatial")):
        b = nets[name]
        test = b.splits["test"]
        scorer = Scorer(b.network, test.x, test.y)
        f = analyse(b.network, conv_scheme=scheme, layers=[layer])[layer]
        med, lo, hi, _ = timed(lambda s=scorer, f=f: rank_sweep(s, f), max(1, reps // 2))
        line(
            f"sweep {name} layer {layer}, all {f.max_rank} ranks",
            fmt(med, lo, hi, "s"),
            "< 5 s",
            med < 5.0,
        )
    # --- 4. greedy allocation of the MNIST MLP ----------------------------------------------------
    b = nets["mnist-mlp"]
    val, test = b.splits["val"], b.splits["test"]
    factors = analyse(b.network)

    def greedy():
        tables = accuracy_tables(Scorer(b.network, val.x, val.y), factors)
        return tables, allocate(factors, 0.1, "greedy", tables=tables)

    med, lo, hi, (tables, _) = timed(greedy, max(1, reps // 2))
    evals = sum(len(t.ranks) for t in tables)
    line(
        f"greedy allocation of mnist-mlp ({evals} evaluations)",
        fmt(med, lo, hi, "s"),
        "< 15 s",
        med < 15,
    )
    print()
    # --- 5. MNIST MLP at 10 % of its dense parameters
    scorer = Scorer(b.network, test.x, test.y)
    base = scorer.score()
    print(f"mnist-mlp: test accuracy {pct(base.value)} on {base.n} samples")
    best = (0.0, "")
    for method in ("plain", "data-aware"):
        fac = analyse(b.network, method=method, calibration=b.splits["train"].x)
        tabs = accuracy_tables(Scorer(b.network, val.x, val.y), fac)
        for rule in RULES:
            a = allocate(fac, 0.10, rule, tables=tabs)
            acc = scorer.score(replacements(fac, a.ranks))
            lo, hi = acc.ci95
            ranks = ", ".join(f"{k}={'whole' if v is None else v}" for k, v in a.ranks.items())
            print(
                f"  {method:10s} {rule:8s} kept {pct(a.fraction):>7s}  "
                f"accuracy {pct(acc.value):>7s} "
                f"(95 % CI {pct(lo)}–{pct(hi)})  ranks {ranks}"
            )
            if acc.value > best[0]:
                best = (acc.value, f"{method} {rule}")
    line(
        "mnist-mlp at 10 % of dense params, best rule",
        f"{pct(best[0])} ({best[1]})",
        "≥ 93 %",
        best[0] >= 0.93,
    )
    # --- 6. spatial SVD of the Digits CNN's second convolution at 25 % of its MACs
    b = nets["digits-cnn"]
    test = b.splits["test"]
    scorer = Scorer(b.network, test.x, test.y)
    print(f"digits-cnn: test accuracy {pct(scorer.score().value)} on {test.n} samples")
    results = {}
    for scheme in ("spatial", "channel"):
        for method in ("plain", "data-aware"):
            f = analyse(
                b.network,
                conv_scheme=scheme,
                method=method,
                calibration=b.splits["train"].x,
                layers=["2"],
            )["2"]
            k = max(k for k in range(1, f.max_rank + 1) if f.macs_at(k) <= 0.25 * f.macs)
            acc = scorer.score({"2": f.layers_at(k)}).value
            results[(scheme, method)] = acc
            print(
                f"  {scheme:8s} {method:10s} rank {k:2d}: "
                f"{pct(f.macs_at(k) / f.macs)} of the layer's "
                f"MACs, accuracy {pct(acc)}"
            )
    line(
        "digits-cnn conv 2, spatial SVD at ≤ 25 % of its MACs (plain)",
        pct(results[("spatial", "plain")]),
        "≥ 96 %",
        results[("spatial", "plain")] >= 0.96,
    )
    # --- 7. data-aware against plain on the first Digits MLP layer --------------------------------
    b = nets["digits-mlp"]
    test = b.splits["test"]
    scorer = Scorer(b.network, test.x, test.y)
    base = scorer.score().value
    plain = rank_sweep(scorer, analyse(b.network, layers=["0"])["0"])
    aware = rank_sweep(
        scorer,
        analyse(b.network, method="data-aware", calibration=b.splits["train"].x, layers=["0"])["0"],
    )
    losing = [k for k, a in zip(plain.ranks, plain.accuracy, strict=True) if a <= base - 0.05]
    k = max(losing)
    gain = aware.accuracy[k - 1] - plain.accuracy[k - 1]
    print(
        f"digits-mlp layer 0: base {pct(base)}; the highest rank where plain SVD loses ≥ 5 points "
        f"is {k}: plain {pct(plain.accuracy[k - 1])}, data-aware {pct(aware.accuracy[k - 1])}"
    )
    for kk in (2, 4, 8, 16, 32):
        print(
            f"  rank {kk:2d}: plain {pct(plain.accuracy[kk - 1])}, "
            f"data-aware {pct(aware.accuracy[kk - 1])}"
        )
    line(
        "digits-mlp layer 0, data-aware − plain at that rank",
        f"{100 * gain:+.1f} points",
        "≥ +3 points",
        gain >= 0.03,
    )
    print()
    # --- 8. measured latency, original beside compressed --------------------------------------
    cases = []
    b = nets["mnist-mlp"]
    fac = analyse(b.network)
    a = allocate(fac, 0.10, "global")
    cases.append(("mnist-mlp, global 10 %", b, compress(b.network, fac, a.ranks)))
    b = nets["digits-cnn"]
    for scheme in ("spatial", "channel"):
        f = analyse(b.network, conv_scheme=scheme, layers=["2"])
        k = max(k for k in range(1, f["2"].max_rank + 1) if f["2"].macs_at(k) <= 0.25 * f["2"].macs)
        cases.append((f"digits-cnn, conv 2 {scheme} rank {k}", b, compress(b.network, f, {"2": k})))
    runs = 30 if args.quick else 50
    for title, b, small in cases:
        x = b.splits["test"].x
        for batch in (1, x.shape[0]):
            xb = x[:batch]
            t_orig = measure_latency(
                lambda xb=xb, net=b.network: forward(net, xb), runs=runs, one_thread=False
            )
            t_small = measure_latency(
                lambda xb=xb, net=small: forward(net, xb), runs=runs, one_thread=False
            )
            line(
                f"latency {title}, batch {batch}",
                f"{t_orig.median * 1e3:.3g} → {t_small.median * 1e3:.3g} ms",
                "measured",
                None,
            )
            print(
                f"{'':<8}original {t_orig.describe()}; compressed {t_small.describe()}; "
                f"speed-up ×{t_orig.median / t_small.median:.2f}"
            )
    load1 = load_average()
    print()
    print(f"load average at end: {load1:.2f}" if load1 is not None else "")
    if warn := busy_warning(load1):
        print(f"warning: {warn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
