"""A simulated shop shared by the simulator tests (built once per module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from shoplens.generate import SimulationParams, simulate

Query = Callable[[str], list[tuple[Any, ...]]]


def connect(tables: dict[str, pa.Table], timezone: str = "UTC") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with ``tables`` registered as views."""
    con = duckdb.connect()
    con.execute("SET TimeZone = ?", [timezone])
    for name, table in tables.items():
        con.register(name, table)
    return con


def query_fn(con: duckdb.DuckDBPyConnection) -> Query:
    def q(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    return q


def as_dict(rows: list[tuple[Any, ...]]) -> dict[Any, Any]:
    """Two-column query rows -> {first: second}."""
    return {r[0]: r[1] for r in rows}


@pytest.fixture(scope="module")
def shop() -> dict[str, pa.Table]:
    return simulate(SimulationParams(customers=20_000, seed=11))


@pytest.fixture(scope="module")
def q(shop: dict[str, pa.Table]) -> Iterator[Query]:
    con = connect(shop)
    con.execute(
        """CREATE TEMP VIEW lines AS
        SELECT i.*, o.customer_id, o.order_ts, o.status, o.promo_code,
               i.quantity * i.unit_price - i.discount AS net
        FROM order_items i JOIN orders o USING (order_id)"""
    )
    yield query_fn(con)
    con.close()
