"""The engine protocol: where the shared analysis SQL runs.

An engine knows how to reach a source (a DuckDB store, a Parquet dataset read by DuckDB
or by Spark) and run a query on it; it does not know what a KPI is. Queries are written
once in DuckDB's SQL dialect (``$name`` parameters); an engine for another SQL dialect
transpiles them (:mod:`shoplens.engines.transpile`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

__all__ = ["CANONICAL_SOURCES", "Engine"]

# The tables a source may hold, in the order a dataset lists them.
CANONICAL_SOURCES: tuple[str, ...] = ("customers", "products", "orders", "order_items", "events")


@runtime_checkable
class Engine(Protocol):
    """What the analyses need from an engine (see :class:`~shoplens.engines.DuckDBEngine`)."""

    @property
    def dialect(self) -> str:
        """``'duckdb'`` or ``'spark'``."""
        ...

    @property
    def timezone(self) -> str:
        """The shop's IANA time zone: days, months and hours of the analyses are local to it."""
        ...

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run one query (DuckDB dialect, ``$name`` parameters) and return its rows."""
        ...

    def execute(self, statement: str) -> None:
        """Run one statement that returns nothing (``CREATE TEMP TABLE t AS ...``)."""
        ...

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as ``name`` for later queries."""
        ...

    def has_table(self, name: str) -> bool:
        """Whether the source holds the canonical table ``name``."""
        ...

    def columns(self) -> set[tuple[str, str]]:
        """The (table, column) pairs of the source's canonical tables."""
        ...

    def require_tables(self, names: Iterable[str], *, why: str = "") -> None:
        """Raise a user error naming the tables among ``names`` the source lacks."""
        ...

    def close(self) -> None:
        """Release the engine's resources (not a shared Spark session)."""
        ...
