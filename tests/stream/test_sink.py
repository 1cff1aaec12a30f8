"""DuckDBSink without a broker: SinkBatches filled by hand, written to a temporary store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from quixstreams.sinks import SinkBackpressureError, SinkBatch

from shoplens.errors import StoreError
from shoplens.stream import messages as m
from shoplens.stream.sink import DuckDBSink
from shoplens.stream.windows import batch_windows

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def order(oid: int, cid: int | None, minutes: float, status: str = "completed",
          promo: str | None = None, lines: tuple[tuple[int, int, str], ...] = ((1, 2, "10.00"),),
          discount: str = "0.00", new_country: str | None = None) -> bytes:  # fmt: skip
    msg: dict[str, Any] = {
        "schema_version": 1,
        "order_id": str(oid),
        "customer_id": None if cid is None else str(cid),
        "order_ts": (T0 + timedelta(minutes=minutes)).isoformat(),
        "status": status,
        "channel": "web",
        "promo_code": promo,
        "discount": discount,
        "currency": "EUR",
        "lines": [
            {"line_no": i + 1, "product_id": str(p), "quantity": q, "unit_price": price,
             "discount": "0.00"}
            for i, (p, q, price) in enumerate(lines)
        ],
    }  # fmt: skip
    if new_country:
        msg["customer"] = {"customer_id": str(cid), "signup_ts": T0.isoformat(),
                           "country": new_country}  # fmt: skip
    return json.dumps(msg).encode()


def event(eid: int, minutes: float) -> bytes:
    return m.encode(
        m.event_message({"event_id": eid, "session_id": 1, "customer_id": 1,
                         "event_ts": T0 + timedelta(minutes=minutes), "event_type": "page_view"})
    )  # fmt: skip


def batch(raws: list[tuple[str, bytes]], partition: int = 0) -> SinkBatch:
    b = SinkBatch(topic="t", partition=partition)
    for offset, (kind, raw) in enumerate(raws):
        b.append(value=m.parse(raw, kind), key=b"k", timestamp=0, headers=[], offset=offset)
    return b


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "live.duckdb"
    sink = DuckDBSink(path)
    sink.setup()  # creates the store
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO products VALUES ('1', 'Pen', 'books', 10), ('2', 'Mug', 'home_kitchen', 5)"
    )
    con.execute(
        "INSERT INTO customers (customer_id, signup_ts, country) VALUES"
        " ('1', '2025-01-01', 'DE'), ('2', '2025-01-01', 'FR')"
    )
    con.close()
    return path


def q(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


BATCH = [
    ("order", order(1, 1, 0.5)),  # 2 x 10 = 20
    (
        "order",
        order(2, 2, 1.2, promo="LOYAL5", lines=((1, 1, "10.00"), (2, 2, "5.00")), discount="2.00"),
    ),
    ("order", order(3, 1, 1.7, status="cancelled")),
    ("order", order(4, None, 61.0)),  # guest, next hour
    ("order", order(5, 3, 62.0, new_country="IT")),  # a new account
    ("event", event(1, 0.1)),
    ("event", event(2, 0.2)),
]


def test_write_orders_items_events_and_windows(store: Path) -> None:
    sink = DuckDBSink(store)
    sink.setup()
    sink.write(batch(BATCH))
    assert q(store, "SELECT count(*) FROM orders") == [(5,)]
    assert q(store, "SELECT count(*) FROM order_items") == [(6,)]
    assert q(store, "SELECT count(*) FROM events") == [(2,)]
    assert q(store, "SELECT country FROM customers WHERE customer_id = '3'") == [("IT",)]
    rows = q(
        store,
        'SELECT "window", window_start, revenue, orders, active_customers, promo_share,'
        " average_basket FROM realtime_kpis WHERE dimension = 'all' ORDER BY 1, 2",
    )
    assert rows == [
        ("1h", T0, Decimal("38.00"), 3, 2, 1 / 3, 19.0),
        ("1h", T0 + timedelta(hours=1), Decimal("40.00"), 2, 1, 0.0, 20.0),
        ("1m", T0, Decimal("20.00"), 1, 1, 0.0, 20.0),
        ("1m", T0 + timedelta(minutes=1), Decimal("18.00"), 2, 1, 0.5, 18.0),
        ("1m", T0 + timedelta(minutes=61), Decimal("20.00"), 1, 0, 0.0, 20.0),
        ("1m", T0 + timedelta(minutes=62), Decimal("20.00"), 1, 1, 0.0, 20.0),
    ]
    by_country = q(
        store,
        "SELECT dimension_value, revenue FROM realtime_kpis WHERE \"window\" = '1h'"
        " AND dimension = 'country' AND window_start = '2026-03-01 09:00:00+00' ORDER BY 1",
    )
    assert by_country == [("DE", Decimal("20.00")), ("FR", Decimal("18.00"))]
    # category: order 2's discount of 2 shared pro rata (10 books, 10 home_kitchen)
    by_cat = q(
        store,
        "SELECT dimension_value, revenue, orders FROM realtime_kpis WHERE \"window\" = '1h'"
        " AND dimension = 'category' AND window_start = '2026-03-01 09:00:00+00' ORDER BY 1",
    )
    assert by_cat == [("books", Decimal("29.00"), 3), ("home_kitchen", Decimal("9.00"), 1)]
    live = q(
        store,
        "SELECT customer_id, orders, spend, last_categories, churn_probability"
        " FROM customer_scores_live ORDER BY 1",
    )
    assert live == [
        ("1", 1, Decimal("20.00"), ["books"], None),
        ("2", 1, Decimal("18.00"), ["books", "home_kitchen"], None),
        ("3", 1, Decimal("20.00"), ["books"], None),
    ]
    assert q(store, "SELECT name, rows FROM shoplens_results ORDER BY 1") == [
        ("customer_scores_live", 3),
        ("realtime_kpis", len(q(store, "SELECT * FROM realtime_kpis"))),
    ]


def test_replay_is_idempotent_and_matches_batch(store: Path) -> None:
    sink = DuckDBSink(store)
    sink.setup()
    sink.write(batch(BATCH[:3]))
    sink.write(batch(BATCH))  # replay after a crash: everything again
    sink.write(batch([*BATCH[1:2], ("order", order(6, 2, 1.9))], partition=1))
    assert q(store, "SELECT count(*), count(DISTINCT order_id) FROM orders") == [(6, 6)]
    assert q(store, "SELECT count(*) FROM order_items") == [(7,)]
    assert q(store, "SELECT count(*) FROM events") == [(2,)]
    assert sink.stats.orders_duplicate == 4
    con = duckdb.connect(str(store), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    expected = batch_windows(con).order("1, 2, 4, 5").fetchall()
    got = con.execute(
        "SELECT * EXCLUDE (updated_at) FROM realtime_kpis ORDER BY 1, 2, 4, 5"
    ).fetchall()
    con.close()
    assert [r[:-1] for r in expected] == got


def test_locked_store_raises_backpressure(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = DuckDBSink(store)
    sink.setup()

    def locked(*_a: Any, **_k: Any) -> Any:  # what open_store says when another process writes
        raise StoreError(f"store {store} is in use by another process (Conflicting lock)")

    monkeypatch.setattr("shoplens.stream.sink.open_store", locked)
    with pytest.raises(SinkBackpressureError) as info:
        sink.write(batch(BATCH[:1]))
    assert info.value.retry_after == pytest.approx(0.1)
    with pytest.raises(SinkBackpressureError) as info:
        sink.write(batch(BATCH[:1]))
    assert info.value.retry_after == pytest.approx(0.2)
    monkeypatch.undo()
    sink.write(batch(BATCH[:1]))
    assert q(store, "SELECT count(*) FROM orders") == [(1,)]
    assert sink.stats.lock_waits == 2
    assert sink._backoff == pytest.approx(0.1)  # reset after a successful write
