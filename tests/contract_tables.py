"""Hand-made tables exactly as CONTRACTS.md defines them (models #7, stream #9).

Tests of the report and the dashboard write these into a store to check both states
of every model and live section: "not computed yet" and computed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.store import write_result

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)

CUSTOMER_SCORES_SCHEMA = pa.schema(
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

EVALUATION: dict[str, Any] = {
    "shoplens": "evaluate",
    "version": 1,
    "cutoff": "2025-10-02",
    "horizon_days": 90,
    "clv": {
        "time_unit": "day",
        "bgnbd": {
            "params": {"r": 0.8, "alpha": 60.0, "a": 0.5, "b": 3.0},
            "stderr": {"r": 0.01, "alpha": 1.0, "a": 0.02, "b": 0.1},
            "log_likelihood": -1234.5,
            "customers": 100,
        },
        "gamma_gamma": {
            "params": {"p": 6.0, "q": 3.7, "gamma": 15.0},
            "stderr": {"p": 0.1, "q": 0.1, "gamma": 0.5},
            "log_likelihood": -456.7,
            "customers": 60,
        },
        "calibration": [
            {"frequency": 0, "customers": 40, "predicted": 0.3, "actual": 0.28},
            {"frequency": 1, "customers": 30, "predicted": 0.8, "actual": 0.85},
        ],
    },
    "churn": {
        "chosen": "hist_gradient_boosting",
        "model": {
            "roc_auc": 0.82,
            "pr_auc": 0.74,
            "brier": 0.16,
            "top_decile_lift": 3.1,
            "threshold": 0.5,
            "confusion_matrix": [[40, 8], [6, 46]],
        },
        "baselines": {
            "hiatus": {
                "roc_auc": 0.76, "pr_auc": 0.66, "brier": 0.2, "top_decile_lift": 2.2,
                "threshold": 0.5, "confusion_matrix": [[38, 10], [9, 43]], "days": 120,
            },
            "p_alive": {"roc_auc": 0.75, "pr_auc": 0.65, "brier": 0.21, "top_decile_lift": 2.0},
            "bgnbd_p_zero": {"roc_auc": 0.8, "pr_auc": 0.7, "brier": 0.18, "top_decile_lift": 2.6},
        },
        "oracle": {"roc_auc": 0.88, "pr_auc": 0.8, "brier": 0.12, "top_decile_lift": 3.5},
        "importance": [
            {"feature": "recency_days", "importance": 0.11, "std": 0.01},
            {"feature": "frequency", "importance": 0.04, "std": 0.005},
            {"feature": "hour_mean", "importance": 0.002, "std": 0.001},
        ],
        "calibration_curve": [
            {"predicted": 0.1, "observed": 0.12},
            {"predicted": 0.5, "observed": 0.47},
            {"predicted": 0.9, "observed": 0.86},
        ],
    },
    "preference": {
        "model": {"top1": 0.42, "top3": 0.71},
        "baselines": {
            "most_frequent": {"top1": 0.35, "top3": 0.62},
            "most_popular": {"top1": 0.2, "top3": 0.45},
        },
        "oracle": {"top1": 0.5, "top3": 0.8},
        "importance": [{"feature": "share_electronics", "importance": 0.09, "std": 0.01}],
    },
}  # fmt: skip


def customer_scores(customer_ids: list[str], segments: dict[str, str] | None = None) -> pa.Table:
    """One row per customer; customer i gets churn probability (i % 10) / 10."""
    rows = []
    for i, cid in enumerate(customer_ids):
        p = (i % 10) / 10
        historic = 100.0 + 10 * i
        predicted = 50.0 * (1 - p)
        rows.append(
            {
                "customer_id": cid,
                "as_of": AS_OF,
                "historic_clv": historic,
                "predicted_clv": predicted,
                "total_clv": historic + predicted,
                "p_alive": 1 - p,
                "expected_orders": 2 * (1 - p),
                "average_order_value": 50.0,
                "average_days_between_orders": None if i % 3 == 0 else 30.0,
                "expected_next_order_date": None if i % 3 == 0 else date(2026, 1, 31),
                "churn_probability": p,
                "churn_risk": "high" if p >= 0.7 else "medium" if p >= 0.4 else "low",
                "next_category": ["books", "toys", None][i % 3],
                "next_category_probability": None if i % 3 == 2 else 0.5,
                "next_category_top3": ["books", "toys", "garden"],
                "rfm_segment": (segments or {}).get(cid, "At Risk" if p >= 0.7 else "Champions"),
                "behaviour_segment": "Regular",
                "churn_reasons": [f"no order for {40 + i} days, 3x their usual gap"],
            }
        )
    return pa.Table.from_pylist(rows, schema=CUSTOMER_SCORES_SCHEMA)


def write_model_tables(
    con: duckdb.DuckDBPyConnection,
    customer_ids: list[str],
    evaluation: dict[str, Any] | None = None,
) -> None:
    """Write ``customer_scores`` and ``model_evaluation`` as the models branch would."""
    write_result(
        con,
        "customer_scores",
        customer_scores(customer_ids),
        {
            "as_of": AS_OF.isoformat(), "clv_horizon_days": 365, "annual_discount_rate": 0.1,
            "timezone": "UTC", "model_trained_at": AS_OF.isoformat(),
        },
    )  # fmt: skip
    doc = json.dumps(evaluation or EVALUATION)
    evaluations = pa.table(
        {
            "trained_at": pa.array(
                [AS_OF - timedelta(days=1), AS_OF], pa.timestamp("us", tz="UTC")
            ),
            "cutoff": pa.array([date(2025, 9, 1), date(2025, 10, 2)], pa.date32()),
            "horizon_days": pa.array([90, 90], pa.int32()),
            "evaluation": [json.dumps({"churn": {}, "stale": True}), doc],
        }
    )
    write_result(con, "model_evaluation", evaluations, {})


def write_stream_tables(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Write ``realtime_kpis`` (5 one-minute windows) and ``customer_scores_live``."""
    starts = [now - timedelta(minutes=5 - k) for k in range(5)]
    con.execute(
        """
        CREATE OR REPLACE TABLE realtime_kpis (
          "window" VARCHAR, window_start TIMESTAMPTZ, window_end TIMESTAMPTZ,
          dimension VARCHAR, dimension_value VARCHAR, revenue DECIMAL(18, 2), orders BIGINT,
          average_basket DOUBLE, active_customers BIGINT, promo_share DOUBLE,
          updated_at TIMESTAMPTZ,
          PRIMARY KEY ("window", window_start, dimension, dimension_value))
        """
    )
    for k, start in enumerate(starts):
        con.execute(
            "INSERT INTO realtime_kpis VALUES ('1m', ?, ?, 'all', 'all', ?, ?, ?, ?, 0.25, ?)",
            [start, start + timedelta(minutes=1), Decimal(f"{100 * (k + 1)}.50"), k + 1,
             (100 * (k + 1) + 0.5) / (k + 1), k + 1, now],
        )  # fmt: skip
        con.execute(
            "INSERT INTO realtime_kpis VALUES ('1m', ?, ?, 'country', 'DE', ?, 1, 10.0, 1, 0, ?)",
            [start, start + timedelta(minutes=1), Decimal("10.00"), now],
        )
    con.execute(
        """
        CREATE OR REPLACE TABLE customer_scores_live (
          customer_id VARCHAR PRIMARY KEY, last_order_ts TIMESTAMPTZ, orders BIGINT,
          spend DECIMAL(18, 2), last_categories VARCHAR[], rfm_segment VARCHAR,
          churn_probability DOUBLE, predicted_clv DOUBLE, updated_at TIMESTAMPTZ)
        """
    )
    con.execute(
        "INSERT INTO customer_scores_live VALUES"
        " ('c1', ?, 3, 150.00, ['books'], 'Champions', NULL, NULL, ?)",
        [now, now],
    )
