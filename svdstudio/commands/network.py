"""``svdstudio-cli network MODEL``: per-layer spectra, SVD compression and accuracy of a network."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from svdstudio.commands.common import CliError, print_json
from svdstudio.engine.network import (
    CONV_SCHEMES,
    METHODS,
    RULES,
    Scorer,
    accuracy_tables,
    allocate,
    analyse,
    compress,
    factorisable_names,
    ranks_for_energy,
    resolve_layer_name,
    totals,
)
from svdstudio.engine.network.inference import layer_macs, layer_shapes
from svdstudio.io.network_data import (
    LabelledData,
    load_network_with_data,
    read_labelled_data,
    resolve_network,
)
from svdstudio.io.network_exports import layer_figures
from svdstudio.io.networks import BUNDLED_NETWORKS, NetworkFileError, write_network

EPILOG = """\
examples:
  svdstudio-cli network digits-mlp                      spectra, parameters and MACs per layer
  svdstudio-cli network digits-mlp --rank 16 --json     every layer at rank ≤ 16, test accuracy
  svdstudio-cli network mnist-mlp --budget 0.1 --allocate global
  svdstudio-cli network digits-cnn --rank 2=8 --conv spatial -o small.safetensors
  svdstudio-cli network model.safetensors --data test.npz --method data-aware --rank 0=32

MODEL is a .safetensors or .npz state dict, or a bundled name ({names}); the bundled networks
are scored on their own test split, with data-aware SVD calibrated on the training split and the
greedy rule's tables on the validation split. --data FILE.npz holds x (N × features, or
N × C × H × W) and integer labels y. Data-aware SVD and the greedy rule need calibration data
that is not scored: --calibrate FILE.npz, else a seeded half of --data (the other half is scored).
A rank that would cost as much as the whole layer is reported, and the layer kept whole.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``network`` sub-command."""
    p = sub.add_parser(
        "network",
        help="SVD-compress the dense and conv layers of a network; accuracy before and after",
        description="Factorise a network's dense and convolution layers by the SVD.",
        epilog=EPILOG.format(names=", ".join(BUNDLED_NETWORKS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="network file or bundled name")
    p.add_argument("--data", metavar="DATA.npz", help="labelled data to score (x, y)")
    p.add_argument(
        "--calibrate", metavar="FILE.npz", help="calibration data (x, y) for data-aware/greedy"
    )
    p.add_argument(
        "--rank",
        action="append",
        metavar="K|LAYER=K",
        help="rank for every layer (clamped to its maximum) or for one layer; repeatable",
    )
    p.add_argument("--energy", type=float, metavar="PERCENT", help="keep this energy per layer")
    p.add_argument(
        "--budget",
        metavar="FRACTION",
        help="keep this fraction of the factorised layers' parameters (or MACs, --cost macs)",
    )
    p.add_argument("--allocate", choices=RULES, default="global", help="budget rule (global)")
    p.add_argument("--cost", choices=("params", "macs"), default="params", help="budget unit")
    p.add_argument("--method", choices=METHODS, default="plain", help="plain (default) SVD")
    p.add_argument("--conv", choices=CONV_SCHEMES, default="spatial", help="conv factorisation")
    p.add_argument("-o", "--output", metavar="OUT.safetensors", help="save the compressed network")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(run=run)


def _budget(text: str) -> float:
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise CliError(f"--budget: {text!r} is not a fraction (e.g. 0.1 or 10%)") from None
    if not 0 < value <= 1:
        raise CliError(f"--budget must be above 0 and at most 1 (got {text})")
    return value


def _parse_ranks(specs: list[str], network) -> dict[str, int]:
    names = factorisable_names(network)
    ranks: dict[str, int] = {}
    per_layer: dict[str, int] = {}
    for spec in specs:
        layer, sep, value = spec.rpartition("=")
        try:
            k = int(value)
        except ValueError:
            raise CliError(f"--rank {spec}: the rank must be a whole number") from None
        if k < 1:
            raise CliError(f"--rank {spec}: the rank must be at least 1")
        if sep:
            try:
                per_layer[resolve_layer_name(network, layer)] = k
            except ValueError as exc:
                raise CliError(f"--rank {spec}: {exc}") from None
        else:
            ranks.update(dict.fromkeys(names, k))
    ranks.update(per_layer)
    return ranks


def _split_half(data: LabelledData) -> tuple[LabelledData, LabelledData]:
    rng = np.random.default_rng(0)
    order = rng.permutation(data.n)
    cal, score = np.sort(order[: data.n // 2]), np.sort(order[data.n // 2 :])
    return (
        LabelledData(data.x[cal], data.y[cal], f"{data.source} (seeded half)"),
        LabelledData(data.x[score], data.y[score], f"{data.source} (other half)"),
    )


def run(args: argparse.Namespace) -> int:
    """Load, factorise, choose ranks, score, then print and/or save."""
    chosen = [o for o in ("rank", "energy", "budget") if getattr(args, o) is not None]
    if len(chosen) > 1:
        raise CliError(f"choose one of --rank, --energy, --budget (got {', '.join(chosen)})")
    path = resolve_network(args.model)
    try:
        bundle = load_network_with_data(path)
    except NetworkFileError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror or exc})") from None
    net = bundle.network
    n_classes = int(layer_shapes(net)[-1][1][0]) if net.layers else None
    needs_cal = args.method == "data-aware" or (
        args.budget is not None and args.allocate == "greedy"
    )
    score_data: LabelledData | None = None
    calib: LabelledData | None = None
    greedy_data: LabelledData | None = None
    calibration_note = None
    try:
        if args.data:
            score_data = read_labelled_data(args.data, n_classes)
        elif "test" in bundle.splits:
            score_data = bundle.splits["test"]
        if args.calibrate:
            calib = greedy_data = read_labelled_data(args.calibrate, n_classes)
            calibration_note = {"source": calib.source, "samples": calib.n}
        elif needs_cal and args.data:
            assert score_data is not None
            calib, score_data = _split_half(score_data)
            greedy_data = calib
            calibration_note = {"source": calib.source, "samples": calib.n}
        elif needs_cal and "train" in bundle.splits:
            calib, greedy_data = bundle.splits["train"], bundle.splits["val"]
            used = calib if args.method == "data-aware" else greedy_data
            calibration_note = {"source": used.source, "samples": used.n}
            if args.method == "data-aware" and args.allocate == "greedy" and args.budget:
                calibration_note["greedy_source"] = greedy_data.source
    except NetworkFileError as exc:
        raise CliError(str(exc)) from None
    if needs_cal and calib is None:
        raise CliError(
            f"{path}: data-aware SVD and the greedy rule need calibration data; give "
            "--calibrate FILE.npz or --data FILE.npz"
        )
    warnings: list[str] = []
    try:
        if score_data is not None:
            scorer = Scorer(net, score_data.x, score_data.y)
        factors = analyse(
            net,
            conv_scheme=args.conv,
            method=args.method,
            calibration=None if calib is None or args.method == "plain" else calib.x,
        )
    except ValueError as exc:
        where = score_data.source if score_data is not None else str(path)
        raise CliError(f"{where}: {exc}") from None
    warnings += [f.warning for f in factors.values() if f.warning]
    allocation = None
    if args.rank is not None:
        asked = _parse_ranks(args.rank, net)
        ranks: dict[str, int | None] = {}
        for name, k in asked.items():
            f = factors[name]
            k = min(k, f.max_rank)
            if not f.saves(k):
                warnings.append(
                    f"layer {name}: rank {k} saves nothing (from rank {f.break_even_rank()} on "
                    "the two factors cost as much as the whole layer); kept whole"
                )
                ranks[name] = None
            else:
                ranks[name] = k
    elif args.energy is not None:
        if not 0 < args.energy <= 100:
            raise CliError(f"--energy must be above 0 and at most 100 (got {args.energy:g})")
        ranks = ranks_for_energy(factors, args.energy / 100)
    elif args.budget is not None:
        budget = _budget(args.budget)
        tables = None
        if args.allocate == "greedy":
            assert greedy_data is not None
            try:
                tables = accuracy_tables(
                    Scorer(net, greedy_data.x, greedy_data.y), factors, cost=args.cost
                )
            except ValueError as exc:
                raise CliError(f"{greedy_data.source}: {exc}") from None
        allocation = allocate(factors, budget, args.allocate, cost=args.cost, tables=tables)
        ranks = allocation.ranks
        warnings += list(allocation.notes)
    else:
        ranks = {}
    small = compress(net, factors, ranks)
    tot = totals(net, small)
    layers_out = []
    for name, f in factors.items():
        k = ranks.get(name)
        e = f.errors(k) if k is not None else f.errors(f.max_rank)
        layers_out.append(
            {
                "name": name,
                "kind": f.kind,
                "shape": list(f.shape),
                "matrix_shape": list(f.matrix_shape),
                "scheme": f.scheme,
                "factorised_matrix": f.matrix_description,
                "singular_values": f.singular_values,
                "rank": k,
                "max_rank": f.max_rank,
                "break_even_rank": f.break_even_rank(),
                **layer_figures(f, k),
                "relative_error": e.relative_error,
            }
        )
    out: dict = {
        "model": str(path),
        "layers": layers_out,
        "params": tot.params,
        "params_compressed": tot.params_compressed,
        "macs": tot.macs,
        "macs_compressed": tot.macs_compressed,
        "compression_ratio": tot.compression_ratio,
        "method": args.method,
        "conv": args.conv,
        "calibration": calibration_note,
        "warnings": warnings,
    }
    if allocation is not None:
        out["allocation"] = {
            "rule": allocation.rule,
            "budget": allocation.budget,
            "cost": allocation.cost_kind,
            "fraction": allocation.fraction,
            "fits": allocation.fits,
        }
    if score_data is not None:
        before = scorer.score()
        after = scorer.score_network(small)
        out.update(
            {
                "data": score_data.source,
                "samples": after.n,
                "accuracy": before.value,
                "accuracy_compressed": after.value,
                "accuracy_ci95": list(after.ci95),
                "accuracy_original_ci95": list(before.ci95),
            }
        )
    if args.output:
        try:
            write_network(
                args.output,
                small,
                {"svdstudio.compressed_from": str(path), "svdstudio.method": args.method},
            )
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
        out["output"] = args.output
    if args.json:
        print_json(out)
        return 0
    _print_text(out, layer_macs(net))
    return 0


def _print_text(out: dict, _macs: list[int]) -> None:
    print(f"{out['model']}: method {out['method']}, convolutions {out['conv']}")
    print(
        f"  {'layer':8s} {'kind':5s} {'matrix':>11s} {'rank':>9s} {'params':>15s} "
        f"{'MACs':>19s} {'energy':>7s}"
    )
    for row in out["layers"]:
        m = "×".join(str(d) for d in row["matrix_shape"])
        rank = "whole" if row["rank"] is None else f"{row['rank']}/{row['max_rank']}"
        print(
            f"  {row['name']:8s} {row['kind']:5s} {m:>11s} {rank:>9s} "
            f"{row['params']:>7d}→{row['params_compressed']:<7d} "
            f"{row['macs']:>9d}→{row['macs_compressed']:<9d} {row['energy_retained']:7.2%}"
        )
    print(
        f"  total params {out['params']} → {out['params_compressed']} "
        f"(×{out['compression_ratio']:.2f}), MACs {out['macs']} → {out['macs_compressed']}"
    )
    if "accuracy" in out:
        lo, hi = out["accuracy_ci95"]
        print(
            f"  accuracy on {out['samples']} samples of {out['data']}: {out['accuracy']:.2%} → "
            f"{out['accuracy_compressed']:.2%} (95 % CI {lo:.2%}–{hi:.2%})"
        )
    if out["calibration"]:
        print(f"  calibration: {out['calibration']['source']}")
    for w in out["warnings"]:
        print(f"svdstudio-cli: warning: {w}", file=sys.stderr)
    if out.get("output"):
        print(f"wrote {out['output']}")
