"""DuckDB as an engine: over a store connection (today's path) or a Parquet dataset.

:class:`DuckDBEngine` wraps a ``DuckDBPyConnection`` whose ``TimeZone`` is the shop's.
Over a store it runs the analyses exactly as before (same SQL, same connection); over
a Parquet dataset it opens an in-memory database with one view per canonical table, so
DuckDB streams the files (out of core under ``memory_limit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.engines.source import ParquetSource, inspect_source, table_glob
from shoplens.errors import EngineError, StoreError
from shoplens.store.db import check_timezone, require_tables

__all__ = ["DuckDBEngine"]


class DuckDBEngine:
    """An engine on a DuckDB connection (not owned unless built by :meth:`from_parquet`)."""

    dialect = "duckdb"

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, source: ParquetSource | None = None
    ) -> None:
        self.con = con
        self.source = source
        self._owned = False

    @property
    def timezone(self) -> str:
        ((tz,),) = self.con.execute("SELECT current_setting('TimeZone')").fetchall()
        return str(tz)

    @classmethod
    def from_parquet(
        cls, root: str | Path, *, timezone: str = "UTC", memory_limit: str | None = None
    ) -> DuckDBEngine:
        """An in-memory database with a view per table of the dataset at ``root``."""
        check_timezone(timezone)
        source = inspect_source(root)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = ?", [timezone])
            con.execute("SET enable_progress_bar = false")
            if memory_limit:
                con.execute("SET memory_limit = ?", [memory_limit])
            for t in source.tables.values():
                cols = ", ".join(f'"{c}"' for c in t.columns)
                # the path is ours (a folder found on disk or the user's URI), quoted
                glob = table_glob(t.path).replace("'", "''")
                # rowid: the store's row id the order facts use as a compact order key
                rowid = ", row_number() OVER () - 1 AS rowid" if t.name == "orders" else ""
                con.execute(
                    f'CREATE VIEW "{t.name}" AS SELECT {cols}{rowid}'
                    f" FROM read_parquet('{glob}', hive_partitioning = true)"
                )
        except duckdb.Error as exc:
            con.close()
            raise EngineError(f"source {root}: {str(exc).splitlines()[0]}") from None
        engine = cls(con, source=source)
        engine._owned = True
        return engine

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            return self.con.sql(query, params=params).to_arrow_table()
        except duckdb.IOException as exc:
            if self.source is None:
                raise
            raise EngineError(f"{self.source.describe()}: {str(exc).splitlines()[0]}") from None

    def execute(self, statement: str) -> None:
        self.con.execute(statement)

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def has_table(self, name: str) -> bool:
        return any(t == name for t, _ in self.columns())

    def columns(self) -> set[tuple[str, str]]:
        rows = self.con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'main' AND table_catalog = current_database()"
        ).fetchall()
        return {(t, c) for t, c in rows}

    def require_tables(self, names: Iterable[str], *, why: str = "") -> None:
        if self.source is None:
            require_tables(self.con, names, why=why)
            return
        try:
            require_tables(self.con, names, self.source.root, why=why)
        except StoreError as exc:
            raise EngineError(str(exc).replace("store ", "source ", 1).split(" (fill")[0]) from None

    def close(self) -> None:
        if self._owned:
            self.con.close()
