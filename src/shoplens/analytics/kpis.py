"""Shop KPIs for a period, overall or broken down by one dimension.

One parameterized SQL statement on DuckDB over the shared per-order facts
(:mod:`shoplens.analytics.facts`, built once per connection). Every order of the
period falls in one class (completed first order of a customer, completed later
order, completed guest order, cancelled, returned); the facts of the period are
summed into (group, class) cells, and every KPI is a combination of those cells plus
a per-(group, customer) count for the customer KPIs. For ``category`` the source is
the per-(order, category) line facts, because order counts by category count the
orders that contain the category.

Conventions (see :data:`KPI_DEFINITIONS` for each column):

- Period: ``start``/``end`` are shop-local calendar days, both inclusive. The store
  connection's ``TimeZone`` is the shop's (``store.open_store(..., timezone=...)``),
  so days, months, hours and weekdays are shop-local.
- Money columns are ``float64`` rounded to cents. Sums are exact (DECIMAL) except the
  pro-rata share of an order-level discount in a ``category`` breakdown, which is
  computed in double precision before rounding; so category amounts add up to the
  total within a cent per category.
- ``aov`` is money too (rounded to cents). Rates are ``float64`` fractions in 0..1;
  they and the other ratios (``units_per_order``, ``purchase_frequency``) are not
  rounded. A division by zero gives NULL. Counts are ``int64``.
- Group values: ``country``, ``age_group``, ``channel`` and ``category`` are strings,
  with ``'(unknown)'`` for a missing value (incl. a customer or product id absent from
  its table) and, for ``country``/``age_group``, ``'(guest)'`` for orders without a
  customer; these placeholders sort last.
  ``month`` is ``'YYYY-MM'``; ``hour`` is an int 0..23; ``weekday`` is ``'Mon'`` ..
  ``'Sun'``, ordered Monday first (ISO).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from shoplens.analytics.facts import (
    CATEGORIES,
    LINE_FACTS,
    ORDER_FACTS,
    ensure_line_facts,
    ensure_order_facts,
)
from shoplens.engines import Source, as_engine
from shoplens.engines.base import Engine
from shoplens.errors import EngineError, InvalidParameterError, ShoplensError, StoreError
from shoplens.schema import age_group_sql

DIMENSIONS: tuple[str, ...] = (
    "country",
    "month",
    "category",
    "hour",
    "weekday",
    "age_group",
    "channel",
)

KPI_DEFINITIONS: dict[str, str] = {
    "orders": "Orders placed, any status (by category: orders with at least one line of the "
    "category, so they do not add up across categories; same for the other order counts).",
    "completed_orders": "Orders with status completed.",
    "cancelled_orders": "Orders with status cancelled.",
    "returned_orders": "Orders with status returned.",
    "customers": "Distinct customers with at least one completed order (guests excluded).",
    "gross_revenue": "Quantity x unit price over the lines of all placed orders, any status.",
    "discounts": "Line discounts plus order-level discounts of all placed orders (an order "
    "discount is shared among its lines pro rata to their gross value).",
    "cancelled_revenue": "Net value (gross minus discounts) of cancelled orders.",
    "returned_revenue": "Net value (gross minus discounts) of returned orders.",
    "net_revenue": "Net value of completed orders = gross_revenue - discounts - "
    "cancelled_revenue - returned_revenue.",
    "new_customer_revenue": "Net revenue of completed orders that are the customer's first "
    "order ever (earliest order in the store, any status).",
    "returning_customer_revenue": "Net revenue of completed orders that are not the "
    "customer's first order.",
    "guest_revenue": "Net revenue of completed orders without a customer account.",
    "aov": "Average order value: net_revenue / completed_orders.",
    "units_per_order": "Units in completed orders / completed_orders.",
    "purchase_frequency": "Completed orders of customers (guests excluded) / customers.",
    "repeat_purchase_rate": "Share of customers with two or more completed orders.",
    "promo_order_share": "Share of placed orders that used a promo code.",
    "discount_rate": "discounts / gross_revenue.",
    "cancellation_rate": "cancelled_orders / orders.",
    "return_rate": "returned_orders / (completed_orders + returned_orders).",
}

_WEEKDAYS = "['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']"
_GUEST = "'(guest)'"
_UNKNOWN = "'(unknown)'"


@dataclass(frozen=True)
class _Dimension:
    expr: str  # the group key, over the facts alias ``o`` (and ``c`` if joined)
    needs: tuple[tuple[str, str], ...] = ()  # (table, column) beyond the base columns
    join_customers: bool = False
    output: str = "grp"  # the output value, from the aggregated key ``grp``
    placeholders: bool = False  # string key with '(unknown)'/'(guest)' sorted last


def _customer_attr(expr: str) -> str:
    return f"CASE WHEN o.customer_id IS NULL THEN {_GUEST} ELSE coalesce({expr}, {_UNKNOWN}) END"


_DIMS: dict[str, _Dimension] = {
    "country": _Dimension(
        _customer_attr("c.country"),
        (("customers", "customer_id"), ("customers", "country")),
        join_customers=True,
        placeholders=True,
    ),
    # o.month: the first day of the shop-local month (a DATE); formatted once per group
    "month": _Dimension("o.month", output="strftime(grp, '%Y-%m')"),
    "category": _Dimension(  # over the per-(order, category) line facts
        "o.cat_key",
        (("order_items", "product_id"), ("products", "product_id"), ("products", "category")),
        output=f"coalesce(cn.category, {_UNKNOWN})",
        placeholders=True,
    ),
    "hour": _Dimension("hour(o.order_ts)::INTEGER"),
    "weekday": _Dimension("isodow(o.order_ts)::INTEGER", output=f"{_WEEKDAYS}[grp]"),
    "age_group": _Dimension(
        _customer_attr(age_group_sql("c.age")),
        (("customers", "customer_id"), ("customers", "age")),
        join_customers=True,
        placeholders=True,
    ),
    "channel": _Dimension(
        f"coalesce(o.channel, {_UNKNOWN})", (("orders", "channel"),), placeholders=True
    ),
}
assert set(_DIMS) == set(DIMENSIONS)

_BASE_NEEDS: tuple[tuple[str, str], ...] = (
    ("orders", "order_id"),
    ("orders", "customer_id"),
    ("orders", "order_ts"),
    ("orders", "status"),
    ("orders", "promo_code"),
    ("orders", "discount"),
    ("order_items", "order_id"),
    ("order_items", "quantity"),
    ("order_items", "unit_price"),
    ("order_items", "discount"),
)

_COUNTS = ("orders", "completed_orders", "cancelled_orders", "returned_orders")
_MONEY = (
    "gross_revenue",
    "discounts",
    "cancelled_revenue",
    "returned_revenue",
    "net_revenue",
    "new_customer_revenue",
    "returning_customer_revenue",
    "guest_revenue",
)


def compute_kpis(
    con: Source,
    *,
    start: date | None = None,
    end: date | None = None,
    by: str | None = None,
) -> pa.Table:
    """KPIs of the orders placed from ``start`` to ``end`` (shop-local days, inclusive).

    One row per group (a single row when ``by`` is None), ordered by the group; the
    first column is the group column named after the dimension (absent when ``by`` is
    None), then the KPI columns in :data:`KPI_DEFINITIONS` order. An empty period gives
    one row of zeros and NULLs when ``by`` is None, and no rows for a breakdown.

    Raises :class:`InvalidParameterError` for an unknown dimension or ``start > end``,
    and :class:`StoreError` when the store lacks a table or column the request needs.
    """
    if by is not None and by not in _DIMS:
        raise InvalidParameterError(
            f"unknown dimension {by!r} (expected one of: {', '.join(DIMENSIONS)})"
        )
    if start is not None and end is not None and start > end:
        raise InvalidParameterError(f"period start {start} is after its end {end}")
    dim = _DIMS[by] if by is not None else None
    engine = as_engine(con)
    _check_columns(engine, _BASE_NEEDS + (dim.needs if dim else ()), by)

    # shop-local midnights: a DATE cast to TIMESTAMPTZ is midnight in the session zone
    conds: list[str] = []
    params: dict[str, object] = {}
    if start is not None:
        conds.append("o.order_ts >= CAST($start AS DATE)::TIMESTAMPTZ")
        params["start"] = start
    if end is not None:
        # the day after ``end``, computed in SQL: Python's date stops at 9999-12-31
        conds.append("o.order_ts < (CAST($end AS DATE) + 1)::TIMESTAMPTZ")
        params["end"] = end
    sql = _build_sql(by, dim, " AND ".join(conds) or "TRUE")
    if by == "category":
        ensure_line_facts(engine)
    else:
        ensure_order_facts(engine)
    return engine.sql(sql, params=params)


def _check_columns(engine: Engine, needs: tuple[tuple[str, str], ...], by: str | None) -> None:
    have_cols = engine.columns()
    have_tables = {t for t, _ in have_cols}
    what = f"KPIs by {by}" if by else "KPIs"
    # a store's error names the store; a Parquet source's is an EngineError
    error: type[ShoplensError] = StoreError
    where = "the store"
    source = getattr(engine, "source", None)
    if source is not None:
        where, error = f"source {source.root}", EngineError
    for table, column in needs:
        if table not in have_tables:
            raise error(f"{what} need table {table!r}, which {where} lacks")
        if (table, column) not in have_cols:
            raise error(f"{what} need column {table}.{column}, which {where} lacks")


# Order classes: every order of the period falls in exactly one, so KPIs are sums over
# (group, class) cells. 0-2 are completed orders (first order of a customer, later
# order of a customer, guest order).
_NEW, _RETURNING, _GUEST_CLS, _CANCELLED, _RETURNED = range(5)
_COMPLETED = f"cls <= {_GUEST_CLS}"


def _build_sql(by: str | None, dim: _Dimension | None, period: str) -> str:
    category = by == "category"
    grp = dim.expr if dim is not None else "NULL::VARCHAR"
    cust_join = (
        "LEFT JOIN customers c ON c.customer_id = o.customer_id"
        if dim is not None and dim.join_customers
        else ""
    )
    # The facts of the orders of the period (one row per order, or per (order,
    # category) for ``category``), each with its class and group key. The facts carry
    # each customer's first order over the whole store (any status, ties by
    # order_id), so the period does not change which order is the first.
    source = f"{LINE_FACTS} o" if category else f"{ORDER_FACTS} o {cust_join}"
    cells = f"""
    o AS NOT MATERIALIZED (
      SELECT o.customer_key, o.has_promo AS promo, o.gross, o.line_discount,
             o.order_discount, o.units,
             CASE WHEN o.status = 'cancelled' THEN {_CANCELLED}
                  WHEN o.status = 'returned' THEN {_RETURNED}
                  WHEN o.customer_key IS NULL THEN {_GUEST_CLS}
                  WHEN o.is_first_order THEN {_NEW}
                  ELSE {_RETURNING} END AS cls,
             {grp} AS grp
      FROM {source}
      WHERE {period}
    ),
    cells AS (
      SELECT grp, cls, count(*) AS n, count(*) FILTER (promo) AS promo_n,
             sum(order_discount) AS order_discount, sum(gross) AS gross,
             sum(line_discount) AS line_discount, sum(units) AS units
      FROM o GROUP BY ALL
    ),
    per_customer AS (
      SELECT grp, customer_key, count(*) AS n
      FROM o WHERE {_COMPLETED} AND customer_key IS NOT NULL GROUP BY ALL
    )"""
    grouped = dim is not None
    g_sel = "grp, " if grouped else ""
    g_by = "GROUP BY grp" if grouped else ""
    net = "gross - line_discount - order_discount"

    def total(expr: str, where: str | None = None) -> str:
        flt = f" FILTER ({where})" if where else ""
        return f"coalesce(sum({expr}){flt}, 0)"

    kpi_cells = f"""
    totals AS (
      SELECT {g_sel}
        {total("n")} AS orders,
        {total("n", _COMPLETED)} AS completed_orders,
        {total("n", f"cls = {_CANCELLED}")} AS cancelled_orders,
        {total("n", f"cls = {_RETURNED}")} AS returned_orders,
        {total("gross")} AS gross_revenue,
        {total("line_discount + order_discount")} AS discounts,
        {total(net, f"cls = {_CANCELLED}")} AS cancelled_revenue,
        {total(net, f"cls = {_RETURNED}")} AS returned_revenue,
        {total(net, _COMPLETED)} AS net_revenue,
        {total(net, f"cls = {_NEW}")} AS new_customer_revenue,
        {total(net, f"cls = {_RETURNING}")} AS returning_customer_revenue,
        {total(net, f"cls = {_GUEST_CLS}")} AS guest_revenue,
        {total("units", _COMPLETED)} AS units,
        {total("promo_n")} AS promo_orders
      FROM cells {g_by}
    ),
    cust AS (
      SELECT {g_sel} count(*) AS customers, count(*) FILTER (n >= 2) AS repeaters,
             coalesce(sum(n), 0) AS customer_orders
      FROM per_customer {g_by}
    )"""
    if grouped:
        assert dim is not None
        source = "totals LEFT JOIN cust USING (grp)"
        if category:  # grouped by the integer category key: look its name up
            source += f" LEFT JOIN {CATEGORIES} AS cn ON cn.cat_key = grp"
        first_col = f"{dim.output} AS {by},"
        order = "ORDER BY grp"
        if dim.placeholders:
            order = f"ORDER BY {by} IN ({_GUEST}, {_UNKNOWN}), {by}"
    else:
        source, first_col, order = "totals, cust", "", ""

    def money(col: str) -> str:
        return f"round({col}::DOUBLE, 2) AS {col}"

    def ratio(num: str, den: str) -> str:
        return f"{num}::DOUBLE / nullif({den}, 0)::DOUBLE"

    cols = [
        *(f"{c}::BIGINT AS {c}" for c in _COUNTS),
        "coalesce(customers, 0) AS customers",
        *(money(m) for m in _MONEY),
        f"round({ratio('net_revenue', 'completed_orders')}, 2) AS aov",
        f"{ratio('units', 'completed_orders')} AS units_per_order",
        f"{ratio('customer_orders', 'customers')} AS purchase_frequency",
        f"{ratio('repeaters', 'customers')} AS repeat_purchase_rate",
        f"{ratio('promo_orders', 'orders')} AS promo_order_share",
        f"{ratio('discounts', 'gross_revenue')} AS discount_rate",
        f"{ratio('cancelled_orders', 'orders')} AS cancellation_rate",
        f"{ratio('returned_orders', 'completed_orders + returned_orders')} AS return_rate",
    ]
    select = ",\n      ".join(cols)
    return f"""
    WITH {cells},
    {kpi_cells}
    SELECT {first_col}
      {select}
    FROM {source}
    {order}
    """
