"""Per-order and per-(order, category) facts: computed once per connection, shared.

Every analysis starts from the same per-order numbers (gross, discounts, net revenue,
units, first order of the customer). Instead of each analysis re-aggregating the
order lines and re-joining the orders, :func:`ensure_order_facts` materialises them
once per connection in a TEMP table (so it also works on read-only connections) and
every analysis reads that table.

This module is the **single definition** of an order's money:

- ``gross`` = sum over its lines of ``quantity * unit_price`` (0 without lines),
- ``line_discount`` = sum of the line discounts, ``order_discount`` = the order-level
  ``discount``,
- ``net`` = ``gross - line_discount - order_discount``,

all exact DECIMAL(38, 2): the store's DECIMAL(18, 2) holds every price, but a
quantity times a price, or an order's sum of lines, may need more digits, and an
analysis must never overflow on what an import let in. ``is_first_order`` marks a
customer's first order ever (earliest ``order_ts`` of any status, ties broken by
``order_id``); it is NULL for guest orders. ``month`` is the first day of the order's
shop-local month, which depends on the connection's ``TimeZone``.

Cache validity
    The tables are keyed by the connection's ``TimeZone`` (order facts only) and a
    cheap fingerprint of the source tables (catalog identity, row count estimate and
    column count of ``orders``, ``order_items`` and ``products``); when the key
    changes they are rebuilt. ``store.load_table`` drops them before writing. The
    fingerprint does not see every change (an ``UPDATE``, a ``DELETE``, or rows
    written in a still-open transaction): whoever writes to the store with raw SQL on
    a connection that already ran analytics must call :func:`invalidate_facts`.
"""

from __future__ import annotations

import duckdb

from shoplens.engines import DuckDBEngine, Source, as_engine
from shoplens.engines.base import Engine
from shoplens.store.db import CACHE_PREFIX, drop_cached_tables

ORDER_FACTS = f"temp.main.{CACHE_PREFIX}order_facts"
LINE_FACTS = f"temp.main.{CACHE_PREFIX}line_facts"
CATEGORIES = f"temp.main.{CACHE_PREFIX}categories"
_KEYS = f"temp.main.{CACHE_PREFIX}facts_keys"

ORDER_FACT_COLUMNS: tuple[str, ...] = (
    "order_key",  # BIGINT, unique per order (a compact join/group key)
    "order_id",
    "customer_id",
    "customer_key",  # INTEGER, unique per customer (NULL for guests)
    "order_ts",
    "status",
    "channel",
    "has_promo",
    "gross",
    "line_discount",
    "order_discount",
    "net",
    "units",
    "n_lines",
    "is_first_order",
    "month",
)

LINE_FACT_COLUMNS: tuple[str, ...] = (
    "order_key",
    "cat_key",  # INTEGER, named in CATEGORIES; 0: no category or product not in products
    "customer_key",
    "order_ts",
    "status",
    "has_promo",
    "is_first_order",
    "gross",
    "line_discount",
    "order_discount",  # DOUBLE: pro-rata share of the order-level discount
    "units",
)

_SOURCES = ("orders", "order_items", "products")

_ORDER_FACTS_SQL = """
CREATE OR REPLACE TEMP TABLE {table} AS
WITH lines AS (
    SELECT order_id,
           CAST(sum(CAST(quantity AS BIGINT) * unit_price) AS DECIMAL(38, 2)) AS gross,
           CAST(sum(discount) AS DECIMAL(38, 2)) AS line_discount,
           CAST(sum(quantity) AS BIGINT) AS units,
           count(*) AS n_lines
    FROM order_items
    GROUP BY order_id
),
customers AS (
    -- one row per customer with an order: a compact key and the first order ever
    SELECT customer_id, CAST(row_number() OVER () AS INTEGER) AS customer_key,
           first_order_id
    FROM (
        SELECT customer_id, arg_min(order_id, (order_ts, order_id)) AS first_order_id
        FROM orders
        WHERE customer_id IS NOT NULL
        GROUP BY customer_id
    )
)
SELECT o.rowid AS order_key,
       o.order_id,
       o.customer_id,
       c.customer_key,
       o.order_ts,
       o.status,
       {channel} AS channel,
       {has_promo} AS has_promo,
       coalesce(l.gross, 0) AS gross,
       coalesce(l.line_discount, 0) AS line_discount,
       o.discount AS order_discount,
       CAST(coalesce(l.gross, 0) - coalesce(l.line_discount, 0) - o.discount
            AS DECIMAL(38, 2)) AS net,
       coalesce(l.units, 0) AS units,
       coalesce(l.n_lines, 0) AS n_lines,
       c.first_order_id = o.order_id AS is_first_order,
       -- casting to DATE is the cheapest time-zone conversion
       CAST(date_trunc('month', CAST(o.order_ts AS DATE)) AS DATE) AS month
FROM orders AS o
LEFT JOIN lines AS l ON l.order_id = o.order_id
LEFT JOIN customers AS c ON c.customer_id = o.customer_id
"""

# One row per (order, category). An order-level discount is shared among the order's
# lines pro rata to their gross value (equally if the order is free), in DOUBLE.
# Lines of orders absent from ``orders`` are left out.
_CATEGORIES_SQL = """
CREATE OR REPLACE TEMP TABLE {table} AS
SELECT CAST(row_number() OVER (ORDER BY category) AS INTEGER) AS cat_key, category
FROM (SELECT DISTINCT category FROM products WHERE category IS NOT NULL)
"""

# One row per (order, category). An order-level discount is shared among the order's
# lines pro rata to their gross value (equally if the order is free), in DOUBLE.
# Lines of orders absent from ``orders`` are left out.
_LINE_FACTS_SQL = """
CREATE OR REPLACE TEMP TABLE {table} AS
WITH product_cats AS (
    SELECT p.product_id, c.cat_key
    FROM products AS p JOIN {categories} AS c ON c.category = p.category
),
oc AS (
    SELECT i.order_id, coalesce(pc.cat_key, 0) AS cat_key,
           CAST(sum(CAST(i.quantity AS BIGINT) * i.unit_price) AS DECIMAL(38, 2)) AS gross,
           CAST(sum(i.discount) AS DECIMAL(38, 2)) AS line_discount,
           CAST(sum(i.quantity) AS BIGINT) AS units,
           count(*) AS n_lines
    FROM order_items AS i
    LEFT JOIN product_cats AS pc ON pc.product_id = i.product_id
    GROUP BY ALL
)
SELECT f.order_key, oc.cat_key, f.customer_key, f.order_ts, f.status,
       f.has_promo, f.is_first_order, oc.gross, oc.line_discount,
       -- the share in DOUBLE on both engines (Spark divides DECIMAL(38, 2)s at scale 6)
       CASE WHEN f.order_discount = 0 THEN 0
            WHEN f.gross = 0 THEN CAST(f.order_discount AS DOUBLE) * oc.n_lines / f.n_lines
            ELSE CAST(f.order_discount AS DOUBLE)
                 * (CAST(oc.gross AS DOUBLE) / CAST(f.gross AS DOUBLE)) END AS order_discount,
       oc.units
FROM oc
JOIN {order_facts} AS f ON f.order_id = oc.order_id
"""


def _fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[str, set[tuple[str, str]]]:
    """A cheap key of the source tables, and their (table, column) pairs."""
    tables = con.execute(
        "SELECT table_name, table_oid, estimated_size, column_count FROM duckdb_tables()"
        " WHERE database_name = current_database() AND schema_name = 'main'"
        " AND NOT temporary AND table_name IN (SELECT unnest($names))"
        " ORDER BY table_name",
        {"names": list(_SOURCES)},
    ).fetchall()
    columns = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = 'main'"
        " AND table_name IN (SELECT unnest($names))",
        {"names": list(_SOURCES)},
    ).fetchall()
    return repr(tables), {(t, c) for t, c in columns}


def _cached_key(con: duckdb.DuckDBPyConnection, kind: str) -> str | None:
    try:
        rows = con.execute(f"SELECT key FROM {_KEYS} WHERE kind = ?", [kind]).fetchall()
    except duckdb.CatalogException:
        return None
    return str(rows[0][0]) if rows else None


def _store_key(con: duckdb.DuckDBPyConnection, kind: str, key: str) -> None:
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_KEYS} (kind VARCHAR, key VARCHAR)")
    con.execute(f"DELETE FROM {_KEYS} WHERE kind = ?", [kind])
    con.execute(f"INSERT INTO {_KEYS} VALUES (?, ?)", [kind, key])


def _create(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a CREATE TABLE AS without preserving insertion order (faster, parallel)."""
    ((preserve,),) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(sql)
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if preserve else 'false'}")


def ensure_order_facts(con: Source) -> str:
    """Materialise the per-order facts on ``con`` if needed; return the table name.

    One row per order of ``orders`` (with or without lines); columns
    :data:`ORDER_FACT_COLUMNS`. Needs the ``orders`` and ``order_items`` tables
    (callers check and report their absence); ``channel`` and ``promo_code`` may be
    missing (NULL channel, no promo). On another engine than a DuckDB store (a Parquet
    dataset, read-only for the engine's life) the key is the time zone only.
    """
    engine = as_engine(con)
    if not isinstance(engine, DuckDBEngine):
        if engine_key(engine, "order") != engine.timezone:
            engine.execute(_order_facts_sql(engine.columns()))
            set_engine_key(engine, "order", engine.timezone)
            set_engine_key(engine, "line", None)
        return ORDER_FACTS
    con = engine.con
    ((timezone,),) = con.execute("SELECT current_setting('TimeZone')").fetchall()
    sources, columns = _fingerprint(con)
    key = f"{timezone}|{sources}"
    if _cached_key(con, "order") == key:
        return ORDER_FACTS
    # the line facts are built from the order facts: they go stale with them
    con.execute(f"DROP TABLE IF EXISTS {LINE_FACTS}")
    con.execute(f"DROP TABLE IF EXISTS {CATEGORIES}")
    _create(con, _order_facts_sql(columns))
    _store_key(con, "order", key)
    return ORDER_FACTS


def _order_facts_sql(columns: set[tuple[str, str]]) -> str:
    channel = "o.channel" if ("orders", "channel") in columns else "NULL::VARCHAR"
    has_promo = (
        "coalesce(o.promo_code, '') <> ''" if ("orders", "promo_code") in columns else "false"
    )
    return _ORDER_FACTS_SQL.format(table=ORDER_FACTS, channel=channel, has_promo=has_promo)


def engine_key(engine: Engine, kind: str) -> str | None:
    """The key of the fact table ``kind`` cached on a non-store engine (None: not built)."""
    keys: dict[str, str | None] = getattr(engine, "facts_keys", {})
    return keys.get(kind)


def set_engine_key(engine: Engine, kind: str, key: str | None) -> None:
    keys = getattr(engine, "facts_keys", None)
    if keys is None:
        keys = {}
        setattr(engine, "facts_keys", keys)  # noqa: B010
    keys[kind] = key


def ensure_line_facts(con: Source) -> str:
    """Materialise the per-(order, category) facts on ``con`` if needed; return the name.

    Columns :data:`LINE_FACT_COLUMNS`: the order's key and attributes, and for the
    order's lines of one category their gross, line discount, share of the
    order-level discount and units. Also builds :data:`CATEGORIES` (cat_key,
    category; keys follow the names' order). Needs ``products`` with ``category``.
    """
    engine = as_engine(con)
    ensure_order_facts(engine)
    if not isinstance(engine, DuckDBEngine):
        if engine_key(engine, "line") != engine.timezone:
            engine.execute(_CATEGORIES_SQL.format(table=CATEGORIES))
            engine.execute(_line_facts_sql())
            set_engine_key(engine, "line", engine.timezone)
        return LINE_FACTS
    con = engine.con
    key = _fingerprint(con)[0]
    if _cached_key(con, "line") == key and _table_exists(con, LINE_FACTS):
        return LINE_FACTS
    con.execute(_CATEGORIES_SQL.format(table=CATEGORIES))
    _create(con, _line_facts_sql())
    _store_key(con, "line", key)
    return LINE_FACTS


def _line_facts_sql() -> str:
    return _LINE_FACTS_SQL.format(table=LINE_FACTS, order_facts=ORDER_FACTS, categories=CATEGORIES)


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    name = qualified.rsplit(".", 1)[-1]
    ((n,),) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]
    ).fetchall()
    return bool(n)


def invalidate_facts(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the cached facts of ``con``; the next analysis rebuilds them."""
    drop_cached_tables(con)
