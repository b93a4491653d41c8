"""Out-of-core SVD and PCA on Dask: tables larger than memory, on one machine or a cluster.

This package is the one place in the engine allowed to import Dask, and it does so lazily,
inside functions: importing :mod:`svdstudio.engine` (or this package) never loads Dask, so the
core app stays light and runs without the optional ``svdstudio[big]`` extra.

- :mod:`.compute`: where the work runs (Dask's threaded scheduler sized from the free memory,
  or a ``dask.distributed`` scheduler address), progress from Dask's callbacks, and cancel.
- :mod:`.factors`: the R factor of row chunks (TSQR's first level) and its exact combination.
- :mod:`.fit`: truncated SVD, PCA and standardised PCA of a row-chunked Dask array: the exact
  tall-and-skinny SVD (``dask.array.linalg.svd``, TSQR) when the column count allows, else
  ``dask.array.linalg.svd_compressed`` with its power iterations stated.
- :mod:`.stream`: the projection of every row, chunk by chunk and in order (for a streaming
  writer), with a stratified sample and a 2-D density of all points for the scatter.

The numbers follow :mod:`svdstudio.engine.projection` (same definitions, the same sign
convention from :mod:`svdstudio.engine.signs`).  No file I/O here: chunks come from a loader
function that the io layer supplies.
"""

from svdstudio.engine.outofcore.compute import (
    DaskCompute,
    DaskUnavailableError,
    available_memory,
    chunk_bytes_for,
    dask_available,
)
from svdstudio.engine.outofcore.factors import ChunkFactor, chunk_factor, combine_factors
from svdstudio.engine.outofcore.fit import (
    EXACT_MAX_COLUMNS,
    OutOfCoreFit,
    chunked_array,
    fit_from_factor,
    fit_projection,
)
from svdstudio.engine.outofcore.stream import (
    Density2D,
    StratifiedSample,
    collect_sample,
    density_pass,
    project_chunks,
)

__all__ = [
    "EXACT_MAX_COLUMNS",
    "ChunkFactor",
    "DaskCompute",
    "DaskUnavailableError",
    "Density2D",
    "OutOfCoreFit",
    "StratifiedSample",
    "available_memory",
    "chunk_bytes_for",
    "chunk_factor",
    "chunked_array",
    "collect_sample",
    "combine_factors",
    "dask_available",
    "density_pass",
    "fit_from_factor",
    "fit_projection",
    "project_chunks",
]
