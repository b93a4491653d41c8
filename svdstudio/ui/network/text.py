"""The Network tab's words and numbers: readouts, accuracy, totals and latency (no Qt)."""

from __future__ import annotations

from svdstudio.engine.network import Accuracy, LayerFactors, Totals, busy_warning
from svdstudio.ui.network.latency import LatencyReport

__all__ = [
    "accuracy_html",
    "count",
    "latency_html",
    "layer_label",
    "percent",
    "readout_html",
    "shape_text",
    "totals_html",
]


def count(n: int) -> str:
    """12,345 → "12,345"; a million and more → "1.23 M"."""
    return f"{n / 1e6:.3g} M" if n >= 1_000_000 else f"{n:,}"


def percent(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def layer_label(f: LayerFactors) -> str:
    """ "dense 0", "conv 2": the names the CLI also accepts."""
    return f"{f.kind} {f.name}"


def accuracy_text(acc: Accuracy) -> str:
    lo, hi = acc.ci95
    return f"{percent(acc.value)} (95 % CI {percent(lo)}–{percent(hi)}, {acc.n} samples)"


def accuracy_html(
    baseline: Accuracy | None,
    current: Accuracy | None,
    preview: tuple[int, Accuracy, Accuracy | None] | None,
    *,
    has_data: bool,
) -> str:
    """The accuracy line: test accuracy of the ranks on show beside the original's.

    ``preview`` (rank, subset accuracy, subset accuracy of the original) while dragging.
    """
    if not has_data:
        return "<b>Accuracy:</b> no test data: open a data file (.npz with x and y)."
    if preview is not None:
        k, acc, base = preview
        tail = f" (original {percent(base.value)})" if base is not None else ""
        return (
            f"<b>Live, rank {k}:</b> {percent(acc.value)} on {acc.n} fixed test samples{tail}; "
            "the whole test split follows on release"
        )
    if baseline is None:
        return "<b>Accuracy:</b> scoring the original network…"
    if current is None:
        return f"<b>Accuracy:</b> scoring…  (original {percent(baseline.value)})"
    drop = current.value - baseline.value
    return (
        f"<span style='font-size:large'><b>Test accuracy {percent(current.value)}</b></span> "
        f"(95 % CI {percent(current.ci95[0])}–{percent(current.ci95[1])}, {current.n} "
        f"samples) · original {percent(baseline.value)} · change {100 * drop:+.1f} points"
    )


def readout_html(f: LayerFactors, k: int) -> str:
    """The Eckart–Young readout of layer ``f`` at rank k, on the matrix that was factorised."""
    e = f.errors(k)
    rows, cols = f.matrix_shape
    whole = k >= f.max_rank
    m = "M" if f.method == "plain" else "MS"
    what = f.matrix_description
    be = f.break_even_rank()
    if whole:
        params = f"{count(f.params)} (kept whole)"
    elif f.saves(k):
        params = f"{count(f.params_at(k))} of {count(f.params)}"
    else:
        params = f"{count(f.params_at(k))} of {count(f.params)}: <b>saves nothing</b>"
    macs = count(f.macs if whole else f.macs_at(k))
    mk = f"{m}<sub>k</sub>"
    table = [
        ("energy retained", percent(e.energy_retained, 2)),
        (f"‖{m} − {mk}‖<sub>F</sub>", f"{e.frobenius_error:.5g}"),
        (
            f"‖{m} − {mk}‖<sub>F</sub>² = Σ<sub>i&gt;k</sub> σ<sub>i</sub>²",
            f"{e.frobenius_error_squared:.5g}",
        ),
        (f"‖{m} − {mk}‖<sub>2</sub> = σ<sub>k+1</sub>", f"{e.spectral_error:.5g}"),
        (f"relative ‖{m} − {mk}‖<sub>F</sub> / ‖{m}‖<sub>F</sub>", percent(e.relative_error)),
        ("parameters", params),
        ("MACs / sample", f"{macs} of {count(f.macs)}"),
        ("break-even rank", f"{be} (from there on it saves nothing)"),
    ]
    body = "".join(f"<tr><td>{a}&nbsp;&nbsp;</td><td align='right'>{b}</td></tr>" for a, b in table)
    head = (
        f"<b>{layer_label(f)}</b>, rank k = {k} of {f.max_rank} · {f.method} SVD of "
        f"M = {what}, {rows}×{cols}"
    )
    warn = f"<br><span style='color:#b35900'>⚠ {f.warning}</span>" if f.warning else ""
    return f"{head}<table cellspacing='0' cellpadding='1'>{body}</table>{warn}"


def totals_html(t: Totals) -> str:
    """Parameters and MACs before and after, and the ratios (counted, not measured)."""
    return (
        "<table cellspacing='0' cellpadding='1'>"
        "<tr><td></td><td align='right'><b>original</b>&nbsp;&nbsp;</td>"
        "<td align='right'><b>compressed</b>&nbsp;&nbsp;</td>"
        "<td align='right'><b>ratio</b></td></tr>"
        f"<tr><td>parameters&nbsp;&nbsp;</td><td align='right'>{t.params:,}&nbsp;&nbsp;</td>"
        f"<td align='right'>{t.params_compressed:,}&nbsp;&nbsp;</td>"
        f"<td align='right'>{t.compression_ratio:.2f}×</td></tr>"
        f"<tr><td>MACs / sample&nbsp;&nbsp;</td><td align='right'>{t.macs:,}&nbsp;&nbsp;</td>"
        f"<td align='right'>{t.macs_compressed:,}&nbsp;&nbsp;</td>"
        f"<td align='right'>{t.mac_ratio:.2f}×</td></tr></table>"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def latency_html(r: LatencyReport | None, stale: bool) -> str:
    """Measured medians with the 10–90 % spread, original beside compressed, and the load."""
    if r is None:
        return (
            "<b>Latency</b> not measured yet. MACs above are counted, not timed: press "
            "<i>Measure</i> to time both networks."
        )
    rows = []
    for which in ("original", "compressed"):
        cells = []
        for b in (1, r.batch):
            s = r.stats[(which, b)]
            cells.append(
                f"<td align='right'>{_ms(s.median)}</td>"
                f"<td><small>&nbsp;({_ms(s.p10)}–{_ms(s.p90)})</small>&nbsp;&nbsp;</td>"
            )
        rows.append(f"<tr><td>{which}&nbsp;&nbsp;</td>{''.join(cells)}</tr>")
    speed = (
        f"<tr><td>speed-up</td><td align='right'>{r.speedup(1):.2f}×</td><td></td>"
        f"<td align='right'>{r.speedup(r.batch):.2f}×</td><td></td></tr>"
    )
    runs = r.stats[("original", 1)].runs
    load = "unknown" if r.load_before is None else f"{r.load_before:.2f}"
    head = (
        "<table cellspacing='0' cellpadding='1'><tr><td><b>measured</b></td>"
        "<td colspan='2' align='center'><b>batch 1</b></td>"
        f"<td colspan='2' align='center'><b>batch {r.batch}</b></td></tr>"
    )
    note = (
        f"Wall-clock median (10–90 %) of {runs} runs per case after 3 warm-ups, one BLAS "
        f"thread ({r.blas_threads}), load average {load} on {r.cores} cores."
    )
    warn = busy_warning(r.load_before, r.cores) or busy_warning(r.load_after, r.cores)
    extra = f"<br><span style='color:#b00020'>⚠ {warn}</span>" if warn else ""
    if stale:
        extra += "<br><i>The ranks changed since: measure again.</i>"
    return head + "".join(rows) + speed + "</table>" + f"<small>{note}</small>" + extra
