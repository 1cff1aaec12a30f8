"""Running the simulation: blocks of customers, global order ids, loading the store.

Randomness: every piece has its own generator derived from the seed with a fixed
``SeedSequence`` spawn key (calendar, catalog, and per block of ``BLOCK`` customers),
so results depend only on the seed and the parameters, not on ``chunk_size``.

Two phases: (1) per block, customers, their traits and their order times; (2) order
ids are the global rank of the order time (real shops number orders in time order),
then per chunk of blocks the order contents (and events) are generated and loaded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shoplens.generate.calendar import Calendar, build_calendar, to_datetime
from shoplens.generate.catalog import Catalog, build_catalog
from shoplens.generate.events import EVENTS_ARROW_SCHEMA, EventParams, _Catalog, generate_events
from shoplens.generate.orders import (
    TS,
    Lifetimes,
    order_contents,
    order_times,
    truth_table,
)
from shoplens.generate.params import GenerationSummary, SimulationParams
from shoplens.generate.pools import Pools, build_pools
from shoplens.generate.population import CustomerBlock, customers_table, make_customers
from shoplens.store.db import create_tables, finalize_keys, load_table

I64 = npt.NDArray[np.int64]
Progress = Callable[[str, int, int], None]

BLOCK = 50_000
"""Customers per random-number block (fixed: results must not depend on chunking)."""

# spawn keys of the independent random streams
_CALENDAR, _CATALOG, _PEOPLE, _ORDERS, _EVENTS = 0, 1, 3, 4, 5


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass
class _Block:
    index: int
    customers: CustomerBlock
    life: Lifetimes
    order_id: I64 | None = None


@dataclass
class _LeanBlock:
    """A block between the phases in lean mode: only its order times (for numbering);
    the customers and lifetimes are drawn again, identically, from the block's seed."""

    index: int
    ts_us: I64
    order_id: I64 | None = None


class _Simulation:
    def __init__(self, params: SimulationParams, *, lean: bool = False) -> None:
        self.params = params  # validated when constructed
        self.lean = lean
        weights = params.normalized_country_weights()
        self.countries = tuple(weights)
        self.country_p = np.array(list(weights.values()))
        self.cal: Calendar = build_calendar(
            params.start_date,
            params.days,
            params.timezone,
            params.seasonality,
            params.promo_intensity,
            _rng(params.seed, _CALENDAR),
        )
        self.catalog: Catalog = build_catalog(params.products, _rng(params.seed, _CATALOG))
        self.pools: Pools = build_pools(self.countries, params.seed)
        n = params.customers
        self.block_sizes = [min(BLOCK, n - s) for s in range(0, n, BLOCK)]
        per_chunk = max(1, -(-params.chunk_size // BLOCK))
        nb = len(self.block_sizes)
        self.chunks = [list(range(i, min(i + per_chunk, nb))) for i in range(0, nb, per_chunk)]
        self.blocks: list[_Block | _LeanBlock | None] = []  # phase-1 state, dropped once loaded
        # the clickstream window: whole local days (the last event_days of the period)
        first = self.cal.period_start
        if params.event_days is not None:
            first = max(first, self.cal.n_days - params.event_days)
        self.event_window_start = to_datetime(int(self.cal.day_start_utc_us[first]))
        self.event_params = EventParams(days=params.event_days)
        # the products as the clickstream samples them: built once, and only if needed
        self.event_catalog: _Catalog | None = None
        if params.events:
            self.event_catalog = _Catalog(
                self.catalog.table.append_column("popularity", pa.array(self.catalog.popularity))
            )
        self.n_events = 0
        self.n_sessions = 0

    @property
    def start(self) -> datetime:
        return to_datetime(int(self.cal.day_start_utc_us[self.cal.period_start]))

    @property
    def end(self) -> datetime:
        return to_datetime(self.cal.end_utc_us)

    # phase 1 ------------------------------------------------------------------------
    def people(self, chunk: list[int]) -> tuple[pa.Table, pa.Table]:
        """Customers + order times of a chunk's blocks; returns customers and truth."""
        cust_tables, truth_tables = [], []
        for b in chunk:
            rng = _rng(self.params.seed, _PEOPLE, b)
            cb = make_customers(
                b * BLOCK + 1, self.block_sizes[b], self.cal, self.country_p, self.params.churn, rng
            )
            life = order_times(cb, self.cal, rng)
            if self.lean:
                self.blocks.append(_LeanBlock(b, life.orders.ts_us))
            else:
                self.blocks.append(_Block(b, cb, life))
            cust_tables.append(customers_table(cb, life.signup_us, self.countries, self.pools, rng))
            truth_tables.append(truth_table(cb, life))
        return pa.concat_tables(cust_tables), pa.concat_tables(truth_tables)

    def number_orders(self) -> None:
        """Global order ids 1..n by order time (ties: block order, then row)."""
        blocks = [b for b in self.blocks if b is not None]
        all_ts = np.concatenate([_times(b) for b in blocks])
        ids = np.empty(len(all_ts), dtype=np.int64)
        ids[np.argsort(all_ts, kind="stable")] = np.arange(1, len(all_ts) + 1, dtype=np.int64)
        pos = 0
        for b in blocks:
            m = len(_times(b))
            b.order_id = ids[pos : pos + m]
            pos += m

    # phase 2 ------------------------------------------------------------------------
    def orders(
        self, chunk: list[int]
    ) -> tuple[pa.Table, pa.Table, list[tuple[_Block, pa.Table, pa.Table]]]:
        """Orders and order items of a chunk's blocks, and the same per block."""
        o_tables, i_tables, parts = [], [], []
        p = self.params
        for b in chunk:
            blk = self._full(self.blocks[b])
            assert blk.order_id is not None
            orders, items = order_contents(
                blk.customers,
                blk.life.orders,
                blk.order_id,
                self.cal,
                self.catalog,
                promo_intensity=p.promo_intensity,
                cancel_rate=p.cancel_rate,
                return_rate=p.return_rate,
                currency=p.currency,
                rng=_rng(p.seed, _ORDERS, b),
            )
            o_tables.append(orders)
            i_tables.append(items)
            parts.append((blk, orders, items))
        return pa.concat_tables(o_tables), pa.concat_tables(i_tables), parts

    def _full(self, blk: _Block | _LeanBlock | None) -> _Block:
        """The block with its customers and lifetimes (drawn again in lean mode)."""
        assert blk is not None
        if isinstance(blk, _Block):
            return blk
        b = blk.index
        rng = _rng(self.params.seed, _PEOPLE, b)
        cb = make_customers(
            b * BLOCK + 1, self.block_sizes[b], self.cal, self.country_p, self.params.churn, rng
        )
        return _Block(b, cb, order_times(cb, self.cal, rng), blk.order_id)

    def events(self, blk: _Block, orders: pa.Table, items: pa.Table) -> pa.Table:
        """The clickstream of one block (ids continue from the previous block)."""
        assert self.event_catalog is not None
        customers = pa.table(
            {
                "customer_id": pa.array(blk.customers.customer_ids()),
                "signup_ts": pa.array(blk.life.signup_us, TS),
            }
        )
        chunk = generate_events(
            _rng(self.params.seed, _EVENTS, blk.index),
            orders=orders.select(["order_id", "customer_id", "order_ts"]),
            order_items=items.select(["order_id", "product_id"]),
            customers=customers,
            products=self.event_catalog,
            start=self.start,
            end=self.end,
            params=self.event_params,
            id_offset=self.n_events + 1,
            session_offset=self.n_sessions + 1,
            window_start=self.event_window_start,
        )
        self.n_events += chunk.n_events
        self.n_sessions += chunk.n_sessions
        table: pa.Table = chunk.table
        return table

    def release(self, chunk: list[int]) -> None:
        for b in chunk:
            self.blocks[b] = None


@dataclass(frozen=True)
class _Load:
    name: str
    table: pa.Table


@dataclass(frozen=True)
class _Progress:
    stage: str
    done: int
    total: int


def _times(b: _Block | _LeanBlock) -> I64:
    return b.ts_us if isinstance(b, _LeanBlock) else b.life.orders.ts_us


def _run(params: SimulationParams, *, lean: bool = False) -> Iterator[_Load | _Progress]:
    """The simulation as a stream of tables to load, with a progress mark per chunk.

    ``lean``: keep only the order times between the two phases (memory: 8 bytes per
    order instead of every customer's traits), at the cost of drawing each block's
    customers twice.
    """
    sim = _Simulation(params, lean=lean)
    yield _Load("products", sim.catalog.table)
    total = params.customers
    done = 0
    for chunk in sim.chunks:
        customers, truth = sim.people(chunk)
        yield _Load("customers", customers)
        yield _Load("truth_customers", truth)
        done += customers.num_rows
        yield _Progress("customers", done, total)
    sim.number_orders()
    done = 0
    for chunk in sim.chunks:
        orders, items, parts = sim.orders(chunk)
        yield _Load("orders", orders)
        yield _Load("order_items", items)
        if params.events:  # per block: the clickstream is the largest table
            for blk, block_orders, block_items in parts:
                yield _Load("events", sim.events(blk, block_orders, block_items))
        del parts
        sim.release(chunk)
        done += sum(sim.block_sizes[b] for b in chunk)
        yield _Progress("orders", done, total)


def simulate(params: SimulationParams) -> dict[str, pa.Table]:
    """The whole simulated shop in memory (tests, small shops): table name -> Arrow table.

    Keys: the canonical tables (``customers``, ``products``, ``orders``, ``order_items``,
    ``events``) and the ground truth (``truth_customers``). Ids are int64. Without
    ``params.events`` the ``events`` table is empty.
    """
    parts: dict[str, list[pa.Table]] = {}
    for item in _run(params):
        if isinstance(item, _Load):
            parts.setdefault(item.name, []).append(item.table)
    parts.setdefault("events", [EVENTS_ARROW_SCHEMA.empty_table()])
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


_DONE = object()


def _in_background(
    items: Iterator[_Load | _Progress], depth: int = 1
) -> Iterator[_Load | _Progress]:
    """Run the generator in a thread so numpy generation overlaps DuckDB loading.

    The order of items (and so every random draw) is unchanged; errors are re-raised.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(obj: object) -> bool:
        """Hand ``obj`` over unless the consumer has stopped (it may never take more)."""
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed over to the consumer
            put(exc)

    worker = threading.Thread(target=produce, name="shoplens-generate", daemon=True)
    worker.start()
    try:
        while True:
            got = q.get()
            if got is _DONE:
                break
            if isinstance(got, BaseException):
                raise got
            assert isinstance(got, _Load | _Progress)
            yield got
    finally:
        stop.set()
        worker.join()


def generate_into(
    con: duckdb.DuckDBPyConnection,
    params: SimulationParams,
    on_progress: Progress | None = None,
) -> GenerationSummary:
    """Create the canonical + truth tables on an empty store and fill them.

    ``on_progress(stage, done, total)`` is called (in the caller's thread) at least
    once per chunk, after the chunk is loaded: stages ``customers``, ``orders``, then
    ``keys``. Returns rows per table and seconds per stage (``generate`` includes
    loading, ``keys`` is :func:`store.finalize_keys`).
    """
    t0 = time.perf_counter()
    create_tables(con)
    rows: dict[str, int] = {}
    for item in _in_background(_run(params)):
        if isinstance(item, _Load):
            load_table(con, item.name, item.table)
            rows[item.name] = rows.get(item.name, 0) + item.table.num_rows
        elif on_progress is not None:
            on_progress(item.stage, item.done, item.total)
    t1 = time.perf_counter()
    if on_progress is not None:
        on_progress("keys", 0, 1)
    # Line and event ids are sequential ranges, unique by construction (tested in
    # tests/generate), so only the indexed keys are built; the GROUP BY uniqueness
    # check would cost seconds on tens of millions of events.
    finalize_keys(con, verify_unenforced=False)
    t2 = time.perf_counter()
    if on_progress is not None:
        on_progress("keys", 1, 1)
    return GenerationSummary(rows=rows, seconds={"generate": t1 - t0, "keys": t2 - t1})


def generate_tables(
    params: SimulationParams, on_progress: Progress | None = None
) -> Iterator[tuple[str, pa.Table]]:
    """The simulation as a stream of (table name, chunk) pairs, for writers other than a
    store (e.g. Parquet); same tables, ids and random draws as :func:`generate_into`.

    Ids are int64 (a store casts them to VARCHAR on insert). Memory: one chunk of
    customers' tables at a time, plus the order times (8 bytes per order) kept for the
    global order ids (the simulator runs in lean mode).
    """
    for item in _in_background(_run(params, lean=True)):
        if isinstance(item, _Load):
            yield item.name, item.table
        elif on_progress is not None:
            on_progress(item.stage, item.done, item.total)
