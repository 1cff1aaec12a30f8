"""Benchmark: the stream processor (Quix Streams -> DuckDB) vs a plain consume loop.

One run, one broker (the bundled Tansu, on a free loopback port), one simulated store:

1. produce ``--messages`` messages of the live shop (orders and clickstream events) as
   fast as the broker takes them: the producer's rate;
2. process that backlog with the shoplens processor (validation, dead-letter routing,
   idempotent DuckDB writes, windows and live state recomputed per batch): processing
   throughput in messages/s, from the first message consumed to the last row written
   (the consumer group join is reported apart), CPU use and the time spent in the sink;
3. the baseline: a plain confluent-kafka consume + ``json.loads`` loop over the same
   messages (no validation, no store): its throughput is the ceiling; ratio printed;
4. latency: the processor runs in its own process while the producer sends a steady
   ``--rate`` (default 2,000) messages/s stamped with the wall clock; the bench polls the
   store (read-only, as another process would) and records when each order and event
   becomes readable: p50/p99 of (readable - event time).

``--explore`` also processes the backlog under other consumer and checkpoint settings
(and with a sink that writes nothing) to show where the processor's time goes.
Targets (2 cores, test broker): >= 20,000 messages/s processed; p99 <= 1 s at 2,000/s.

    .venv/bin/python benchmarks/bench_stream.py [--messages N] [--rate R] [--seconds S]
        [--quick] [--explore] [--out FILE]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
from confluent_kafka import Consumer

from benchmarks._common import base_parser, fmt_int, print_table, verdict, write_json
from shoplens.config import load_settings
from shoplens.generate import SimulationParams, generate_into
from shoplens.generate.forward import ForwardParams, forward_from_store
from shoplens.store import open_store, write_new_store
from shoplens.stream import admin
from shoplens.stream.processor import Progress, run_processor
from shoplens.stream.producer import Sender, produce

TARGET_RATE = 20_000.0
TARGET_P99 = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _sched() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of this process's
    threads, from /proc/self/task/*/schedstat (0, 0 where unavailable)."""
    run = wait = 0.0
    for task in Path("/proc/self/task").glob("*/schedstat"):
        try:
            fields = task.read_text().split()
        except OSError:
            continue
        run += int(fields[0]) / 1e9
        wait += int(fields[1]) / 1e9
    return run, wait


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_store(path: Path, customers: int, seed: int) -> None:
    params = SimulationParams(customers=customers, days=90, seed=seed, event_days=7)

    def build(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, build, overwrite=True)


def _topics() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "orders_topic": f"orders-{tag}",
        "events_topic": f"events-{tag}",
        "dead_letter_topic": f"dead-{tag}",
        "consumer_group": f"group-{tag}",
    }


def produce_backlog(bootstrap: str, topics: dict[str, str], store: Path, n: int) -> dict[str, Any]:
    con = open_store(store, read_only=True)
    shop = forward_from_store(con, ForwardParams(seed=5))
    con.close()
    admin.ensure_topics(bootstrap, [topics["orders_topic"], topics["events_topic"]])
    sender = Sender(bootstrap, {"orders": topics["orders_topic"], "events": topics["events_topic"]})
    t0 = time.perf_counter()
    stats = produce(shop, sender, max_messages=n)
    secs = time.perf_counter() - t0
    return {
        "sent": stats.sent,
        "failed": stats.failed,
        "orders": stats.orders,
        "seconds": secs,
        "rate": stats.sent / secs,
    }


def process_backlog(
    bootstrap: str,
    topics: dict[str, str],
    store: Path,
    n: int,
    *,
    commit_interval: float = 0.5,
    consumer_config: dict[str, object] | None = None,
    null_sink: bool = False,
) -> dict[str, Any]:
    """Run the processor in-process over ``n`` backlog messages; times and CPU."""
    settings = load_settings(kafka={"bootstrap": bootstrap, **topics})
    marks: dict[str, float] = {}
    cpu0 = _cpu()

    def on_progress(p: Progress) -> None:
        if p.stats.processed and "first" not in marks:
            marks["first"] = time.monotonic() - 0.05  # progress is sampled every 0.05 s
            marks["cpu_first"] = _cpu()
            marks["run_first"], marks["wait_first"] = _sched()
        if p.writes.messages >= n and "done" not in marks:
            marks["done"] = p.writes.last_write
            marks["cpu_done"] = _cpu()
            marks["run_done"], marks["wait_done"] = _sched()

    from shoplens.stream import sink as sink_mod

    real_write = sink_mod.DuckDBSink.write_values
    if null_sink:

        def count_only(self: Any, values: list[dict[str, Any]]) -> None:
            self.stats.messages += len(values)
            self.stats.batches += 1
            self.stats.last_write = time.monotonic()

        sink_mod.DuckDBSink.write_values = count_only  # type: ignore[method-assign]
    t0 = time.monotonic()
    try:
        res = run_processor(
            settings, store=store, from_beginning=True, idle_timeout=2.0,
            commit_interval=commit_interval, consumer_config=consumer_config,
            on_progress=on_progress, progress_every=0.05, lag_every=1e9,
        )  # fmt: skip
    finally:
        sink_mod.DuckDBSink.write_values = real_write  # type: ignore[method-assign]
    if "done" not in marks:
        marks["done"] = res.writes.last_write
        marks["cpu_done"] = _cpu()
        marks["run_done"], marks["wait_done"] = _sched()
    busy = marks["done"] - marks["first"]
    return {
        "processed": res.stats.processed,
        "written": res.writes.messages,
        "join_seconds": marks["first"] - t0,
        "seconds": busy,
        "rate": res.writes.messages / busy,
        "cpu_share": (marks["cpu_done"] - marks["cpu_first"]) / busy,
        # runnable but not running: CPU taken by other processes on the machine
        "runqueue_share": (marks["wait_done"] - marks["wait_first"]) / busy,
        "sink_seconds": res.writes.write_seconds,
        "batches": res.writes.batches,
        "cpu_total": _cpu() - cpu0,
    }


def plain_consume(bootstrap: str, topics: dict[str, str], n: int) -> dict[str, Any]:
    """The baseline: confluent-kafka consume(batch) + json.loads, nothing else."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"plain-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )
    c.subscribe([topics["orders_topic"], topics["events_topic"]])
    got = 0
    t_first = None
    deadline = time.monotonic() + 120
    while got < n and time.monotonic() < deadline:
        for msg in c.consume(1000, timeout=0.5):
            if msg.error() is not None:
                continue
            if t_first is None:
                t_first = time.monotonic()
            json.loads(msg.value())
            got += 1
    secs = time.monotonic() - (t_first or time.monotonic())
    c.close()
    return {"consumed": got, "seconds": secs, "rate": got / max(secs, 1e-9)}


def latency(
    bootstrap: str, store: Path, rate: float, seconds: float, commit_interval: float
) -> dict[str, Any]:
    """Steady ``rate`` with the processor in its own process; p50/p99 event -> readable."""
    topics = _topics()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")}
    env.update({"SHOPLENS_CONFIG": "/nonexistent.toml", "SHOPLENS_KAFKA__BOOTSTRAP": bootstrap})
    env.update({f"SHOPLENS_KAFKA__{k.upper()}": v for k, v in topics.items()})
    admin.ensure_topics(bootstrap, [topics["orders_topic"], topics["events_topic"]])
    proc = subprocess.Popen(
        [sys.executable, "-m", "shoplens", "stream", "process", "--store", str(store),
         "--commit-interval", str(commit_interval), "--from-beginning", "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    con = open_store(store, read_only=True)
    shop = forward_from_store(con, ForwardParams(seed=9))
    (last_event,) = con.execute("SELECT max(event_id::BIGINT) FROM events").fetchall()[0]
    (last_order,) = con.execute("SELECT max(order_id::BIGINT) FROM orders").fetchall()[0]
    con.close()
    time.sleep(6)  # let the processor join its group (latest offsets: it must be ready)
    seen: list[float] = []
    stop = threading.Event()

    t_start = time.time()

    def poll() -> None:
        """Read as another process would (open, query, close) four times a second; an
        id counts once, when it is first seen (partitions are written out of id order)."""
        seen_o: set[int] = set()
        seen_e: set[int] = set()
        while not stop.is_set():
            try:
                c = open_store(store, read_only=True, lock_wait=1.0)
            except Exception:
                continue
            try:
                now = time.time()
                rows = c.execute(
                    "SELECT order_id::BIGINT, epoch(order_ts) FROM orders"
                    " WHERE order_id::BIGINT > ? AND order_ts >= to_timestamp(?)",
                    [int(last_order), t_start],
                ).fetchall()
                rows_e = c.execute(
                    "SELECT event_id::BIGINT, epoch(event_ts) FROM events"
                    " WHERE event_ts >= to_timestamp(?) AND event_id::BIGINT > ?",
                    [t_start, int(last_event)],
                ).fetchall()
            finally:
                c.close()
            for oid, ts in rows:
                if oid not in seen_o:
                    seen_o.add(oid)
                    seen.append(now - ts)
            for eid, ts in rows_e:
                if eid not in seen_e:
                    seen_e.add(eid)
                    seen.append(now - ts)
            time.sleep(0.25)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    sender = Sender(bootstrap, {"orders": topics["orders_topic"], "events": topics["events_topic"]})
    t0 = time.perf_counter()
    stats = produce(shop, sender, rate=rate, duration=seconds, live_time=True)
    sent_rate = stats.sent / (time.perf_counter() - t0)
    deadline = time.monotonic() + 20
    while len(seen) < stats.sent and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    poller.join(5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    lat = sorted(seen)

    def pct(p: float) -> float:
        return lat[min(int(p * len(lat)), len(lat) - 1)] if lat else float("nan")

    return {
        "rate": rate,
        "sent_rate": sent_rate,
        "sent": stats.sent,
        "readable": len(lat),
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": lat[-1] if lat else float("nan"),
    }


def main() -> None:
    ap = base_parser(__doc__, quick_help="small sizes (a smoke run)")
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    ap.add_argument("--commit-interval", type=float, default=0.5)
    ap.add_argument("--explore", action="store_true", help="also try other settings")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.customers, args.seconds = 20_000, 3000, 5.0
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    port = _free_port()
    broker = subprocess.Popen(
        admin.broker_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    bootstrap = f"127.0.0.1:{port}"
    results: dict[str, Any] = {"messages": args.messages, "customers": args.customers}
    try:
        admin.wait_for_broker(bootstrap, attempts=10, first_backoff=0.2)
        base = work / "base.duckdb"
        make_store(base, args.customers, args.seed)
        topics = _topics()
        results["produce"] = prod = produce_backlog(bootstrap, topics, base, args.messages)
        print(f"produced {fmt_int(prod['sent'])} messages ({fmt_int(prod['orders'])} orders)"
              f" at {fmt_int(prod['rate'])} msg/s, failed {prod['failed']}")  # fmt: skip

        def run(label: str, **kw: Any) -> dict[str, Any]:
            store = work / f"{uuid.uuid4().hex[:6]}.duckdb"
            shutil.copy(base, store)
            t = {**topics, "consumer_group": f"g-{uuid.uuid4().hex[:8]}"}
            r = process_backlog(bootstrap, t, store, prod["sent"], **kw)
            r["label"] = label
            store.unlink()
            return r

        runs = [run(f"shoplens (commit every {args.commit_interval:g} s)",
                    commit_interval=args.commit_interval)]  # fmt: skip
        if args.explore:
            runs.append(run("  commit every 5 s", commit_interval=5.0))
            runs.append(run("  sink writes nothing (Quix + validation)", null_sink=True))
            runs.append(
                run(
                    "  fetch.wait.max.ms=10",
                    consumer_config={"fetch.wait.max.ms": 10},
                )
            )
            runs.append(
                run(
                    "  queued.min.messages=1000",
                    consumer_config={"queued.min.messages": 1000},
                )
            )
        results["process"] = runs
        plain = plain_consume(bootstrap, topics, prod["sent"])
        results["plain"] = plain
        print()
        print_table(
            [
                "pipeline",
                "msg/s",
                "seconds",
                "join s",
                "CPU",
                "run queue",
                "sink s",
                "batches",
                "vs plain",
            ],
            [
                [
                    r["label"],
                    fmt_int(r["rate"]),
                    f"{r['seconds']:.2f}",
                    f"{r['join_seconds']:.1f}",
                    f"{r['cpu_share']:.0%}",
                    f"{r['runqueue_share']:.0%}",
                    f"{r['sink_seconds']:.2f}",
                    r["batches"],
                    f"{r['rate'] / plain['rate']:.2f}x",
                ]
                for r in runs
            ]
            + [
                [
                    "plain consume + json.loads",
                    fmt_int(plain["rate"]),
                    f"{plain['seconds']:.2f}",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "1.00x",
                ]
            ],
        )
        store = work / "latency.duckdb"
        shutil.copy(base, store)
        results["latency"] = lat = latency(
            bootstrap, store, args.rate, args.seconds, args.commit_interval
        )
        print()
        print(
            f"latency at {fmt_int(lat['rate'])} msg/s (sent {fmt_int(lat['sent_rate'])}/s,"
            f" {fmt_int(lat['readable'])}/{fmt_int(lat['sent'])} readable): event time ->"
            f" readable in the store p50 {lat['p50']:.3f} s, p99 {lat['p99']:.3f} s,"
            f" max {lat['max']:.3f} s"
        )
        main_rate = runs[0]["rate"]
        print(f"target >= {fmt_int(TARGET_RATE)} msg/s processed:"
              f" {fmt_int(main_rate)} {verdict(main_rate >= TARGET_RATE)}")  # fmt: skip
        print(f"target p99 <= {TARGET_P99:g} s at {fmt_int(args.rate)} msg/s:"
              f" {lat['p99']:.3f} s {verdict(lat['p99'] <= TARGET_P99)}")  # fmt: skip
        write_json(args.out, results)
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=2)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
