"""The live shop: the simulator driven forward in time, published to Kafka.

:class:`~shoplens.generate.forward.ForwardShop` simulates the shop day by day from the
end of the store's data; :func:`slice_messages` turns a simulated day into messages
in time order (one per order with its lines on the orders topic, one per clickstream
event on the events topic, keyed by customer id); :func:`produce` paces them
(``rate`` messages per second, or ``speed`` times real time) and sends them through
:class:`Sender`, which checks every delivery report: a message is counted as sent
only when the broker acknowledged it, failed deliveries are retried
(``MAX_ATTEMPTS``) and then counted and reported as failed, never dropped silently.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaError, Producer

from shoplens.generate.forward import ForwardShop, ForwardSlice
from shoplens.stream.messages import SCHEMA_VERSION, OrderRows, order_message

MAX_ATTEMPTS = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 20,
    "compression.type": "none",
    "delivery.timeout.ms": 30_000,
    "socket.connection.setup.timeout.ms": 5_000,
    "log_level": 0,  # failures are counted and reported from the delivery reports
}


@dataclass
class ProduceStats:
    """Counters of one run (updated by the delivery callbacks)."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    attempted: int = 0
    orders: int = 0
    events: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    sim_us: int | None = None
    """Event time of the last message sent (microseconds since the epoch, UTC)."""

    @property
    def sim_time(self) -> datetime | None:
        return None if self.sim_us is None else _EPOCH + timedelta(microseconds=self.sim_us)

    @property
    def in_flight(self) -> int:
        return self.attempted - self.sent - self.failed

    @property
    def rate(self) -> float:
        return self.sent / max(time.monotonic() - self.started, 1e-9)


@dataclass(frozen=True)
class Message:
    ts_us: int  # event time, microseconds since the epoch (UTC)
    topic: str  # "orders" or "events"
    key: str | None
    value: dict[str, Any]


def _iso(column: pa.ChunkedArray) -> list[str]:
    """UTC timestamps as ISO 8601 strings with a Z (vectorised: Arrow's strftime)."""
    ts = column.cast(pa.timestamp("us", tz="UTC"))
    out: list[str] = pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ").to_pylist()
    return out


def _strs(column: pa.ChunkedArray) -> list[str | None]:
    out: list[str | None] = column.cast(pa.string()).to_pylist()
    return out


def _us(column: pa.ChunkedArray) -> list[int]:
    ts = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    out: list[int] = ts.to_pylist()
    return out


def slice_messages(sl: ForwardSlice) -> list[Message]:
    """The messages of a simulated slice, in event-time order.

    Orders go through :func:`~shoplens.stream.messages.order_message` (few per second
    of shop time); the many clickstream events are built column-wise with the same
    fields as :func:`~shoplens.stream.messages.event_message` (checked by the tests).
    """
    items: dict[int, list[dict[str, Any]]] = {}
    for row in sl.order_items.to_pylist():
        items.setdefault(row["order_id"], []).append(row)
    new = {row["customer_id"]: row for row in sl.new_customers.to_pylist()}
    out: list[Message] = []
    for order, ts_us in zip(sl.orders.to_pylist(), _us(sl.orders.column("order_ts")), strict=True):
        customer = new.pop(order["customer_id"], None)
        rows = OrderRows(order, tuple(items.get(order["order_id"], ())), customer)
        key = None if order["customer_id"] is None else str(order["customer_id"])
        out.append(Message(ts_us, "orders", key, order_message(rows)))
    ev = sl.events
    columns = zip(
        _us(ev.column("event_ts")),
        _strs(ev.column("event_id")),
        _strs(ev.column("session_id")),
        _strs(ev.column("customer_id")),
        _iso(ev.column("event_ts")),
        _strs(ev.column("event_type")),
        _strs(ev.column("product_id")),
        _strs(ev.column("order_id")),
        strict=True,
    )
    for ts_us, eid, sid, cid, ts, etype, pid, oid in columns:
        value = {
            "schema_version": SCHEMA_VERSION,
            "message_id": f"e-{eid}",
            "event_id": eid,
            "session_id": sid,
            "customer_id": cid,
            "event_ts": ts,
            "event_type": etype,
            "product_id": pid,
            "order_id": oid,
        }
        out.append(Message(ts_us, "events", cid, value))
    out.sort(key=lambda m: m.ts_us)
    return out


def restamp(message: Message, now: datetime) -> dict[str, Any]:
    """The message with its event time set to ``now`` (benchmarks measure latency)."""
    value = dict(message.value)
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    value["order_ts" if message.topic == "orders" else "event_ts"] = stamp
    return value


class Sender:
    """A confluent-kafka producer whose every delivery report is accounted for."""

    def __init__(self, bootstrap: str, topics: dict[str, str], **config: Any) -> None:
        self.topics = topics
        self.stats = ProduceStats()
        self._retry: list[tuple[str, bytes | None, bytes, int]] = []
        self._producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG, **config})

    def send(self, kind: str, key: str | None, value: bytes, attempt: int = 1) -> None:
        topic = self.topics[kind]
        k = key.encode() if key is not None else None

        def on_delivery(err: KafkaError | None, _msg: Any) -> None:
            if err is None:
                self.stats.sent += 1
                return
            reason = err.str()
            self.stats.errors[reason] = self.stats.errors.get(reason, 0) + 1
            if attempt < MAX_ATTEMPTS and not err.fatal():
                self.stats.retried += 1
                self.stats.attempted -= 1  # counted again when re-sent
                self._retry.append((kind, k, value, attempt + 1))
            else:
                self.stats.failed += 1

        while True:
            try:
                self._producer.produce(topic, value=value, key=k, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: serve delivery reports, try again
                self._producer.poll(0.05)
        self.stats.attempted += 1
        if kind == "orders" and attempt == 1:
            self.stats.orders += 1
        elif attempt == 1:
            self.stats.events += 1

    def service(self, timeout: float = 0.0) -> None:
        """Serve delivery reports and re-send what failed."""
        self._producer.poll(timeout)
        while self._retry:
            kind, k, value, attempt = self._retry.pop()
            self.send(kind, k.decode() if k is not None else None, value, attempt)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for every delivery report (and retries); returns messages still unsure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self._producer.flush(min(1.0, max(deadline - time.monotonic(), 0.0)))
            self.service()
            if left == 0 and not self._retry and self.stats.in_flight <= 0:
                return 0
        left = int(self._producer.flush(0))
        self.stats.failed += left  # never acknowledged: reported as failed
        return left


def _sleep_until(target: float, sender: Sender, stop: threading.Event) -> None:
    while not stop.is_set():
        left = target - time.monotonic()
        if left <= 0:
            return
        sender.service(min(left, 0.1))


def messages_forever(shop: ForwardShop) -> Iterator[Message]:
    """The live shop's messages, day after day."""
    while True:
        yield from slice_messages(shop.step(1))


class MessageSource:
    """The live shop's messages with one message of look-ahead, so that a run that
    stops (duration, count, Ctrl-C) loses nothing: the next run continues with the
    message that was not sent."""

    def __init__(self, shop: ForwardShop) -> None:
        self.shop = shop
        self._it = messages_forever(shop)
        self._next: Message | None = None

    def peek(self) -> Message:
        if self._next is None:
            self._next = next(self._it)
        return self._next

    def pop(self) -> Message:
        msg = self.peek()
        self._next = None
        return msg


def produce(
    source: ForwardShop | MessageSource,
    sender: Sender,
    *,
    rate: float | None = None,
    speed: float | None = None,
    duration: float | None = None,
    max_messages: int | None = None,
    stop: threading.Event | None = None,
    live_time: bool = False,
    on_progress: Callable[[ProduceStats], None] | None = None,
    progress_every: float = 1.0,
) -> ProduceStats:
    """Publish the live shop until ``duration`` seconds, ``max_messages`` or ``stop``.

    ``rate``: messages per second; ``speed``: simulated seconds per real second (event
    time paced); neither: as fast as the broker takes them. ``live_time`` stamps each
    message with the wall clock at sending instead of its simulated time.
    """
    stop = stop or threading.Event()
    src = source if isinstance(source, MessageSource) else MessageSource(source)
    stats = sender.stats
    t0 = time.monotonic()
    stats.started = t0
    sim0 = src.peek().ts_us
    next_progress = t0 + progress_every
    n = 0
    try:
        while True:
            now = time.monotonic()
            if stop.is_set() or (duration is not None and now - t0 >= duration):
                break
            if max_messages is not None and n >= max_messages:
                break
            msg = src.peek()
            if rate:
                _sleep_until(t0 + n / rate, sender, stop)
            elif speed:
                _sleep_until(t0 + (msg.ts_us - sim0) / 1e6 / speed, sender, stop)
            if stop.is_set() or (duration is not None and time.monotonic() - t0 >= duration):
                break
            src.pop()
            value = restamp(msg, datetime.now(UTC)) if live_time else msg.value
            sender.send(msg.topic, msg.key, json.dumps(value, separators=(",", ":")).encode())
            stats.sim_us = msg.ts_us
            n += 1
            if n % 1000 == 0:
                sender.service()
            if on_progress is not None and time.monotonic() >= next_progress:
                sender.service()
                on_progress(stats)
                next_progress = time.monotonic() + progress_every
    finally:
        sender.flush()
    return stats
