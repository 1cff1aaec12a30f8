"""``score``: every customer's value, churn risk and next category, from the saved models.

:func:`score_customers` returns the ``customer_scores`` table of CONTRACTS.md, one row
per customer with an account (the ``customers`` table; without one, every customer id
of ``orders``), as of ``as_of`` = the shop-local midnight after the last order:

- ``historic_clv``: net revenue of their completed orders so far;
- ``predicted_clv``: BG/NBD expected purchases x Gamma-Gamma expected spend over the
  CLV horizon, discounted at the annual rate (:func:`shoplens.models.clv.customer_lifetime_value`);
  0 for customers without a completed order; ``total_clv`` = historic + predicted;
- ``p_alive``, ``expected_orders`` (BG/NBD, in the CLV horizon; repeat purchase days);
  NULL without a completed order;
- ``average_order_value`` (mean net completed order), ``average_days_between_orders``
  (NULL for one-time buyers);
- ``expected_next_order_date``: ``as_of`` + horizon / expected_orders, the day by
  which one order is expected at the predicted pace; NULL when fewer than one order is
  expected in the horizon (not predictable);
- ``churn_probability``: the churn model's P(no completed order in the training
  horizon); customers without a completed order get the share of such customers who
  did not buy in the holdout (a base rate, stated in the model's metadata);
- ``churn_risk``: ``high`` from ``churn_high`` (default 0.7), ``medium`` from
  ``churn_medium`` (default 0.4), else ``low`` (settings);
- ``next_category`` / ``next_category_probability`` / ``next_category_top3`` from the
  next-category model (NULL without one);
- ``rfm_segment``, ``behaviour_segment`` (:func:`shoplens.analytics.assign_segments`);
- ``churn_reasons``: see :mod:`shoplens.models.reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from shoplens.analytics import SegmentRules, assign_segments
from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.analytics.features import FeatureSet
from shoplens.errors import ModelError
from shoplens.models import btyd
from shoplens.models.churn import churn_probability
from shoplens.models.clv import customer_lifetime_value
from shoplens.models.reasons import churn_reasons
from shoplens.models.split import data_range
from shoplens.models.training import feature_frame
from shoplens.store.db import existing_tables

SCORE_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of", pa.timestamp("us", tz="UTC")),
        ("historic_clv", pa.float64()),
        ("predicted_clv", pa.float64()),
        ("total_clv", pa.float64()),
        ("p_alive", pa.float64()),
        ("expected_orders", pa.float64()),
        ("average_order_value", pa.float64()),
        ("average_days_between_orders", pa.float64()),
        ("expected_next_order_date", pa.date32()),
        ("churn_probability", pa.float64()),
        ("churn_risk", pa.string()),
        ("next_category", pa.string()),
        ("next_category_probability", pa.float64()),
        ("next_category_top3", pa.list_(pa.string())),
        ("rfm_segment", pa.string()),
        ("behaviour_segment", pa.string()),
        ("churn_reasons", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class ScoreSettings:
    clv_horizon_days: int = 365
    annual_discount_rate: float = 0.10
    churn_medium: float = 0.4
    churn_high: float = 0.7
    currency: str = "EUR"


def _customers(con: duckdb.DuckDBPyConnection) -> list[str]:
    if "customers" in existing_tables(con):
        rows = con.execute("SELECT customer_id FROM customers ORDER BY customer_id").fetchall()
        if rows:
            return [r[0] for r in rows]
    rows = con.execute(
        "SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def risk_label(p: np.ndarray, medium: float, high: float) -> np.ndarray:
    return np.where(p >= high, "high", np.where(p >= medium, "medium", "low"))


def _next_category(
    con: duckdb.DuckDBPyConnection,
    model: tuple[Any, dict[str, Any]] | None,
    as_of: datetime,
    timezone: str,
    ids: pd.Index,
) -> pd.DataFrame:
    cols = ["next_category", "next_category_probability", "next_category_top3"]
    if model is None:
        return pd.DataFrame(index=ids, columns=cols, dtype=object)
    from shoplens.models import next_category as nc

    clf, meta = model
    X = nc.feature_frame(
        nc.category_history(con, as_of=as_of, timezone=timezone, categories=meta["categories"])
    )
    proba = clf.predict_proba(X)
    order = np.argsort(-proba, axis=1, kind="stable")[:, :3]
    classes = np.asarray(clf.classes_, dtype=object)
    top = classes[order]
    out = pd.DataFrame(
        {
            "next_category": top[:, 0],
            "next_category_probability": proba[np.arange(len(proba)), order[:, 0]],
            "next_category_top3": [list(r) for r in top],
        },
        index=X.index,
    )
    return out.reindex(ids)


def score_customers(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, tuple[Any, dict[str, Any]]],
    *,
    timezone: str,
    settings: ScoreSettings,
    rules: SegmentRules | None = None,
) -> pa.Table:
    """The ``customer_scores`` table (module docstring), from the models of ``train``."""
    if "churn" not in models or "bgnbd" not in models:
        raise ModelError("no trained churn and BG/NBD models in the store: run 'shoplens train'")
    _, as_of = data_range(con, timezone)
    churn_est, churn_meta = models["churn"]
    bg, _ = models["bgnbd"]
    gg = models.get("gamma_gamma", (None, {}))[0]
    fs = FeatureSet(
        events=bool(churn_meta["events"]), demographics=tuple(churn_meta["demographics"])
    )
    columns = [*churn_meta["numeric"], *churn_meta["categorical"]]
    ids = pd.Index(_customers(con), name="customer_id")

    summary = btyd.summary_frame(con, as_of=as_of, timezone=timezone)
    X = feature_frame(
        con,
        at=as_of,
        feature_set=fs,
        bgnbd=bg,
        summary=summary,
        horizon_days=int(churn_meta["horizon_days"]),
    )
    p_churn = churn_probability(churn_est, X[columns])
    reasons = churn_reasons(churn_est, X[columns], p_churn, currency=settings.currency)

    f, r, t = (summary[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    h = float(settings.clv_horizon_days)
    clv = pd.DataFrame(
        {
            "p_alive": bg.p_alive(f, r, t),
            "expected_orders": bg.expected_purchases(h, f, r, t),
            "predicted_clv": (
                customer_lifetime_value(
                    bg,
                    gg,
                    f,
                    r,
                    t,
                    summary["monetary"].to_numpy(np.float64),
                    horizon=h,
                    annual_discount_rate=settings.annual_discount_rate,
                    spend_frequency=summary["spend_frequency"].to_numpy(np.float64),
                )
                if gg is not None
                else np.full(len(f), np.nan)
            ),
        },
        index=summary.index,
    ).reindex(ids)

    ensure_order_facts(con)
    historic = (
        con.execute(
            f"SELECT customer_id, CAST(sum(net) AS DOUBLE) AS v FROM {ORDER_FACTS}"
            " WHERE status = 'completed' AND customer_id IS NOT NULL AND order_ts < ?"
            " GROUP BY 1",
            [as_of],
        )
        .df()
        .set_index("customer_id")["v"]
        .reindex(ids)
        .fillna(0.0)
    )
    seg = assign_segments(con, rules=rules).to_pandas().set_index("customer_id")
    seg = seg.reindex(ids)
    nxt = _next_category(con, models.get("next_category"), as_of, timezone, ids)

    base = float(churn_meta.get("newcomer_churn_rate", 1.0))
    p_series = pd.Series(p_churn, index=X.index).reindex(ids)
    buyer = p_series.notna().to_numpy()
    p_all = p_series.fillna(base).to_numpy(np.float64)
    reason_all = pd.Series(reasons, index=X.index, dtype=object).reindex(ids)
    reason_list = [
        list(v) if isinstance(v, list) else ["no completed order yet"] for v in reason_all
    ]
    aov = X["monetary_mean"].reindex(ids)
    gap = X["ipt_mean"].reindex(ids)
    exp_orders = clv["expected_orders"].to_numpy(np.float64)
    predicted = np.where(buyer, clv["predicted_clv"].to_numpy(np.float64), 0.0)
    as_of_day = as_of.date()
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = h / exp_orders
    next_date = [
        as_of_day + timedelta(days=int(np.ceil(w))) if e >= 1.0 else None
        for w, e in zip(wait, np.nan_to_num(exp_orders, nan=0.0), strict=True)
    ]
    hist = historic.to_numpy(np.float64)
    data = {
        "customer_id": list(ids),
        "as_of": [as_of] * len(ids),
        "historic_clv": np.round(hist, 2),
        "predicted_clv": np.round(predicted, 2),
        "total_clv": np.round(hist + predicted, 2),
        "p_alive": clv["p_alive"].to_numpy(np.float64),
        "expected_orders": exp_orders,
        "average_order_value": aov.to_numpy(np.float64),
        "average_days_between_orders": gap.to_numpy(np.float64),
        "expected_next_order_date": next_date,
        "churn_probability": p_all,
        "churn_risk": risk_label(p_all, settings.churn_medium, settings.churn_high),
        "next_category": nxt["next_category"].tolist(),
        "next_category_probability": nxt["next_category_probability"].to_numpy(np.float64),
        "next_category_top3": [
            v if isinstance(v, list) else None for v in nxt["next_category_top3"]
        ],
        "rfm_segment": seg["rfm_segment"].tolist(),
        "behaviour_segment": seg["behaviour_segment"].tolist(),
        "churn_reasons": reason_list,
    }
    arrays = [
        pa.array(
            [None if isinstance(v, float) and np.isnan(v) else v for v in data[f.name]]
            if f.type in (pa.string(),) or pa.types.is_list(f.type)
            else data[f.name],
            type=f.type,
            from_pandas=True,
        )
        for f in SCORE_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=SCORE_SCHEMA)
