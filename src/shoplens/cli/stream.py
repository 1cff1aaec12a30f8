"""``shoplens stream``: the live shop on Kafka (produce, process, status, broker)."""

from __future__ import annotations

import json
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from shoplens.cli.core import JsonOpt, StoreOpt, TzOpt, _shop_settings, err, out
from shoplens.config import Settings
from shoplens.errors import InvalidParameterError, StreamError

# quixstreams imports authlib, which warns about its own httpx integration at import
warnings.filterwarnings("ignore", message="The httpx module is deprecated")

stream_app = typer.Typer(
    name="stream",
    help="The live shop on Kafka: produce events, process them into live KPIs and state.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

BootstrapOpt = Annotated[
    str | None,
    typer.Option("--bootstrap", "-b", help="Kafka bootstrap servers [setting: kafka.bootstrap]."),
]
OrdersTopicOpt = Annotated[
    str | None,
    typer.Option(
        "--orders-topic",
        help="Orders topic [setting: kafka.orders_topic, default shop.orders;"
        " e.g. ecommerce_transactions].",
    ),
]
EventsTopicOpt = Annotated[
    str | None, typer.Option("--events-topic", help="Events topic [setting: kafka.events_topic].")
]


def _stream_settings(
    store: Path | None,
    timezone: str | None,
    bootstrap: str | None,
    orders_topic: str | None = None,
    events_topic: str | None = None,
) -> Settings:
    base = _shop_settings(store, timezone)
    kafka = base.kafka.model_copy(
        update={
            k: v
            for k, v in {
                "bootstrap": bootstrap,
                "orders_topic": orders_topic,
                "events_topic": events_topic,
            }.items()
            if v is not None
        }
    )
    return base.model_copy(update={"kafka": kafka})


def _line(text: str) -> None:
    if err.is_terminal:
        err.print(f"\r{text:<100}", end="", highlight=False, soft_wrap=True)
    else:
        err.print(text, highlight=False, soft_wrap=True)


def produce_cmd(
    store_path: StoreOpt = None,
    bootstrap: BootstrapOpt = None,
    rate: Annotated[float | None, typer.Option(help="Messages per second [default: 1000].")] = None,
    speed: Annotated[
        float | None, typer.Option(help="Times real time: 60 = one shop minute per second.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds [default: until Ctrl-C].")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the live shop.")] = 7,
    orders_topic: OrdersTopicOpt = None,
    events_topic: EventsTopicOpt = None,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the live shop: the simulator driven forward from the end of the store's data."""
    from shoplens.generate.forward import ForwardParams, forward_from_store
    from shoplens.store import open_store
    from shoplens.stream import admin
    from shoplens.stream.producer import ProduceStats, Sender, produce

    if rate is not None and speed is not None:
        raise InvalidParameterError("choose one of --rate and --speed")
    for name, value in (("rate", rate), ("speed", speed), ("duration", duration)):
        if value is not None and not value > 0:
            raise InvalidParameterError(f"--{name} must be > 0, got {value}")
    if rate is None and speed is None:
        rate = 1000.0
    settings = _stream_settings(store_path, timezone, bootstrap, orders_topic, events_topic)
    k = settings.kafka
    con = open_store(settings.store, read_only=True, timezone=settings.timezone)
    try:
        shop = forward_from_store(con, ForwardParams(seed=seed, timezone=settings.timezone))
    finally:
        con.close()
    admin.wait_for_broker(
        k.bootstrap,
        attempts=k.connect_attempts,
        on_retry=lambda a, n, b, why: _line(
            f"broker {k.bootstrap} unreachable ({why}); retry {a}/{n - 1} in {b:.1f} s"
        ),
    )
    admin.ensure_topics(k.bootstrap, [k.orders_topic, k.events_topic], k.partitions)
    sender = Sender(k.bootstrap, {"orders": k.orders_topic, "events": k.events_topic})
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    start = shop.next_start
    if not as_json:
        pace = f"{rate:,.0f} msg/s" if rate else f"{speed:g}x real time"
        err.print(
            f"producing the live shop from {start:%Y-%m-%d %H:%M} UTC to {k.bootstrap}"
            f" ({k.orders_topic}, {k.events_topic}) at {pace}; Ctrl-C stops",
            highlight=False,
        )

    def progress(st: ProduceStats) -> None:
        if not as_json:
            sim = f"{st.sim_time:%Y-%m-%d %H:%M}" if st.sim_time else "-"
            _line(
                f"{st.rate:,.0f} msg/s  sent {st.sent:,}  failed {st.failed:,}"
                f"  retried {st.retried:,}  in flight {st.in_flight:,}  shop time {sim}"
            )

    interrupted = False
    try:
        stats = produce(
            shop, sender, rate=rate, speed=speed, duration=duration, stop=stop,
            on_progress=progress,
        )  # fmt: skip
    except KeyboardInterrupt:
        interrupted = True
        sender.flush()
        stats = sender.stats
    finally:
        signal.signal(signal.SIGTERM, previous)
    elapsed = time.monotonic() - stats.started
    summary = {
        "sent": stats.sent,
        "failed": stats.failed,
        "retried": stats.retried,
        "orders": stats.orders,
        "events": stats.events,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(stats.sent / max(elapsed, 1e-9), 1),
        "shop_time_from": start.isoformat(),
        "shop_time_to": stats.sim_time.isoformat() if stats.sim_time else None,
        "errors": stats.errors,
        "interrupted": interrupted or stop.is_set(),
    }
    if as_json:
        out.print_json(json.dumps(summary))
    else:
        err.print("", highlight=False)
        out.print(
            f"sent {stats.sent:,} messages ({stats.orders:,} orders, {stats.events:,} events)"
            f" in {elapsed:.1f} s = {summary['messages_per_second']:,.0f} msg/s;"
            f" failed {stats.failed:,}, retried {stats.retried:,}",
            highlight=False,
        )
        for reason, n in stats.errors.items():
            out.print(f"  delivery error x{n}: {escape(reason)}", highlight=False)
    if stats.failed:
        raise typer.Exit(1)


def process_cmd(
    store_path: StoreOpt = None,
    bootstrap: BootstrapOpt = None,
    from_beginning: Annotated[
        bool,
        typer.Option("--from-beginning", help="Start from the first message of the topics."),
    ] = False,
    commit_interval: Annotated[
        float, typer.Option(help="Seconds between checkpoints (store writes).")
    ] = 0.5,
    idle_timeout: Annotated[
        float, typer.Option(help="Stop after this many seconds without messages (0: never).")
    ] = 0.0,
    score_every: Annotated[
        float,
        typer.Option(help="Seconds between live model scorings (with models from 'train')."),
    ] = 60.0,
    orders_topic: OrdersTopicOpt = None,
    events_topic: EventsTopicOpt = None,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Process the live topics into the store: orders, live KPIs, per-customer live state."""
    from shoplens.stream.processor import Progress, run_processor

    if not commit_interval > 0:
        raise InvalidParameterError(f"--commit-interval must be > 0, got {commit_interval}")
    if not score_every > 0:
        raise InvalidParameterError(f"--score-every must be > 0, got {score_every}")
    settings = _stream_settings(store_path, timezone, bootstrap, orders_topic, events_topic)
    k = settings.kafka
    if not as_json:
        err.print(
            f"processing {k.orders_topic} and {k.events_topic} from {k.bootstrap} into"
            f" {settings.store}; Ctrl-C stops (what was written is committed)",
            highlight=False,
        )
    last = [time.monotonic(), 0]

    def progress(p: Progress) -> None:
        if as_json:
            return
        now = time.monotonic()
        rate = (p.stats.processed - last[1]) / max(now - last[0], 1e-9)
        last[:] = [now, p.stats.processed]
        lag = "?" if p.lag is None else f"~{p.lag:,}"
        note = f"  [{p.note}]" if p.note else ""
        _line(
            f"{rate:,.0f} msg/s  processed {p.stats.processed:,}  dead-lettered"
            f" {p.stats.dead_lettered:,}  written {p.writes.messages:,} in"
            f" {p.writes.batches:,} batches  lag {lag} (approximate){note}"
        )

    result = run_processor(
        settings,
        store=settings.store,
        from_beginning=from_beginning,
        commit_interval=commit_interval,
        idle_timeout=idle_timeout,
        score_every=score_every,
        on_progress=progress,
    )
    summary: dict[str, Any] = {
        "processed": result.stats.processed,
        "orders": result.stats.orders,
        "events": result.stats.events,
        "dead_lettered": result.stats.dead_lettered,
        "dead_letter_reasons": result.stats.reasons,
        "orders_new": result.writes.orders_new,
        "orders_duplicate": result.writes.orders_duplicate,
        "events_new": result.writes.events_new,
        "batches": result.writes.batches,
        "model_scoring_rounds": result.scoring_rounds,
        "seconds": round(result.elapsed, 2),
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    err.print("", highlight=False)
    out.print(
        f"processed {result.stats.processed:,} messages in {result.elapsed:.1f} s:"
        f" {result.writes.orders_new:,} new orders ({result.writes.orders_duplicate:,}"
        f" replayed duplicates ignored), {result.writes.events_new:,} new events,"
        f" {result.stats.dead_lettered:,} dead-lettered to {k.dead_letter_topic}",
        highlight=False,
    )


def status_cmd(
    bootstrap: BootstrapOpt = None,
    store_path: StoreOpt = None,
    orders_topic: OrdersTopicOpt = None,
    events_topic: EventsTopicOpt = None,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Topics, offsets, the processor's lag and the last window written."""
    from shoplens.stream.status import stream_status

    settings = _stream_settings(store_path, timezone, bootstrap, orders_topic, events_topic)
    doc = stream_status(settings, store_path)
    if as_json:
        out.print_json(json.dumps(doc, default=str))
        return
    out.print(f"broker {doc['bootstrap']}, consumer group {doc['consumer_group']}")
    for t in doc["topics"]:
        if not t["exists"]:
            out.print(f"  {t['topic']}: (no such topic)", highlight=False)
            continue
        lag = "-" if t["lag"] is None else f"{t['lag']:,}"
        out.print(
            f"  {t['topic']}: {t['partitions']} partitions, {t['messages']:,} messages,"
            f" committed {t['committed']:,}, lag {lag}",
            highlight=False,
        )
    out.print(f"[dim]{escape(doc['lag_note'])}[/]")
    if store_path is not None:
        lw = doc.get("last_window")
        if not lw:
            out.print("no window computed yet", highlight=False)
        for w, row in (lw or {}).items():
            out.print(
                f"last {w} window {row['window_start']}: revenue {row['revenue']:,.2f},"
                f" {row['orders']:,} orders, {row['active_customers']:,} active customers"
                f" (updated {row['updated_at']})",
                highlight=False,
            )


def broker_cmd(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 9092,
) -> None:
    """Start the bundled Kafka-protocol broker (Tansu, in memory, loopback only) until Ctrl-C."""
    from shoplens.stream import admin

    if not 0 < port < 65536:
        raise InvalidParameterError(f"--port must be in 1..65535, got {port}")
    proc = admin.start_broker(port, log=None)
    err.print(
        f"broker listening on 127.0.0.1:{port} (pid {proc.pid}, storage in memory);"
        " Ctrl-C stops it",
        highlight=False,
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        code = proc.wait(timeout=10)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise StreamError(f"the broker exited with status {code}")


stream_app.command("produce")(produce_cmd)
stream_app.command("process")(process_cmd)
stream_app.command("status")(status_cmd)
stream_app.command("broker")(broker_cmd)
