"""KPIs of a filtered slice of the shop, for interactive use (the dashboard).

A slice is a period (shop-local days, both inclusive) and optional lists of countries,
categories and RFM segments (:class:`Filters`). Every filter value reaches SQL as a
bound parameter, never as text in the statement. The statements read the canonical
tables directly (no per-connection cache), so they run on a connection opened for one
query and closed right after: a dashboard never keeps writers out of the store longer
than a query.

Semantics
    - Period: orders placed from ``start`` to ``end`` (shop-local days, inclusive).
    - Countries: orders of customers of those countries (guest orders have no country
      and drop out when a country is chosen).
    - Segments: orders of customers in those named RFM segments, as last computed
      (``customer_segments`` written by ``shoplens segments``, else the
      ``rfm_segment`` of ``customer_scores``); without either table, choosing a
      segment is an error.
    - Categories: orders containing at least one line of those categories; the whole
      order counts ("orders containing X"), except in the ``category`` breakdown,
      where each category gets its own lines' value.

The KPI columns keep the definitions of :data:`shoplens.analytics.KPI_DEFINITIONS`
(net revenue of completed orders, customers with a completed order, ...), so an
unfiltered slice equals :func:`shoplens.analytics.compute_kpis` on the same period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.errors import InvalidParameterError
from shoplens.schema import age_group_sql
from shoplens.store.db import existing_tables, require_tables

SLICE_DIMENSIONS: tuple[str, ...] = (
    "month",
    "day",
    "weekday",
    "hour",
    "country",
    "category",
    "age_group",
    "channel",
    "segment",
)

SLICE_COLUMNS: tuple[str, ...] = (
    "orders",
    "completed_orders",
    "cancelled_orders",
    "returned_orders",
    "customers",
    "gross_revenue",
    "discounts",
    "net_revenue",
    "aov",
    "promo_order_share",
    "discount_rate",
    "cancellation_rate",
    "return_rate",
)

# the tables that carry a customer's RFM segment, in order of preference
SEGMENT_SOURCES: tuple[str, ...] = ("customer_segments", "customer_scores")


@dataclass(frozen=True)
class Filters:
    """A slice: period (inclusive shop-local days, None = open) and value lists (empty = all)."""

    start: date | None = None
    end: date | None = None
    countries: tuple[str, ...] = field(default=())
    categories: tuple[str, ...] = field(default=())
    segments: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InvalidParameterError(f"period start {self.start} is after its end {self.end}")
        for name in ("countries", "categories", "segments"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not all(isinstance(v, str) for v in values):
                raise InvalidParameterError(f"{name} must be a tuple of strings")

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end_excl": self.end + timedelta(days=1) if self.end is not None else None,
            "countries": list(self.countries),
            "categories": list(self.categories),
            "segments": list(self.segments),
        }

    def previous(self) -> Filters:
        """The same filters over the period of equal length just before this one."""
        if self.start is None or self.end is None:
            raise InvalidParameterError("a comparison needs a closed period (start and end)")
        days = (self.end - self.start).days + 1
        return Filters(
            self.start - timedelta(days=days),
            self.start - timedelta(days=1),
            self.countries,
            self.categories,
            self.segments,
        )


def segment_source(con: duckdb.DuckDBPyConnection) -> str | None:
    """The table the segment filter reads, or None when no segments were computed."""
    have = existing_tables(con)
    return next((t for t in SEGMENT_SOURCES if t in have), None)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return {r[0] for r in rows}


def _schema(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Columns of the tables a slice may read, in one catalog query."""
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = 'main'"
        " AND table_name IN ('orders', 'order_items', 'customers', 'products',"
        " 'customer_segments', 'customer_scores')"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def _selected_orders(con: duckdb.DuckDBPyConnection, filters: Filters, by: str | None = "*") -> str:
    """SQL of the CTE ``sel``: the orders of the slice with their attributes.

    Only constant SQL fragments are chosen here (by which tables and columns exist);
    every filter value is a named parameter.
    """
    schema = _schema(con)
    have = set(schema)
    if "orders" not in have or "order_items" not in have:
        require_tables(con, ("orders", "order_items"), why="for the dashboard")
    ocols = schema["orders"]
    has_customers = "customers" in have
    ccols = schema.get("customers", set())
    seg = next((t for t in SEGMENT_SOURCES if t in have), None)
    if filters.segments and seg is None:
        raise InvalidParameterError(
            "no segments computed yet: run 'shoplens segments' to filter by segment"
        )
    if filters.categories and "products" not in have:
        raise InvalidParameterError("the store has no products table: no category filter")
    # join the customer tables only when a filter or the breakdown needs them ("*": all)
    need_customers = has_customers and (
        bool(filters.countries) or by in ("*", "country", "age_group")
    )
    need_segments = seg is not None and (bool(filters.segments) or by in ("*", "segment"))
    country = "c.country" if need_customers and "country" in ccols else "NULL::VARCHAR"
    age = age_group_sql("c.age") if need_customers and "age" in ccols else "NULL::VARCHAR"
    joins = "LEFT JOIN customers AS c ON c.customer_id = o.customer_id" if need_customers else ""
    if need_segments:
        joins += f" LEFT JOIN {seg} AS s ON s.customer_id = o.customer_id"
    segment = "s.rfm_segment" if need_segments else "NULL::VARCHAR"
    channel = "o.channel" if "channel" in ocols else "NULL::VARCHAR"
    promo = "coalesce(o.promo_code, '') <> ''" if "promo_code" in ocols else "false"
    category_filter = (
        "o.order_id IN (SELECT i.order_id FROM order_items AS i"
        " JOIN products AS p ON p.product_id = i.product_id"
        " WHERE list_contains(CAST($categories AS VARCHAR[]), p.category))"
        if "products" in have
        else "TRUE"
    )
    conds = ["TRUE"]  # constant fragments chosen by which filters are set; values bound
    if filters.start is not None:
        conds.append("o.order_ts >= CAST($start AS DATE)::TIMESTAMPTZ")
    if filters.end is not None:
        conds.append("o.order_ts < CAST($end_excl AS DATE)::TIMESTAMPTZ")
    if filters.countries:
        conds.append(f"list_contains(CAST($countries AS VARCHAR[]), {country})")
    if filters.segments:
        conds.append(f"list_contains(CAST($segments AS VARCHAR[]), {segment})")
    if filters.categories:
        conds.append(category_filter)
    where = " AND ".join(conds)
    pre = (
        ", o.__gross AS pre_gross, o.__line_discount AS pre_line_discount"
        if "__gross" in ocols
        else ""
    )
    return f"""
    sel AS MATERIALIZED (
      SELECT o.order_id, o.customer_id, o.order_ts, o.status, {channel} AS channel,
             {promo} AS has_promo, o.discount AS order_discount,
             CASE WHEN o.customer_id IS NULL THEN '(guest)'
                  ELSE coalesce({country}, '(unknown)') END AS country,
             CASE WHEN o.customer_id IS NULL THEN '(guest)'
                  ELSE coalesce({age}, '(unknown)') END AS age_group,
             CASE WHEN o.customer_id IS NULL THEN '(guest)'
                  ELSE coalesce({segment}, '(none)') END AS segment{pre}
      FROM orders AS o {joins}
      WHERE {where}
    )"""


_ORDER_FACTS = """
    lines AS (
      SELECT i.order_id, sum(i.quantity * i.unit_price) AS gross,
             sum(i.discount) AS line_discount
      FROM order_items AS i SEMI JOIN sel ON sel.order_id = i.order_id
      GROUP BY i.order_id
    ),
    facts AS (
      SELECT sel.*, coalesce(l.gross, 0) AS gross,
             coalesce(l.line_discount, 0) + sel.order_discount AS discounts,
             coalesce(l.gross, 0) - coalesce(l.line_discount, 0) - sel.order_discount AS net
      FROM sel LEFT JOIN lines AS l ON l.order_id = sel.order_id
    )"""

# the same facts when ``orders`` carries each order's line totals (a dashboard snapshot)
_ORDER_FACTS_PRE = """
    facts AS (
      SELECT sel.*, pre_gross AS gross, pre_line_discount + order_discount AS discounts,
             pre_gross - pre_line_discount - order_discount AS net
      FROM sel
    )"""

# per (order, category): the category's lines, with the order discount pro rata
_CATEGORY_FACTS = """
    oc AS (
      SELECT i.order_id, coalesce(p.category, '(unknown)') AS category,
             sum(i.quantity * i.unit_price) AS gross, sum(i.discount) AS line_discount,
             count(*) AS n_lines
      FROM order_items AS i SEMI JOIN sel ON sel.order_id = i.order_id
      LEFT JOIN products AS p ON p.product_id = i.product_id
      GROUP BY ALL
    ),
    ord AS (
      SELECT order_id, sum(gross) AS gross, sum(n_lines) AS n_lines FROM oc GROUP BY order_id
    ),
    facts AS (
      SELECT sel.*, oc.category, oc.gross,
             oc.line_discount + CASE WHEN sel.order_discount = 0 THEN 0
                  WHEN ord.gross = 0 THEN sel.order_discount * oc.n_lines / ord.n_lines
                  ELSE sel.order_discount * (oc.gross / ord.gross) END AS discounts
      FROM oc JOIN sel ON sel.order_id = oc.order_id JOIN ord ON ord.order_id = oc.order_id
    ),
    facts2 AS (SELECT *, gross - discounts AS net FROM facts)"""

_WEEKDAYS = "['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']"
_KEYS: dict[str, str] = {
    "month": "strftime(order_ts, '%Y-%m')",
    "day": "CAST(order_ts AS DATE)",
    "weekday": f"{_WEEKDAYS}[isodow(order_ts)]",
    "hour": "hour(order_ts)::INTEGER",
    "country": "country",
    "category": "category",
    "age_group": "age_group",
    "channel": "coalesce(channel, '(unknown)')",
    "segment": "segment",
}
_PLACEHOLDERS = "('(guest)', '(unknown)', '(none)')"
_ORDER_BY: dict[str, str] = {"weekday": "isodow(order_ts)"}
# string keys with placeholders: sorted last, like compute_kpis
_LAST = {"country", "category", "age_group", "channel", "segment"}

_AGGREGATES = """
      count(order_id) AS orders,
      count(order_id) FILTER (status = 'completed') AS completed_orders,
      count(order_id) FILTER (status = 'cancelled') AS cancelled_orders,
      count(order_id) FILTER (status = 'returned') AS returned_orders,
      count(DISTINCT customer_id) FILTER (status = 'completed') AS customers,
      round(CAST(coalesce(sum(gross), 0) AS DOUBLE), 2) AS gross_revenue,
      round(CAST(coalesce(sum(discounts), 0) AS DOUBLE), 2) AS discounts,
      round(CAST(coalesce(sum(net) FILTER (status = 'completed'), 0) AS DOUBLE), 2)
          AS net_revenue,
      round(CAST(sum(net) FILTER (status = 'completed') AS DOUBLE)
            / nullif(count(order_id) FILTER (status = 'completed'), 0), 2) AS aov,
      count(order_id) FILTER (has_promo)::DOUBLE
          / nullif(count(order_id), 0) AS promo_order_share,
      CAST(sum(discounts) AS DOUBLE) / nullif(CAST(sum(gross) AS DOUBLE), 0) AS discount_rate,
      count(order_id) FILTER (status = 'cancelled')::DOUBLE
          / nullif(count(order_id), 0) AS cancellation_rate,
      count(order_id) FILTER (status = 'returned')::DOUBLE
          / nullif(count(order_id) FILTER (status IN ('completed', 'returned')), 0)
          AS return_rate"""


def slice_kpis(
    con: duckdb.DuckDBPyConnection, filters: Filters, *, by: str | None = None
) -> pa.Table:
    """KPIs (:data:`SLICE_COLUMNS`) of the slice, one row, or one row per ``by`` value.

    ``by`` is one of :data:`SLICE_DIMENSIONS`; the first column is then named after
    it, rows ordered by it (weekdays Monday first). An empty slice gives one row of
    zeros and NULL ratios (no rows for a breakdown).
    """
    if by is not None and by not in _KEYS:
        raise InvalidParameterError(
            f"unknown dimension {by!r} (expected one of: {', '.join(SLICE_DIMENSIONS)})"
        )
    if by == "category":
        require_tables(con, ("products",), why="for a breakdown by category")
    return _kpis(con, _selected_orders(con, filters, by), by, filters.params())


def _kpis(
    con: duckdb.DuckDBPyConnection, sel: str, by: str | None, params: dict[str, Any]
) -> pa.Table:
    """The KPI query over the orders of the CTE ``sel`` (all order-level columns)."""
    if by == "category":
        facts, source = _CATEGORY_FACTS, "facts2"
    else:
        facts = _ORDER_FACTS_PRE if "pre_gross" in sel else _ORDER_FACTS
        source = "facts"
    sql = f"WITH {sel}, {facts}\n"
    if by is None:
        sql += f"SELECT {_AGGREGATES} FROM {source}"
    else:
        key, order = _KEYS[by], _ORDER_BY.get(by, _KEYS[by])
        if by in _LAST:
            order = f"{key} IN {_PLACEHOLDERS}, {key}"
        sql += (
            f"SELECT {key} AS {by}, {_AGGREGATES} FROM {source}"
            f" GROUP BY {key}{', ' + order if by in _ORDER_BY else ''} ORDER BY {order}"
        )
    return con.sql(sql, params=_used(sql, params)).to_arrow_table()


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` names (a filter that is not set leaves its fragment out)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def compare_periods(con: duckdb.DuckDBPyConnection, filters: Filters) -> pa.Table:
    """KPIs of the slice and of the previous period of equal length: two rows.

    The first column ``period`` is 'current' then 'previous'. One scan covers both
    periods (an empty period gives zeros and NULL ratios).
    """
    prev = filters.previous()
    wide = Filters(prev.start, filters.end, filters.countries, filters.categories, filters.segments)
    sel = _selected_orders(con, wide, None)
    facts = _ORDER_FACTS_PRE if "pre_gross" in sel else _ORDER_FACTS
    sql = f"""
    WITH {sel}, {facts}
    SELECT p.period, {_AGGREGATES.replace("(order_id", "(f.order_id")}
    FROM (VALUES ('current', 1), ('previous', 2)) AS p(period, pos)
    LEFT JOIN (
      SELECT *, CASE WHEN order_ts >= CAST($current AS DATE)::TIMESTAMPTZ THEN 1 ELSE 2 END
                AS pos
      FROM facts
    ) AS f ON f.pos = p.pos
    GROUP BY p.period, p.pos ORDER BY p.pos
    """
    params = {**wide.params(), "current": filters.start}
    return con.sql(sql, params=_used(sql, params)).to_arrow_table()


def slice_cohorts(con: duckdb.DuckDBPyConnection, filters: Filters) -> pa.Table:
    """Monthly retention of the customers in the slice, in the long form of cohort_matrix.

    Only completed orders of the slice count: a customer's cohort is the month of
    their first completed order in the slice. Columns: cohort, months_since,
    cohort_size, active_customers, revenue, value (active / cohort size).
    """
    sql = f"""
    WITH {_selected_orders(con, filters, None)}, {_ORDER_FACTS},
    cm AS (
      SELECT customer_id, year(order_ts) * 12 + month(order_ts) - 1 AS m, sum(net) AS revenue
      FROM facts WHERE status = 'completed' AND customer_id IS NOT NULL GROUP BY ALL
    ),
    firsts AS (SELECT customer_id, min(m) AS c FROM cm GROUP BY customer_id),
    sizes AS (SELECT c, count(*) AS cohort_size FROM firsts GROUP BY c),
    horizon AS (SELECT max(m) AS last_m FROM cm),
    cells AS (
      SELECT f.c, cm.m - f.c AS months_since, count(*) AS active, sum(cm.revenue) AS revenue
      FROM cm JOIN firsts AS f USING (customer_id) GROUP BY ALL
    ),
    grid AS (
      SELECT s.c, s.cohort_size, g.months_since
      FROM sizes AS s, horizon AS h, LATERAL range(0, h.last_m - s.c + 1) AS g(months_since)
    )
    SELECT printf('%04d-%02d', g.c // 12, g.c % 12 + 1) AS cohort,
           CAST(g.months_since AS INTEGER) AS months_since, g.cohort_size,
           coalesce(cells.active, 0) AS active_customers,
           round(CAST(coalesce(cells.revenue, 0) AS DOUBLE), 2) AS revenue,
           coalesce(cells.active, 0) / g.cohort_size AS value
    FROM grid AS g LEFT JOIN cells USING (c, months_since)
    ORDER BY g.c, g.months_since
    """
    return con.sql(sql, params=_used(sql, filters.params())).to_arrow_table()


def filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What the filters can choose from: first/last order day, countries, categories, segments."""
    require_tables(con, ("orders",), why="for the dashboard")
    have = existing_tables(con)
    row = con.execute(
        "SELECT CAST(min(order_ts) AS DATE), CAST(max(order_ts) AS DATE) FROM orders"
    ).fetchone()
    first, last = (row[0], row[1]) if row else (None, None)

    def distinct(sql: str) -> list[str]:
        return [r[0] for r in con.execute(sql).fetchall() if r[0] is not None]

    countries = (
        distinct("SELECT DISTINCT country FROM customers ORDER BY 1")
        if "customers" in have and "country" in _columns(con, "customers")
        else []
    )
    categories = (
        distinct("SELECT DISTINCT category FROM products ORDER BY 1")
        if "products" in have and "category" in _columns(con, "products")
        else []
    )
    seg = segment_source(con)
    segments = (
        distinct(f"SELECT DISTINCT rfm_segment FROM {seg} ORDER BY 1") if seg is not None else []
    )
    return {
        "first_day": first,
        "last_day": last,
        "countries": countries,
        "categories": categories,
        "segments": segments,
        "segment_source": seg,
    }
