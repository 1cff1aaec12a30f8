"""RFM: recency, frequency and monetary value per customer, scored 1..5.

What counts
    Only **completed** orders of **known customers** (``customer_id`` not NULL) count.
    Cancelled orders never count; returned orders are not purchases either (the goods
    came back), so a customer whose only order was returned has no RFM row. Guest
    orders are left out of every customer-level analysis.

Money
    Net revenue of an order (``net`` of :mod:`shoplens.analytics.facts`, the one
    definition shared with the KPIs and cohorts) = sum over its lines of ``quantity *
    unit_price - line discount``, minus the order-level ``discount``. An order without
    lines counts with line total 0. ``monetary`` is the sum of a customer's net order
    revenues, summed exactly (DECIMAL) and returned as float64 rounded to cents, like
    the KPIs.

as_of
    The reference moment: orders strictly before it count, and recency is measured to
    it. A ``date`` (or a naive ``datetime``) is read in the shop's time zone (the
    connection's ``TimeZone``); an aware ``datetime`` is an exact instant. The default
    is the start (shop-local midnight) of the day after the last order in the store,
    of any status, i.e. "the morning after the data ends".

recency_days
    Whole shop-local calendar days between the day of the last completed order and
    the day of ``as_of`` (DST-proof; with the default ``as_of`` a customer who bought
    on the last day of the data has recency 1).

Scores (quintiles, 5 = best)
    Each dimension is scored with the bucket ``ntile(5)`` would give over the
    customers ordered by that value (ascending for frequency and monetary,
    descending ``recency_days`` for recency, so the most recent get 5), with one
    change: **customers with identical values get the same score**, namely the bucket
    of the first customer of their tie group (computed from ``rank()``: the number of
    customers with a strictly worse value decides the score). When all values are
    distinct this is exactly ``ntile(5)``; a tied value never splits across scores
    depending on row order.

    Frequency is the classic case: most shops have a majority of one-time buyers.
    They all get ``f_score = 1``, however large their share, and the next frequency
    value starts at the bucket its position reaches: with 60% one-time buyers the
    two-order customers get 4, and scores 2 and 3 stay empty. That is deliberate: a
    score says "which fifth of the customer base you are in", and it would be wrong
    to rank some one-time buyers above others. Recency (same day) and monetary
    (same basket) ties are handled the same way. With fewer than 5 customers scores
    run 1..n, as with ``ntile``.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.engines import Source, as_engine
from shoplens.errors import InvalidParameterError

ORDER_TABLES = ("orders", "order_items")

RFM_COLUMNS = (
    "customer_id",
    "first_order_ts",
    "last_order_ts",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
)


def check_as_of(as_of: object) -> date | None:
    """Validate an ``as_of`` parameter (``datetime``, ``date`` or ``None``)."""
    if as_of is None or isinstance(as_of, date):  # datetime is a date subclass
        return as_of
    raise InvalidParameterError(
        f"as_of must be a date or datetime, not {type(as_of).__name__} ({as_of!r})"
    )


def ntile5_of_position(pos: str, n: str) -> str:
    """SQL: the ``ntile(5)`` bucket of 1-based position ``pos`` among ``n`` rows.

    ``ntile(5)`` over n = 5q + r rows puts q + 1 rows in each of the first r buckets
    and q rows in the others. Feeding it ``rank()`` gives every tie group the bucket
    of its first member.
    """
    q = f"({n} // 5)"
    big = f"(({n} % 5) * ({q} + 1))"
    return (
        f"CAST(CASE WHEN {pos} <= {big} THEN ({pos} - 1) // ({q} + 1) + 1"
        f" ELSE {n} % 5 + ({pos} - 1 - {big}) // greatest({q}, 1) + 1 END AS INTEGER)"
    )


# Every per-customer column RFM and the segments need, over the order facts (run
# facts.ensure_order_facts first). Parameter: $as_of.
RFM_BASE_SQL = f"""
WITH params AS (
    SELECT coalesce(
        CAST($as_of AS TIMESTAMPTZ),
        CAST(CAST(max(order_ts) AS DATE) + 1 AS TIMESTAMPTZ)
    ) AS as_of
    FROM {ORDER_FACTS}
),
per_customer AS (
    SELECT customer_id,
           min(order_ts) AS first_order_ts,
           max(order_ts) AS last_order_ts,
           count(*) AS frequency,
           CAST(sum(net) AS DECIMAL(38, 2)) AS monetary,
           count(*) FILTER (WHERE has_promo) AS promo_orders
    FROM {ORDER_FACTS}
    WHERE status = 'completed' AND customer_id IS NOT NULL
      AND order_ts < (SELECT as_of FROM params)
    GROUP BY customer_id
),
with_recency AS MATERIALIZED (
    SELECT c.*,
           date_diff('day', CAST(c.last_order_ts AS DATE), CAST(p.as_of AS DATE))
               AS recency_days
    FROM per_customer AS c, params AS p
),
-- Recency and frequency have few distinct values: rank those, not the customers.
-- pos = 1 + customers with a strictly worse value = rank() over the customers.
recency_pos AS (
    SELECT recency_days,
           CAST(sum(count(*)) OVER (ORDER BY recency_days DESC) AS BIGINT) - count(*) + 1
               AS r_pos
    FROM with_recency
    GROUP BY recency_days
),
frequency_pos AS (
    SELECT frequency,
           CAST(sum(count(*)) OVER (ORDER BY frequency) AS BIGINT) - count(*) + 1 AS f_pos
    FROM with_recency
    GROUP BY frequency
),
ranked AS (
    SELECT w.*, r.r_pos, f.f_pos,
           count(*) OVER () AS n_customers,
           rank() OVER (ORDER BY w.monetary) AS m_pos,
           -- customers with monetary <= this one (the default frame includes ties)
           count(*) OVER (ORDER BY w.monetary) AS m_at_or_below
    FROM with_recency AS w
    JOIN recency_pos AS r USING (recency_days)
    JOIN frequency_pos AS f USING (frequency)
),
scored AS (
    SELECT *,
           {ntile5_of_position("r_pos", "n_customers")} AS r_score,
           {ntile5_of_position("f_pos", "n_customers")} AS f_score,
           {ntile5_of_position("m_pos", "n_customers")} AS m_score
    FROM ranked
)
SELECT customer_id, first_order_ts, last_order_ts, recency_days, frequency,
       round(CAST(monetary AS DOUBLE), 2) AS monetary, r_score, f_score, m_score,
       CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR)
           AS rfm_score,
       promo_orders,
       n_customers - m_at_or_below + 1 AS spend_rank,
       n_customers
FROM scored
"""


def rfm_table(con: Source, *, as_of: date | None = None) -> pa.Table:
    """One row per customer with at least one completed order before ``as_of``.

    Columns: customer_id, first_order_ts, last_order_ts, recency_days, frequency
    (completed orders), monetary (net revenue, float64 rounded to cents), r_score, f_score,
    m_score (1..5) and rfm_score (e.g. '545'); ordered by customer_id. See the module
    docstring for what counts and how ties are scored.
    """
    as_of = check_as_of(as_of)
    engine = as_engine(con)
    engine.require_tables(ORDER_TABLES, why="for RFM")
    ensure_order_facts(engine)
    cols = ", ".join(RFM_COLUMNS)
    return engine.sql(
        f"SELECT {cols} FROM ({RFM_BASE_SQL}) ORDER BY customer_id", params={"as_of": as_of}
    )
