"""Which data a network is scored and calibrated on (no Qt).

Bundled networks carry train / val / test splits: the test split is scored, data-aware SVD is
calibrated on the training split and the greedy rule's tables use the validation split, as
``svdstudio-cli network`` does.  A user's data file (x, y) is split in seeded halves: one
calibrates, the other is scored (rank choices never look at the scored samples).  A user's network
without data of its own is scored on a bundled data set whose input shape it takes, and the notice
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svdstudio.engine.network import Network, prepare_input
from svdstudio.io.network_data import BundledNetwork, LabelledData, load_bundled_network
from svdstudio.io.networks import BUNDLED_NETWORKS

__all__ = ["DataPlan", "bundled_match", "plan_for_bundle", "plan_for_file"]


@dataclass(frozen=True, eq=False)
class DataPlan:
    """The scored split, the calibration split (data-aware), the greedy split, and a note."""

    test: LabelledData | None
    calibration: LabelledData | None
    validation: LabelledData | None
    note: str

    @property
    def has_data(self) -> bool:
        return self.test is not None


def plan_for_bundle(bundle: BundledNetwork) -> DataPlan | None:
    """The network file's own splits (None when its metadata names no data)."""
    s = bundle.splits
    if "test" not in s:
        return None
    note = (
        f"scored on the test split ({s['test'].n} samples); data-aware SVD calibrated on the "
        f"training split ({s['train'].n}), the greedy rule on the validation split "
        f"({s['val'].n})"
    )
    return DataPlan(s["test"], s["train"], s["val"], note)


def _half(data: LabelledData) -> tuple[LabelledData, LabelledData]:
    rng = np.random.default_rng(0)  # the same seeded halves as svdstudio-cli network
    order = rng.permutation(data.n)
    cal, score = np.sort(order[: data.n // 2]), np.sort(order[data.n // 2 :])
    return (
        LabelledData(data.x[cal], data.y[cal], f"{data.source} (seeded half)"),
        LabelledData(data.x[score], data.y[score], f"{data.source} (other half)"),
    )


def plan_for_file(data: LabelledData) -> DataPlan:
    """A user's data file: half calibrates (and feeds the greedy tables), half is scored."""
    if data.n < 2:
        return DataPlan(data, None, None, f"scored on {data.source} ({data.n} sample)")
    cal, score = _half(data)
    note = (
        f"scored on a seeded half of {data.source} ({score.n} samples); the other half "
        f"({cal.n}) calibrates data-aware SVD and the greedy rule"
    )
    return DataPlan(score, cal, cal, note)


def bundled_match(network: Network) -> str | None:
    """A bundled network whose data this network takes (same input shape and class count)."""
    for name in BUNDLED_NETWORKS:
        other = load_bundled_network(name).network
        if other.input_shape != network.input_shape:
            continue
        try:
            prepare_input(network, np.zeros((1, *other.input_shape), np.float32))
        except ValueError:
            continue
        return name
    return None
