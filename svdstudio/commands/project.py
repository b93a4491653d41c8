"""``svdstudio-cli project DATASET``: truncated SVD / PCA projection of a labelled table."""

from __future__ import annotations

import argparse
import sys
import textwrap

from svdstudio.commands.common import CliError, print_json
from svdstudio.commands.project_big import (
    add_big_arguments,
    choose_engine,
    omit_long_lists,
    projection_writer,
    run_chunked,
    uses_chunked_reader,
)
from svdstudio.engine.projection import (
    METHODS,
    ProjectionMethod,
    component_names,
    method_by_name,
    project,
)
from svdstudio.io.datasets import (
    BUNDLED,
    DatasetError,
    read_dataset,
    resolve_dataset,
    write_projection_csv,
)

EPILOG = """\
examples:
  svdstudio-cli project iris
      truncated SVD of the bundled Iris table (as in the article), 2 components
  svdstudio-cli project wine --method standardized --components 3 -o wine_pcs.csv
  svdstudio-cli project measurements.tsv --label-column species --method pca --json

DATASET is a CSV/TSV, Parquet or .npy file or a bundled name ({names}).  The label
column is the non-numeric one unless --label-column names it.  Rows with
missing values (empty, NA, NaN, ?) and constant columns are dropped, with a
note on stderr.

methods (any of these names, in any case, British or American spelling;
the part in parenthesis may be left out):
{methods}
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``project`` sub-command."""
    methods = "\n\n".join(_describe_method(m) for m in METHODS)
    p = sub.add_parser(
        "project",
        help="project a table to a few components (truncated SVD or PCA)",
        description="Project the rows of a labelled table onto its top singular directions.",
        epilog=EPILOG.format(names=", ".join(BUNDLED), methods=methods),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", metavar="DATASET", help="CSV/TSV file, or iris, wine, digits")
    p.add_argument(
        "--label-column",
        metavar="NAME",
        help="column holding the class labels (a name, or a 1-based number)",
    )
    p.add_argument(
        "--method",
        type=_method_arg,
        default=METHODS[0],
        metavar="NAME",
        help="projection method: "
        + ", ".join(m.short for m in METHODS)
        + " or the name the app shows, e.g. 'Standardised PCA' (default tsvd; see below)",
    )
    p.add_argument(
        "--components",
        type=int,
        default=2,
        metavar="N",
        help="number of components to keep (default 2)",
    )
    p.add_argument("-o", "--output", metavar="OUT.csv", help="write row, label and coordinates")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_big_arguments(p)
    p.set_defaults(run=run)


def _describe_method(m: ProjectionMethod) -> str:
    """The --help entry of one method: its names, then what it does."""
    names = ", ".join(f'"{n}"' if " " in n else n for n in m.names)
    head = textwrap.fill(names, width=76, initial_indent="  ", subsequent_indent="    ")
    body = textwrap.fill(
        m.description, width=76, initial_indent="      ", subsequent_indent="      "
    )
    return f"{head}\n{body}"


def _method_arg(text: str) -> ProjectionMethod:
    """argparse type for --method: any name :func:`method_by_name` accepts."""
    try:
        return method_by_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Load, project, then print a summary, JSON, and/or write the coordinates."""
    path, default_label = resolve_dataset(args.dataset)
    label = args.label_column if args.label_column is not None else default_label
    engine = choose_engine(args, path)
    if engine == "dask" or uses_chunked_reader(path):
        return run_chunked(args, path, label, engine)
    try:
        ds = read_dataset(path, label_column=label)  # a number typed is 1-based
    except DatasetError as exc:
        raise CliError(str(exc)) from None
    kmax = min(ds.X.shape)
    if not 1 <= args.components <= kmax:
        raise CliError(
            f"{path}: --components must be between 1 and {kmax} for this "
            f"{ds.X.shape[0]}×{ds.X.shape[1]} table; got {args.components}"
        )
    try:
        res = project(ds.X, args.method.key, args.components)
    except ValueError as exc:
        raise CliError(f"{path}: {exc}") from None
    for notice in ds.notices:
        print(f"svdstudio-cli: note: {notice}", file=sys.stderr)
    names = component_names(res.method, res.n_components)
    if args.output:
        try:
            projection_writer(args.output, write_projection_csv)(
                args.output,
                res.projection,
                component_names=names,
                labels=ds.labels,
                label_name=ds.label_name,
                row_numbers=ds.row_numbers,
            )
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    if args.json:
        out = {
            "dataset": str(path),
            "method": res.method,
            "n_samples": res.n_samples,
            "feature_names": list(ds.feature_names),
            "singular_values": res.singular_values,
            "explained_variance": res.explained_variance,
            "explained_variance_ratio": res.explained_variance_ratio,
            "components": res.components,
            "projection": res.projection,
            "label_name": ds.label_name,
            "labels": ds.labels.tolist() if ds.labels is not None else None,
            "row_numbers": ds.row_numbers,
            "dropped_rows": ds.dropped_rows,
            "dropped_columns": list(ds.dropped_columns),
            "notices": ds.notices,
        }
        print_json(omit_long_lists(out, ds.n_rows))
        return 0
    print(f"{path}: {res.n_samples} rows × {res.n_features} features, method {res.method}")
    for name, sv, r in zip(names, res.singular_values, res.explained_variance_ratio, strict=True):
        print(f"  {name}: singular value {sv:.6g}, explained variance ratio {r:.4f}")
    if args.output:
        print(f"wrote {args.output}")
    return 0
