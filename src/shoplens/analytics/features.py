"""Point-in-time customer features: everything known about a customer at a cutoff.

:func:`customer_features` returns one row per customer with at least one completed
order strictly before ``cutoff`` (the population the churn model scores), computed
from data strictly before ``cutoff`` only: changing or adding any order, order line or
event at or after the cutoff never changes a feature (tested). Money is the ``net``
of :mod:`shoplens.analytics.facts` (one definition shared with KPIs and RFM).

Columns (days are fractional, measured from the cutoff instant):

orders (completed only, unless said otherwise)
    ``recency_days`` since the last completed order; ``frequency`` (orders);
    ``repeat_days`` (distinct shop-local purchase days after the first, the BTYD
    count); ``monetary_total`` and ``monetary_mean`` (net); ``tenure_days`` since the
    first completed order; ``ipt_mean`` / ``ipt_std`` (days between consecutive
    orders; NULL below 2 / 3 orders); ``gap_ratio`` = recency_days / ipt_mean ("3x
    their usual gap"); ``orders_30d``, ``orders_90d``, ``net_90d``; ``trend_30`` and
    ``trend_90`` = the order rate of the last 30 (90) days divided by the customer's
    rate over their whole tenure (1 = steady, 0 = stopped); ``promo_share`` (orders
    with a promo code); ``return_share`` and ``cancel_share`` (over orders of every
    status); ``hour_night`` / ``hour_morning`` / ``hour_afternoon`` /
    ``hour_evening`` (shares of orders at 0-5, 6-11, 12-17, 18-23 h shop time) and
    ``weekend_share``.
events (``events=True``: the events table has rows in the 30 days before the cutoff)
    ``sessions_30d``, ``product_views_30d``, ``cart_adds_30d``, ``cart_abandonment``
    (share of the customer's sessions with an add-to-cart that ended without a
    purchase; NULL without such sessions) and ``days_since_session`` (NULL: no session
    in the window). Without events these columns are absent, not zero.
demographics (``demographics=True``: the customers table has them)
    ``age`` (NULL when unknown), ``gender``, ``country``, ``acquisition_channel``
    (VARCHAR; NULL when unknown).

Category shares live with the next-category model
(:func:`shoplens.models.next_category.category_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.errors import InvalidParameterError
from shoplens.store.db import existing_tables, require_tables

ORDER_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "repeat_days",
    "monetary_total",
    "monetary_mean",
    "tenure_days",
    "ipt_mean",
    "ipt_std",
    "gap_ratio",
    "orders_30d",
    "orders_90d",
    "net_90d",
    "trend_30",
    "trend_90",
    "promo_share",
    "return_share",
    "cancel_share",
    "hour_night",
    "hour_morning",
    "hour_afternoon",
    "hour_evening",
    "weekend_share",
)
EVENT_FEATURES: tuple[str, ...] = (
    "sessions_30d",
    "product_views_30d",
    "cart_adds_30d",
    "cart_abandonment",
    "days_since_session",
)
DEMOGRAPHIC_NUMERIC: tuple[str, ...] = ("age",)
DEMOGRAPHIC_CATEGORICAL: tuple[str, ...] = ("gender", "country", "acquisition_channel")
EVENT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class FeatureSet:
    """Which optional feature groups a model uses (decided once, at training)."""

    events: bool
    demographics: tuple[str, ...]  # the demographic columns present

    @property
    def numeric(self) -> tuple[str, ...]:
        demo = tuple(c for c in self.demographics if c in DEMOGRAPHIC_NUMERIC)
        return ORDER_FEATURES + (EVENT_FEATURES if self.events else ()) + demo

    @property
    def categorical(self) -> tuple[str, ...]:
        return tuple(c for c in self.demographics if c in DEMOGRAPHIC_CATEGORICAL)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


_ORDER_SQL = f"""
WITH f AS (
    SELECT customer_id, order_ts, status, has_promo, CAST(net AS DOUBLE) AS net
    FROM {ORDER_FACTS}
    WHERE customer_id IS NOT NULL AND order_ts < $cutoff
),
done AS (
    SELECT customer_id, order_ts, net, has_promo,
           epoch(order_ts - lag(order_ts) OVER (PARTITION BY customer_id ORDER BY order_ts))
               / 86400.0 AS gap
    FROM f
    WHERE status = 'completed'
),
agg AS (
    SELECT customer_id,
           epoch($cutoff - max(order_ts)) / 86400.0 AS recency_days,
           count(*) AS frequency,
           count(DISTINCT CAST(order_ts AS DATE)) - 1 AS repeat_days,
           sum(net) AS monetary_total,
           avg(net) AS monetary_mean,
           epoch($cutoff - min(order_ts)) / 86400.0 AS tenure_days,
           avg(gap) AS ipt_mean,
           stddev_samp(gap) AS ipt_std,
           count(*) FILTER (WHERE order_ts >= $cutoff - INTERVAL 30 DAY) AS orders_30d,
           count(*) FILTER (WHERE order_ts >= $cutoff - INTERVAL 90 DAY) AS orders_90d,
           coalesce(sum(net) FILTER (WHERE order_ts >= $cutoff - INTERVAL 90 DAY), 0)
               AS net_90d,
           avg(CAST(has_promo AS DOUBLE)) AS promo_share,
           avg(CAST(hour(order_ts) < 6 AS DOUBLE)) AS hour_night,
           avg(CAST(hour(order_ts) BETWEEN 6 AND 11 AS DOUBLE)) AS hour_morning,
           avg(CAST(hour(order_ts) BETWEEN 12 AND 17 AS DOUBLE)) AS hour_afternoon,
           avg(CAST(hour(order_ts) >= 18 AS DOUBLE)) AS hour_evening,
           avg(CAST(isodow(order_ts) >= 6 AS DOUBLE)) AS weekend_share
    FROM done
    GROUP BY customer_id
),
status_agg AS (
    SELECT customer_id,
           avg(CAST(status = 'returned' AS DOUBLE)) AS return_share,
           avg(CAST(status = 'cancelled' AS DOUBLE)) AS cancel_share
    FROM f
    GROUP BY customer_id
)
SELECT a.customer_id, a.recency_days, a.frequency, a.repeat_days, a.monetary_total,
       a.monetary_mean, a.tenure_days, a.ipt_mean, a.ipt_std,
       a.recency_days / nullif(a.ipt_mean, 0) AS gap_ratio,
       a.orders_30d, a.orders_90d, a.net_90d,
       (a.orders_30d / 30.0) / (a.frequency / greatest(a.tenure_days, 30.0)) AS trend_30,
       (a.orders_90d / 90.0) / (a.frequency / greatest(a.tenure_days, 90.0)) AS trend_90,
       a.promo_share, s.return_share, s.cancel_share,
       a.hour_night, a.hour_morning, a.hour_afternoon, a.hour_evening, a.weekend_share
FROM agg AS a
JOIN status_agg AS s USING (customer_id)
"""

_EVENT_SQL = f"""
WITH e AS (
    SELECT customer_id, session_id, event_type, event_ts
    FROM events
    WHERE customer_id IS NOT NULL AND event_ts < $cutoff
      AND event_ts >= $cutoff - INTERVAL {EVENT_WINDOW_DAYS} DAY
),
sessions AS (
    SELECT customer_id, session_id,
           bool_or(event_type = 'add_to_cart') AS carted,
           bool_or(event_type = 'purchase') AS bought,
           count(*) FILTER (WHERE event_type = 'product_view') AS views,
           count(*) FILTER (WHERE event_type = 'add_to_cart') AS adds,
           max(event_ts) AS last_ts
    FROM e
    GROUP BY ALL
)
SELECT customer_id,
       count(*) AS sessions_30d,
       sum(views) AS product_views_30d,
       sum(adds) AS cart_adds_30d,
       avg(CAST(NOT bought AS DOUBLE)) FILTER (WHERE carted) AS cart_abandonment,
       epoch($cutoff - max(last_ts)) / 86400.0 AS days_since_session
FROM sessions
GROUP BY customer_id
"""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return {r[0] for r in rows}


def detect_feature_set(con: duckdb.DuckDBPyConnection, *, cutoff: datetime) -> FeatureSet:
    """The optional groups available at ``cutoff``: events in the window, demographics."""
    tables = existing_tables(con)
    events = False
    if "events" in tables:
        ((n,),) = con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE customer_id IS NOT NULL"
            f" AND event_ts < $cutoff AND event_ts >= $cutoff - INTERVAL {EVENT_WINDOW_DAYS} DAY"
            " LIMIT 1)",
            {"cutoff": cutoff},
        ).fetchall()
        events = bool(n)
    demographics: list[str] = []
    if "customers" in tables:
        present = _columns(con, "customers")
        for col in (*DEMOGRAPHIC_NUMERIC, *DEMOGRAPHIC_CATEGORICAL):
            if col in present:
                ((n,),) = con.execute(
                    f'SELECT count("{col}") FROM customers'  # col is from a fixed list
                ).fetchall()
                if n:
                    demographics.append(col)
    return FeatureSet(events=events, demographics=tuple(demographics))


def customer_features(
    con: duckdb.DuckDBPyConnection, *, cutoff: datetime, feature_set: FeatureSet | None = None
) -> pa.Table:
    """Per customer with a completed order before ``cutoff``: the features (module doc).

    ``cutoff`` is an aware instant. ``feature_set`` fixes the optional groups (so that
    features at several cutoffs have the same columns); by default they are detected
    with :func:`detect_feature_set`. Ordered by customer_id.
    """
    if not isinstance(cutoff, datetime) or cutoff.tzinfo is None:
        raise InvalidParameterError(f"cutoff must be an aware datetime, got {cutoff!r}")
    require_tables(con, ["orders", "order_items"], why="for customer features")
    ensure_order_facts(con)
    fs = feature_set if feature_set is not None else detect_feature_set(con, cutoff=cutoff)
    params = {"cutoff": cutoff}
    parts = [f"({_ORDER_SQL}) AS o"]
    select = ["o.*"]
    if fs.events:
        if "events" not in existing_tables(con):
            raise InvalidParameterError("the feature set needs events but the store has none")
        parts.append(f"LEFT JOIN ({_EVENT_SQL}) AS ev USING (customer_id)")
        select += [
            "coalesce(ev.sessions_30d, 0) AS sessions_30d",
            "coalesce(ev.product_views_30d, 0) AS product_views_30d",
            "coalesce(ev.cart_adds_30d, 0) AS cart_adds_30d",
            "ev.cart_abandonment",
            "ev.days_since_session",
        ]
    if fs.demographics:
        parts.append("LEFT JOIN customers AS c USING (customer_id)")
        select += [
            f"CAST(c.{col} AS DOUBLE) AS {col}"
            if col in DEMOGRAPHIC_NUMERIC
            else f"coalesce(CAST(c.{col} AS VARCHAR), 'unknown') AS {col}"
            for col in fs.demographics
        ]
    sql = f"SELECT {', '.join(select)} FROM {' '.join(parts)} ORDER BY customer_id"
    table = con.sql(sql, params=params).to_arrow_table()
    return table.select(["customer_id", *fs.columns])
