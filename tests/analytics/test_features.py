"""Point-in-time customer features: exact values on a hand-made store, and no leakage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from shoplens.analytics.features import (
    EVENT_FEATURES,
    FeatureSet,
    customer_features,
    detect_feature_set,
)
from shoplens.generate import SimulationParams, generate_into
from shoplens.store import open_store, write_new_store
from tests.conftest import MakeStore

CUTOFF = datetime(2025, 3, 1, tzinfo=UTC)


def test_order_features_exact(make_store: MakeStore, open_con) -> None:
    path = make_store(
        customers=[
            {"customer_id": "a", "signup_ts": "2024-12-01 00:00", "country": "DE", "age": 30},
            {"customer_id": "b", "signup_ts": "2024-12-01 00:00", "country": "FR"},
        ],
        products=[{"product_id": "p", "name": "P", "unit_price": 10}],
        orders=[
            {"order_id": "1", "customer_id": "a", "order_ts": "2025-01-01 10:00"},
            {
                "order_id": "2",
                "customer_id": "a",
                "order_ts": "2025-01-11 10:00",
                "promo_code": "X",
            },
            {"order_id": "3", "customer_id": "a", "order_ts": "2025-02-10 20:00"},
            {
                "order_id": "4",
                "customer_id": "a",
                "order_ts": "2025-02-11 20:00",
                "status": "returned",
            },
            {"order_id": "5", "customer_id": "b", "order_ts": "2025-02-20 08:00"},
            # after the cutoff: never counted
            {"order_id": "6", "customer_id": "a", "order_ts": "2025-03-01 00:00"},
            {"order_id": "7", "customer_id": "c", "order_ts": "2025-03-02 00:00"},
        ],
        order_items=[
            {"order_id": o, "product_id": "p", "quantity": q, "unit_price": 10}
            for o, q in [("1", 1), ("2", 2), ("3", 3), ("4", 1), ("5", 5), ("6", 9), ("7", 1)]
        ],
    )
    con = open_con(path)
    rows = {r["customer_id"]: r for r in customer_features(con, cutoff=CUTOFF).to_pylist()}
    assert set(rows) == {"a", "b"}
    a = rows["a"]
    assert a["frequency"] == 3
    assert a["repeat_days"] == 2
    assert a["monetary_total"] == pytest.approx(60.0)
    assert a["monetary_mean"] == pytest.approx(20.0)
    assert a["recency_days"] == pytest.approx(18 + 4 / 24)
    assert a["tenure_days"] == pytest.approx(58 + 14 / 24)
    assert a["ipt_mean"] == pytest.approx(20.0 + 5 / 24)  # gaps 10 and 30 days 10 h
    assert a["gap_ratio"] == pytest.approx(a["recency_days"] / a["ipt_mean"])
    assert a["orders_30d"] == 1
    assert a["orders_90d"] == 3
    assert a["promo_share"] == pytest.approx(1 / 3)
    assert a["return_share"] == pytest.approx(1 / 4)
    assert a["cancel_share"] == 0
    assert a["hour_morning"] == pytest.approx(2 / 3)
    assert a["hour_evening"] == pytest.approx(1 / 3)
    assert a["age"] == 30
    assert rows["b"]["ipt_mean"] is None
    assert rows["b"]["age"] is None
    assert rows["b"]["country"] == "FR"
    # no events table: the event features are absent, not zero
    fs = detect_feature_set(con, cutoff=CUTOFF)
    assert not fs.events
    assert not set(EVENT_FEATURES) & set(customer_features(con, cutoff=CUTOFF).column_names)


@pytest.fixture(scope="module")
def sim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("features") / "shop.duckdb"
    params = SimulationParams(customers=1500, days=200, seed=3, event_days=60)

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, fill)
    return path


def _tamper_after(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> None:
    """Change every order, line and event at or after ``cutoff``; add and delete some."""
    after = "SELECT order_id FROM orders WHERE order_ts >= $c"
    con.execute(
        f"UPDATE order_items SET unit_price = unit_price * 3 + 1, quantity = quantity + 2"
        f" WHERE order_id IN ({after})",
        {"c": cutoff},
    )
    con.execute(
        "UPDATE orders SET status = CASE status WHEN 'completed' THEN 'returned'"
        " ELSE 'completed' END, promo_code = 'LEAK', discount = 0,"
        " order_ts = order_ts + INTERVAL 1 HOUR WHERE order_ts >= $c",
        {"c": cutoff},
    )
    con.execute("DELETE FROM orders WHERE order_ts >= $c AND hash(order_id) % 5 = 0", {"c": cutoff})
    # new orders right at the cutoff for customers of every kind
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
        "UPDATE events SET event_type = 'add_to_cart', event_ts = event_ts + INTERVAL 1 MINUTE"
        " WHERE event_ts >= $c",
        {"c": cutoff},
    )
    con.execute(
        "INSERT INTO events SELECT 'leak-' || customer_id, 'leak-s-' || customer_id,"
        " customer_id, $c, 'product_view', NULL, NULL FROM customers",
        {"c": cutoff},
    )


def test_features_do_not_see_the_future(sim_store: Path, tmp_path: Path) -> None:
    con = open_store(sim_store, read_only=True)
    (end,) = con.execute("SELECT max(order_ts) FROM orders").fetchall()[0]
    cutoff = datetime(end.year, end.month, 1, tzinfo=UTC)  # events exist before it
    fs = detect_feature_set(con, cutoff=cutoff)
    assert fs.events
    assert fs.demographics
    before = customer_features(con, cutoff=cutoff)
    con.close()
    assert before.num_rows > 500

    copy = tmp_path / "tampered.duckdb"
    copy.write_bytes(sim_store.read_bytes())
    con = open_store(copy)
    ((n_after,),) = con.execute(
        "SELECT count(*) FROM orders WHERE order_ts >= ?", [cutoff]
    ).fetchall()
    assert n_after > 100
    _tamper_after(con, cutoff)
    assert detect_feature_set(con, cutoff=cutoff) == fs
    after = customer_features(con, cutoff=cutoff, feature_set=fs)
    con.close()
    assert after.equals(before)
    # the tampering is visible to features one day later
    con = open_store(copy, read_only=True)
    later = customer_features(con, cutoff=cutoff.replace(day=2), feature_set=fs)
    con.close()
    assert later.num_rows > before.num_rows


def test_feature_set_fixes_the_columns(sim_store: Path) -> None:
    con = open_store(sim_store, read_only=True)
    early = datetime(2025, 7, 1, tzinfo=UTC)  # before the clickstream window
    fs_early = detect_feature_set(con, cutoff=early)
    assert not fs_early.events
    late = con.execute("SELECT max(order_ts) FROM orders").fetchall()[0][0]
    table = customer_features(con, cutoff=late, feature_set=fs_early)
    con.close()
    assert table.column_names == ["customer_id", *fs_early.columns]
    assert FeatureSet(events=False, demographics=()).columns[0] == "recency_days"
