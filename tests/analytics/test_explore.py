"""Filtered slices for the dashboard: equal to compute_kpis unfiltered, filters bound safely."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shoplens import analytics
from shoplens.analytics import results
from shoplens.analytics.explore import (
    Filters,
    compare_periods,
    filter_options,
    slice_cohorts,
    slice_kpis,
)
from shoplens.errors import InvalidParameterError
from shoplens.store import open_store, write_result
from tests.conftest import MakeStore
from tests.contract_tables import write_model_tables

INJECTIONS = (
    "x'); DROP TABLE orders; --",
    "' OR '1'='1",
    "DE' UNION SELECT 1 --",
    '"; SELECT 1; --',
    "%",
)


@pytest.fixture
def shop(make_store: MakeStore) -> Path:
    customers = [
        {"customer_id": "a", "signup_ts": "2025-01-01 00:00", "country": "DE", "age": 30},
        {"customer_id": "b", "signup_ts": "2025-01-01 00:00", "country": "FR", "age": 50},
        {"customer_id": "c", "signup_ts": "2025-01-01 00:00", "country": "DE", "age": 20},
    ]
    products = [
        {"product_id": "p1", "name": "Book", "category": "books", "unit_price": 10},
        {"product_id": "p2", "name": "Toy", "category": "toys", "unit_price": 20},
    ]
    orders = [
        {"order_id": "o1", "customer_id": "a", "order_ts": "2025-01-05 10:00", "promo_code": "X"},
        {"order_id": "o2", "customer_id": "a", "order_ts": "2025-02-05 10:00", "discount": 5},
        {"order_id": "o3", "customer_id": "b", "order_ts": "2025-02-06 21:00"},
        {"order_id": "o4", "customer_id": "c", "order_ts": "2025-02-07 09:00",
         "status": "cancelled"},
        {"order_id": "o5", "customer_id": None, "order_ts": "2025-02-08 09:00"},
        {"order_id": "o6", "customer_id": "c", "order_ts": "2025-03-01 12:00",
         "status": "returned"},
    ]  # fmt: skip
    items = [
        {"order_id": "o1", "line_no": 1, "product_id": "p1", "quantity": 2, "unit_price": 10},
        {"order_id": "o2", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10},
        {"order_id": "o2", "line_no": 2, "product_id": "p2", "quantity": 1, "unit_price": 30},
        {"order_id": "o3", "line_no": 1, "product_id": "p2", "quantity": 3, "unit_price": 20},
        {"order_id": "o4", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10},
        {"order_id": "o5", "line_no": 1, "product_id": "p2", "quantity": 1, "unit_price": 25,
         "discount": 5},
        {"order_id": "o6", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10},
    ]  # fmt: skip
    path = make_store(customers=customers, products=products, orders=orders, order_items=items)
    con = open_store(path)
    write_result(con, "customer_segments", analytics.assign_segments(con))
    con.close()
    return path


def test_unfiltered_slice_equals_compute_kpis(shop: Path) -> None:
    con = open_store(shop, read_only=True)
    try:
        for period in (Filters(), Filters(date(2025, 2, 1), date(2025, 2, 28))):
            mine = slice_kpis(con, period).to_pylist()[0]
            ref = analytics.compute_kpis(con, start=period.start, end=period.end).to_pylist()[0]
            assert mine == {k: ref[k] for k in mine}
        for by in ("country", "category", "weekday", "hour", "age_group", "month", "channel"):
            mine_t = slice_kpis(con, Filters(), by=by)
            ref_t = analytics.compute_kpis(con, by=by)
            assert mine_t.column(by).to_pylist() == ref_t.column(by).to_pylist(), by
            assert (
                mine_t.column("net_revenue").to_pylist() == ref_t.column("net_revenue").to_pylist()
            ), by
    finally:
        con.close()


def test_filters_select_orders(shop: Path) -> None:
    con = open_store(shop, read_only=True)
    try:
        de = slice_kpis(con, Filters(countries=("DE",))).to_pylist()[0]
        # a: o1 (20) + o2 (40 - 5); c: cancelled and returned only
        assert de["net_revenue"] == 55.0
        assert de["orders"] == 4
        assert de["customers"] == 1
        toys = slice_kpis(con, Filters(categories=("toys",))).to_pylist()[0]
        assert toys["orders"] == 3  # o2, o3, o5 contain toys
        assert toys["net_revenue"] == 35.0 + 60.0 + 20.0  # whole orders
        feb = slice_kpis(con, Filters(date(2025, 2, 1), date(2025, 2, 28), ("DE",)))
        assert feb.to_pylist()[0]["net_revenue"] == 35.0
        by_cat = {r["category"]: r for r in slice_kpis(con, Filters(countries=("DE",)),
                                                        by="category").to_pylist()}  # fmt: skip
        assert by_cat["books"]["net_revenue"] == 20.0 + 10.0 - 5 * 10 / 40
        segments = filter_options(con)["segments"]
        seg = segments[0]
        members = con.execute(
            "SELECT customer_id FROM customer_segments WHERE rfm_segment = ?", [seg]
        ).fetchall()
        only = slice_kpis(con, Filters(segments=(seg,))).to_pylist()[0]
        assert only["customers"] == len(members)
    finally:
        con.close()


def test_compare_periods_uses_the_period_before(shop: Path) -> None:
    con = open_store(shop, read_only=True)
    try:
        table = compare_periods(con, Filters(date(2025, 2, 1), date(2025, 2, 28)))
        cur, prev = table.to_pylist()
        assert (cur["period"], prev["period"]) == ("current", "previous")
        assert prev["net_revenue"] == 20.0  # o1, 2025-01-05, inside the 28 days before
        assert cur["net_revenue"] == 35.0 + 60.0 + 20.0
        with pytest.raises(InvalidParameterError):
            compare_periods(con, Filters())
    finally:
        con.close()


def test_slice_cohorts_long_form(shop: Path) -> None:
    con = open_store(shop, read_only=True)
    try:
        rows = slice_cohorts(con, Filters()).to_pylist()
        jan = [r for r in rows if r["cohort"] == "2025-01"]
        assert [(r["months_since"], r["active_customers"]) for r in jan] == [(0, 1), (1, 1)]
        assert jan[1]["value"] == 1.0
        feb = [r for r in rows if r["cohort"] == "2025-02"]
        assert feb[0]["cohort_size"] == 1  # b (c never completed an order)
    finally:
        con.close()


def test_injection_values_are_plain_values(shop: Path) -> None:
    con = open_store(shop, read_only=True)
    try:
        cases = [
            (e, f)
            for e in INJECTIONS
            for f in (Filters(countries=(e,)), Filters(categories=(e,)), Filters(segments=(e,)))
        ]
        for evil, f in cases:
            row = slice_kpis(con, f).to_pylist()[0]
            assert row["orders"] == 0
            assert results.find_customers(con, evil) == []
        every = Filters(countries=INJECTIONS, categories=INJECTIONS, segments=INJECTIONS)
        assert slice_kpis(con, every, by="category").num_rows == 0
        assert slice_cohorts(con, every).num_rows == 0
        assert results.customer_profile(con, INJECTIONS[0])["orders"].num_rows == 0
        ((n,),) = con.execute("SELECT count(*) FROM orders").fetchall()
        assert n == 6
    finally:
        con.close()


def test_bad_filters() -> None:
    with pytest.raises(InvalidParameterError, match="after its end"):
        Filters(date(2025, 2, 2), date(2025, 2, 1))
    with pytest.raises(InvalidParameterError, match="tuple of strings"):
        Filters(countries=["DE"])  # type: ignore[arg-type]


def test_segment_filter_without_segments(make_store: MakeStore) -> None:
    path = make_store(orders=[{"order_id": "o", "order_ts": "2025-01-01 10:00"}])
    con = open_store(path, read_only=True)
    try:
        assert filter_options(con)["segments"] == []
        with pytest.raises(InvalidParameterError, match="shoplens segments"):
            slice_kpis(con, Filters(segments=("Champions",)))
    finally:
        con.close()


def test_results_readers_both_states(shop: Path) -> None:
    con = open_store(shop)
    try:
        for reader in (results.clv_bins, results.clv_summary, results.top_customers,
                       results.churn_risk_counts, results.at_risk_customers,
                       results.next_category_mix):  # fmt: skip
            assert reader(con) is None
        assert results.latest_evaluation(con) is None
        assert results.realtime_windows(con) is None
        write_model_tables(con, ["a", "b", "c"])
        risk = {r["churn_risk"]: r["customers"] for r in results.churn_risk_counts(con).to_pylist()}  # type: ignore[union-attr]
        assert risk == {"low": 3}  # probabilities 0.0, 0.1, 0.2
        top = results.top_customers(con, limit=2)
        assert top is not None
        assert top.column("customer_id").to_pylist() == ["c", "b"]
        de = results.top_customers(con, Filters(countries=("DE",)))
        assert de is not None
        assert sorted(de.column("customer_id").to_pylist()) == ["a", "c"]
        bins = results.clv_bins(con)
        assert bins is not None
        assert sum(bins.column("customers").to_pylist()) == 3
        evaluation = results.latest_evaluation(con)
        assert evaluation is not None
        assert evaluation["churn"]["chosen"] == "hist_gradient_boosting"
        profile = results.customer_profile(con, "a")
        assert profile["customer_scores"]["historic_clv"] == 100.0
        assert profile["orders"].column("order_id").to_pylist() == ["o2", "o1"]
        assert profile["orders"].column("net_value").to_pylist() == [35.0, 20.0]
        assert results.find_customers(con, "") == []
        assert results.find_customers(con, "a") == ["a"]
    finally:
        con.close()
