"""``svdstudio-cli svd MATRIX [--rank K] [--json]``: decompose a matrix file, report errors."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from svdstudio.commands.common import ASCII_STAND_INS, CliError, print_json
from svdstudio.io.matrix import MatrixFileError, read_matrix, read_matrix_stream

STDIN_NAME = "- (standard input)"

EPILOG = """\
examples:
  svdstudio-cli svd A.csv --rank 2
  svdstudio-cli svd A.csv --rank 2 --json > result.json
  printf '6 6 2\\n0 1 3\\n4 0 1\\n0 6 2\\n' | svdstudio-cli svd - --rank 1

MATRIX is a .csv, .tsv, whitespace-separated text or .npy file, or - for standard input.
A first row of column names is skipped.  Singular vectors are unique only up to sign; the
sign convention used is printed with the results.  --json writes full precision; there an
infinite condition number (a singular matrix) is null.
"""

_ASCII = str.maketrans(ASCII_STAND_INS)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``svd`` sub-command."""
    p = sub.add_parser(
        "svd",
        help="decompose a matrix file: U, singular values, V^T, rank-k errors",
        description="Thin SVD A = U S V^T of a matrix file, with its numerical rank and\n"
        "condition number.  With --rank K also the rank-K reconstruction A_K, the reduced\n"
        "representation U_K S_K and every error figure of the truncation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("matrix", metavar="MATRIX", help="matrix file, or - for standard input")
    p.add_argument(
        "--rank",
        "-k",
        metavar="K",
        help="truncation rank, 1 <= K <= min(rows, columns)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (full precision)")
    p.add_argument(
        "--decimal-comma",
        action="store_true",
        help="commas are decimal marks (cells then split by ; or tab)",
    )
    p.add_argument(
        "--precision",
        metavar="P",
        type=_precision,
        default=4,
        help="decimals shown in text output (0-17, default 4)",
    )
    p.set_defaults(run=run)


def _precision(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}") from None
    if not 0 <= value <= 17:
        raise argparse.ArgumentTypeError(f"must be between 0 and 17; got {value}")
    return value


def _load(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    try:
        if args.matrix == "-":
            return read_matrix_stream(
                sys.stdin.buffer, STDIN_NAME, decimal_comma=args.decimal_comma
            ), STDIN_NAME
        return read_matrix(args.matrix, decimal_comma=args.decimal_comma), args.matrix
    except MatrixFileError as exc:
        # Name the file as the user typed it (read_matrix names only the base name).
        name = STDIN_NAME if args.matrix == "-" else args.matrix
        raise CliError(f"{name}: {exc.reason}") from None


def _rank_arg(text: str | None, name: str, shape: tuple[int, int]) -> int | None:
    if text is None:
        return None
    try:
        k = int(text)
    except ValueError:
        raise CliError(f"{name}: --rank must be a whole number; got {text!r}") from None
    m, n = shape
    if not 1 <= k <= min(m, n):
        raise CliError(
            f"{name}: --rank must be between 1 and {min(m, n)} for this {m} × {n} matrix; got {k}"
        )
    return k


def run(args: argparse.Namespace) -> int:
    """Decompose MATRIX and print the results (text or JSON)."""
    matrix, name = _load(args)
    k = _rank_arg(args.rank, name, matrix.shape)
    # Imported only now, so that --help, --version and bad input answer without scipy.
    from svdstudio.engine import SIGN_CONVENTION, decompose, rank_errors, reconstruct, reduced

    try:
        res = decompose(matrix)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise CliError(f"{name}: cannot decompose this matrix ({exc})") from None

    out: dict = {
        "source": name,
        "shape": list(res.shape),
        "singular_values": res.s,
        "rank": res.rank,
        "tolerance": res.tolerance,
        "condition_number": res.condition_number,
        "U": res.U,
        "Vt": res.Vt,
        "sign_convention": SIGN_CONVENTION,
    }
    if k is not None:
        err = rank_errors(res, k)
        out.update(
            k=k,
            reconstruction=reconstruct(res, k),
            reduced=reduced(res, k),
            frobenius_error=err.frobenius,
            frobenius_error_squared=err.frobenius_squared,
            dropped_energy=err.dropped_energy,
            relative_error=err.relative,
            spectral_error=err.spectral,
            energy_retained=err.energy_retained,
        )
    if args.json:
        print_json(out)
    else:
        ascii_only = not _can_encode("σΣ‖ᵀ₂²−–≤×·⋮…")
        text = _text_report(out, args.precision, ascii_only)
        sys.stdout.write(text.translate(_ASCII) if ascii_only else text)
    return 0


# ---------------------------------------------------------------------------------------------
# Text report


def _num(x: float, decimals: int) -> str:
    """Fixed decimals, switching to exponent notation for values fixed would hide."""
    if not np.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    ax = abs(x)
    if ax != 0 and (ax >= 1e9 or ax < 0.5 * 10.0**-decimals):
        return f"{x:.{decimals}e}"
    text = f"{x:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _matrix(mat: np.ndarray, decimals: int, max_rows: int = 20, max_cols: int = 10) -> str:
    """Aligned columns; large matrices show their corners (use --json for everything)."""
    m, n = mat.shape
    rows = (
        list(range(m))
        if m <= max_rows
        else [*range(max_rows // 2), -1, *range(m - max_rows // 2, m)]
    )
    cols = (
        list(range(n))
        if n <= max_cols
        else [*range(max_cols // 2), -1, *range(n - max_cols // 2, n)]
    )
    scale = np.abs(mat).max(initial=0.0)
    sci = scale >= 1e9
    cells = []
    for i in rows:
        line = []
        for j in cols:
            if i < 0:
                line.append("⋮" if j >= 0 else "")
            elif j < 0:
                line.append("…")
            else:
                x = float(mat[i, j])
                text = f"{x:.{decimals}e}" if sci else f"{x:.{decimals}f}"
                if text.startswith("-") and not text.strip("-0.e+"):
                    text = text[1:]  # no "-0.0000"
                line.append(text)
        cells.append(line)
    width = max(len(c) for line in cells for c in line)
    out = ["  " + " ".join(c.rjust(width) for c in line).rstrip() for line in cells]
    if m > max_rows or n > max_cols:
        out.append(f"  (corners of {m} × {n} shown; --json prints every value)")
    return "\n".join(out)


def _sigma_lines(s: np.ndarray, decimals: int, limit: int = 24) -> list[str]:
    """σ_i one per line; a long spectrum shows its head and tail."""
    shown = (
        range(len(s)) if len(s) <= limit else [*range(limit // 2), -1, *range(len(s) - 4, len(s))]
    )
    lines = []
    for i in shown:
        if i < 0:
            lines.append(f"  … ({len(s) - limit // 2 - 4} more; --json prints every value)")
        else:
            lines.append(f"  σ{i + 1} = {_num(float(s[i]), decimals)}")
    return lines


def _text_report(out: dict, decimals: int, ascii_only: bool = False) -> str:
    m, n = out["shape"]
    s = out["singular_values"]
    r = len(s)
    lines = [
        f"Matrix {out['source']}: {m} × {n}",
        "",
        f"U ({m} × {r}, left singular vectors as columns):",
        _matrix(out["U"], decimals),
        "",
        "Singular values σ (descending):",
        *_sigma_lines(s, decimals),
        "",
        f"Vᵀ ({r} × {n}, right singular vectors as rows):",
        _matrix(out["Vt"], decimals),
        "",
        f"Numerical rank: {out['rank']} "
        f"(singular values above tolerance {out['tolerance']:.3e} = σ1 · max(m, n) · eps)",
        f"Condition number σ1 / σ{r}: {_num(out['condition_number'], decimals)}",
        f"Sign convention: {out['sign_convention']}",
    ]
    if "k" in out:
        from svdstudio.engine.lowrank import squared_error_label  # lazy, as in run()

        k = out["k"]
        kept = f"i ≤ {k}"
        spectral = f"σ{k + 1}" if k < r else "0 at full rank"
        labels = [
            (f"Frobenius norm of the error ‖A − A_{k}‖_F", out["frobenius_error"]),
            (squared_error_label(k), out["frobenius_error_squared"]),
            (f"Sum of dropped squared singular values Σ_{{i>{k}}} σ_i²", out["dropped_energy"]),
            (f"Spectral norm of the error ‖A − A_{k}‖₂ = {spectral}", out["spectral_error"]),
            (f"Relative error ‖A − A_{k}‖_F / ‖A‖_F", out["relative_error"]),
            (f"Energy retained Σ_{{{kept}}} σ_i² / Σ σ_i²", out["energy_retained"]),
        ]
        if ascii_only:  # translate before aligning: "‖" becomes two characters
            labels = [(label.translate(_ASCII), value) for label, value in labels]
        width = max(len(label) for label, _ in labels)
        figures = []
        for label, value in labels:
            text = _num(float(value), decimals)
            if np.isinf(value):  # an error is finite: this one is only beyond float range
                text = f"> {np.finfo(np.float64).max:.1e} (beyond float64 range)"
            if label.startswith(("Relative", "Energy")):
                text += f"  ({100 * value:.{max(decimals - 2, 0)}f} %)"
            figures.append(f"  {label.ljust(width)}  {text}")
        lines += [
            "",
            f"Rank-{k} reconstruction A_{k} = U_{k} Σ_{k} V_{k}ᵀ ({m} × {n}):",
            _matrix(out["reconstruction"], decimals),
            "",
            f"Reduced representation U_{k} Σ_{k} ({m} × {k}, the article's truncated SVD):",
            _matrix(out["reduced"], decimals),
            "",
            f"Errors of the rank-{k} truncation (Eckart–Young, k = {k}):",
            *figures,
        ]
    return "\n".join(lines) + "\n"


def _can_encode(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
