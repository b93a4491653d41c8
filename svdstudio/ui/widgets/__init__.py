"""Widgets that several tabs share: the spectrum plot, result grids, plot export, job status."""
