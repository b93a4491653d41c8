"""The Dataset tab's entry in the tab registry."""

from __future__ import annotations

from svdstudio.ui.tab_contract import TabSpec


def _build(runner):
    from svdstudio.ui.dataset.tab import DatasetTab

    return DatasetTab(runner)


TAB_SPEC = TabSpec(
    kind="dataset",
    title="Dataset",
    opens=frozenset({"dataset"}),
    factory=_build,
    file_filter="Data tables (*.csv *.tsv *.tab *.txt *.parquet *.pq *.npy)",
)
