"""The processor's Quix Streams application: consume, validate, dead-letter, sink.

:func:`build_app` wires the topics and dataframes and returns the application; it
never runs it (see :mod:`shoplens.stream.processor`). Per input topic:

    raw bytes -> messages.parse -> DuckDBSink -> valid:   orders, items, events,
                                                          windows, live state
                                              -> invalid: dead-letter topic, with reason

One chain, no branches: a Quix branch point deep-copies (pickles) every message for
each extra branch, which cost ~90 us per message here. The sink sends the invalid
messages to the dead-letter topic when it flushes, before Quix commits the offsets.

Consumer settings (measured on the test broker, see the README's figures):
``session.timeout.ms=6000`` (group join in ~3 s instead of ~23 s) and a checkpoint
every ``commit_interval`` seconds (the sink writes once per checkpoint, so this bounds
the latency until a row is readable).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from quixstreams import Application, message_context
from quixstreams.dataframe import StreamingDataFrame

from shoplens.config import Settings
from shoplens.errors import StreamError
from shoplens.stream.messages import MessageError, parse
from shoplens.stream.sink import DuckDBSink

CONSUMER_CONFIG: dict[str, Any] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1500,
    "log_level": 0,  # broker errors reach on_consumer_error and the progress line
}


@dataclass
class ProcessStats:
    """Counters of a processor run (read by the progress display)."""

    processed: int = 0
    orders: int = 0
    events: int = 0
    dead_lettered: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    broker_error: str | None = None


def _validator(kind: str, stats: ProcessStats) -> Any:
    def validate(raw: bytes | None) -> dict[str, Any]:
        stats.processed += 1
        try:
            value = parse(raw, kind)
        except MessageError as exc:
            ctx = message_context()
            stats.dead_lettered += 1
            reason = str(exc)
            short = reason.split(":")[0]
            stats.reasons[short] = stats.reasons.get(short, 0) + 1
            return {
                "kind": "invalid",
                "reason": reason,
                "topic": ctx.topic,
                "partition": ctx.partition,
                "offset": ctx.offset,
                "value": None if raw is None else raw.decode("utf-8", "replace"),
            }
        if kind == "order":
            stats.orders += 1
        else:
            stats.events += 1
        return value

    return validate


def state_dir(store: str | Path) -> Path:
    """Quix's state folder for the processor of ``store``: ``.NAME.stream-state`` beside it."""
    store = Path(store)
    return store.with_name(f".{store.name}.stream-state")


def build_app(
    settings: Settings,
    *,
    store: str | Path,
    from_beginning: bool = False,
    commit_interval: float = 0.5,
    consumer_group: str | None = None,
    consumer_config: dict[str, Any] | None = None,
    broker_availability_timeout: float = 30.0,
    stats: ProcessStats | None = None,
    sink: DuckDBSink | None = None,
) -> tuple[Application, list[StreamingDataFrame], DuckDBSink, ProcessStats]:
    """The processor application (not started), its dataframes, sink and counters.

    Topics must exist (``admin.ensure_topics``) before the application starts.
    """
    k = settings.kafka
    stats = stats or ProcessStats()

    def on_consumer_error(exc: Exception | None = None, *_: Any, **__: Any) -> bool:
        stats.broker_error = str(exc)
        return True  # keep going: librdkafka reconnects; Quix gives up after a timeout

    app = Application(
        broker_address=k.bootstrap,
        consumer_group=consumer_group or k.consumer_group,
        auto_offset_reset="earliest" if from_beginning else "latest",
        commit_interval=commit_interval,
        consumer_extra_config={**CONSUMER_CONFIG, **(consumer_config or {})},
        producer_extra_config={"log_level": 0},
        use_changelog_topics=False,
        # no state stores are used (the store is the state), but Quix still makes its
        # state folder: beside the store, hidden, not in the user's working directory
        state_dir=state_dir(store),
        auto_create_topics=False,
        loglevel=logging.WARNING,
        broker_availability_timeout=broker_availability_timeout,
        on_consumer_error=on_consumer_error,
    )
    sink = sink or DuckDBSink(store, timezone=settings.timezone)
    if sink.dead_letter is None:
        sink.dead_letter = DeadLetters(k.bootstrap, k.dead_letter_topic)
    frames = []
    for kind, name in (("order", k.orders_topic), ("event", k.events_topic)):
        topic = app.topic(name, value_deserializer="bytes", key_deserializer="bytes")
        sdf = app.dataframe(topic).apply(_validator(kind, stats))
        sdf.sink(sink)
        frames.append(sdf)
    return app, frames, sink, stats


class DeadLetters:
    """Sends invalid messages (with their reason) to the dead-letter topic, and waits
    for the broker's acknowledgement: a failure aborts the checkpoint (retried)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
             "log_level": 0}
        )  # fmt: skip

    def __call__(self, items: list[tuple[Any, dict[str, Any]]]) -> None:
        failed: list[str] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            if err is not None:
                failed.append(err.str())

        for key, value in items:
            body = json.dumps({k: v for k, v in value.items() if k != "kind"}).encode()
            self._producer.produce(self.topic, body, key=key, on_delivery=on_delivery)
        left = self._producer.flush(30)
        if left or failed:
            raise StreamError(
                f"could not write {left + len(failed)} messages to the dead-letter topic"
                f" {self.topic!r}: {failed[:1]}"
            )
