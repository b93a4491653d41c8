"""SVD Studio: an offline desktop lab for the singular value decomposition."""

from svdstudio.blas_env import calm_blas_threads

__version__ = "0.1.0"

# Before numpy (and its OpenBLAS) is loaded by anything of ours: see svdstudio.blas_env.
calm_blas_threads()
