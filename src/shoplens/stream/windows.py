"""Windowed KPIs (tumbling 1 minute and 1 hour), recomputed from the stored orders.

Why not Quix's windows: measured on the test broker, a global window through
``group_by`` dropped 57% of the orders as late while catching up a backlog (the
consumer reads each partition in long runs, so event time jumps back by up to an
hour across partitions), per-key ``.final()`` windows close only when a later message
arrives for the same key, and state stores need changelog topics whose offsets the
test broker reports wrongly (restarts after a crash failed). Here the store is the
state: after a batch of orders is written, every hour window it touches (and the
minute windows inside them) is recomputed from the ``orders`` table in the same
transaction and replaces the old rows. Replays and crashes therefore cannot double
count, late orders are never dropped, and a window appears as soon as its orders are
written (the sink flushes on Quix's wall-clock checkpoint, not on a later message).

The KPI definitions are the batch ones (:mod:`shoplens.analytics.kpis`):
``revenue`` = net revenue of completed orders, ``orders`` = orders placed (any status),
``average_basket`` = revenue / completed orders, ``active_customers`` = distinct
customers with a completed order, ``promo_share`` = share of placed orders with a
promo code. By ``category`` an order counts in every category it has a line of, and
its order-level discount is shared pro rata to the lines' gross value (as in the
batch KPIs); by ``country`` guests are ``'(guest)'`` and unknown values
``'(unknown)'``. Windows are aligned on UTC minutes and hours.
"""

from __future__ import annotations

import duckdb

REALTIME_KPIS = "realtime_kpis"
WINDOWS = {"1m": "1 minute", "1h": "1 hour"}

CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {REALTIME_KPIS} (
    "window" VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    dimension VARCHAR NOT NULL,
    dimension_value VARCHAR NOT NULL,
    revenue DECIMAL(18,2) NOT NULL,
    orders BIGINT NOT NULL,
    average_basket DOUBLE,
    active_customers BIGINT NOT NULL,
    promo_share DOUBLE,
    updated_at TIMESTAMPTZ NOT NULL
)
"""

# $hours: the touched hour windows (a list of TIMESTAMPTZ). One row per order (f) and
# per (order, category) (fc), for the orders of those hours.
_FACTS = """
WITH hours AS (SELECT unnest(CAST($hours AS TIMESTAMPTZ[])) AS h),
o AS (
    SELECT o.order_id, o.customer_id, o.order_ts, o.status, o.discount,
           coalesce(o.promo_code, '') <> '' AS has_promo,
           time_bucket(INTERVAL '1 minute', o.order_ts) AS m,
           time_bucket(INTERVAL '1 hour', o.order_ts) AS h
    FROM orders AS o
    WHERE o.order_ts >= (SELECT min(h) FROM hours)
      AND o.order_ts < (SELECT max(h) FROM hours) + INTERVAL '1 hour'
      AND time_bucket(INTERVAL '1 hour', o.order_ts) IN (SELECT h FROM hours)
),
oc AS (
    SELECT i.order_id, coalesce(p.category, '(unknown)') AS category,
           CAST(sum(i.quantity * i.unit_price) AS DECIMAL(18, 2)) AS gross,
           CAST(sum(i.discount) AS DECIMAL(18, 2)) AS line_discount,
           count(*) AS n_lines
    FROM order_items AS i
    LEFT JOIN products AS p ON p.product_id = i.product_id
    WHERE i.order_id IN (SELECT order_id FROM o)
    GROUP BY ALL
),
ol AS (
    SELECT order_id, sum(gross) AS gross, sum(n_lines) AS n_lines,
           sum(gross) - sum(line_discount) AS line_net
    FROM oc GROUP BY order_id
),
f AS (
    SELECT o.*, CASE WHEN o.customer_id IS NULL THEN '(guest)'
                     ELSE coalesce(c.country, '(unknown)') END AS country,
           CAST(coalesce(ol.line_net, 0) - o.discount AS DECIMAL(18, 2)) AS net
    FROM o
    LEFT JOIN ol USING (order_id)
    LEFT JOIN customers AS c ON c.customer_id = o.customer_id
),
fc AS (
    SELECT f.order_id, f.customer_id, f.status, f.has_promo, f.m, f.h, oc.category,
           CAST(oc.gross - oc.line_discount AS DOUBLE)
             - CASE WHEN f.discount = 0 THEN 0
                    WHEN ol.gross = 0 THEN CAST(f.discount AS DOUBLE) * oc.n_lines / ol.n_lines
                    ELSE CAST(f.discount AS DOUBLE) * CAST(oc.gross AS DOUBLE)
                         / CAST(ol.gross AS DOUBLE) END AS net
    FROM f JOIN oc USING (order_id) JOIN ol USING (order_id)
)
"""


# Every order row once per window size and dimension (one GROUP BY with a single
# DISTINCT aggregate: much cheaper in DuckDB than GROUPING SETS with several DISTINCTs).
_AGGREGATE = """,
u AS (
    SELECT w.w AS "window", CASE w.w WHEN '1m' THEN f.m ELSE f.h END AS window_start,
           d.dim AS dimension,
           CASE d.dim WHEN 'all' THEN 'all' ELSE f.country END AS dimension_value,
           f.customer_id, f.status, f.has_promo, CAST(f.net AS DOUBLE) AS net
    FROM f, (VALUES ('1m'), ('1h')) AS w(w), (VALUES ('all'), ('country')) AS d(dim)
    UNION ALL
    SELECT w.w, CASE w.w WHEN '1m' THEN fc.m ELSE fc.h END, 'category', fc.category,
           fc.customer_id, fc.status, fc.has_promo, fc.net
    FROM fc, (VALUES ('1m'), ('1h')) AS w(w)
),
g AS (
    SELECT "window", window_start, dimension, dimension_value,
           round(coalesce(sum(net) FILTER (WHERE status = 'completed'), 0), 2) AS revenue,
           count(*) AS orders,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(DISTINCT customer_id) FILTER (WHERE status = 'completed') AS active_customers,
           count(*) FILTER (WHERE has_promo) AS promo_orders
    FROM u GROUP BY ALL
)
SELECT "window", window_start,
       window_start + CASE "window" WHEN '1m' THEN INTERVAL '1 minute'
                                    ELSE INTERVAL '1 hour' END AS window_end,
       dimension, dimension_value,
       CAST(revenue AS DECIMAL(18, 2)) AS revenue,
       orders,
       round(revenue / nullif(completed, 0), 2) AS average_basket,
       active_customers,
       promo_orders / orders AS promo_share,
       now() AS updated_at
FROM g
"""

RECOMPUTE_SQL = _FACTS + _AGGREGATE

_DELETE_SQL = f"""
DELETE FROM {REALTIME_KPIS}
WHERE time_bucket(INTERVAL '1 hour', window_start)
      IN (SELECT unnest(CAST($hours AS TIMESTAMPTZ[])))
"""


def touched_hours(con: duckdb.DuckDBPyConnection, orders_view: str) -> list[object]:
    """The hour windows of the orders in ``orders_view`` (a registered batch)."""
    rows = con.execute(
        f"SELECT DISTINCT time_bucket(INTERVAL '1 hour', order_ts) FROM {orders_view}"
    ).fetchall()
    return [r[0] for r in rows]


def recompute_windows(con: duckdb.DuckDBPyConnection, hours: list[object]) -> int:
    """Replace the KPI rows of ``hours`` (and their minutes) by a recomputation from the
    stored orders; run inside the writer's transaction. Returns the rows written."""
    if not hours:
        return 0
    con.execute(CREATE_SQL)
    con.execute(_DELETE_SQL, {"hours": hours})
    con.execute(f"INSERT INTO {REALTIME_KPIS} BY NAME {RECOMPUTE_SQL}", {"hours": hours})
    rows = con.execute(
        f"SELECT count(*) FROM {REALTIME_KPIS} WHERE time_bucket(INTERVAL '1 hour', window_start)"
        " IN (SELECT unnest(CAST($hours AS TIMESTAMPTZ[])))",
        {"hours": hours},
    ).fetchall()
    return int(rows[0][0])


def batch_windows(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The same KPIs over every stored order (the batch computation the stream must
    equal; used by tests and ``stream status``)."""
    hours = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT time_bucket(INTERVAL '1 hour', order_ts) FROM orders"
        ).fetchall()
    ]
    return con.sql(RECOMPUTE_SQL, params={"hours": hours})
