"""The Dataset tab: truncated SVD / PCA of a table to 2-D."""
