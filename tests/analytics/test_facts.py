"""The shared per-order facts: values, caching, invalidation, time zone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pytest

from shoplens.analytics import compute_kpis, rfm_table
from shoplens.analytics.facts import (
    LINE_FACT_COLUMNS,
    LINE_FACTS,
    ORDER_FACT_COLUMNS,
    ORDER_FACTS,
    ensure_line_facts,
    ensure_order_facts,
    invalidate_facts,
)
from shoplens.store import load_table
from tests.analytics.test_kpis import CUSTOMERS, ITEMS, ORDERS, PRODUCTS, _i, _o
from tests.conftest import MakeStore, _arrow


def _oid(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    name = table.rsplit(".", 1)[-1]
    rows = con.execute(
        "SELECT table_oid FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]
    ).fetchall()
    return int(rows[0][0]) if rows else None


def _facts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    t = con.sql(f"SELECT * FROM {ORDER_FACTS} ORDER BY order_id").to_arrow_table()
    return {r["order_id"]: r for r in t.to_pylist()}


@pytest.fixture
def shop_path(make_store: MakeStore) -> Any:
    return make_store(customers=CUSTOMERS, products=PRODUCTS, orders=ORDERS, order_items=ITEMS)


def test_order_facts_values(shop_path: Any, open_con: Any) -> None:
    con = open_con(shop_path, read_only=True)
    assert ensure_order_facts(con) == ORDER_FACTS
    cols = [r[0] for r in con.execute(f"DESCRIBE {ORDER_FACTS}").fetchall()]
    assert cols == list(ORDER_FACT_COLUMNS)
    f = _facts(con)
    assert len(f) == len(ORDERS)
    o1 = f["o1"]  # 2 x 40 (line discount 5) + 20, order discount 10, promo
    assert (o1["gross"], o1["line_discount"], o1["order_discount"], o1["net"]) == (
        Decimal("100.00"),
        Decimal("5.00"),
        Decimal("10.00"),
        Decimal("85.00"),
    )
    assert (o1["units"], o1["n_lines"], o1["has_promo"], o1["is_first_order"]) == (3, 2, True, True)
    assert f["o3"]["has_promo"] is False  # an empty promo code
    assert f["o0"]["is_first_order"] is True
    assert f["o3"]["is_first_order"] is False
    assert f["o6"]["is_first_order"] is None
    assert f["o6"]["customer_key"] is None
    assert str(f["o1"]["month"]) == "2025-01-01"
    # one key per customer
    keys = {(r["customer_id"], r["customer_key"]) for r in f.values() if r["customer_id"]}
    assert len(keys) == len({k for _, k in keys}) == 3


def test_line_facts_share_the_order_discount(shop_path: Any, open_con: Any) -> None:
    con = open_con(shop_path, read_only=True)
    assert ensure_line_facts(con) == LINE_FACTS
    cols = [r[0] for r in con.execute(f"DESCRIBE {LINE_FACTS}").fetchall()]
    assert cols == list(LINE_FACT_COLUMNS)
    # o1: Shoes 80 gross, Bags 20 gross; order discount 10 shared 8 / 2
    rows = con.execute(
        f"SELECT c.category, l.gross, l.order_discount FROM {LINE_FACTS} l"
        " JOIN __shoplens_cache_categories c USING (cat_key)"
        " JOIN __shoplens_cache_order_facts f USING (order_key)"
        " WHERE f.order_id = 'o1' ORDER BY 1"
    ).fetchall()
    assert rows == [("Bags", Decimal("20.00"), 2.0), ("Shoes", Decimal("80.00"), 8.0)]


def test_facts_are_built_once_per_connection(shop_path: Any, open_con: Any) -> None:
    con = open_con(shop_path, read_only=True)
    compute_kpis(con)
    oid = _oid(con, ORDER_FACTS)
    assert oid is not None
    compute_kpis(con, by="month")
    rfm_table(con)
    compute_kpis(con, by="category")
    line_oid = _oid(con, LINE_FACTS)
    compute_kpis(con, by="category")
    assert _oid(con, ORDER_FACTS) == oid
    assert _oid(con, LINE_FACTS) == line_oid
    # another connection has its own
    other = open_con(shop_path, read_only=True)
    assert _oid(other, ORDER_FACTS) is None


def test_invalidate_facts_drops_them(shop_path: Any, open_con: Any) -> None:
    con = open_con(shop_path, read_only=True)
    ensure_line_facts(con)
    invalidate_facts(con)
    assert _oid(con, ORDER_FACTS) is None
    assert _oid(con, LINE_FACTS) is None
    assert compute_kpis(con).column("orders").to_pylist() == [8]


def test_load_table_invalidates_the_facts(shop_path: Any, open_con: Any) -> None:
    con = open_con(shop_path)
    (before,) = compute_kpis(con).to_pylist()
    (cat_before,) = [
        r for r in compute_kpis(con, by="category").to_pylist() if r["category"] == "Bags"
    ]
    load_table(con, "orders", _arrow("orders", [_o("n1", "c3", "2025-05-01 10:00", "completed")]))
    load_table(con, "order_items", _arrow("order_items", [_i("n1", "p2", 2, 20)]))
    (after,) = compute_kpis(con).to_pylist()
    assert after["orders"] == before["orders"] + 1
    assert after["gross_revenue"] == before["gross_revenue"] + 40
    (cat_after,) = [
        r for r in compute_kpis(con, by="category").to_pylist() if r["category"] == "Bags"
    ]
    assert cat_after["orders"] == cat_before["orders"] + 1
    assert {r["customer_id"]: r["frequency"] for r in rfm_table(con).to_pylist()}["c3"] == 2


def test_writes_through_another_connection_are_seen(shop_path: Any, open_con: Any) -> None:
    con = open_con(shop_path)
    assert compute_kpis(con).column("orders").to_pylist() == [8]
    writer = con.cursor()  # a separate connection to the same database
    writer.execute(
        "INSERT INTO orders BY NAME SELECT 'w1' AS order_id, 'c1' AS customer_id,"
        " TIMESTAMPTZ '2025-06-01 10:00+00' AS order_ts, 'completed' AS status,"
        " 0 AS discount, 'EUR' AS currency"
    )
    writer.close()
    assert compute_kpis(con).column("orders").to_pylist() == [9]


def test_time_zone_change_rebuilds_the_months(make_store: MakeStore, open_con: Any) -> None:
    path = make_store(
        orders=[_o("feb", "c1", "2025-01-31 23:30", "completed")],  # 00:30 on Feb 1 in Paris
        order_items=[_i("feb", "p1", 1, 100)],
    )
    con = open_con(path, timezone="UTC", read_only=True)
    assert compute_kpis(con, by="month").column("month").to_pylist() == ["2025-01"]
    con.execute("SET TimeZone = 'Europe/Paris'")
    assert compute_kpis(con, by="month").column("month").to_pylist() == ["2025-02"]
    con.execute("SET TimeZone = 'UTC'")
    assert compute_kpis(con, by="month").column("month").to_pylist() == ["2025-01"]


def test_kpi_revenue_of_customers_equals_rfm_monetary(shop_path: Any, open_con: Any) -> None:
    """One definition of net revenue: KPIs and RFM agree to the cent."""
    con = open_con(shop_path, read_only=True)
    (k,) = compute_kpis(con).to_pylist()
    rfm = rfm_table(con).to_pylist()
    customers = k["new_customer_revenue"] + k["returning_customer_revenue"]
    assert customers == pytest.approx(sum(r["monetary"] for r in rfm), abs=1e-9)
    assert k["net_revenue"] == pytest.approx(customers + k["guest_revenue"], abs=1e-9)
    exact = con.execute(
        f"SELECT sum(net) FROM {ORDER_FACTS} WHERE status = 'completed' AND customer_id IS NOT NULL"
    ).fetchall()[0][0]
    assert float(exact) == pytest.approx(customers, abs=1e-9)
    # and the definition itself, computed independently from the hand-made rows
    want: dict[str, Decimal] = {}
    for o in ORDERS:
        if o.get("status", "completed") != "completed" or o.get("customer_id") is None:
            continue
        lines = [i for i in ITEMS if i["order_id"] == o["order_id"]]
        net = sum(
            (
                Decimal(str(i["quantity"])) * Decimal(str(i["unit_price"]))
                - Decimal(str(i.get("discount", 0)))
                for i in lines
            ),
            Decimal(0),
        ) - Decimal(str(o.get("discount", 0)))
        want[o["customer_id"]] = want.get(o["customer_id"], Decimal(0)) + net
    assert {r["customer_id"]: r["monetary"] for r in rfm} == {
        c: pytest.approx(float(v), abs=0.005) for c, v in want.items()
    }
    assert customers == pytest.approx(float(sum(want.values())), abs=0.005)
