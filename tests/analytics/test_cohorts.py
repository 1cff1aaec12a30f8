from typing import Any

import pytest

from shoplens.analytics.cohorts import COHORT_COLUMNS, cohort_matrix
from shoplens.errors import InvalidParameterError, StoreError
from tests.conftest import MakeStore

# (order_id, customer_id, UTC time, amount, extra order columns); one line per order
ORDERS: list[tuple[str, str | None, str, float, dict[str, Any]]] = [
    # cohort 2025-01: A and B
    ("a1", "A", "2025-01-10 10:00", 100, {}),
    ("a2", "A", "2025-02-03 10:00", 999, {"status": "cancelled"}),  # never counts
    ("a3", "A", "2025-03-05 10:00", 50, {}),
    ("b1", "B", "2025-01-20 10:00", 40, {"discount": 10}),  # net 30
    ("b2", "B", "2025-04-02 10:00", 20, {}),
    # cohort 2025-02: C (23:30 UTC on Jan 31 is 00:30 on Feb 1 in Paris) and D
    ("c1", "C", "2025-01-31 23:30", 60, {}),
    ("d1", "D", "2025-02-10 10:00", 10, {}),
    ("d2", "D", "2025-02-20 10:00", 15, {}),  # same month: D is active once
    ("d3", "D", "2025-04-01 10:00", 25, {}),
    # cohort 2025-03: E and F (F's first order was returned: not a purchase)
    ("e1", "E", "2025-03-15 10:00", 80, {}),
    ("e2", "E", "2025-04-10 10:00", 70, {"status": "returned"}),
    ("f1", "F", "2025-01-05 10:00", 30, {"status": "returned"}),
    ("f2", "F", "2025-03-20 10:00", 20, {"line_discount": 5}),  # net 15
    # guests are left out
    ("g1", None, "2025-04-05 10:00", 500, {}),
]

# cohort, months_since, cohort_size, active, revenue, retention, revenue / month-0 revenue
EXPECTED_PARIS = [
    ("2025-01", 0, 2, 2, 130.0, 1.0, 1.0),
    ("2025-01", 1, 2, 0, 0.0, 0.0, 0.0),  # the gap month
    ("2025-01", 2, 2, 1, 50.0, 0.5, 50 / 130),
    ("2025-01", 3, 2, 1, 20.0, 0.5, 20 / 130),
    ("2025-02", 0, 2, 2, 85.0, 1.0, 1.0),
    ("2025-02", 1, 2, 0, 0.0, 0.0, 0.0),
    ("2025-02", 2, 2, 1, 25.0, 0.5, 25 / 85),
    ("2025-03", 0, 2, 2, 95.0, 1.0, 1.0),
    ("2025-03", 1, 2, 0, 0.0, 0.0, 0.0),  # E's April order was returned
]


@pytest.fixture
def store(make_store: MakeStore) -> Any:
    orders, items = [], []
    for oid, cust, ts, amount, extra in ORDERS:
        line_discount = extra.get("line_discount", 0)
        order = {"order_id": oid, "customer_id": cust, "order_ts": ts}
        order |= {k: v for k, v in extra.items() if k != "line_discount"}
        orders.append(order)
        items.append(
            {"order_id": oid, "product_id": "p", "quantity": 1, "unit_price": amount,
             "discount": line_discount}
        )  # fmt: skip
    return make_store(orders=orders, order_items=items)


def test_cohort_matrix_by_hand(store: Any, open_con) -> None:
    con = open_con(store, timezone="Europe/Paris")
    t = cohort_matrix(con)
    assert t.column_names == list(COHORT_COLUMNS)
    got = [tuple(r.values()) for r in t.to_pylist()]
    assert got == [(c, m, s, a, rev, ret) for c, m, s, a, rev, ret, _ in EXPECTED_PARIS]

    t = cohort_matrix(con, metric="revenue")
    got_values = t.column("value").to_pylist()
    assert got_values == pytest.approx([x[-1] for x in EXPECTED_PARIS])
    assert t.column("revenue").to_pylist() == [x[4] for x in EXPECTED_PARIS]


def test_months_are_shop_local(store: Any, open_con) -> None:
    # In UTC, C's first order is a January order: the January cohort has 3 customers.
    t = cohort_matrix(open_con(store, timezone="UTC"))
    rows = [(r["cohort"], r["months_since"], r["cohort_size"], r["active_customers"])
            for r in t.to_pylist()]  # fmt: skip
    assert rows[:4] == [
        ("2025-01", 0, 3, 3),
        ("2025-01", 1, 3, 0),
        ("2025-01", 2, 3, 1),
        ("2025-01", 3, 3, 1),
    ]
    assert [r[0] for r in rows[4:]] == ["2025-02", "2025-02", "2025-02", "2025-03", "2025-03"]
    assert rows[4][2] == 1  # D alone


def test_zero_month_zero_revenue_gives_null_value(make_store: MakeStore, open_con) -> None:
    path = make_store(
        orders=[
            {"order_id": "o1", "customer_id": "c", "order_ts": "2025-01-10 10:00"},
            {"order_id": "o2", "customer_id": "c", "order_ts": "2025-02-10 10:00"},
        ],
        order_items=[{"order_id": "o2", "product_id": "p", "quantity": 1, "unit_price": 5}],
    )
    t = cohort_matrix(open_con(path), metric="revenue")
    assert t.column("revenue").to_pylist() == [0.0, 5.0]
    assert t.column("value").to_pylist() == [None, None]


def test_empty_store_and_errors(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store())
    for metric in ("customers", "revenue"):
        t = cohort_matrix(con, metric=metric)
        assert t.num_rows == 0
        assert t.column_names == list(COHORT_COLUMNS)
    with pytest.raises(InvalidParameterError, match="metric 'orders'"):
        cohort_matrix(con, metric="orders")  # type: ignore[arg-type]
    con.execute("DROP TABLE order_items")
    with pytest.raises(StoreError, match="'order_items'"):
        cohort_matrix(con)
