"""Apache Spark as an engine: the shared SQL, transpiled, on a Parquet dataset.

:class:`SparkEngine` holds a child of the process's Spark session
(:func:`~shoplens.engines.session.spark_session`) with its own temporary views and
settings: one view per canonical table of the dataset, and the shop's time zone as
``spark.sql.session.timeZone``. That is the same contract DuckDB's ``TimeZone``
gives the shared SQL on a store: casts of an instant to DATE, ``hour()``, weekdays
and months are shop-local on both engines (the SQL never uses ``AT TIME ZONE``).
Temp tables of the shared SQL become cached session views.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from shoplens.engines.session import require_pyspark, spark_session
from shoplens.engines.source import ParquetSource, inspect_source
from shoplens.engines.transpile import to_spark
from shoplens.errors import EngineError
from shoplens.store.db import check_timezone

__all__ = ["SparkEngine"]


def _one_line(exc: BaseException) -> str:
    """A Spark error as one line: its condition and the first line of its message."""
    cond = None
    get = getattr(exc, "getCondition", None)
    if callable(get):
        try:
            cond = get()
        except Exception:  # a Py4J error without a condition
            cond = None
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    first = first.split("SQLSTATE")[0].strip().rstrip(".")
    return f"{cond}: {first}" if cond and cond not in first else first


class SparkEngine:
    """An engine on Spark SQL over a Parquet dataset."""

    dialect = "spark"

    def __init__(self, session: Any, *, timezone: str, source: ParquetSource) -> None:
        check_timezone(timezone)
        self.spark = session.newSession()
        self.spark.conf.set("spark.sql.session.timeZone", timezone)
        self.timezone = timezone
        self.source = source
        self.facts_keys: dict[str, str] = {}  # cached fact tables -> key (see facts.py)
        self._views: set[str] = set()

    @classmethod
    def from_parquet(
        cls,
        root: str | Path,
        *,
        timezone: str = "UTC",
        master: str = "local[2]",
        driver_memory: str | None = None,
    ) -> SparkEngine:
        """Check the dataset, start (or reuse) Spark on ``master``, register the views."""
        check_timezone(timezone)
        source = inspect_source(root)
        require_pyspark()
        engine = cls(
            spark_session(master, driver_memory=driver_memory), timezone=timezone, source=source
        )
        for t in source.tables.values():
            engine._guard(lambda t=t: engine._register_parquet(t.name, t.path, t.columns))
        return engine

    def _register_parquet(self, name: str, path: str, columns: Iterable[str]) -> None:
        df = self.spark.read.parquet(path).select(*columns)
        df.createOrReplaceTempView(name)

    def _guard(self, fn: Any) -> Any:
        from py4j.protocol import Py4JError  # type: ignore[import-untyped]
        from pyspark.errors import PySparkException

        try:
            return fn()
        except (PySparkException, Py4JError) as exc:
            raise EngineError(f"{self.source.describe()}: Spark: {_one_line(exc)}") from None

    def sql(self, query: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        st = to_spark(query)
        for view, path in st.views.items():
            if view not in self._views:
                self._guard(
                    lambda v=view, p=path: self.spark.read.parquet(p).createOrReplaceTempView(v)
                )
                self._views.add(view)
        args = {k: _spark_value(v) for k, v in (params or {}).items()}
        # only the markers the statement uses: Spark rejects unused named arguments
        args = {k: v for k, v in args.items() if f":{k}" in st.sql}
        if st.cache_table is not None:
            self._guard(lambda: self._cache(st.cache_table, st.sql, args))
            return pa.table({})
        table = self._guard(lambda: self.spark.sql(st.sql, args=args or None).toArrow())
        return _normalise(table, self.timezone)

    def _cache(self, name: str | None, sql: str, args: dict[str, Any]) -> None:
        self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
        self.spark.catalog.dropTempView(name)
        self.spark.sql(sql, args=args or None)

    def execute(self, statement: str) -> None:
        self.sql(statement)

    def register(self, name: str, table: pa.Table) -> None:
        self._guard(lambda: self.spark.createDataFrame(table).createOrReplaceTempView(name))

    def has_table(self, name: str) -> bool:
        return name in self.source.tables

    def columns(self) -> set[tuple[str, str]]:
        return {(t.name, c) for t in self.source.tables.values() for c in t.columns}

    def require_tables(self, names: Iterable[str], *, why: str = "") -> None:
        missing = [n for n in names if n not in self.source.tables]
        if missing:
            purpose = f" needed {why}" if why else ""
            raise EngineError(
                f"{self.source.describe()} has no table {', '.join(repr(m) for m in missing)}"
                f"{purpose} (expected a folder of Parquet files per table)"
            )

    def close(self) -> None:
        for name in list(self.facts_keys):
            self._guard(lambda n=name: self.spark.sql(f"UNCACHE TABLE IF EXISTS {n}"))
        self.facts_keys.clear()


def _spark_value(value: Any) -> Any:
    """Parameters as Spark literals: aware datetimes as UTC instants."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _normalise(table: pa.Table, timezone: str) -> pa.Table:
    """Timestamps as DuckDB returns them: microseconds, in the shop's zone."""
    fields = []
    changed = False
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and (f.type.unit != "us" or f.type.tz != timezone):
            fields.append(pa.field(f.name, pa.timestamp("us", tz=timezone), f.nullable))
            changed = True
        else:
            fields.append(f)
    return table.cast(pa.schema(fields)) if changed else table
