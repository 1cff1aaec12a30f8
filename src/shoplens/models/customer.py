"""One customer's history and scores, and summaries of ``customer_scores`` (data only)."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.errors import InvalidParameterError
from shoplens.store.db import existing_tables

RISKS = ("high", "medium", "low")


def customer_view(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, Any]:
    """{"customer_id", "profile", "orders", "scores"}; scores is None before ``score``.

    Raises :class:`InvalidParameterError` for a customer the store does not know.
    """
    tables = existing_tables(con)
    profile: dict[str, Any] = {}
    if "customers" in tables:
        rel = con.execute("SELECT * FROM customers WHERE customer_id = ?", [customer_id])
        names = [d[0] for d in rel.description or []]
        rows = rel.fetchall()
        if rows:
            profile = {k: v for k, v in zip(names, rows[0], strict=True) if k != "customer_id"}
    ensure_order_facts(con)
    orders = con.execute(
        f"SELECT order_id, order_ts, status, CAST(net AS DOUBLE) AS net, units, has_promo"
        f" FROM {ORDER_FACTS} WHERE customer_id = ? ORDER BY order_ts, order_id",
        [customer_id],
    ).fetchall()
    if not profile and not orders:
        raise InvalidParameterError(f"unknown customer {customer_id!r}: no account and no order")
    order_rows = [
        dict(zip(("order_id", "order_ts", "status", "net", "units", "promo"), r, strict=True))
        for r in orders
    ]
    scores = None
    if "customer_scores" in tables:
        rel = con.execute("SELECT * FROM customer_scores WHERE customer_id = ?", [customer_id])
        names = [d[0] for d in rel.description or []]
        rows = rel.fetchall()
        if rows:
            scores = dict(zip(names, rows[0], strict=True))
    return {"customer_id": customer_id, "profile": profile, "orders": order_rows, "scores": scores}


def risk_summary(scores: pa.Table) -> pa.Table:
    """Per churn risk: customers, mean churn probability, total and predicted CLV."""
    rows = []
    for risk in RISKS:
        sub = scores.filter(pc.equal(scores["churn_risk"], risk))
        rows.append(
            {
                "churn_risk": risk,
                "customers": sub.num_rows,
                "mean_churn_probability": pc.mean(sub["churn_probability"]).as_py(),
                "historic_clv": pc.sum(sub["historic_clv"]).as_py(),
                "predicted_clv": pc.sum(sub["predicted_clv"]).as_py(),
            }
        )
    return pa.Table.from_pylist(rows)


def top_customers(scores: pa.Table, n: int = 10) -> pa.Table:
    """The ``n`` customers with the largest total CLV among the high-risk ones."""
    sub = scores.filter(pc.equal(scores["churn_risk"], "high"))
    sub = sub.sort_by([("total_clv", "descending")]).slice(0, n)
    return sub.select(["customer_id", "total_clv", "churn_probability", "p_alive", "rfm_segment"])
