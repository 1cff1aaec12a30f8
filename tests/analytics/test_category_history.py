"""Category history features and next-category labels: exact values, time zone, leakage."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from shoplens.analytics.category_history import (
    category_history,
    history_columns,
    next_category_labels,
    store_categories,
)
from shoplens.errors import InvalidParameterError, ModelError
from shoplens.generate import SimulationParams, generate_into
from shoplens.store import open_store, write_new_store
from tests.conftest import MakeStore

BERLIN = "Europe/Berlin"
AS_OF = datetime(2025, 3, 1, tzinfo=ZoneInfo(BERLIN))  # 2025-02-28 23:00 UTC

PRODUCTS: list[dict[str, Any]] = [
    {"product_id": "bk", "name": "Book", "category": "books", "unit_price": 10},
    {"product_id": "el", "name": "Radio", "category": "electronics", "unit_price": 100},
    {"product_id": "fa", "name": "Shirt", "category": "fashion", "unit_price": 30},
    {"product_id": "nc", "name": "Mystery", "category": None, "unit_price": 500},
]
CUSTOMERS = [
    {"customer_id": "c1", "signup_ts": "2025-01-01 09:00", "country": "DE", "age": 30,
     "gender": "female"},
    {"customer_id": "c2", "signup_ts": "2025-01-01 09:00", "country": "FR", "age": 60,
     "gender": "male"},
    {"customer_id": "c3", "signup_ts": "2025-02-15 09:00", "country": "DE"},  # no orders
    {"customer_id": "c4", "signup_ts": "2025-03-02 09:00", "country": "IT"},  # after as_of
]  # fmt: skip


def _line(
    order_id: str, product: str, qty: int, price: float, discount: float = 0
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "product_id": product,
        "quantity": qty,
        "unit_price": price,
        "discount": discount,
    }


def _order(order_id: str, customer: str | None, ts: str, **extra: Any) -> dict[str, Any]:
    return {"order_id": order_id, "customer_id": customer, "order_ts": ts, **extra}


ORDERS = [
    # c1 before as_of (times UTC; Berlin is UTC+1 in winter)
    _order("o1", "c1", "2025-01-10 10:00"),  # Fri 11:00: electronics 100 vs books 20
    _order("o2", "c1", "2025-01-20 22:30"),  # Mon 23:30: fashion 30 = books 30 -> books
    _order("o3", "c1", "2025-02-01 12:00", status="cancelled"),  # never counts
    _order("o5", "c1", "2025-02-22 05:00"),  # Sat 06:00: books (uncategorised line ignored)
    _order("o4", "c1", "2025-02-28 23:30"),  # 00:30 on March 1 in Berlin: after as_of
    _order("o8", "c1", "2025-03-05 10:00"),  # later in the window: not the first
    # c2: one order before, then a returned one and a two-category one in the window
    _order("o6", "c2", "2025-02-10 09:00", discount=20),
    _order("o9", "c2", "2025-03-02 10:00", status="returned"),
    _order("o10", "c2", "2025-03-03 10:00"),  # electronics 100 - 80 = 20 < books 30
    _order("o7", None, "2025-02-11 09:00"),  # guest: never counts
    _order("o12", "c4", "2025-03-10 10:00"),
    _order("o11", "c4", "2025-04-05 10:00"),  # after the 30-day window
]
ITEMS = [
    _line("o1", "el", 1, 100),
    _line("o1", "bk", 2, 10),
    _line("o2", "fa", 1, 30),
    _line("o2", "bk", 3, 10),
    _line("o3", "el", 1, 100),
    _line("o5", "nc", 1, 500),
    _line("o5", "bk", 1, 10),
    _line("o4", "fa", 1, 30),
    _line("o8", "el", 1, 100),
    _line("o6", "fa", 2, 30, discount=10),
    _line("o9", "el", 1, 100),
    _line("o10", "el", 1, 100, discount=80),
    _line("o10", "bk", 3, 10),
    _line("o7", "el", 1, 100),
    _line("o12", "el", 1, 100),
    _line("o11", "fa", 1, 30),
]


@pytest.fixture
def shop_con(make_store: MakeStore, open_con: Any) -> duckdb.DuckDBPyConnection:
    path = make_store(customers=CUSTOMERS, products=PRODUCTS, orders=ORDERS, order_items=ITEMS)
    con: duckdb.DuckDBPyConnection = open_con(path, timezone=BERLIN)
    return con


def _rows(table: Any) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in table.to_pylist()}


def test_labels_first_completed_purchase_largest_value(shop_con: duckdb.DuckDBPyConnection) -> None:
    labels = next_category_labels(shop_con, cutoff=AS_OF, horizon_days=30, timezone=BERLIN)
    got = {r["customer_id"]: (r["order_id"], r["category"]) for r in labels.to_pylist()}
    assert got == {
        "c1": ("o4", "fashion"),  # 00:30 local on the cutoff day counts
        "c2": ("o10", "books"),  # the returned o9 does not; net value decides
        "c4": ("o12", "electronics"),
    }
    # a naive date is read in the shop's time zone: same window
    same = next_category_labels(shop_con, cutoff=date(2025, 3, 1), horizon_days=30, timezone=BERLIN)
    assert same.equals(labels)
    # read in UTC, the window starts an hour later: o4 (23:30 UTC) is before it
    utc = next_category_labels(shop_con, cutoff=date(2025, 3, 1), horizon_days=30, timezone="UTC")
    assert {r["customer_id"]: r["order_id"] for r in utc.to_pylist()}["c1"] == "o8"
    with pytest.raises(InvalidParameterError, match="horizon_days"):
        next_category_labels(shop_con, cutoff=AS_OF, horizon_days=0, timezone=BERLIN)


def test_history_exact_values(shop_con: duckdb.DuckDBPyConnection) -> None:
    table = category_history(shop_con, as_of=AS_OF, timezone=BERLIN)
    cats = ["books", "electronics", "fashion"]
    assert table.column_names == [
        "customer_id",
        *history_columns(cats, ["age", "gender", "country"]).features,
    ]
    rows = _rows(table)
    assert sorted(rows) == ["c1", "c2", "c3"]  # c4 signed up after as_of
    c1 = rows["c1"]
    assert c1["n_orders"] == 3  # o1, o2, o5 (o3 cancelled, o4 after as_of)
    assert c1["n_lines"] == 5  # the uncategorised line of o5 is ignored
    assert c1["order_share[books]"] == pytest.approx(2 / 3)
    assert c1["order_share[electronics]"] == pytest.approx(1 / 3)
    assert c1["order_share[fashion]"] == 0
    assert c1["line_share[books]"] == pytest.approx(3 / 5)
    assert c1["line_share[fashion]"] == pytest.approx(1 / 5)
    assert c1["value_share[electronics]"] == pytest.approx(100 / 190)
    assert c1["value_share[books]"] == pytest.approx(60 / 190)
    assert c1["n_categories"] == 3
    assert (c1["last_category"], c1["top_category"]) == ("books", "books")
    assert c1["last_category_share"] == pytest.approx(2 / 3)
    assert c1["mean_order_value"] == pytest.approx(190 / 3)
    # Berlin hours 11, 23, 6: morning 2/3, evening 1/3; modal hour: tie -> earliest
    assert (c1["hour_night"], c1["hour_afternoon"]) == (0, 0)
    assert c1["hour_morning"] == pytest.approx(2 / 3)
    assert c1["hour_evening"] == pytest.approx(1 / 3)
    assert c1["modal_hour"] == 6
    assert c1["weekend_share"] == pytest.approx(1 / 3)  # Fri, Mon, Sat
    assert c1["modal_weekday"] == 1  # tie -> Monday
    assert c1["days_since_last_order"] == pytest.approx(
        (AS_OF - datetime(2025, 2, 22, 5, tzinfo=UTC)).total_seconds() / 86400
    )
    assert (c1["age"], c1["gender"], c1["country"]) == (30, "female", "DE")
    c2 = rows["c2"]
    assert c2["order_share[fashion]"] == 1
    assert c2["mean_order_value"] == pytest.approx(30.0)  # 60 - 10 line - 20 order discount
    assert c2["top_category"] == "fashion"
    c3 = rows["c3"]  # known, never bought: no history, demographics only
    assert (c3["n_orders"], c3["n_lines"]) == (0, 0)
    assert c3["order_share[books]"] is None
    assert c3["last_category"] is None
    assert c3["country"] == "DE"


def test_history_without_customers_table_or_demographics(
    make_store: MakeStore, open_con: Any
) -> None:
    path = make_store(products=PRODUCTS, orders=ORDERS, order_items=ITEMS)
    con = open_con(path, timezone=BERLIN)
    table = category_history(con, as_of=AS_OF, timezone=BERLIN)
    # an empty customers table: customers are known by their orders, demographics NULL
    assert sorted(table.column("customer_id").to_pylist()) == ["c1", "c2"]
    assert table.column("age").null_count == 2
    con.execute("DROP TABLE customers")
    table = category_history(con, as_of=AS_OF, timezone=BERLIN)
    assert sorted(table.column("customer_id").to_pylist()) == ["c1", "c2"]
    assert not {"age", "gender", "country"} & set(table.column_names)
    assert table.column("n_orders").to_pylist() == [3, 1]


def test_no_categories_is_a_model_error(make_store: MakeStore, open_con: Any) -> None:
    uncategorised = [dict(p, category=None) for p in PRODUCTS]
    con = open_con(make_store(products=uncategorised, orders=ORDERS, order_items=ITEMS))
    with pytest.raises(ModelError, match="no categories"):
        category_history(con, as_of=AS_OF, timezone=BERLIN)
    single = [dict(p, category="books") for p in PRODUCTS]
    con = open_con(make_store(products=single, orders=ORDERS, order_items=ITEMS))
    with pytest.raises(ModelError, match="single category"):
        next_category_labels(con, cutoff=AS_OF, horizon_days=30, timezone=BERLIN)


@pytest.fixture(scope="module")
def sim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cathist") / "sim.duckdb"
    params = SimulationParams(customers=1000, days=365, seed=5, events=False)

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, fill)
    return path


def _tamper_after(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> None:
    """Change every order, line and customer at or after ``cutoff``; add and delete some."""
    after = "SELECT order_id FROM orders WHERE order_ts >= $c"
    con.execute(
        "UPDATE order_items SET unit_price = unit_price * 3 + 1, quantity = quantity + 2,"
        " product_id = (SELECT max(product_id) FROM products)"
        f" WHERE order_id IN ({after})",
        {"c": cutoff},
    )
    con.execute(
        "UPDATE orders SET status = CASE status WHEN 'completed' THEN 'returned'"
        " ELSE 'completed' END, discount = 0, order_ts = order_ts + INTERVAL 1 HOUR"
        " WHERE order_ts >= $c",
        {"c": cutoff},
    )
    con.execute("DELETE FROM orders WHERE order_ts >= $c AND hash(order_id) % 5 = 0", {"c": cutoff})
    con.execute(
        "INSERT INTO orders SELECT 'leak-' || customer_id, customer_id, $c, 'completed',"
        " 'web', NULL, 0, 'EUR' FROM customers",
        {"c": cutoff},
    )
    con.execute(
        "INSERT INTO order_items SELECT 'leak-' || customer_id, 1,"
        " (SELECT min(product_id) FROM products), 5, 99, 0 FROM customers"
    )
    con.execute(
        "UPDATE customers SET age = 99, gender = 'other', country = 'XX' WHERE signup_ts >= $c",
        {"c": cutoff},
    )
    con.execute(
        "INSERT INTO customers (customer_id, signup_ts, country) VALUES ('leak-new', $c, 'XX')",
        {"c": cutoff},
    )


def _assert_same(got: pa.Table, want: pa.Table) -> None:
    """Same columns and rows; floats equal up to 1e-12 relative (summation order)."""
    assert got.column_names == want.column_names
    for name in want.column_names:
        a, b = got.column(name), want.column(name)
        assert a.type == b.type, name
        if pa.types.is_floating(b.type):
            assert a.is_null().equals(b.is_null()), name
            np.testing.assert_allclose(
                a.to_numpy(zero_copy_only=False), b.to_numpy(zero_copy_only=False), rtol=1e-12
            )
        else:
            assert a.equals(b), name


def test_history_does_not_see_the_future(sim_store: Path, tmp_path: Path) -> None:
    cutoff = datetime(2025, 9, 1, tzinfo=UTC)
    con = open_store(sim_store, read_only=True)
    cats = store_categories(con)
    before = category_history(con, as_of=cutoff, timezone=BERLIN)
    con.close()
    assert before.num_rows > 500

    copy = tmp_path / "tampered.duckdb"
    copy.write_bytes(sim_store.read_bytes())
    con = open_store(copy)
    ((n_after,),) = con.execute(
        "SELECT count(*) FROM orders WHERE order_ts >= ?", [cutoff]
    ).fetchall()
    assert n_after > 300
    _tamper_after(con, cutoff)
    after = category_history(con, as_of=cutoff, timezone=BERLIN, categories=cats)
    later = category_history(con, as_of=datetime(2025, 9, 2, tzinfo=UTC), timezone=BERLIN)
    con.close()
    _assert_same(after, before)
    # the tampering is visible one day later: everyone bought at the cutoff
    assert later.num_rows > before.num_rows
