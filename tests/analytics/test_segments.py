from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from shoplens.analytics.segments import (
    ASSIGNMENT_COLUMNS,
    BEHAVIOUR_SEGMENTS,
    RFM_SEGMENT_NAMES,
    RFM_SEGMENTS,
    SUMMARY_COLUMNS,
    SegmentRules,
    assign_segments,
    rfm_segment_of,
    segment_summary,
)
from shoplens.errors import InvalidParameterError, StoreError
from tests.conftest import MakeStore

EXPECTED_GRID = {
    # r: segments for fm = 1..5
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers",
        "Loyal Customers"],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers",
        "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"],
}  # fmt: skip


def orders_of(
    spec: Mapping[str, Sequence[tuple[str, float, bool]]],
) -> dict[str, list[dict[str, Any]]]:
    """{customer: [(ts, amount, promo), ...]} -> orders and one line per order."""
    orders, items = [], []
    for cust, rows in spec.items():
        for k, (ts, amount, promo) in enumerate(rows):
            oid = f"{cust}-{k}"
            orders.append(
                {"order_id": oid, "customer_id": cust, "order_ts": ts,
                 "promo_code": "PROMO" if promo else None}
            )  # fmt: skip
            items.append({"order_id": oid, "product_id": "p", "quantity": 1, "unit_price": amount})
    return {"orders": orders, "order_items": items}


def test_mapping_covers_every_cell_exactly_once() -> None:
    assert RFM_SEGMENT_NAMES == (
        "Champions",
        "Loyal Customers",
        "Potential Loyalists",
        "New Customers",
        "Promising",
        "Need Attention",
        "About To Sleep",
        "At Risk",
        "Can't Lose Them",
        "Hibernating",
        "Lost",
    )
    for r in range(1, 6):
        for fm in range(1, 6):
            owners = [
                name
                for name, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENTS
                if r_lo <= r <= r_hi and fm_lo <= fm <= fm_hi
            ]
            assert len(owners) == 1, (r, fm, owners)
            assert owners[0] == EXPECTED_GRID[r][fm - 1] == rfm_segment_of(r, fm)
    reachable = {name for row in EXPECTED_GRID.values() for name in row}
    assert reachable == set(RFM_SEGMENT_NAMES)
    for _, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENTS:
        assert 1 <= r_lo <= r_hi <= 5
        assert 1 <= fm_lo <= fm_hi <= 5


def test_every_grid_cell_is_assigned_in_sql(make_store: MakeStore, open_con) -> None:
    # 25 customers, one per (r, fm) cell, in tie groups of 5 that line up with the
    # quintiles: customer "r{r}fm{fm}" has fm orders of 10 euros (f = m = fm), the last
    # on Jan 10 + r (the five customers of an r share a day).
    spec: dict[str, list[tuple[str, float, bool]]] = {}
    for r in range(1, 6):
        for fm in range(1, 6):
            spec[f"r{r}fm{fm}"] = [
                (f"2025-01-{10 + r - k:02d} 12:00", 10, False) for k in range(fm)
            ]
    rows = assign_segments(open_con(make_store(**orders_of(spec)))).to_pylist()
    assert len(rows) == 25
    for row in rows:
        r, fm = int(row["customer_id"][1]), int(row["customer_id"][4])
        assert (row["r_score"], row["f_score"], row["m_score"], row["fm_score"]) == (r, fm, fm, fm)
        assert row["rfm_segment"] == EXPECTED_GRID[r][fm - 1]


def test_fm_score_is_the_average_rounded_down(make_store: MakeStore, open_con) -> None:
    # f and m disagree: one customer with many cheap orders, one with one big order
    spec = {
        "many": [(f"2025-01-0{k} 12:00", 1, False) for k in range(1, 6)],
        "big": [("2025-01-05 12:00", 1000, False)],
    }
    spec |= {f"x{i}": [(f"2025-01-0{i} 12:00", 10 + i, False)] for i in range(1, 4)}
    rows = {r["customer_id"]: r for r in assign_segments(open_con(make_store(**orders_of(spec))))
            .to_pylist()}  # fmt: skip
    many, big = rows["many"], rows["big"]
    assert (many["f_score"], many["m_score"], many["fm_score"]) == (5, 1, 3)
    assert (big["f_score"], big["m_score"], big["fm_score"]) == (1, 5, 3)


BEHAVIOUR_SPEC: dict[str, list[tuple[str, float, bool]]] = {
    # top spender, 3 orders, all with promo: VIP wins over Promo addict
    "vip": [("2025-01-05 10:00", 500, True), ("2025-02-05 10:00", 500, True),
            ("2025-03-05 10:00", 500, True)],
    # second spender with only 2 orders: no VIP; no promo, 2 orders: Occasional
    "big2": [("2025-01-05 10:00", 600, False), ("2025-03-05 10:00", 600, False)],
    # 3 orders a month apart, 2 of 3 with a promo: Promo addict wins over Regular
    "promo": [("2025-01-10 10:00", 20, True), ("2025-02-10 10:00", 20, True),
              ("2025-03-10 10:00", 20, False)],
    # one promo order only: one order is no habit -> Occasional
    "once_promo": [("2025-02-01 10:00", 30, True)],
    # 4 orders 30 days apart, 1 promo (25%): Regular
    "regular": [("2025-01-01 10:00", 40, False), ("2025-01-31 10:00", 40, True),
                ("2025-03-02 10:00", 40, False), ("2025-04-01 10:00", 40, False)],
    # 3 orders 150 days apart on average: Occasional
    "sporadic": [("2024-01-01 10:00", 40, False), ("2024-06-01 10:00", 40, False),
                 ("2024-10-27 10:00", 40, False)],
    # 2 orders, both promo: Promo addict
    "promo2": [("2025-01-01 10:00", 10, True), ("2025-01-03 10:00", 10, True)],
    "one": [("2025-03-01 10:00", 15, False)],
}  # fmt: skip


def test_behaviour_segments_and_priority(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store(**orders_of(BEHAVIOUR_SPEC)))
    t = assign_segments(con)
    assert t.column_names == list(ASSIGNMENT_COLUMNS)
    rows = {r["customer_id"]: r for r in t.to_pylist()}
    assert {c: r["behaviour_segment"] for c, r in rows.items()} == {
        "vip": "VIP",
        "big2": "Occasional",
        "promo": "Promo addict",
        "once_promo": "Occasional",
        "regular": "Regular",
        "sporadic": "Occasional",
        "promo2": "Promo addict",
        "one": "Occasional",
    }
    assert rows["promo"]["promo_orders"] == 2
    assert rows["promo"]["promo_order_share"] == pytest.approx(2 / 3)
    assert rows["regular"]["avg_gap_days"] == pytest.approx(30.0)
    assert rows["sporadic"]["avg_gap_days"] == pytest.approx(150.0)  # 300 days / 2 gaps
    assert rows["one"]["avg_gap_days"] is None
    # 8 customers: ceil(0.05 * 8) = 1 VIP place, taken by vip (1500); big2 (1200) is second
    assert (rows["vip"]["spend_rank"], rows["big2"]["spend_rank"]) == (1, 2)


def test_rules_are_configurable(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store(**orders_of(BEHAVIOUR_SPEC)))

    def segments(**rules: Any) -> dict[str, str]:
        t = assign_segments(con, rules=SegmentRules(**rules))
        return {r["customer_id"]: r["behaviour_segment"] for r in t.to_pylist()}

    # 25% of 8 customers = 2 places: vip (rank 2) in; big2 still lacks orders
    assert segments(vip_top_share=0.25)["big2"] == "Occasional"
    assert segments(vip_top_share=0.25, vip_min_orders=2)["big2"] == "VIP"
    assert segments(vip_top_share=0)["vip"] == "Promo addict"
    assert segments(regular_max_gap_days=150)["sporadic"] == "Regular"
    assert segments(regular_max_gap_days=140)["sporadic"] == "Occasional"
    assert segments(promo_min_orders=1)["once_promo"] == "Promo addict"
    assert segments(promo_min_share=0.7)["promo"] == "Regular"


def test_customers_tied_at_the_vip_cut_off_are_all_vip(make_store: MakeStore, open_con) -> None:
    three = [("2025-01-01 10:00", 100, False), ("2025-01-02 10:00", 100, False),
             ("2025-01-03 10:00", 100, False)]  # fmt: skip
    spec = {"a": three, "b": three} | {f"s{i}": [("2025-01-01 10:00", 5, False)] for i in range(8)}
    t = assign_segments(open_con(make_store(**orders_of(spec))))  # 10 customers: 1 place
    vips = [r["customer_id"] for r in t.to_pylist() if r["behaviour_segment"] == "VIP"]
    assert vips == ["a", "b"]


def test_rules_validation() -> None:
    with pytest.raises(InvalidParameterError, match="vip_top_share"):
        SegmentRules(vip_top_share=1.5)
    with pytest.raises(InvalidParameterError, match="regular_min_orders"):
        SegmentRules(regular_min_orders=1)
    with pytest.raises(InvalidParameterError, match="vip_share"):
        SegmentRules(vip_share=0.1)
    rules = SegmentRules(vip_top_share=0.1)
    with pytest.raises(ValidationError, match="frozen"):
        rules.vip_top_share = 0.2
    assert SegmentRules().model_dump() == {
        "vip_top_share": 0.05,
        "vip_min_orders": 3,
        "promo_min_share": 0.6,
        "promo_min_orders": 2,
        "regular_min_orders": 3,
        "regular_max_gap_days": 90,
    }


def test_summary_rows_in_fixed_order_with_empty_segments(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store(**orders_of(BEHAVIOUR_SPEC)))
    t = assign_segments(con)
    s = segment_summary(t, "behaviour")
    assert s.column_names == list(SUMMARY_COLUMNS)
    rows = {r["segment"]: r for r in s.to_pylist()}
    assert list(rows) == list(BEHAVIOUR_SEGMENTS)
    total = 1500 + 1200 + 60 + 30 + 160 + 120 + 20 + 15
    assert rows["VIP"] == {
        "segment": "VIP", "customers": 1, "share": 1 / 8, "revenue": 1500.0,
        "revenue_share": pytest.approx(1500 / total), "avg_recency_days": 28.0,
        "avg_frequency": 3.0, "avg_monetary": 1500.0,
    }  # fmt: skip
    assert rows["Occasional"]["customers"] == 4
    assert rows["Occasional"]["revenue"] == 1200 + 30 + 120 + 15
    assert rows["Occasional"]["avg_frequency"] == (2 + 1 + 3 + 1) / 4
    assert rows["Promo addict"]["avg_monetary"] == (60 + 20) / 2
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1)
    assert sum(r["revenue_share"] for r in rows.values()) == pytest.approx(1)

    r = segment_summary(t, "rfm")
    assert r.column("segment").to_pylist() == list(RFM_SEGMENT_NAMES)
    assert sum(r.column("customers").to_pylist()) == 8
    empty = [x for x in r.to_pylist() if x["customers"] == 0]
    assert empty  # 8 customers cannot fill 11 segments
    for x in empty:
        assert (x["share"], x["revenue"], x["revenue_share"]) == (0, 0, 0)
        assert x["avg_recency_days"] is None
        assert x["avg_monetary"] is None
    # the summary agrees with the assignments
    counts: dict[str, int] = {}
    for seg in t.column("rfm_segment").to_pylist():
        counts[seg] = counts.get(seg, 0) + 1
    assert {x["segment"]: x["customers"] for x in r.to_pylist() if x["customers"]} == counts


def test_empty_store(make_store: MakeStore, open_con) -> None:
    t = assign_segments(open_con(make_store()))
    assert t.num_rows == 0
    assert t.column_names == list(ASSIGNMENT_COLUMNS)
    s = segment_summary(t, "rfm")
    assert s.column("customers").to_pylist() == [0] * len(RFM_SEGMENT_NAMES)
    assert set(s.column("share").to_pylist()) == {0}


def test_errors(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store())
    with pytest.raises(InvalidParameterError, match="kind"):
        segment_summary(assign_segments(con), "value")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="rfm_segment"):
        segment_summary(pa.table({"x": [1]}), "rfm")
    with pytest.raises(InvalidParameterError, match="SegmentRules"):
        assign_segments(con, rules={"vip_top_share": 0.1})  # type: ignore[arg-type]
    con.execute("DROP TABLE orders")
    with pytest.raises(StoreError, match="'orders'"):
        assign_segments(con)
