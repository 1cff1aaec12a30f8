"""Monthly acquisition cohorts: retention and revenue by months since the first order.

A customer's cohort is the shop-local month ('YYYY-MM') of their first completed
order. Like RFM, only completed orders of known customers count (cancelled and
returned orders are not purchases, guests are left out); revenue is net (lines minus
line discounts, minus the order discount).

``months_since`` is the calendar-month difference in the shop's time zone (the
connection's ``TimeZone``): an order at 23:30 UTC on 31 January is a February order
in Europe/Paris. Every cohort gets one row per month from its first month (0) up to
the last month with any order in the store (any status), zero-activity months
included, so the long table is a complete triangle.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.analytics.rfm import ORDER_TABLES
from shoplens.engines import Source, as_engine
from shoplens.errors import InvalidParameterError

COHORT_METRICS: tuple[str, ...] = ("customers", "revenue")

COHORT_COLUMNS: tuple[str, ...] = (
    "cohort",
    "months_since",
    "cohort_size",
    "active_customers",
    "revenue",
    "value",
)

# month index = year * 12 + month - 1 of the facts' shop-local month (a DATE).
_MONTH = "(year({d}) * 12 + month({d}) - 1)"

_COHORT_SQL = f"""
WITH customer_months AS (
    SELECT customer_key,
           {_MONTH.format(d="month")} AS month_idx,
           sum(net) AS revenue
    FROM {ORDER_FACTS}
    WHERE status = 'completed' AND customer_key IS NOT NULL
    GROUP BY ALL
),
firsts AS (
    SELECT customer_key, min(month_idx) AS cohort_idx
    FROM customer_months
    GROUP BY customer_key
),
sizes AS (
    SELECT cohort_idx, count(*) AS cohort_size FROM firsts GROUP BY cohort_idx
),
cells AS (
    SELECT f.cohort_idx,
           m.month_idx - f.cohort_idx AS months_since,
           count(*) AS active_customers,
           sum(m.revenue) AS revenue
    FROM customer_months AS m
    JOIN firsts AS f USING (customer_key)
    GROUP BY ALL
),
horizon AS (
    SELECT {_MONTH.format(d="max(month)")} AS last_idx FROM {ORDER_FACTS}
),
grid AS (
    SELECT s.cohort_idx, s.cohort_size,
           unnest(range(0, h.last_idx - s.cohort_idx + 1)) AS months_since
    FROM sizes AS s
    CROSS JOIN horizon AS h
),
filled AS (
    SELECT g.cohort_idx, g.months_since, g.cohort_size,
           coalesce(c.active_customers, 0) AS active_customers,
           coalesce(c.revenue, 0) AS revenue
    FROM grid AS g
    LEFT JOIN cells AS c USING (cohort_idx, months_since)
)
SELECT printf('%04d-%02d', cohort_idx // 12, cohort_idx % 12 + 1) AS cohort,
       CAST(months_since AS INTEGER) AS months_since,
       cohort_size,
       active_customers,
       round(CAST(revenue AS DOUBLE), 2) AS revenue,
       CASE WHEN $metric = 'customers'
            THEN active_customers / cohort_size
            ELSE CAST(revenue AS DOUBLE) / nullif(CAST(
                     max(CASE WHEN months_since = 0 THEN revenue END)
                         OVER (PARTITION BY cohort_idx) AS DOUBLE), 0)
       END AS value
FROM filled
ORDER BY cohort_idx, months_since
"""


def cohort_matrix(
    con: Source,
    *,
    metric: Literal["customers", "revenue"] = "customers",
) -> pa.Table:
    """The cohort matrix in long form, one row per (cohort, months_since), ordered.

    Columns (:data:`COHORT_COLUMNS`): cohort ('YYYY-MM'), months_since (0..),
    cohort_size (customers whose first completed order is in that month),
    active_customers (cohort customers with a completed order in that month),
    revenue (their net revenue that month, float64 rounded to cents) and value:
    for ``metric='customers'`` active_customers / cohort_size (retention, 1.0 in
    month 0); for ``metric='revenue'`` revenue / the cohort's month-0 revenue
    (NULL if that is 0).
    """
    if metric not in COHORT_METRICS:
        raise InvalidParameterError(
            f"unknown cohort metric {metric!r} (expected one of {', '.join(COHORT_METRICS)})"
        )
    engine = as_engine(con)
    engine.require_tables(ORDER_TABLES, why="for cohorts")
    ensure_order_facts(engine)
    return engine.sql(_COHORT_SQL, params={"metric": metric})
