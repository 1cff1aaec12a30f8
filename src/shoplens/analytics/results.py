"""Readers of the tables other parts write: model scores and evaluation, live KPIs.

``customer_scores`` and ``model_evaluation`` are written by ``shoplens score`` /
``shoplens train`` (issue #7), ``realtime_kpis`` and ``customer_scores_live`` by the
stream processor (issue #9); see ``CONTRACTS.md``. A missing table is "not computed
yet": every reader returns ``None`` then (never raises), and :data:`NOT_COMPUTED`
says which command fills it. Every value from a user (a customer id, filters) is a
bound parameter. Aggregates are computed in SQL so a million customers never travel
to Python.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.analytics.explore import Filters, segment_source
from shoplens.store.db import existing_tables

NOT_COMPUTED: dict[str, str] = {
    "customer_scores": "shoplens score",
    "model_evaluation": "shoplens train",
    "realtime_kpis": "shoplens stream process",
    "customer_scores_live": "shoplens stream process",
    "customer_segments": "shoplens segments",
}

CHURN_RISKS: tuple[str, ...] = ("high", "medium", "low")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return name in existing_tables(con)


def latest_evaluation(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The newest ``model_evaluation`` document (max trained_at), parsed; None if none."""
    if not has_table(con, "model_evaluation"):
        return None
    row = con.execute(
        "SELECT trained_at, evaluation FROM model_evaluation ORDER BY trained_at DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    doc = json.loads(row[1])
    if not isinstance(doc, dict):
        return None
    doc.setdefault("trained_at", row[0].isoformat() if row[0] is not None else None)
    return doc


# customers of a slice (country and segment filters; the period and categories do
# not select customers): a WHERE clause over customer_scores AS s
_CUSTOMER_FILTER = """
  (len(CAST($countries AS VARCHAR[])) = 0 OR s.customer_id IN (
       SELECT customer_id FROM customers
       WHERE list_contains(CAST($countries AS VARCHAR[]), country)))
  AND (len(CAST($segments AS VARCHAR[])) = 0
       OR list_contains(CAST($segments AS VARCHAR[]), s.rfm_segment))
"""


def _customer_params(filters: Filters | None) -> dict[str, Any]:
    f = filters or Filters()
    return {"countries": list(f.countries), "segments": list(f.segments)}


def _where(con: duckdb.DuckDBPyConnection, filters: Filters | None) -> str:
    if filters is not None and filters.countries and not has_table(con, "customers"):
        return "FALSE"
    return _CUSTOMER_FILTER if has_table(con, "customers") else _CUSTOMER_FILTER.split("AND", 1)[1]


def clv_bins(
    con: duckdb.DuckDBPyConnection, filters: Filters | None = None, *, bins: int = 30
) -> pa.Table | None:
    """Histogram of ``total_clv``: bin_start, bin_end, customers (equal-width bins up to
    the 99th percentile; the last bin also holds everyone above it)."""
    if not has_table(con, "customer_scores"):
        return None
    sql = f"""
    WITH s AS (SELECT * FROM customer_scores AS s WHERE {_where(con, filters)}),
    lim AS (SELECT greatest(quantile_cont(total_clv, 0.99), 1e-9) AS hi FROM s),
    b AS (
      SELECT least(greatest(floor(s.total_clv / (lim.hi / $bins)), 0), $bins - 1) AS k
      FROM s, lim
    )
    SELECT k * (SELECT hi FROM lim) / $bins AS bin_start,
           (k + 1) * (SELECT hi FROM lim) / $bins AS bin_end,
           count(*) AS customers
    FROM b GROUP BY k ORDER BY k
    """
    return con.sql(sql, params={**_customer_params(filters), "bins": bins}).to_arrow_table()


def clv_summary(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> pa.Table | None:
    """Per RFM segment: customers and mean historic, predicted and total CLV (by total desc)."""
    if not has_table(con, "customer_scores"):
        return None
    sql = f"""
    SELECT coalesce(rfm_segment, '(none)') AS segment, count(*) AS customers,
           avg(historic_clv) AS historic_clv, avg(predicted_clv) AS predicted_clv,
           avg(total_clv) AS total_clv, sum(total_clv) AS total_clv_sum
    FROM customer_scores AS s WHERE {_where(con, filters)}
    GROUP BY ALL ORDER BY total_clv DESC
    """
    return con.sql(sql, params=_customer_params(filters)).to_arrow_table()


_SCORE_COLUMNS = (
    "customer_id, rfm_segment, behaviour_segment, historic_clv, predicted_clv, total_clv,"
    " p_alive, churn_probability, churn_risk, expected_next_order_date, next_category"
)


def top_customers(
    con: duckdb.DuckDBPyConnection, filters: Filters | None = None, *, limit: int = 20
) -> pa.Table | None:
    """The ``limit`` customers with the highest total CLV."""
    if not has_table(con, "customer_scores"):
        return None
    sql = (
        f"SELECT {_SCORE_COLUMNS} FROM customer_scores AS s WHERE {_where(con, filters)}"
        " ORDER BY total_clv DESC, customer_id LIMIT $limit"
    )
    return con.sql(sql, params={**_customer_params(filters), "limit": limit}).to_arrow_table()


def churn_risk_counts(
    con: duckdb.DuckDBPyConnection, filters: Filters | None = None
) -> pa.Table | None:
    """Per churn risk (high, medium, low): customers, their predicted CLV and share."""
    if not has_table(con, "customer_scores"):
        return None
    sql = f"""
    SELECT churn_risk, count(*) AS customers, sum(predicted_clv) AS predicted_clv,
           count(*) / sum(count(*)) OVER () AS share
    FROM customer_scores AS s WHERE {_where(con, filters)}
    GROUP BY churn_risk
    ORDER BY list_position(['high', 'medium', 'low'], churn_risk) NULLS LAST
    """
    return con.sql(sql, params=_customer_params(filters)).to_arrow_table()


def at_risk_customers(
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None = None,
    *,
    risks: tuple[str, ...] = ("high",),
    limit: int | None = 100,
) -> pa.Table | None:
    """Customers at the given churn risks, most likely churners first, with their reasons.

    ``churn_reasons`` is joined into one text ("; "); ``limit=None`` returns them all
    (for a CSV download).
    """
    if not has_table(con, "customer_scores"):
        return None
    sql = f"""
    SELECT customer_id, churn_probability, churn_risk, predicted_clv, total_clv,
           rfm_segment, array_to_string(churn_reasons, '; ') AS churn_reasons
    FROM customer_scores AS s
    WHERE list_contains(CAST($risks AS VARCHAR[]), churn_risk) AND {_where(con, filters)}
    ORDER BY churn_probability DESC, predicted_clv DESC, customer_id
    {"LIMIT $limit" if limit is not None else ""}
    """
    params: dict[str, Any] = {**_customer_params(filters), "risks": list(risks)}
    if limit is not None:
        params["limit"] = limit
    return con.sql(sql, params=params).to_arrow_table()


def next_category_mix(
    con: duckdb.DuckDBPyConnection, filters: Filters | None = None
) -> pa.Table | None:
    """Per predicted next category: customers and mean probability (most customers first)."""
    if not has_table(con, "customer_scores"):
        return None
    sql = f"""
    SELECT coalesce(next_category, '(no prediction)') AS category, count(*) AS customers,
           avg(next_category_probability) AS mean_probability
    FROM customer_scores AS s WHERE {_where(con, filters)}
    GROUP BY ALL ORDER BY customers DESC, category
    """
    return con.sql(sql, params=_customer_params(filters)).to_arrow_table()


def find_customers(con: duckdb.DuckDBPyConnection, text: str, *, limit: int = 20) -> list[str]:
    """Customer ids equal to or starting with ``text`` (exact match first)."""
    if not text or not has_table(con, "customers"):
        return []
    rows = con.execute(
        "SELECT customer_id FROM customers WHERE starts_with(customer_id, $q)"
        " ORDER BY customer_id <> $q, customer_id LIMIT $limit",
        {"q": text, "limit": limit},
    ).fetchall()
    return [r[0] for r in rows]


def customer_profile(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, Any]:
    """One customer: attributes, segments, scores (None when not computed) and orders."""
    have = existing_tables(con)
    out: dict[str, Any] = {"customer_id": customer_id}
    if "customers" in have:
        rel = con.sql("SELECT * FROM customers WHERE customer_id = $id", params={"id": customer_id})
        rows = rel.to_arrow_table().to_pylist()
        out["customer"] = rows[0] if rows else None
    seg = segment_source(con)
    if seg == "customer_segments":
        rows = (
            con.sql(
                "SELECT rfm_segment, behaviour_segment, recency_days, frequency, monetary,"
                " rfm_score FROM customer_segments WHERE customer_id = $id",
                params={"id": customer_id},
            )
            .to_arrow_table()
            .to_pylist()
        )
        out["segments"] = rows[0] if rows else None
    for table in ("customer_scores", "customer_scores_live"):
        if table in have:
            rows = (
                con.sql(
                    f"SELECT * FROM {table} WHERE customer_id = $id", params={"id": customer_id}
                )
                .to_arrow_table()
                .to_pylist()
            )
            out[table] = rows[0] if rows else None
        else:
            out[table] = None
    out["orders"] = con.sql(
        """
        SELECT o.order_id, o.order_ts, o.status, o.promo_code,
               round(CAST(coalesce(sum(i.quantity * i.unit_price - i.discount), 0)
                          - o.discount AS DOUBLE), 2) AS net_value,
               CAST(coalesce(sum(i.quantity), 0) AS BIGINT) AS units
        FROM orders AS o LEFT JOIN order_items AS i ON i.order_id = o.order_id
        WHERE o.customer_id = $id
        GROUP BY o.order_id, o.order_ts, o.status, o.promo_code, o.discount
        ORDER BY o.order_ts DESC
        """,
        params={"id": customer_id},
    ).to_arrow_table()
    return out


def realtime_windows(
    con: duckdb.DuckDBPyConnection, *, window: str = "1m", dimension: str = "all", last: int = 60
) -> pa.Table | None:
    """The ``last`` windows of ``realtime_kpis`` for one window size and dimension, oldest first."""
    if not has_table(con, "realtime_kpis"):
        return None
    sql = """
    SELECT * FROM (
      SELECT * FROM realtime_kpis WHERE "window" = $window AND dimension = $dimension
      ORDER BY window_start DESC LIMIT $last
    ) ORDER BY window_start, dimension_value
    """
    params = {"window": window, "dimension": dimension, "last": last}
    return con.sql(sql, params=params).to_arrow_table()


def live_scores(con: duckdb.DuckDBPyConnection, *, limit: int = 20) -> pa.Table | None:
    """The most recently updated rows of ``customer_scores_live``."""
    if not has_table(con, "customer_scores_live"):
        return None
    return con.sql(
        "SELECT customer_id, last_order_ts, orders, spend, rfm_segment, churn_probability,"
        " predicted_clv, updated_at FROM customer_scores_live"
        " ORDER BY updated_at DESC, customer_id LIMIT $limit",
        params={"limit": limit},
    ).to_arrow_table()


def rfm_cells(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> pa.Table | None:
    """Customers per (r_score, fm_score, segment) cell of ``customer_segments``; None if absent."""
    if not has_table(con, "customer_segments"):
        return None
    sql = f"""
    SELECT r_score, fm_score, rfm_segment AS segment, count(*) AS customers,
           round(sum(monetary), 2) AS revenue
    FROM customer_segments AS s WHERE {_where(con, filters)}
    GROUP BY ALL ORDER BY r_score, fm_score
    """
    return con.sql(sql, params=_customer_params(filters)).to_arrow_table()
