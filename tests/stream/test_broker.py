"""The live shop against the real broker (Tansu, no mock): produce, process, store.

Every test has its own topics and consumer group on the session's broker.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from shoplens.analytics import compute_kpis
from shoplens.config import load_settings
from shoplens.generate.forward import ForwardParams, forward_from_store
from shoplens.store import open_store
from shoplens.stream import admin
from shoplens.stream.processor import run_processor
from shoplens.stream.producer import MessageSource, ProduceStats, Sender, produce
from shoplens.stream.windows import batch_windows
from tests.stream.conftest import free_port, shoplens, stream_env, wait_for

pytestmark = pytest.mark.slow


def _produce(bootstrap: str, topics: dict[str, str], store: Path, **kw: Any) -> ProduceStats:
    con = open_store(store, read_only=True)
    try:
        shop = forward_from_store(con, ForwardParams(seed=3))
    finally:
        con.close()
    admin.ensure_topics(bootstrap, [topics["orders_topic"], topics["events_topic"]])
    sender = Sender(bootstrap, {"orders": topics["orders_topic"], "events": topics["events_topic"]})
    stats = produce(shop, sender, **kw)
    assert stats.failed == 0
    assert stats.sent == stats.orders + stats.events
    return stats


def _q(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = open_store(store, read_only=True, lock_wait=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _streamed_orders(store: Path, first_id: int) -> int:
    return int(_q(store, f"SELECT count(*) FROM orders WHERE order_id::BIGINT >= {first_id}")[0][0])


def _check_exactly_once(store: Path, first_id: int, produced: int) -> None:
    """Every produced order stored once, with its lines once; windows = batch."""
    n, distinct, lo, hi = _q(
        store,
        "SELECT count(*), count(DISTINCT order_id), min(order_id::BIGINT), max(order_id::BIGINT)"
        f" FROM orders WHERE order_id::BIGINT >= {first_id}",
    )[0]
    assert (n, distinct, lo, hi) == (produced, produced, first_id, first_id + produced - 1)
    dup_lines = _q(
        store, "SELECT count(*) FROM (SELECT order_id, line_no FROM order_items GROUP BY ALL"
        " HAVING count(*) > 1)",
    )  # fmt: skip
    assert dup_lines == [(0,)]
    orphans = _q(store, "SELECT count(*) FROM orders o WHERE NOT EXISTS"
                 " (SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)")  # fmt: skip
    assert orphans == [(0,)]
    con = open_store(store, read_only=True, lock_wait=10)
    try:
        first = con.execute("SELECT min(window_start) FROM realtime_kpis").fetchall()[0][0]
        expected = (
            batch_windows(con)
            .filter(f"window_start >= TIMESTAMPTZ '{first.isoformat()}'")
            .order("1, 2, 4, 5")
            .fetchall()
        )
        got = con.execute(
            "SELECT * EXCLUDE (updated_at) FROM realtime_kpis ORDER BY 1, 2, 4, 5"
        ).fetchall()
    finally:
        con.close()
    assert len(got) > 0
    assert got == [r[:-1] for r in expected]


def _first_new_order(store: Path) -> int:
    return int(_q(store, "SELECT max(order_id::BIGINT) FROM orders")[0][0]) + 1


def test_round_trip_reader_parity_and_sigterm(
    broker: str, topics: dict[str, str], store: Path
) -> None:
    first_id = _first_new_order(store)
    env = stream_env(broker, topics)
    admin.ensure_topics(broker, [topics["orders_topic"], topics["events_topic"]])
    proc = shoplens("stream", "process", "--store", str(store), "--from-beginning",
                    "--commit-interval", "0.3", env=env)  # fmt: skip
    try:
        stats = _produce(broker, topics, store, rate=2500, duration=3.0)
        # readers in other processes while the processor writes
        for args in (["status", "--store", str(store)],
                     ["kpis", "--store", str(store), "--no-save", "--json"],
                     ["stream", "status", "--store", str(store)]):  # fmt: skip
            reader = shoplens(*args, env=env)
            out, err = reader.communicate(timeout=60)
            assert reader.returncode == 0, err
        wait_for(lambda: _streamed_orders(store, first_id) == stats.orders, 60, "all orders")
        wait_for(
            lambda: _q(store, "SELECT count(*) FROM events WHERE event_id::BIGINT >="
                       " (SELECT min(event_id::BIGINT) FROM events) ")[0][0] > 0,
            10, "events",
        )  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{stats.orders:,} new orders" in out
    _check_exactly_once(store, first_id, stats.orders)
    n_events = _q(store, "SELECT count(*) FROM events")[0][0]
    assert n_events >= stats.events
    live = _q(store, "SELECT count(*), count(*) FILTER (WHERE orders > 0), count(rfm_segment),"
              " count(churn_probability) FROM customer_scores_live")[0]  # fmt: skip
    assert live[0] > 0
    assert live[2] == live[1]  # every live customer with a completed order has a segment...
    assert live[3] == 0  # ...and no churn score without a trained model

    # stream vs batch: `shoplens kpis` over the streamed days = the windows summed
    con = open_store(store, read_only=True)
    try:
        d0, d1 = con.execute(
            f"SELECT min(order_ts)::DATE, max(order_ts)::DATE FROM orders"
            f" WHERE order_id::BIGINT >= {first_id}"
        ).fetchall()[0]
        kpis = compute_kpis(con, start=d0, end=d1).to_pylist()[0]
        rev, orders = con.execute(
            "SELECT sum(revenue), sum(orders) FROM realtime_kpis"
            " WHERE \"window\" = '1h' AND dimension = 'all'"
        ).fetchall()[0]
    finally:
        con.close()
    assert orders == kpis["orders"] == stats.orders
    assert float(rev) == pytest.approx(kpis["net_revenue"], abs=0.005)


def test_dead_letter_path(broker: str, topics: dict[str, str], store: Path) -> None:
    admin.ensure_topics(broker, list(topics.values())[:3])
    first_id = _first_new_order(store)
    good = {"schema_version": 1, "order_id": str(first_id), "customer_id": "1",
            "order_ts": "2030-01-01T10:00:00Z", "status": "completed", "discount": "0.00",
            "currency": "EUR", "lines": [{"line_no": 1, "product_id": "1", "quantity": 1,
                                          "unit_price": "9.99", "discount": "0"}]}  # fmt: skip
    negative = {**good, "order_id": "x1", "discount": "-5.00"}
    missing = {k: v for k, v in good.items() if k != "lines"}
    future = {**good, "schema_version": 99}
    p = Producer({"bootstrap.servers": broker})
    for raw in (b"{not json", json.dumps(missing).encode(), json.dumps(negative).encode(),
                json.dumps(future).encode(), json.dumps(good).encode()):  # fmt: skip
        p.produce(topics["orders_topic"], raw, key=b"1")
    p.produce(topics["events_topic"], b'{"schema_version": 1, "event_id": "1"}', key=b"1")
    assert p.flush(10) == 0
    settings = load_settings(kafka={"bootstrap": broker, **topics})
    result = run_processor(settings, store=store, from_beginning=True, idle_timeout=3)
    assert result.stats.dead_lettered == 5
    assert result.writes.orders_new == 1  # processing went on after the bad ones
    assert _streamed_orders(store, first_id) == 1

    c = Consumer({"bootstrap.servers": broker, "group.id": "dlq-reader",
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})  # fmt: skip
    c.subscribe([topics["dead_letter_topic"]])
    reasons: list[str] = []
    deadline = time.monotonic() + 30
    while len(reasons) < 5 and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and msg.error() is None:
            reasons.append(json.loads(msg.value())["reason"])
    c.close()
    assert len(reasons) == 5
    text = " | ".join(sorted(reasons))
    for expected in ("malformed JSON", "missing field 'lines'", "negative amount in 'discount'",
                     "unknown schema_version 99", "missing field 'session_id'"):  # fmt: skip
        assert expected in text


def test_sigkill_restart_exactly_once(broker: str, topics: dict[str, str], store: Path) -> None:
    """The stream arrives in three parts; the processor is killed with SIGKILL after the
    first and the second part (while part of them is stored), restarted each time."""
    first_id = _first_new_order(store)
    con = open_store(store, read_only=True)
    shop = MessageSource(forward_from_store(con, ForwardParams(seed=4)))
    con.close()
    admin.ensure_topics(broker, [topics["orders_topic"], topics["events_topic"]])
    sender = Sender(broker, {"orders": topics["orders_topic"], "events": topics["events_topic"]})
    env = stream_env(broker, topics)
    args = ["stream", "process", "--store", str(store), "--commit-interval", "0.2"]
    for part in range(2):
        produce(shop, sender, max_messages=4000)
        target = sender.stats.orders // 3 if part == 0 else sender.stats.orders * 2 // 3
        proc = shoplens(*args, *(["--from-beginning"] if part == 0 else []), env=env)
        try:
            wait_for(
                lambda t=target: _streamed_orders(store, first_id) >= t, 90, f"{target} orders"
            )
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    produce(shop, sender, max_messages=4000)
    stats = sender.stats
    assert stats.failed == 0
    assert _streamed_orders(store, first_id) < stats.orders  # the last part is still to come
    final = shoplens(*args, "--idle-timeout", "4", "--json", env=env)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    summary = json.loads(out)
    assert summary["orders_new"] > 0  # the restarted processor stored the rest...
    _check_exactly_once(store, first_id, stats.orders)  # ...each order exactly once


def test_broker_unreachable_at_start(store: Path, topics: dict[str, str]) -> None:
    dead = f"127.0.0.1:{free_port()}"
    env = stream_env(dead, topics, SHOPLENS_KAFKA__CONNECT_ATTEMPTS="2")
    t0 = time.monotonic()
    proc = shoplens("stream", "process", "--store", str(store), env=env)
    try:
        _out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 1
    assert f"cannot reach the Kafka broker at {dead} after 2 attempts" in err
    assert "Traceback" not in err
    assert time.monotonic() - t0 < 20
