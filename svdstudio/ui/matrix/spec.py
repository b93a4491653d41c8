"""The Matrix tab's entry in the tab registry."""

from __future__ import annotations

from svdstudio.ui.tab_contract import TabSpec


def _build(runner):
    from svdstudio.ui.matrix.tab import MatrixTab

    return MatrixTab(runner)


TAB_SPEC = TabSpec(
    kind="matrix",
    title="Matrix",
    opens=frozenset({"matrix"}),
    factory=_build,
    save_title="&Save matrix as…",
    file_filter="Matrices (*.csv *.tsv *.txt *.dat *.npy)",
)
