"""The Matrix tab: an editable grid and its SVD."""
