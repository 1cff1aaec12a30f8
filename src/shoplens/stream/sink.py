"""``DuckDBSink``: validated stream rows into the store, idempotently, one transaction
per checkpoint.

Each flush opens the store, writes, commits and closes it again (~40 ms), so other
processes (the CLI, the dashboard) can open the file between batches: DuckDB lets no
other process open a file that a writer holds, not even read-only. In one
transaction it inserts:

- ``orders`` with ``INSERT ... ON CONFLICT DO NOTHING RETURNING order_id`` (the key
  makes a replayed order a no-op) and the ``order_items`` of the orders that were
  new (so lines are never duplicated, though ``order_items`` has no key index);
- new customers that came with their first order (``ON CONFLICT DO NOTHING``);
- clickstream ``events`` not stored yet (anti-join on ``event_id`` within the batch's
  time range, which the zone maps of ``event_ts`` keep cheap);
- the windowed KPIs of every hour the batch touches, recomputed from the stored
  orders (:mod:`shoplens.stream.windows`), and the live state of the batch's
  customers (:mod:`shoplens.stream.live`).

At-least-once delivery from Kafka (Quix flushes sinks before committing offsets)
plus these idempotent writes make the effect exactly once. Every batch is one Arrow
table per target table (row-by-row ``executemany`` is ~100x slower).

A store locked by another writer raises :class:`SinkBackpressureError`: Quix drops the
batch, pauses the partitions for ``retry_after`` seconds (doubling up to 5 s) and
consumes the same messages again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch

from shoplens.errors import StoreError
from shoplens.schema import CUSTOMERS, EVENTS, ORDER_ITEMS, ORDERS, Table
from shoplens.store.db import (
    create_tables,
    existing_tables,
    finalize_keys,
    open_store,
    write_new_store,
)
from shoplens.store.results import record_result
from shoplens.stream.live import CUSTOMER_SCORES_LIVE, RfmCutoffs, rfm_cutoffs, update_live_scores
from shoplens.stream.scoring import LiveScorer
from shoplens.stream.windows import REALTIME_KPIS, recompute_windows, touched_hours

log = logging.getLogger(__name__)

_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DECIMAL(18,2)": pa.decimal128(18, 2),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a canonical table (for building batches from rows)."""
    return pa.schema([pa.field(c.name, _TYPES[c.type], nullable=c.nullable) for c in table.columns])


SCHEMAS = {t.name: arrow_schema(t) for t in (ORDERS, ORDER_ITEMS, CUSTOMERS, EVENTS)}
STREAM_TABLES = ("customers", "products", "orders", "order_items", "events")


@dataclass
class WriteStats:
    """What the sink wrote so far (read by progress displays and tests)."""

    batches: int = 0
    messages: int = 0
    orders_new: int = 0
    orders_duplicate: int = 0
    events_new: int = 0
    customers_new: int = 0
    window_rows: int = 0
    lock_waits: int = 0
    write_seconds: float = 0.0
    last_write: float = field(default_factory=time.monotonic)


def _batch_tables(values: Iterable[dict[str, Any]]) -> dict[str, pa.Table]:
    rows: dict[str, list[dict[str, Any]]] = {n: [] for n in SCHEMAS}
    for v in values:
        if v["kind"] == "order":
            rows["orders"].append(v["order"])
            rows["order_items"].extend(v["items"])
            if v.get("customer") is not None:
                rows["customers"].append(v["customer"])
        else:
            rows["events"].append(v["event"])
    return {n: pa.Table.from_pylist(r, schema=SCHEMAS[n]) for n, r in rows.items()}


def ensure_store(path: Path) -> None:
    """Create an empty store at ``path`` if there is none (the processor may start a
    store from the stream alone)."""
    if path.exists():
        return

    def build(con: duckdb.DuckDBPyConnection) -> None:
        create_tables(con, STREAM_TABLES)
        finalize_keys(con, STREAM_TABLES)

    write_new_store(path, build)


def prepare_store(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing stream tables and the key of ``orders`` the upsert relies on."""
    have = existing_tables(con)
    missing = [t for t in STREAM_TABLES if t not in have]
    if missing:
        create_tables(con, missing)
        finalize_keys(con, [t for t in missing if t in ("customers", "products", "orders")])
    for name in ("orders", "customers"):
        keyed = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ?"
            " AND constraint_type = 'PRIMARY KEY'",
            [name],
        ).fetchall()[0][0]
        if not keyed:
            finalize_keys(con, [name])


class DuckDBSink(BatchingSink):
    """Writes validated order and event rows (see :func:`messages.parse`) to the store."""

    def __init__(
        self,
        store: str | Path,
        *,
        timezone: str = "UTC",
        rfm_refresh_seconds: float = 900.0,
        on_write: Callable[[WriteStats], None] | None = None,
        dead_letter: Callable[[list[tuple[Any, dict[str, Any]]]], None] | None = None,
        scorer: LiveScorer | None = None,
    ) -> None:
        super().__init__()
        self.store = Path(store)
        self.dead_letter = dead_letter
        self.scorer = scorer
        self.timezone = timezone
        self.rfm_refresh_seconds = rfm_refresh_seconds
        self.on_write = on_write
        self.stats = WriteStats()
        self.cutoffs = RfmCutoffs()
        self._cutoffs_at = float("-inf")
        self._backoff = 0.1
        # a reader holds the file for milliseconds: wait for it rather than raise
        # backpressure at once (Quix would pause, drop the batch and re-read it)
        self.lock_wait = 5.0

    # -- lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        ensure_store(self.store)
        with self._connection() as con:
            con.execute("BEGIN TRANSACTION")
            prepare_store(con)
            con.execute("COMMIT")
            self._refresh_cutoffs(con)
            if self.scorer is not None:
                self.scorer.load(con)

    @contextlib.contextmanager
    def _connection(self) -> Any:
        con = open_store(self.store, timezone=self.timezone, lock_wait=self.lock_wait)
        try:
            yield con
        finally:
            con.close()

    def _refresh_cutoffs(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cutoffs = rfm_cutoffs(con)
        self._cutoffs_at = time.monotonic()

    # -- writing --------------------------------------------------------------------
    def write(self, batch: SinkBatch) -> None:
        self._write_items(list(batch))

    def flush(self) -> None:
        """All partitions' batches of a checkpoint in one write (one open, one
        transaction) rather than one per partition as ``BatchingSink.flush`` does:
        opening the store costs ~40 ms, which per partition would dominate."""
        try:
            self._write_items([item for batch in self._batches.values() for item in batch])
        finally:
            self._batches.clear()

    def _write_items(self, items: list[Any]) -> None:
        """Invalid messages go to the dead-letter callback (before the offsets are
        committed, like the store write), the valid ones to the store."""
        invalid = [(i.key, i.value) for i in items if i.value["kind"] == "invalid"]
        if invalid:
            if self.dead_letter is None:
                raise ValueError(f"{len(invalid)} invalid messages and no dead-letter target")
            self.dead_letter(invalid)
        values = [i.value for i in items if i.value["kind"] != "invalid"]
        if values:
            self.write_values(values)

    def write_values(self, values: list[dict[str, Any]]) -> None:
        """Write one batch of sink values in one transaction (raises backpressure when
        the store is locked by another process)."""
        t0 = time.perf_counter()
        tables = _batch_tables(values)
        try:
            with self._connection() as con:
                self._write(con, tables)
                if time.monotonic() - self._cutoffs_at > self.rfm_refresh_seconds:
                    self._refresh_cutoffs(con)
        except StoreError as exc:
            if "in use" not in str(exc):
                raise
            self.stats.lock_waits += 1
            retry = self._backoff
            self._backoff = min(self._backoff * 2, 5.0)
            log.warning("store %s is busy; retrying in %.1f s", self.store, retry)
            raise SinkBackpressureError(retry_after=retry) from None
        self._backoff = 0.1
        s = self.stats
        s.batches += 1
        s.messages += len(values)
        s.write_seconds += time.perf_counter() - t0
        s.last_write = time.monotonic()
        if self.on_write is not None:
            self.on_write(s)

    def _write(self, con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
        s = self.stats
        for name, table in tables.items():
            con.register(f"__batch_{name}", table)
        con.execute("BEGIN TRANSACTION")
        try:
            if tables["customers"].num_rows:
                new_c = con.execute(
                    "INSERT INTO customers BY NAME SELECT * FROM __batch_customers"
                    " ON CONFLICT DO NOTHING RETURNING customer_id"
                ).fetchall()
                s.customers_new += len(new_c)
            n_orders = tables["orders"].num_rows
            if n_orders:
                new_rows = con.execute(
                    "INSERT INTO orders BY NAME"
                    " SELECT * FROM __batch_orders"
                    " QUALIFY row_number() OVER (PARTITION BY order_id) = 1"
                    " ON CONFLICT DO NOTHING RETURNING order_id"
                ).fetchall()
                new = pa.table({"order_id": pa.array([r[0] for r in new_rows], pa.string())})
                con.register("__new_orders", new)
                con.execute(
                    "INSERT INTO order_items BY NAME SELECT * FROM __batch_order_items"
                    " WHERE order_id IN (SELECT order_id FROM __new_orders)"
                )
                con.unregister("__new_orders")
                s.orders_new += new.num_rows
                s.orders_duplicate += n_orders - new.num_rows
            if tables["events"].num_rows:
                new_e = con.execute(
                    """
INSERT INTO events BY NAME
SELECT * FROM __batch_events AS b
WHERE b.event_id NOT IN (
    SELECT event_id FROM events
    WHERE event_ts BETWEEN (SELECT min(event_ts) FROM __batch_events)
                       AND (SELECT max(event_ts) FROM __batch_events))
QUALIFY row_number() OVER (PARTITION BY b.event_id) = 1
RETURNING event_id"""
                ).fetchall()
                s.events_new += len(new_e)
            if n_orders:
                hours = touched_hours(con, "__batch_orders")
                s.window_rows += recompute_windows(con, hours)
                update_live_scores(con, "__batch_orders", self.cutoffs)
                record_result(con, REALTIME_KPIS, {"windows": ["1m", "1h"], "source": "stream"})
                models = None
                if self.scorer is not None and self.scorer.models is not None:
                    models = sorted(self.scorer.models)
                record_result(con, CUSTOMER_SCORES_LIVE, {"models": models, "source": "stream"})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            for name in tables:
                con.unregister(f"__batch_{name}")
        # after the commit, outside a transaction: the analytics the models use probe
        # their caches with statements that may fail, which would abort a transaction
        if self.scorer is not None and n_orders and self.scorer.due():
            self.scorer.rescore(con)
