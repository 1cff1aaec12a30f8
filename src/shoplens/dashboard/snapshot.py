"""An in-memory snapshot of the order data, so filtered views never rescan the store.

On a million customers every filtered view would otherwise join ten million order
lines again. The snapshot is built once per store version (one read of the store,
then the file is released) into a private in-memory DuckDB database:

- ``orders``: the order columns the slices use plus each order's line totals
  (``__gross``, ``__line_discount``), so order-level KPIs need no join;
- ``order_items``: one row per (order, category) with the category's gross as
  ``unit_price`` (quantity 1) and its line discounts, ``product_id`` = the category;
- ``products``: one row per category; ``customers``: id, country, age;
- ``customer_segments``: id and RFM segment (from ``customer_segments`` or
  ``customer_scores``).

The slice SQL of :mod:`shoplens.analytics.explore` runs on it unchanged and gives the
same numbers as on the store, except that an order-level discount of an order whose
lines are all free is shared per category instead of per line. Customer-level
results (scores, evaluation, live tables) are read from the store itself.
``shoplens dashboard`` builds the snapshot before the server starts; afterwards a
write to the store (a new version) rebuilds it on the next view.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import duckdb

from shoplens.dashboard.store_access import with_store
from shoplens.store.db import quiet_progress

T = TypeVar("T")

_LOCK = threading.Lock()
_SNAPSHOTS: dict[str, tuple[int, duckdb.DuckDBPyConnection]] = {}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return {r[0] for r in rows}


def build(store: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Copy what the slices need from an open store into a new in-memory database."""
    mem = duckdb.connect()
    quiet_progress(mem)
    ((tz,),) = store.execute("SELECT current_setting('TimeZone')").fetchall()
    mem.execute("SET TimeZone = ?", [tz])
    ocols = _columns(store, "orders")
    channel = "channel" if "channel" in ocols else "NULL::VARCHAR AS channel"
    promo = "promo_code" if "promo_code" in ocols else "NULL::VARCHAR AS promo_code"
    orders = store.sql(
        f"""
        SELECT o.order_id, o.customer_id, o.order_ts, o.status, {channel}, {promo}, o.discount,
               coalesce(l.gross, 0) AS __gross, coalesce(l.line_discount, 0) AS __line_discount
        FROM orders AS o LEFT JOIN (
          SELECT order_id, CAST(sum(quantity * unit_price) AS DECIMAL(18, 2)) AS gross,
                 CAST(sum(discount) AS DECIMAL(18, 2)) AS line_discount
          FROM order_items GROUP BY order_id
        ) AS l ON l.order_id = o.order_id
        """
    ).to_arrow_table()
    mem.register("__orders", orders)
    mem.execute("CREATE TABLE orders AS SELECT * FROM __orders")
    mem.unregister("__orders")
    del orders
    has_products = bool(_columns(store, "products"))
    category = "p.category" if "category" in _columns(store, "products") else "NULL"
    join = "LEFT JOIN products AS p ON p.product_id = i.product_id" if has_products else ""
    items = store.sql(
        f"""
        SELECT i.order_id, coalesce({category if has_products else "NULL"}, '(none)')
                   AS product_id,
               CAST(1 AS INTEGER) AS quantity,
               CAST(sum(i.quantity * i.unit_price) AS DECIMAL(18, 2)) AS unit_price,
               CAST(sum(i.discount) AS DECIMAL(18, 2)) AS discount
        FROM order_items AS i {join}
        GROUP BY ALL
        """
    ).to_arrow_table()
    mem.register("__items", items)
    mem.execute("CREATE TABLE order_items AS SELECT * FROM __items")
    mem.unregister("__items")
    del items
    if has_products:
        cats = store.sql(
            f"SELECT DISTINCT {category} AS product_id, {category} AS category"
            " FROM products AS p WHERE category IS NOT NULL"
            if category != "NULL"
            else "SELECT NULL::VARCHAR AS product_id, NULL::VARCHAR AS category LIMIT 0"
        ).to_arrow_table()
        mem.register("__cats", cats)
        mem.execute("CREATE TABLE products AS SELECT * FROM __cats")
        mem.unregister("__cats")
    ccols = _columns(store, "customers")
    if ccols:
        keep = ", ".join(c for c in ("customer_id", "country", "age") if c in ccols)
        mem.register("__cust", store.sql(f"SELECT {keep} FROM customers").to_arrow_table())
        mem.execute("CREATE TABLE customers AS SELECT * FROM __cust")
        mem.unregister("__cust")
    for source in ("customer_segments", "customer_scores"):
        if "rfm_segment" in _columns(store, source):
            seg = store.sql(f"SELECT customer_id, rfm_segment FROM {source}").to_arrow_table()
            mem.register("__seg", seg)
            mem.execute("CREATE TABLE customer_segments AS SELECT * FROM __seg")
            mem.unregister("__seg")
            break
    return mem


def with_snapshot(
    path: str, timezone: str, version: int, fn: Callable[[duckdb.DuckDBPyConnection], T]
) -> T:
    """Run ``fn`` on a cursor of the snapshot of ``path`` at ``version`` (built if needed).

    Building reads the store read-only and closes it (a writer's lock raises
    :class:`~shoplens.dashboard.store_access.StoreBusy`).
    """
    key = f"{path}|{timezone}"
    with _LOCK:
        held = _SNAPSHOTS.get(key)
        if held is None or held[0] != version:
            mem = with_store(path, timezone, build)
            if held is not None:
                held[1].close()
            _SNAPSHOTS[key] = (version, mem)
        con = _SNAPSHOTS[key][1]
        cursor = con.cursor()
    try:
        cursor.execute("SET TimeZone = ?", [timezone])
        return fn(cursor)
    finally:
        cursor.close()


def warm(path: str, timezone: str, version: int) -> None:
    """Build the snapshot now (``shoplens dashboard`` does, before the server starts)."""
    with_snapshot(path, timezone, version, lambda con: None)


def clear() -> None:
    """Close and forget every snapshot (tests)."""
    with _LOCK:
        for _, con in _SNAPSHOTS.values():
            con.close()
        _SNAPSHOTS.clear()
