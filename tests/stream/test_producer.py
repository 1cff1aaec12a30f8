"""The producer's messages (broker-free): what the live shop publishes, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shoplens.generate.forward import ForwardParams, forward_from_store
from shoplens.stream import messages as m
from shoplens.stream.producer import MessageSource, ProduceStats, produce, slice_messages


@pytest.fixture
def shop(shop_store: Path) -> Any:
    con = duckdb.connect(str(shop_store), read_only=True)
    try:
        return forward_from_store(con, ForwardParams(seed=8))
    finally:
        con.close()


def test_slice_messages_are_valid_ordered_and_complete(shop: Any) -> None:
    sl = shop.step(1)
    msgs = slice_messages(sl)
    assert len(msgs) == sl.orders.num_rows + sl.events.num_rows
    ts = [x.ts_us for x in msgs]
    assert ts == sorted(ts)
    orders = [x for x in msgs if x.topic == "orders"]
    events = [x for x in msgs if x.topic == "events"]
    # the column-wise event messages are exactly what messages.event_message builds
    rows = {r["event_id"]: r for r in sl.events.to_pylist()}
    for x in events[:200]:
        assert x.value == m.event_message(rows[int(x.value["event_id"])])
        assert x.key == x.value["customer_id"]
    # every order message parses back to the simulated rows, with all its lines
    lines = sl.order_items.group_by("order_id").aggregate([("line_no", "count")])
    n_lines = dict(zip(lines["order_id"].to_pylist(), lines["line_no_count"].to_pylist(),
                       strict=True))  # fmt: skip
    for x in orders:
        item = m.parse(json.dumps(x.value).encode(), "order")
        assert len(item["items"]) == n_lines[int(item["order"]["order_id"])]
        assert x.key == item["order"]["customer_id"]
    # a new customer's account comes with their first order only
    new_ids = {str(c) for c in sl.new_customers["customer_id"].to_pylist()}
    with_account = [x.value["customer_id"] for x in orders if "customer" in x.value]
    assert len(with_account) == len(set(with_account))
    assert set(with_account) <= new_ids


class _CountingSender:
    """Stands in for Kafka: records what would be sent (the broker tests send for real)."""

    def __init__(self) -> None:
        self.stats = ProduceStats()
        self.sent: list[dict[str, Any]] = []

    def send(self, kind: str, key: str | None, value: bytes) -> None:
        self.sent.append(json.loads(value))
        self.stats.sent += 1
        self.stats.attempted += 1

    def service(self, timeout: float = 0.0) -> None:
        pass

    def flush(self, timeout: float = 30.0) -> int:
        return 0


def test_consecutive_runs_lose_no_message(shop: Any) -> None:
    source = MessageSource(shop)
    sender = _CountingSender()
    for _ in range(3):
        produce(source, sender, max_messages=700)  # type: ignore[arg-type]
    ids = [v.get("order_id") if "lines" in v else v["event_id"] for v in sender.sent]
    assert len(sender.sent) == 2100
    orders = sorted(int(v["order_id"]) for v in sender.sent if "lines" in v)
    assert orders == list(range(orders[0], orders[0] + len(orders)))  # no gap
    assert len(set(ids)) == len(ids)


def test_rate_paces_the_sender(shop: Any) -> None:
    import time

    sender = _CountingSender()
    t0 = time.monotonic()
    produce(shop, sender, rate=400, max_messages=200)  # type: ignore[arg-type]
    assert 0.4 < time.monotonic() - t0 < 2.0
    assert len(sender.sent) == 200
