"""SVD Studio: an offline desktop lab for the singular value decomposition."""

__version__ = "0.1.0"
