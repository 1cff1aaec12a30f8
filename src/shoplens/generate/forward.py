"""The simulator driven forward in time from the end of a store's data (the live shop).

The same behavioural model as :func:`shoplens.generate.simulate`, slice by slice of
shop-local days: the store's customers keep their demographics and, when the store
was simulated, their true latent traits (``truth_customers``: purchase rate, spend
level, promo sensitivity, preferred hour, favourite category); what the store does not
keep (the other category affinities, the dropout probability) is drawn from the
simulator's priors. New customers sign up at the store's recent signup rate. Each
slice runs the simulator's own steps: :func:`~shoplens.generate.orders.order_times`
(seasonal Poisson purchases, hour of day, dropout after each purchase),
:func:`~shoplens.generate.orders.order_contents` (lines, promos, discounts, status,
channel) and :func:`~shoplens.generate.events.generate_events` (clickstream).
Customers who drop out stop buying in later slices (dropout is memoryless, so a
slice-by-slice run follows the same model as one long run).

Needs a store with the simulator's shape: integer customer and product ids and the
simulator's product categories.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.errors import InvalidParameterError
from shoplens.generate.calendar import Calendar, build_calendar, to_datetime
from shoplens.generate.catalog import CATEGORY_NAMES, Catalog, catalog_from_products
from shoplens.generate.events import EventParams, _Catalog, generate_events
from shoplens.generate.orders import NEVER, TS, order_contents, order_times
from shoplens.generate.pools import build_pools
from shoplens.generate.population import (
    CHANNELS,
    GENDERS,
    CustomerBlock,
    customers_table,
    draw_affinity,
    make_customers,
)
from shoplens.schema import AGE_GROUPS

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

HORIZON_DAYS = 3650
"""Days the forward calendar covers (seasonality is normalised over them)."""


@dataclass(frozen=True)
class ForwardSlice:
    """What the shop did in ``[start, end)``: canonical tables (int64 ids)."""

    start: datetime
    end: datetime
    orders: pa.Table
    order_items: pa.Table
    events: pa.Table
    new_customers: pa.Table


@dataclass(frozen=True)
class ForwardParams:
    seed: int = 7
    churn: float = 1.0
    seasonality: float = 1.0
    promo_intensity: float = 1.0
    cancel_rate: float = 0.03
    return_rate: float = 0.05
    timezone: str = "UTC"


def _age_group(age: pa.Array) -> I64:
    a = pc.fill_null(age.cast(pa.int64()), 30).to_numpy(zero_copy_only=False)
    out = np.ones(len(a), dtype=np.int64)  # unknown / under 18: the largest group
    for g, (lo, hi, _) in enumerate(AGE_GROUPS):
        out[(a >= lo) & (a <= hi)] = g
    return out


def _codes(values: pa.Array, names: tuple[str, ...], default: int) -> I64:
    index = {n: i for i, n in enumerate(names)}
    return np.array([index.get(v, default) for v in values.to_pylist()], dtype=np.int64)


def _int_ids(table: pa.Table, column: str, what: str) -> I64:
    try:
        out: I64 = table.column(column).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return out
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InvalidParameterError(
            f"the live shop needs integer {what} ids (a store made by 'shoplens generate')"
        ) from None


class ForwardShop:
    """The simulated shop continued after ``start`` (a shop-local midnight)."""

    def __init__(
        self,
        *,
        customers: pa.Table,
        truth: pa.Table | None,
        products: pa.Table,
        product_weight: F64,
        start_day: date,
        next_order_id: int,
        next_event_id: int,
        next_session_id: int,
        signups_per_day: float,
        currency: str,
        params: ForwardParams,
    ) -> None:
        self.p = params
        self.currency = currency
        self.rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(9,)))
        self.cal: Calendar = build_calendar(
            start_day,
            HORIZON_DAYS,
            params.timezone,
            params.seasonality,
            params.promo_intensity,
            self.rng,
        )
        self.day = self.cal.period_start  # the next day to simulate
        try:
            self.catalog: Catalog = catalog_from_products(products, product_weight)
        except ValueError as exc:
            raise InvalidParameterError(
                f"the live shop needs the simulator's catalog: {exc}"
            ) from None
        self.product_ids = _int_ids(self.catalog.table, "product_id", "product")
        self.event_catalog = _Catalog(
            pa.table(
                {
                    "product_id": pa.array(self.product_ids),
                    "category": self.catalog.table.column("category").cast(pa.string()),
                    "popularity": pa.array(self.catalog.popularity),
                }
            )
        )
        countries = customers.column("country").cast(pa.string())
        counts = pc.value_counts(countries)
        self.countries = tuple(str(v) for v in counts.field("values").to_pylist())
        freq = np.array(counts.field("counts").to_pylist(), dtype=np.float64)
        self.country_p = freq / freq.sum()
        self.pools = build_pools(self.countries, params.seed)
        self.signups_per_day = signups_per_day
        self.next_order_id = next_order_id
        self.next_event_id = next_event_id
        self.next_session_id = next_session_id
        self.ids = _int_ids(customers, "customer_id", "customer")
        self.next_customer_id = int(self.ids.max()) + 1 if len(self.ids) else 1
        self.block = self._existing(customers, truth)

    # -- state --------------------------------------------------------------------
    def _existing(self, customers: pa.Table, truth: pa.Table | None) -> CustomerBlock:
        n = customers.num_rows
        prior = make_customers(0, n, self.cal, self.country_p, self.p.churn, self.rng)
        age_group = _age_group(customers.column("age"))
        gender = _codes(customers.column("gender"), GENDERS, 2)
        country = _codes(customers.column("country").cast(pa.string()), self.countries, 0)
        channel = _codes(customers.column("acquisition_channel"), CHANNELS, 0)
        rate, spend, promo = prior.rate, prior.spend, prior.promo
        hour, favourite = prior.preferred_hour, None
        alive = np.ones(n, dtype=np.bool_)
        if truth is not None and truth.num_rows:
            pos = {cid: i for i, cid in enumerate(self.ids.tolist())}
            t_ids = truth.column("customer_id").cast(pa.int64()).to_pylist()
            rows = np.array([pos.get(c, -1) for c in t_ids], dtype=np.int64)
            ok = rows >= 0
            r = rows[ok]

            def col(name: str) -> npt.NDArray[Any]:
                values: npt.NDArray[Any] = truth.column(name).to_numpy(zero_copy_only=False)
                return values[ok]

            rate, spend, promo, hour = rate.copy(), spend.copy(), promo.copy(), hour.copy()
            rate[r], spend[r], promo[r] = (
                col("purchase_rate"),
                col("spend_level"),
                col("promo_sensitivity"),
            )
            hour[r] = col("preferred_hour").astype(np.int64)
            alive[r] = col("alive_at_end").astype(np.bool_)
            fav = prior.favourite.copy()
            names = truth.column("favourite_category").cast(pa.string()).to_pylist()
            fav[r] = [CATEGORY_NAMES.index(names[i]) for i in np.flatnonzero(ok)]
            favourite = fav
        keys, fav_out = draw_affinity(age_group, gender, self.rng, favourite)
        block = dataclasses.replace(
            prior,
            age=pc.fill_null(customers.column("age").cast(pa.int64()), 30).to_numpy(
                zero_copy_only=False
            ),
            age_group=age_group,
            gender=gender,
            country=country,
            channel=channel,
            rate=rate,
            spend=spend,
            promo=promo,
            preferred_hour=hour,
            affinity_keys=keys,
            favourite=fav_out,
        )
        self.ids = self.ids[alive]
        return _subset(block, alive)

    # -- one slice ------------------------------------------------------------------
    @property
    def next_start(self) -> datetime:
        return to_datetime(int(self.cal.day_start_utc_us[self.day]))

    def step(self, days: int = 1) -> ForwardSlice:
        """Simulate the next ``days`` shop-local days."""
        d0 = self.day
        if d0 + days > self.cal.n_days:
            raise InvalidParameterError(f"the live shop runs {HORIZON_DAYS} days at most")
        cal = dataclasses.replace(self.cal, period_start=d0, n_days=d0 + days)
        rng = self.rng
        old = dataclasses.replace(
            self.block,
            signup_day=np.full(self.block.n, d0 - 1, dtype=np.int64),
            buys_at_signup=np.zeros(self.block.n, dtype=np.bool_),
        )
        old_life = order_times(old, cal, rng)
        n_new = int(rng.poisson(self.signups_per_day * days))
        new = make_customers(self.next_customer_id, n_new, cal, self.country_p, self.p.churn, rng)
        new_life = order_times(new, cal, rng)

        # order ids continue the store's, in time order across both groups
        ts = np.concatenate([old_life.orders.ts_us, new_life.orders.ts_us])
        ids = np.empty(len(ts), dtype=np.int64)
        ids[np.argsort(ts, kind="stable")] = self.next_order_id + np.arange(len(ts))
        self.next_order_id += len(ts)
        n_old = len(old_life.orders.ts_us)
        kw = {
            "promo_intensity": self.p.promo_intensity,
            "cancel_rate": self.p.cancel_rate,
            "return_rate": self.p.return_rate,
            "currency": self.currency,
            "rng": rng,
        }
        o1, i1 = order_contents(old, old_life.orders, ids[:n_old], cal, self.catalog, **kw)  # type: ignore[arg-type]
        o2, i2 = order_contents(new, new_life.orders, ids[n_old:], cal, self.catalog, **kw)  # type: ignore[arg-type]
        # existing customers are rows of the block: map rows to their ids
        o1 = o1.set_column(1, "customer_id", pa.array(self.ids[o1.column(1).to_numpy()]))
        orders = pa.concat_tables([o1, o2], promote_options="permissive").sort_by("order_ts")
        items = pa.concat_tables([i1, i2])
        items = items.set_column(
            2, "product_id", pa.array(self.product_ids[items.column(2).to_numpy() - 1])
        )
        new_customers = customers_table(new, new_life.signup_us, self.countries, self.pools, rng)

        start = to_datetime(int(cal.day_start_utc_us[d0]))
        end = to_datetime(int(cal.day_start_utc_us[d0 + days]))
        everyone = pa.table(
            {
                "customer_id": pa.array(np.concatenate([self.ids, new.customer_ids()])),
                "signup_ts": pa.array(
                    np.concatenate([np.full(len(self.ids), cal.day_start_utc_us[0]),
                                    new_life.signup_us]), TS
                ),
            }
        )  # fmt: skip
        chunk = generate_events(
            rng,
            orders=orders.select(["order_id", "customer_id", "order_ts"]),
            order_items=items.select(["order_id", "product_id"]),
            customers=everyone,
            products=self.event_catalog,
            start=start,
            end=end,
            params=EventParams(),
            id_offset=self.next_event_id,
            session_offset=self.next_session_id,
            window_start=start,
        )
        self.next_event_id += chunk.n_events
        self.next_session_id += chunk.n_sessions
        events = chunk.table.sort_by("event_ts")

        # who is still alive: dropped customers stop buying
        old_alive = old_life.dropout_us == NEVER
        new_alive = new_life.dropout_us == NEVER
        self.ids = np.concatenate([self.ids[old_alive], new.customer_ids()[new_alive]])
        self.block = _concat(_subset(old, old_alive), _subset(new, new_alive))
        self.next_customer_id += n_new
        self.day += days
        return ForwardSlice(start, end, orders, items, events, new_customers)


def _cdf_rows(c: CustomerBlock) -> F64:
    """The per-customer affinity CDFs (n, K) of ``c.affinity_keys`` (row + cdf)."""
    out: F64 = c.affinity_keys.reshape(c.n, -1) - np.arange(c.n)[:, None]
    return out


def _with_rows(c: CustomerBlock, fields: Mapping[str, Any], cdf: F64) -> CustomerBlock:
    n = len(cdf)
    keys = (np.arange(n)[:, None] + cdf).ravel()
    return CustomerBlock(first_id=0, n=n, affinity_keys=keys, **fields)


_ROW_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(CustomerBlock)
    if f.name not in ("first_id", "n", "affinity_keys")
)


def _subset(c: CustomerBlock, keep: npt.NDArray[np.bool_]) -> CustomerBlock:
    """The customers of ``c`` where ``keep`` (rows renumbered from 0)."""
    return _with_rows(c, {f: getattr(c, f)[keep] for f in _ROW_FIELDS}, _cdf_rows(c)[keep])


def _concat(a: CustomerBlock, b: CustomerBlock) -> CustomerBlock:
    fields = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in _ROW_FIELDS}
    return _with_rows(a, fields, np.concatenate([_cdf_rows(a), _cdf_rows(b)]))


def forward_from_store(con: duckdb.DuckDBPyConnection, params: ForwardParams) -> ForwardShop:
    """A :class:`ForwardShop` continuing the shop in a store (simulator-shaped)."""
    from shoplens.store.db import existing_tables, require_tables

    require_tables(
        con, ["customers", "products", "orders", "order_items"], why="to drive the live shop"
    )
    customers = con.sql(
        "SELECT customer_id, signup_ts, country, age, gender, acquisition_channel"
        " FROM customers ORDER BY customer_id"
    ).to_arrow_table()
    truth = (
        con.sql("SELECT * FROM truth_customers").to_arrow_table()
        if "truth_customers" in existing_tables(con)
        else None
    )
    products = con.sql(
        "SELECT p.product_id, p.name, p.category, p.unit_price,"
        " 1 + coalesce(sum(i.quantity), 0) AS weight"
        " FROM products p LEFT JOIN order_items i ON i.product_id = p.product_id"
        " GROUP BY ALL ORDER BY p.product_id"
    ).to_arrow_table()
    row = (
        con.execute(
            "SELECT max(order_ts), max(TRY_CAST(order_id AS BIGINT)),"
            " (SELECT max(TRY_CAST(event_id AS BIGINT)) FROM events),"
            " (SELECT max(TRY_CAST(session_id AS BIGINT)) FROM events),"
            " (SELECT any_value(currency) FROM orders)"
            " FROM orders"
        ).fetchall()[0]
        if "events" in existing_tables(con)
        else con.execute(
            "SELECT max(order_ts), max(TRY_CAST(order_id AS BIGINT)), 0, 0, any_value(currency)"
            " FROM orders"
        ).fetchall()[0]
    )
    assert row is not None
    last_ts, last_order, last_event, last_session, currency = row
    if last_ts is None:
        raise InvalidParameterError("the store has no orders to continue from")
    if last_order is None:
        raise InvalidParameterError("the live shop needs integer order ids")
    # signups of the last 90 days of data (at least one a day)
    (recent,) = con.execute(
        "SELECT count(*) FROM customers WHERE signup_ts > ? - INTERVAL 90 DAY", [last_ts]
    ).fetchall()[0]
    local_end = con.execute(
        "SELECT CAST(timezone(?, CAST(? AS TIMESTAMPTZ)) AS DATE)", [params.timezone, last_ts]
    ).fetchall()[0]
    assert local_end is not None
    return ForwardShop(
        customers=customers,
        truth=truth,
        products=products.drop(["weight"]),
        product_weight=products.column("weight").to_numpy().astype(np.float64),
        start_day=local_end[0] + timedelta(days=1),
        next_order_id=int(last_order) + 1,
        next_event_id=int(last_event or 0) + 1,
        next_session_id=int(last_session or 0) + 1,
        signups_per_day=max(float(recent) / 90.0, 1.0),
        currency=str(currency or "EUR"),
        params=params,
    )
