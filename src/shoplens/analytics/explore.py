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


def _selected_orders(con: duckdb.DuckDBPyConnection, filters: Filters) -> str:
    """SQL of the CTE ``sel``: the orders of the slice with their attributes.

    Only constant SQL fragments are chosen here (by which tables and columns exist);
    every filter value is a named parameter.
    """
    require_tables(con, ("orders", "order_items"), why="for the dashboard")
    have = existing_tables(con)
    ocols = _columns(con, "orders")
    has_customers = "customers" in have
    ccols = _columns(con, "customers") if has_customers else set()
    seg = segment_source(con)
    if filters.segments and seg is None:
        raise InvalidParameterError(
            "no segments computed yet: run 'shoplens segments' to filter by segment"
        )
    if filters.categories and "products" not in have:
        raise InvalidParameterError("the store has no products table: no category filter")
    country = "c.country" if "country" in ccols else "NULL::VARCHAR"
    age = age_group_sql("c.age") if "age" in ccols else "NULL::VARCHAR"
    joins = "LEFT JOIN customers AS c ON c.customer_id = o.customer_id" if has_customers else ""
    if seg is not None:
        joins += f" LEFT JOIN {seg} AS s ON s.customer_id = o.customer_id"
    segment = "s.rfm_segment" if seg is not None else "NULL::VARCHAR"
    channel = "o.channel" if "channel" in ocols else "NULL::VARCHAR"
    promo = "coalesce(o.promo_code, '') <> ''" if "promo_code" in ocols else "false"
    category_filter = (
        "o.order_id IN (SELECT i.order_id FROM order_items AS i"
        " JOIN products AS p ON p.product_id = i.product_id"
        " WHERE list_contains(CAST($categories AS VARCHAR[]), p.category))"
        if "products" in have
        else "TRUE"
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
                  ELSE coalesce({segment}, '(none)') END AS segment
      FROM orders AS o {joins}
      WHERE ($start IS NULL OR o.order_ts >= CAST($start AS DATE)::TIMESTAMPTZ)
        AND ($end_excl IS NULL OR o.order_ts < CAST($end_excl AS DATE)::TIMESTAMPTZ)
        AND (len(CAST($countries AS VARCHAR[])) = 0
             OR list_contains(CAST($countries AS VARCHAR[]), {country}))
        AND (len(CAST($segments AS VARCHAR[])) = 0
             OR list_contains(CAST($segments AS VARCHAR[]), {segment}))
        AND (len(CAST($categories AS VARCHAR[])) = 0 OR {category_filter})
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
      count(DISTINCT order_id) AS orders,
      count(DISTINCT order_id) FILTER (status = 'completed') AS completed_orders,
      count(DISTINCT order_id) FILTER (status = 'cancelled') AS cancelled_orders,
      count(DISTINCT order_id) FILTER (status = 'returned') AS returned_orders,
      count(DISTINCT customer_id) FILTER (status = 'completed') AS customers,
      round(CAST(coalesce(sum(gross), 0) AS DOUBLE), 2) AS gross_revenue,
      round(CAST(coalesce(sum(discounts), 0) AS DOUBLE), 2) AS discounts,
      round(CAST(coalesce(sum(net) FILTER (status = 'completed'), 0) AS DOUBLE), 2)
          AS net_revenue,
      round(CAST(sum(net) FILTER (status = 'completed') AS DOUBLE)
            / nullif(count(DISTINCT order_id) FILTER (status = 'completed'), 0), 2) AS aov,
      count(DISTINCT order_id) FILTER (has_promo)::DOUBLE
          / nullif(count(DISTINCT order_id), 0) AS promo_order_share,
      CAST(sum(discounts) AS DOUBLE) / nullif(CAST(sum(gross) AS DOUBLE), 0) AS discount_rate,
      count(DISTINCT order_id) FILTER (status = 'cancelled')::DOUBLE
          / nullif(count(DISTINCT order_id), 0) AS cancellation_rate,
      count(DISTINCT order_id) FILTER (status = 'returned')::DOUBLE
          / nullif(count(DISTINCT order_id) FILTER (status IN ('completed', 'returned')), 0)
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
        facts, source = _CATEGORY_FACTS, "facts2"
    else:
        facts, source = _ORDER_FACTS, "facts"
    sql = f"WITH {_selected_orders(con, filters)}, {facts}\n"
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
    return con.sql(sql, params=filters.params()).to_arrow_table()


def compare_periods(con: duckdb.DuckDBPyConnection, filters: Filters) -> pa.Table:
    """KPIs of the slice and of the previous period of equal length: two rows.

    The first column ``period`` is 'current' then 'previous'.
    """
    current = slice_kpis(con, filters)
    previous = slice_kpis(con, filters.previous())
    table = pa.concat_tables([current, previous])
    return table.add_column(0, "period", pa.array(["current", "previous"]))


def slice_cohorts(con: duckdb.DuckDBPyConnection, filters: Filters) -> pa.Table:
    """Monthly retention of the customers in the slice, in the long form of cohort_matrix.

    Only completed orders of the slice count: a customer's cohort is the month of
    their first completed order in the slice. Columns: cohort, months_since,
    cohort_size, active_customers, revenue, value (active / cohort size).
    """
    sql = f"""
    WITH {_selected_orders(con, filters)}, {_ORDER_FACTS},
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
    return con.sql(sql, params=filters.params()).to_arrow_table()


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
