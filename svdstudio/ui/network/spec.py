"""The Network tab's entry in the tab registry."""

from __future__ import annotations

from svdstudio.ui.tab_contract import TabSpec


def _build(runner):
    from svdstudio.ui.network.tab import NetworkTab

    return NetworkTab(runner)


TAB_SPEC = TabSpec(
    kind="network",
    title="Network",
    opens=frozenset({"network"}),
    factory=_build,
    file_filter="Networks (*.safetensors *.npz)",
)
