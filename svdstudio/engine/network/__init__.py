"""The Network lab engine: numpy-only inference and SVD compression of sequential classifiers.

No Qt, no file I/O (``svdstudio.io.networks``: ``load_bundled_network(name)`` /
``load_network_with_data(path)`` → ``BundledNetwork(network, splits={"train", "val", "test"})``,
``read_network``, ``read_labelled_data``, ``write_network``). The API the Network tab and
``svdstudio-cli network`` build on, in the order they use it:

**Networks** (``layers``): frozen dataclasses ``Dense``, ``Conv2d``, ``ReLU``, ``MaxPool``,
``Flatten``, ``BatchNorm`` (folded into the layer before it on load) and ``Network(layers,
input_shape, classes, input_scale, input_offset, title)``. PyTorch layouts: dense weight
out × in, conv weight out × in × kh × kw, batches N × C × H × W; float32 throughout.
Layer names are the state-dict prefixes ("0", "2", ...); a factorised layer "2" becomes
"2.0" then "2.1".

**Inference** (``inference``): ``forward(net, x)`` → logits, ``predict``, ``prepare_input``
(raw samples × input_scale + input_offset, reshaped; ValueError if the feature count does not
fit), ``layer_shapes``, ``layer_macs`` (exact, per sample), ``check_network``.

**Factorisation** (``factorize``, ``analysis``): ``analyse(net, conv_scheme="spatial"|"channel",
method="plain"|"data-aware", calibration=x_train)`` → ``{name: LayerFactors}``, one SVD per
dense or conv layer, then cut at any rank cheaply (calibration: the training split, never test):
``LayerFactors.singular_values``, ``.matrix_shape``, ``.max_rank``, ``.params``, ``.macs``,
``.params_at(k)``, ``.macs_at(k)``, ``.saves(k)``, ``.break_even_rank()``, ``.errors(k)`` →
``EckartYoung(frobenius_error, frobenius_error_squared, spectral_error, energy_retained,
relative_error)``, ``.rank_for_energy(f)``, ``.layers_at(k)``, ``.warning`` (too few calibration
samples), ``.matrix_description``. ``compress(net, factors, ranks)`` → a new ``Network``
(rank None keeps a layer whole); ``totals(net, compressed)`` → ``Totals`` (params, MACs,
ratios); ``resolve_layer_name``.

**Scoring** (``scoring``): ``Scorer(net, x, y)`` caches layer inputs so re-scoring after a rank
change runs only the changed suffix: ``.score({name: layers})`` / ``.score_network(net)`` →
``Accuracy(correct, n)`` with ``.value`` and ``.ci95`` (Wilson); ``.subset(200)`` for a live
preview; ``check_labels``; ``wilson_interval``.

**Rank choice** (``allocate``): ``ranks_for_energy(factors, 0.9)``; ``allocate(factors, budget,
rule, cost="params"|"macs", tables=...)`` → ``Allocation(ranks, cost, cost_whole, fraction,
level, fits)`` for ``RULES`` = energy, uniform, global, greedy (``RULE_TITLES`` for labels).

**Sweeps** (``sweeps``): ``rank_sweep``, ``accuracy_tables`` (greedy, on validation data),
``budget_sweep``; each takes ``progress(done, total)`` and ``cancelled() -> bool``, checked
between steps, and raises ``Cancelled``.

**Timing** (``timing``): ``measure_latency(fn, runs=30)`` → ``LatencyStats(median, p10, p90,
...)`` with one BLAS thread where threadpoolctl allows; ``compare_latency(net, small, x,
batches=(1, 256), runs=30)`` → ``LatencyComparison(rows, warning)`` (original beside compressed;
run it in a worker process started with ``timing.ONE_THREAD_ENV`` when threadpoolctl is
missing); ``busy_warning()``; ``load_average()``.
"""

from svdstudio.engine.network.allocate import (
    RULE_TITLES,
    RULES,
    AccuracyTable,
    Allocation,
    allocate,
    budget_cost,
    ranks_for_energy,
)
from svdstudio.engine.network.analysis import (
    Totals,
    analyse,
    compress,
    factorisable_names,
    layer_inputs,
    replacements,
    resolve_layer_name,
    totals,
)
from svdstudio.engine.network.factorize import (
    CONV_SCHEMES,
    METHODS,
    EckartYoung,
    LayerFactors,
    factor_layer,
    layer_matrix,
)
from svdstudio.engine.network.inference import (
    check_network,
    forward,
    layer_macs,
    layer_shapes,
    predict,
    prepare_input,
)
from svdstudio.engine.network.layers import (
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool,
    Network,
    ReLU,
)
from svdstudio.engine.network.scoring import Accuracy, Scorer, check_labels, wilson_interval
from svdstudio.engine.network.sweeps import (
    BudgetSweep,
    Cancelled,
    RankSweep,
    accuracy_tables,
    budget_sweep,
    rank_sweep,
)
from svdstudio.engine.network.timing import (
    LatencyComparison,
    LatencyStats,
    blas_threads,
    busy_warning,
    compare_latency,
    load_average,
    measure_latency,
)

__all__ = [
    "CONV_SCHEMES",
    "METHODS",
    "RULES",
    "RULE_TITLES",
    "Accuracy",
    "AccuracyTable",
    "Allocation",
    "BatchNorm",
    "BudgetSweep",
    "Cancelled",
    "Conv2d",
    "Dense",
    "EckartYoung",
    "Flatten",
    "LatencyComparison",
    "LatencyStats",
    "Layer",
    "LayerFactors",
    "MaxPool",
    "Network",
    "RankSweep",
    "ReLU",
    "Scorer",
    "Totals",
    "accuracy_tables",
    "allocate",
    "analyse",
    "blas_threads",
    "budget_cost",
    "budget_sweep",
    "busy_warning",
    "check_labels",
    "check_network",
    "compare_latency",
    "compress",
    "factor_layer",
    "factorisable_names",
    "forward",
    "layer_inputs",
    "layer_macs",
    "layer_matrix",
    "layer_shapes",
    "load_average",
    "measure_latency",
    "predict",
    "prepare_input",
    "rank_sweep",
    "ranks_for_energy",
    "replacements",
    "resolve_layer_name",
    "totals",
    "wilson_interval",
]
