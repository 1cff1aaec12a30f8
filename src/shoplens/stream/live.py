"""Live per-customer state (``customer_scores_live``), recomputed from the stored orders.

For every customer in a written batch: last order (any status), completed orders,
spend (net revenue of completed orders, the RFM ``monetary``), the categories of the
last order, and the RFM segment. The segment uses the named segments of
:mod:`shoplens.analytics.segments` (R x FM grid) with quintile cut-offs of recency,
frequency and monetary computed over all customers by :func:`rfm_cutoffs` when the
processor starts (and refreshed periodically): scoring one customer against the
population's cut-offs is what a live system can afford per batch; the batch
``shoplens segments`` ranks everyone again, so a few customers at a cut-off may
differ by one score. Recency is measured to the latest order in the store.

``churn_probability`` and ``predicted_clv`` come from the trained models
(:mod:`shoplens.stream.scoring`) and are kept here when a customer's row is
recomputed; NULL without a trained model.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from shoplens.analytics.segments import RFM_SEGMENTS

CUSTOMER_SCORES_LIVE = "customer_scores_live"

CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {CUSTOMER_SCORES_LIVE} (
    customer_id VARCHAR NOT NULL,
    last_order_ts TIMESTAMPTZ NOT NULL,
    orders BIGINT NOT NULL,
    spend DECIMAL(18,2) NOT NULL,
    last_categories VARCHAR[],
    rfm_segment VARCHAR,
    churn_probability DOUBLE,
    predicted_clv DOUBLE,
    updated_at TIMESTAMPTZ NOT NULL
)
"""


@dataclass(frozen=True)
class RfmCutoffs:
    """Quintile cut-offs (20/40/60/80 %) of recency days, frequency and monetary."""

    recency: tuple[float, ...] = ()
    frequency: tuple[float, ...] = ()
    monetary: tuple[float, ...] = ()


_PER_CUSTOMER = """
SELECT customer_id,
       date_diff('day', CAST(max(order_ts) AS DATE),
                 CAST((SELECT max(order_ts) FROM orders) AS DATE)) AS recency,
       count(*) AS frequency,
       sum(net) AS monetary
FROM (
    SELECT o.customer_id, o.order_ts,
           coalesce((SELECT sum(quantity * unit_price - discount) FROM order_items i
                     WHERE i.order_id = o.order_id), 0) - o.discount AS net
    FROM orders o
    WHERE o.status = 'completed' AND o.customer_id IS NOT NULL {where}
)
GROUP BY customer_id
"""


def rfm_cutoffs(con: duckdb.DuckDBPyConnection) -> RfmCutoffs:
    """The population's RFM quintile cut-offs (empty store: no cut-offs)."""
    row = con.execute(
        "SELECT quantile_cont(recency, [0.2, 0.4, 0.6, 0.8]),"
        " quantile_cont(frequency, [0.2, 0.4, 0.6, 0.8]),"
        " quantile_cont(CAST(monetary AS DOUBLE), [0.2, 0.4, 0.6, 0.8])"
        f" FROM ({_PER_CUSTOMER.format(where='')})"
    ).fetchall()[0]
    if row[0] is None:
        return RfmCutoffs()
    return RfmCutoffs(tuple(row[0]), tuple(row[1]), tuple(row[2]))


def _score(expr: str, cuts: tuple[float, ...], *, lower_is_better: bool = False) -> str:
    """SQL: 1 + the number of cut-offs below ``expr`` (reversed for recency)."""
    if not cuts:
        return "3"
    above = " + ".join(f"CASE WHEN {expr} > {float(c)!r} THEN 1 ELSE 0 END" for c in cuts)
    return f"(5 - ({above}))" if lower_is_better else f"(1 + {above})"


def _segment_sql(r: str, fm: str) -> str:
    whens = " ".join(
        f"WHEN {r} BETWEEN {r_lo} AND {r_hi} AND {fm} BETWEEN {f_lo} AND {f_hi}"
        f" THEN '{name.replace(chr(39), chr(39) * 2)}'"
        for name, (r_lo, r_hi), (f_lo, f_hi) in RFM_SEGMENTS
    )
    return f"CASE {whens} END"


def update_live_scores(
    con: duckdb.DuckDBPyConnection, customers_view: str, cutoffs: RfmCutoffs
) -> int:
    """Recompute the live rows of the customers in ``customers_view`` (column
    ``customer_id``); run inside the writer's transaction. Returns the rows written."""
    con.execute(CREATE_SQL)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __live_ids AS SELECT DISTINCT customer_id"
        f" FROM {customers_view} WHERE customer_id IS NOT NULL"
    )
    where = "AND o.customer_id IN (SELECT customer_id FROM __live_ids)"
    r = _score("recency", cutoffs.recency, lower_is_better=True)
    f = _score("frequency", cutoffs.frequency)
    m = _score("CAST(monetary AS DOUBLE)", cutoffs.monetary)
    # the model scores are refreshed on their own cadence (stream.scoring): keep them
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __live_kept AS SELECT customer_id, churn_probability,"
        f" predicted_clv FROM {CUSTOMER_SCORES_LIVE}"
        " WHERE customer_id IN (SELECT customer_id FROM __live_ids)"
    )
    con.execute(
        f"DELETE FROM {CUSTOMER_SCORES_LIVE}"
        " WHERE customer_id IN (SELECT customer_id FROM __live_ids)"
    )
    con.execute(
        f"""
INSERT INTO {CUSTOMER_SCORES_LIVE} BY NAME
WITH last AS (
    SELECT customer_id, max(order_ts) AS last_order_ts,
           arg_max(order_id, (order_ts, order_id)) AS last_order_id
    FROM orders WHERE customer_id IN (SELECT customer_id FROM __live_ids)
    GROUP BY customer_id
),
cats AS (
    SELECT l.customer_id,
           list_sort(list(DISTINCT p.category) FILTER (WHERE p.category IS NOT NULL)) AS cats
    FROM last l JOIN order_items i ON i.order_id = l.last_order_id
    LEFT JOIN products p ON p.product_id = i.product_id
    GROUP BY l.customer_id
),
rfm AS (
    SELECT *, {r} AS r, {f} AS f, {m} AS m FROM ({_PER_CUSTOMER.format(where=where)})
)
SELECT l.customer_id, l.last_order_ts,
       coalesce(rfm.frequency, 0) AS orders,
       CAST(coalesce(rfm.monetary, 0) AS DECIMAL(18, 2)) AS spend,
       coalesce(cats.cats, []) AS last_categories,
       CASE WHEN rfm.customer_id IS NULL THEN NULL
            ELSE {_segment_sql("rfm.r", "((rfm.f + rfm.m) // 2)")} END AS rfm_segment,
       k.churn_probability,
       k.predicted_clv,
       now() AS updated_at
FROM last AS l
LEFT JOIN __live_kept AS k ON k.customer_id = l.customer_id
LEFT JOIN cats ON cats.customer_id = l.customer_id
LEFT JOIN rfm ON rfm.customer_id = l.customer_id
"""
    )
    n = con.execute("SELECT count(*) FROM __live_ids").fetchall()[0][0]
    con.execute("DROP TABLE __live_ids")
    con.execute("DROP TABLE __live_kept")
    return int(n)
