"""Where the shared analysis SQL runs: DuckDB (a store or Parquet) or Spark SQL.

Public API: the :class:`Engine` protocol, :class:`DuckDBEngine`,
:func:`as_engine` (a store connection or an engine -> an engine), :func:`open_source`
(a Parquet dataset on the chosen engine), and :func:`to_spark` (the transpiler). The
Spark engine is imported lazily: pyspark is the optional ``spark`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from duckdb import DuckDBPyConnection

from shoplens.engines.base import CANONICAL_SOURCES, Engine
from shoplens.engines.duckdb import DuckDBEngine
from shoplens.engines.transpile import to_spark
from shoplens.errors import InvalidParameterError

if TYPE_CHECKING:
    from shoplens.engines.spark import SparkEngine

__all__ = [
    "CANONICAL_SOURCES",
    "ENGINES",
    "DuckDBEngine",
    "Engine",
    "Source",
    "as_engine",
    "open_source",
    "to_spark",
]

ENGINES: tuple[str, ...] = ("duckdb", "spark")

Source = DuckDBPyConnection | Engine
"""What an analysis accepts: a store connection (today's API) or an engine."""


def as_engine(con: Source) -> Engine:
    """An engine for ``con``: a store connection is wrapped, an engine returned as is."""
    if isinstance(con, DuckDBPyConnection):
        return DuckDBEngine(con)
    return con


def open_source(
    root: str | Path,
    *,
    engine: str = "duckdb",
    timezone: str = "UTC",
    master: str = "local[2]",
    memory_limit: str | None = None,
    driver_memory: str | None = None,
) -> DuckDBEngine | SparkEngine:
    """Open the Parquet dataset at ``root`` on ``engine`` (``'duckdb'`` or ``'spark'``)."""
    if engine == "duckdb":
        return DuckDBEngine.from_parquet(root, timezone=timezone, memory_limit=memory_limit)
    if engine == "spark":
        from shoplens.engines.spark import SparkEngine

        return SparkEngine.from_parquet(
            root, timezone=timezone, master=master, driver_memory=driver_memory
        )
    raise InvalidParameterError(f"unknown engine {engine!r} (expected one of {', '.join(ENGINES)})")
