"""shoplens: e-commerce customer analytics on an embedded DuckDB store."""

__version__ = "0.1.0"
