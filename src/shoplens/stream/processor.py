"""Running the processor: broker checks, topics, restarts with backoff, progress.

:func:`run_processor` checks the broker (retries with backoff, then a clear
:class:`StreamError`), creates missing topics, optionally rewinds the consumer group
(``from_beginning``) and runs the Quix application. If the broker goes away
mid-stream, librdkafka keeps reconnecting; after ``broker_timeout`` seconds Quix
stops with ``KafkaBrokerUnavailableError`` and the processor restarts the application
with exponential backoff, up to ``max_restarts`` times, reporting each step. SIGINT
and SIGTERM stop the application gracefully: Quix flushes the sink (one last write)
and commits the offsets of what was written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quixstreams.kafka.exceptions import KafkaBrokerUnavailableError

from shoplens.config import Settings
from shoplens.errors import StreamError
from shoplens.stream import admin
from shoplens.stream.scoring import LiveScorer
from shoplens.stream.sink import DuckDBSink, WriteStats
from shoplens.stream.topology import ProcessStats, build_app


@dataclass
class Progress:
    """A snapshot for the live display."""

    elapsed: float
    stats: ProcessStats
    writes: WriteStats
    lag: int | None  # approximate: see admin (Tansu's high watermark is wrong)
    note: str | None = None
    scoring_rounds: int = 0


def _lag(settings: Settings, group: str) -> int | None:
    k = settings.kafka
    try:
        parts = admin.topic_offsets(k.bootstrap, [k.orders_topic, k.events_topic], group)
    except Exception:  # the display must not kill the processor
        return None
    lags = [p.lag for p in parts if p.lag is not None]
    return sum(lags) if lags else None


def run_processor(
    settings: Settings,
    *,
    store: str | Path,
    from_beginning: bool = False,
    commit_interval: float = 0.5,
    idle_timeout: float = 0.0,
    broker_timeout: float = 30.0,
    max_restarts: int = 5,
    consumer_group: str | None = None,
    consumer_config: dict[str, object] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every: float = 1.0,
    lag_every: float = 5.0,
    score_every: float = 60.0,
) -> Progress:
    """Process the live shop's topics into ``store`` until stopped (Ctrl-C, SIGTERM) or
    ``idle_timeout`` seconds without messages (0: never). Returns the final counters."""
    k = settings.kafka
    group = consumer_group or k.consumer_group
    admin.wait_for_broker(
        k.bootstrap,
        attempts=k.connect_attempts,
        on_retry=lambda a, n, b, why: on_progress
        and on_progress(
            Progress(0.0, ProcessStats(), WriteStats(), None,
                     f"broker {k.bootstrap} unreachable ({why}); retry {a}/{n - 1} in {b:.1f} s")
        ),
    )  # fmt: skip
    admin.ensure_topics(
        k.bootstrap, [k.orders_topic, k.events_topic, k.dead_letter_topic], k.partitions
    )
    if from_beginning:
        admin.rewind_group(k.bootstrap, group, [k.orders_topic, k.events_topic])
    stats = ProcessStats()
    sink = DuckDBSink(
        store,
        timezone=settings.timezone,
        scorer=LiveScorer(
            timezone=settings.timezone, every=score_every, currency=settings.currency
        ),
    )
    t0 = time.monotonic()
    lag: list[int | None] = [None]
    note: list[str | None] = [None]
    done = threading.Event()

    def snapshot() -> Progress:
        rounds = sink.scorer.rounds if sink.scorer is not None else 0
        return Progress(time.monotonic() - t0, stats, sink.stats, lag[0], note[0], rounds)

    def report() -> None:
        next_lag = time.monotonic() + lag_every
        while not done.wait(progress_every):
            if time.monotonic() >= next_lag:
                lag[0] = _lag(settings, group)
                next_lag = time.monotonic() + lag_every
            if on_progress is not None:
                on_progress(snapshot())

    reporter = threading.Thread(target=report, name="shoplens-progress", daemon=True)
    reporter.start()
    backoff = 1.0
    try:
        for attempt in range(max_restarts + 1):
            app, _, _, _ = build_app(
                settings,
                store=store,
                from_beginning=from_beginning,
                commit_interval=commit_interval,
                consumer_group=group,
                consumer_config=consumer_config,
                broker_availability_timeout=broker_timeout,
                stats=stats,
                sink=sink,
            )
            try:
                app.run(timeout=idle_timeout)
                break
            except KafkaBrokerUnavailableError:
                if attempt == max_restarts:
                    raise StreamError(
                        f"the Kafka broker at {k.bootstrap} stayed unreachable; gave up after"
                        f" {max_restarts} restarts (everything written so far is committed)"
                    ) from None
                note[0] = (
                    f"broker {k.bootstrap} unreachable for {broker_timeout:.0f} s;"
                    f" restarting in {backoff:.0f} s ({attempt + 1}/{max_restarts})"
                )
                if on_progress is not None:
                    on_progress(snapshot())
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                admin.wait_for_broker(k.bootstrap, attempts=10, first_backoff=1.0)
                note[0] = None
    finally:
        done.set()
        reporter.join(timeout=5)
    return snapshot()


__all__ = ["DuckDBSink", "Progress", "run_processor"]
