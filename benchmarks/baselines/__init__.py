"""Baselines the benchmarks compare shoplens against (written the way tutorials do it)."""
