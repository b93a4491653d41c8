"""The Image tab: low-rank image compression."""
