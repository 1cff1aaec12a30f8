"""customer_scores: complete, consistent, and per CONTRACTS.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from shoplens.models.reasons import GROUPS
from shoplens.models.scores import SCORE_SCHEMA
from tests.models.conftest import table_of

CONTRACT_COLUMNS = [
    "customer_id", "as_of", "historic_clv", "predicted_clv", "total_clv", "p_alive",
    "expected_orders", "average_order_value", "average_days_between_orders",
    "expected_next_order_date", "churn_probability", "churn_risk", "next_category",
    "next_category_probability", "next_category_top3", "rfm_segment", "behaviour_segment",
    "churn_reasons",
]  # fmt: skip


def test_scores_complete_and_consistent(scored: Path) -> None:
    t = table_of(scored, "SELECT * FROM customer_scores ORDER BY customer_id")
    assert t.column_names == CONTRACT_COLUMNS == SCORE_SCHEMA.names
    (n_customers,) = table_of(scored, "SELECT count(*) AS n FROM customers")["n"].to_pylist()
    assert t.num_rows == n_customers == 3000
    assert len(set(t["customer_id"].to_pylist())) == t.num_rows
    d = t.to_pandas()
    assert np.allclose(d.total_clv, d.historic_clv + d.predicted_clv, atol=0.011)
    for col in ("churn_probability", "p_alive", "next_category_probability"):
        v = d[col].dropna()
        assert v.between(0, 1).all(), col
    assert d.churn_probability.notna().all()
    assert (d.predicted_clv >= 0).all()
    assert (d.churn_risk == np.where(d.churn_probability >= 0.7, "high",
            np.where(d.churn_probability >= 0.4, "medium", "low"))).all()  # fmt: skip
    assert set(d.churn_risk) == {"low", "medium", "high"}
    assert d.next_category.notna().mean() > 0.9
    assert all(len(top) == 3 and top[0] == first
               for top, first in zip(d.next_category_top3.dropna(), d.next_category.dropna(),
                                     strict=True))  # fmt: skip
    assert all(isinstance(r, np.ndarray | list) and len(r) <= 3 for r in d.churn_reasons)


def test_scores_match_the_store(scored: Path) -> None:
    rows = table_of(
        scored,
        "WITH o AS (SELECT customer_id, max(order_ts) AS last_ts, count(*) AS n"
        " FROM orders WHERE status = 'completed' GROUP BY 1)"
        " SELECT s.*, CAST(o.last_ts AS DATE) AS last_day, o.n"
        " FROM customer_scores s LEFT JOIN o USING (customer_id)",
    ).to_pandas()
    buyers = rows[rows.n.notna()]
    never = rows[rows.n.isna()]
    assert len(buyers) > 2000
    # expected next order after the last order, and NULL when < 1 order is expected
    dated = buyers[buyers.expected_next_order_date.notna()]
    assert (dated.expected_next_order_date > dated.last_day).all()
    assert (buyers.expected_next_order_date.isna() == (buyers.expected_orders < 1)).all()
    # one-time buyers have no average gap; repeat buyers do
    assert buyers[buyers.n == 1].average_days_between_orders.isna().all()
    assert buyers[buyers.n > 1].average_days_between_orders.notna().all()
    # customers without a completed order: no history, no prediction
    assert (never.historic_clv == 0).all()
    assert (never.predicted_clv == 0).all()
    assert never.p_alive.isna().all()
    assert never.rfm_segment.isna().all()
    assert all(list(r) == ["no completed order yet"] for r in never.churn_reasons)
    # the high-risk repeat buyers mostly have a reason about their last order
    high = buyers[(buyers.churn_risk == "high") & (buyers.n > 1)]
    share = np.mean([any(s.startswith("no order for") for s in r) for r in high.churn_reasons])
    assert share > 0.5


def test_historic_clv_is_net_completed_revenue(scored: Path) -> None:
    t = table_of(
        scored,
        "SELECT s.historic_clv, coalesce(sum(i.quantity * i.unit_price - i.discount), 0)"
        " - coalesce(any_value(o.discount), 0) AS line_net, s.customer_id"
        " FROM customer_scores s JOIN orders o USING (customer_id)"
        " JOIN order_items i USING (order_id) WHERE o.status = 'completed'"
        " GROUP BY s.customer_id, s.historic_clv, o.order_id",
    )
    per_customer = t.group_by(["customer_id", "historic_clv"]).aggregate([("line_net", "sum")])
    got = per_customer["historic_clv"].to_numpy()
    want = per_customer["line_net_sum"].to_numpy().astype(float)
    assert np.allclose(got, want, atol=0.01)
    assert pc.sum(per_customer["historic_clv"]).as_py() > 0


def test_reason_groups_cover_the_features(scored: Path) -> None:
    from shoplens.analytics.features import DEMOGRAPHIC_CATEGORICAL, EVENT_FEATURES, ORDER_FEATURES
    from shoplens.models.btyd import BTYD_FEATURES

    grouped = {c for cols in GROUPS.values() for c in cols}
    every = {*ORDER_FEATURES, *EVENT_FEATURES, *BTYD_FEATURES, "age", *DEMOGRAPHIC_CATEGORICAL}
    assert every == grouped
