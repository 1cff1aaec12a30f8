from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from shoplens.analytics.rfm import RFM_COLUMNS, ntile5_of_position, rfm_table
from shoplens.errors import InvalidParameterError, StoreError
from tests.conftest import MakeStore


def shop(*orders: tuple[Any, ...]) -> dict[str, list[dict[str, Any]]]:
    """Orders as (order_id, customer_id, ts, amount[, extra order columns]), one line each."""
    rows, items = [], []
    for order_id, customer_id, ts, amount, *extra in orders:
        rows.append({"order_id": order_id, "customer_id": customer_id, "order_ts": ts})
        if extra:
            rows[-1].update(extra[0])
        if amount is not None:
            items.append(
                {"order_id": order_id, "product_id": "p", "quantity": 1, "unit_price": amount}
            )
    return {"orders": rows, "order_items": items}


def by_customer(table: Any) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in table.to_pylist()}


def test_position_formula_is_ntile5() -> None:
    con = duckdb.connect()
    for n in range(1, 24):
        got = con.sql(
            f"SELECT ntile(5) OVER (ORDER BY i) AS want, {ntile5_of_position('i', str(n))}"
            f" AS got FROM range(1, {n + 1}) t(i)"
        ).fetchall()
        assert [g for _, g in got] == [w for w, _ in got], n


def test_distinct_values_give_quintiles(make_store: MakeStore, open_con) -> None:
    # customer i (1..10) orders once a day on Jan 1..i, 10*i euros each:
    # frequency i, monetary 10*i*i, last order Jan i -> recency 11 - i (as_of Jan 11).
    orders = [
        (f"o{i}-{k}", f"c{i:02d}", f"2025-01-{k:02d} 12:00", 10 * i)
        for i in range(1, 11)
        for k in range(1, i + 1)
    ]
    con = open_con(make_store(**shop(*orders)))
    t = rfm_table(con)
    assert t.column_names == list(RFM_COLUMNS)
    assert t.column("customer_id").to_pylist() == [f"c{i:02d}" for i in range(1, 11)]
    for i, row in enumerate(t.to_pylist(), start=1):
        q = (i + 1) // 2  # 10 customers: two per quintile
        assert (row["frequency"], row["monetary"], row["recency_days"]) == (i, 10.0 * i * i, 11 - i)
        assert (row["r_score"], row["f_score"], row["m_score"]) == (q, q, q)
        assert row["rfm_score"] == f"{q}{q}{q}"
    c10 = t.to_pylist()[-1]
    assert c10["first_order_ts"] == datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert c10["last_order_ts"] == datetime(2025, 1, 10, 12, tzinfo=UTC)


def test_ties_get_one_score_and_one_time_buyers_are_f1(make_store: MakeStore, open_con) -> None:
    # 10 customers: 6 one-time buyers (60%), 2 with two orders, 2 with three.
    # Monetary: a..f one order of 20/20/20/50/50/60, g,h two orders of 30, i,j three of 40.
    # Recency (as_of Jan 21): a..d bought on Jan 20 (tie), others earlier.
    spec = {
        "a": [20],
        "b": [20],
        "c": [20],
        "d": [50],
        "e": [50],
        "f": [60],
        "g": [30, 30],
        "h": [30, 30],
        "i": [40, 40, 40],
        "j": [40, 40, 40],
    }
    last_day = {"a": 20, "b": 20, "c": 20, "d": 20, "e": 19, "f": 18, "g": 17, "h": 16}
    last_day |= {"i": 15, "j": 14}
    orders = []
    for cust, amounts in spec.items():
        for k, amount in enumerate(amounts):
            day = last_day[cust] - k
            orders.append((f"{cust}{k}", cust, f"2025-01-{day:02d} 09:00", amount))
    con = open_con(make_store(**shop(*orders)))
    rows = by_customer(rfm_table(con))
    # frequency: the six one-time buyers all get 1 (rank 1); two orders start at rank 7 ->
    # ntile bucket 4; three orders at rank 9 -> 5. Scores 2 and 3 stay empty.
    assert {c: r["f_score"] for c, r in rows.items()} == {
        "a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 4, "h": 4, "i": 5, "j": 5,
    }  # fmt: skip
    # monetary: 20 x3, 50 x2, 60 x3 (f once; g, h 2 x 30), 120 x2 (i, j 3 x 40)
    assert {c: r["monetary"] for c, r in rows.items()} == {
        "a": 20, "b": 20, "c": 20, "d": 50, "e": 50, "f": 60, "g": 60, "h": 60,
        "i": 120, "j": 120,
    }  # fmt: skip
    # ranks: 20 -> 1, 50 -> 4, 60 -> 6, 120 -> 9 and their ntile(5) buckets (two per
    # bucket for 10 customers): 1, 2, 3, 5; no tie is split across scores
    assert {c: r["m_score"] for c, r in rows.items()} == {
        "a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3, "g": 3, "h": 3, "i": 5, "j": 5,
    }  # fmt: skip
    # recency desc: j(7) i(6) h(5) g(4) f(3) e(2) a-d(1 x4): positions 1..6, then 7 for the tie
    assert {c: r["recency_days"] for c, r in rows.items()} == {
        "a": 1, "b": 1, "c": 1, "d": 1, "e": 2, "f": 3, "g": 4, "h": 5, "i": 6, "j": 7,
    }  # fmt: skip
    assert {c: r["r_score"] for c, r in rows.items()} == {
        "a": 4, "b": 4, "c": 4, "d": 4, "e": 3, "f": 3, "g": 2, "h": 2, "i": 1, "j": 1,
    }  # fmt: skip


def test_only_completed_orders_of_known_customers_count(make_store: MakeStore, open_con) -> None:
    path = make_store(
        orders=[
            {"order_id": "o1", "customer_id": "c1", "order_ts": "2025-01-01 10:00", "discount": 5},
            {"order_id": "o2", "customer_id": "c1", "order_ts": "2025-01-02 10:00",
             "status": "cancelled"},
            {"order_id": "o3", "customer_id": "c1", "order_ts": "2025-01-03 10:00",
             "status": "returned"},
            {"order_id": "o4", "customer_id": "c2", "order_ts": "2025-01-04 10:00",
             "status": "returned"},
            {"order_id": "o5", "customer_id": None, "order_ts": "2025-01-05 10:00"},
            {"order_id": "o6", "customer_id": "c3", "order_ts": "2025-01-02 10:00"},  # no lines
        ],
        order_items=[
            {"order_id": "o1", "product_id": "p", "quantity": 3, "unit_price": 10,
             "discount": 2},
            {"order_id": "o1", "product_id": "q", "quantity": 1, "unit_price": 4.5},
            {"order_id": "o2", "product_id": "p", "quantity": 1, "unit_price": 100},
            {"order_id": "o3", "product_id": "p", "quantity": 1, "unit_price": 100},
            {"order_id": "o4", "product_id": "p", "quantity": 1, "unit_price": 100},
            {"order_id": "o5", "product_id": "p", "quantity": 1, "unit_price": 100},
        ],
    )  # fmt: skip
    rows = by_customer(rfm_table(open_con(path)))
    assert set(rows) == {"c1", "c3"}  # c2 only returned, the guest order has no customer
    # (3*10 - 2) + 4.5 - 5 = 27.5; default as_of = Jan 6 (day after the last order, o5)
    assert rows["c1"]["frequency"] == 1
    assert rows["c1"]["monetary"] == 27.5
    assert rows["c1"]["recency_days"] == 5
    assert rows["c3"]["monetary"] == 0.0


def test_recency_is_relative_to_as_of(make_store: MakeStore, open_con) -> None:
    orders = [
        ("o1", "c1", "2025-03-01 10:00", 10),
        ("o2", "c1", "2025-03-10 10:00", 10),
        ("o3", "c2", "2025-03-05 10:00", 10),
        # 22:30 UTC on Mar 31 is 00:30 on Apr 1 in Paris (summer time since Mar 30)
        ("o4", "c3", "2025-03-31 22:30", 10),
    ]
    path = make_store(**shop(*orders))
    paris = open_con(path, timezone="Europe/Paris")
    rows = by_customer(rfm_table(paris))  # default: Apr 2 00:00 Paris
    assert {c: r["recency_days"] for c, r in rows.items()} == {"c1": 23, "c2": 28, "c3": 1}

    rows = by_customer(rfm_table(paris, as_of=date(2025, 3, 20)))
    assert {c: r["recency_days"] for c, r in rows.items()} == {"c1": 10, "c2": 15}
    assert rows["c1"]["frequency"] == 2

    # o2 is at 11:00 Paris: a naive datetime is shop-local, so 11:00 excludes it ...
    rows = by_customer(rfm_table(paris, as_of=datetime(2025, 3, 10, 11, 0)))
    assert rows["c1"]["frequency"] == 1
    assert rows["c1"]["recency_days"] == 9
    # ... and an aware datetime is an instant (10:30 UTC = 11:30 Paris includes it)
    rows = by_customer(rfm_table(paris, as_of=datetime(2025, 3, 10, 10, 30, tzinfo=UTC)))
    assert (rows["c1"]["frequency"], rows["c1"]["recency_days"]) == (2, 0)

    utc = open_con(path)  # in UTC the last order is on Mar 31: default as_of Apr 1
    rows = by_customer(rfm_table(utc))
    assert rows["c3"]["recency_days"] == 1
    assert rows["c1"]["recency_days"] == 22


def test_as_of_before_every_order_gives_no_rows(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store(**shop(("o1", "c1", "2025-03-01 10:00", 10))))
    assert rfm_table(con, as_of=date(2025, 1, 1)).num_rows == 0
    assert rfm_table(con, as_of=date(2025, 3, 1) + timedelta(days=1)).num_rows == 1


def test_empty_store_gives_empty_table(make_store: MakeStore, open_con) -> None:
    t = rfm_table(open_con(make_store()))
    assert t.num_rows == 0
    assert t.column_names == list(RFM_COLUMNS)


def test_missing_table_is_a_store_error(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store())
    con.execute("DROP TABLE order_items")
    with pytest.raises(StoreError, match="'order_items'"):
        rfm_table(con)


def test_bad_as_of_is_a_parameter_error(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store())
    with pytest.raises(InvalidParameterError, match="as_of"):
        rfm_table(con, as_of="2025-01-01")  # type: ignore[arg-type]
