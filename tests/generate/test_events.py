"""Clickstream generator: consistency with the orders, funnel shares, ids, windows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from shoplens.generate.events import (
    EVENTS_ARROW_SCHEMA,
    EventParams,
    EventsChunk,
    _Catalog,
    generate_events,
)
from shoplens.schema import EVENT_TYPES, EVENTS

TS = pa.timestamp("us", tz="UTC")
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)
US = 1_000_000
DAY = 86_400 * US


def _us(d: datetime) -> int:
    return (d - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@dataclass
class Shop:
    orders: pa.Table
    order_items: pa.Table
    customers: pa.Table
    products: pa.Table

    def kwargs(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "order_items": self.order_items,
            "customers": self.customers,
            "products": self.products,
            "start": START,
            "end": END,
        }


def make_shop(
    n_customers: int = 400,
    n_orders: int = 1500,
    n_products: int = 120,
    seed: int = 7,
    popularity: bool = True,
    shuffle: bool = False,
) -> Shop:
    """A small shop: customers signed up before or during the year, 10% of them without
    orders, 3% guest orders, 1-4 lines per order, orders in the evening mostly.

    Edge cases: order 0 five seconds after its customer's signup, order 1 ten seconds
    after the start of the period."""
    rng = np.random.default_rng(seed)
    s, e = _us(START), _us(END)
    cid = np.arange(1000, 1000 + n_customers, dtype=np.int64)
    signup = rng.integers(s - 200 * DAY, e - 30 * DAY, n_customers)
    row = rng.integers(0, int(n_customers * 0.9), n_orders)
    lo = np.maximum(signup[row], s)
    day = lo - lo % DAY + rng.integers(0, (e - lo) // DAY, n_orders) * DAY
    ots = np.clip(day + rng.normal(20, 2, n_orders).astype(np.int64) * 3600 * US, lo, e - 1)
    if n_orders:
        # order 0: 5 s after a signup inside the period; order 1: 10 s after the start
        late = np.flatnonzero(signup > s + DAY)[0]
        row[0] = late
        ots[0] = signup[late] + 5 * US
        signup[row[1]] = min(signup[row[1]], s - DAY)
        ots[1] = s + 10 * US
    oid = np.arange(50_000, 50_000 + n_orders, dtype=np.int64)
    ocust = pa.array(cid[row], mask=rng.random(n_orders) < 0.03)
    n_lines = rng.integers(1, 5, n_orders)
    io = np.repeat(oid, n_lines)
    pid = np.arange(7000, 7000 + n_products, dtype=np.int64)
    ip = pid[rng.integers(0, n_products, len(io))]
    cats = np.array(["books", "garden", "toys", "food", "sport"])[np.arange(n_products) % 5]
    orders = pa.table({"order_id": oid, "customer_id": ocust, "order_ts": pa.array(ots, TS)})
    items = pa.table({"order_id": io, "product_id": ip})
    customers = pa.table({"customer_id": cid, "signup_ts": pa.array(signup, TS)})
    prod: dict[str, Any] = {"product_id": pid, "category": cats}
    if popularity:
        prod["popularity"] = np.linspace(0.1, 3.0, n_products)
    products = pa.table(prod)
    if shuffle:
        orders = orders.take(rng.permutation(orders.num_rows))
        items = items.take(rng.permutation(items.num_rows))
        customers = customers.take(rng.permutation(customers.num_rows))
        products = products.take(rng.permutation(products.num_rows))
    return Shop(orders, items, customers, products)


@pytest.fixture(scope="module")
def shop() -> Shop:
    return make_shop()


@pytest.fixture(scope="module")
def chunk(shop: Shop) -> EventsChunk:
    return generate_events(np.random.default_rng(1), **shop.kwargs())


@pytest.fixture(scope="module")
def con(shop: Shop, chunk: EventsChunk) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.register("events", chunk.table)
    c.register("orders", shop.orders)
    c.register("order_items", shop.order_items)
    c.register("customers", shop.customers)
    c.register("products", shop.products)
    c.execute(
        """CREATE TEMP VIEW sessions AS
        SELECT session_id, max(customer_id) AS customer_id,
               bool_or(event_type = 'purchase') AS purchased,
               bool_or(event_type = 'add_to_cart') AS carted,
               bool_or(event_type = 'checkout') AS checked_out,
               min(event_ts) AS first_ts, max(event_ts) AS last_ts, count(*) AS n
        FROM events GROUP BY session_id"""
    )
    yield c
    c.close()


def query(sql: str, **tables: pa.Table) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a fresh connection with ``tables`` registered by name."""
    with duckdb.connect() as c:
        for name, t in tables.items():
            c.register(name, t)
        return c.execute(sql).fetchall()


def one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


# --- consistency with the orders ---------------------------------------------------


def test_every_order_has_exactly_one_purchase_event_at_order_ts(con, shop):
    rows = con.execute(
        """SELECT o.order_id, count(e.event_id) AS n,
                  bool_and(e.event_ts = o.order_ts) AS same_ts,
                  bool_and(e.customer_id IS NOT DISTINCT FROM o.customer_id) AS same_cust
           FROM orders o LEFT JOIN events e
             ON e.order_id = o.order_id AND e.event_type = 'purchase'
           GROUP BY o.order_id"""
    ).fetchall()
    assert len(rows) == shop.orders.num_rows
    assert all(n == 1 and same_ts and same_cust for _, n, same_ts, same_cust in rows)
    assert one(con, "SELECT count(*) FROM events WHERE event_type = 'purchase'") == len(rows)
    # guest orders exist and their purchase sessions are anonymous
    assert one(con, "SELECT count(*) FROM orders WHERE customer_id IS NULL") > 0


def test_purchase_is_the_last_event_after_a_checkout(con):
    bad = one(
        con,
        """SELECT count(*) FROM (
             SELECT session_id,
                    last(event_type ORDER BY event_ts) AS last_type,
                    count(*) FILTER (event_type = 'checkout') AS n_checkout,
                    max(event_ts) FILTER (event_type = 'checkout') AS checkout_ts,
                    max(event_ts) FILTER (event_type = 'purchase') AS purchase_ts,
                    first(event_type ORDER BY event_ts) AS first_type
             FROM events GROUP BY session_id HAVING bool_or(event_type = 'purchase'))
           WHERE last_type <> 'purchase' OR n_checkout <> 1 OR checkout_ts >= purchase_ts
              OR first_type <> 'page_view'""",
    )
    assert bad == 0


def test_every_ordered_line_is_viewed_and_added_to_cart_before_the_purchase(con, shop):
    missing = one(
        con,
        """WITH ps AS (SELECT session_id, order_id, event_ts AS purchase_ts
                       FROM events WHERE event_type = 'purchase'),
           lines AS (SELECT order_id, product_id, count(*) AS n_lines
                     FROM order_items GROUP BY ALL),
           seen AS (SELECT ps.order_id, e.product_id,
                           count(*) FILTER (e.event_type = 'product_view') AS views,
                           count(*) FILTER (e.event_type = 'add_to_cart') AS adds,
                           min(e.event_ts) FILTER (e.event_type = 'product_view') AS v_ts,
                           min(e.event_ts) FILTER (e.event_type = 'add_to_cart') AS a_ts
                    FROM ps JOIN events e USING (session_id)
                    WHERE e.event_ts < ps.purchase_ts GROUP BY ALL)
           SELECT count(*) FROM lines l LEFT JOIN seen s USING (order_id, product_id)
           WHERE s.order_id IS NULL OR s.views < l.n_lines OR s.adds < l.n_lines
              OR s.a_ts <= s.v_ts""",
    )
    assert missing == 0
    # extra browsing happens too: more product views than ordered lines
    views = one(
        con,
        """SELECT count(*) FROM events WHERE event_type = 'product_view'
           AND session_id IN (SELECT session_id FROM sessions WHERE purchased)""",
    )
    assert views > 1.5 * shop.order_items.num_rows


def test_net_cart_of_a_purchase_session_is_the_order(con):
    # adds - removes per product equals the ordered lines
    bad = one(
        con,
        """WITH ps AS (SELECT session_id, order_id FROM events WHERE event_type = 'purchase'),
           cart AS (SELECT ps.order_id, e.product_id,
                           sum(CASE e.event_type WHEN 'add_to_cart' THEN 1
                                   WHEN 'remove_from_cart' THEN -1 ELSE 0 END) AS net
                    FROM ps JOIN events e USING (session_id)
                    WHERE e.product_id IS NOT NULL GROUP BY ALL HAVING net <> 0),
           lines AS (SELECT order_id, product_id, count(*) AS net FROM order_items GROUP BY ALL)
           SELECT count(*) FROM cart FULL JOIN lines USING (order_id, product_id)
           WHERE cart.net IS DISTINCT FROM lines.net""",
    )
    assert bad == 0


def test_remove_from_cart_follows_an_add_of_the_same_product(con):
    bad = one(
        con,
        """SELECT count(*) FROM events r WHERE r.event_type = 'remove_from_cart'
           AND NOT EXISTS (SELECT 1 FROM events a WHERE a.session_id = r.session_id
                           AND a.event_type = 'add_to_cart' AND a.product_id = r.product_id
                           AND a.event_ts < r.event_ts)""",
    )
    assert bad == 0
    share = one(
        con,
        """SELECT avg((session_id IN (SELECT session_id FROM events
                                      WHERE event_type = 'remove_from_cart'))::INT)
           FROM sessions WHERE carted""",
    )
    assert share == pytest.approx(EventParams().remove_rate, abs=0.03)


# --- time --------------------------------------------------------------------------


def test_timestamps_strictly_increase_within_sessions_and_stay_in_period(con, chunk):
    bad = one(
        con,
        """SELECT count(*) FROM (
             SELECT event_ts - lag(event_ts) OVER (PARTITION BY session_id ORDER BY event_id)
                    AS d FROM events) WHERE d <= INTERVAL 0 SECOND""",
    )
    assert bad == 0
    assert one(con, "SELECT min(event_ts) FROM events") >= START
    assert one(con, "SELECT max(event_ts) FROM events") < END
    # the table is ordered by (session_id, event_ts)
    sid = chunk.table["session_id"].to_numpy()
    assert bool(np.all(np.diff(sid) >= 0))


def test_gaps_are_seconds_to_minutes(con):
    q = con.execute(
        """SELECT quantile_cont(s, [0.1, 0.5, 0.9]) FROM (
             SELECT epoch(event_ts - lag(event_ts) OVER w) AS s FROM events
             WINDOW w AS (PARTITION BY session_id ORDER BY event_ts)) WHERE s IS NOT NULL"""
    ).fetchone()
    assert q is not None
    p10, p50, p90 = q[0]
    assert 10 < p10 < p50 < p90 < 300
    assert p50 == pytest.approx(EventParams().gap_median_s, rel=0.1)


def test_no_event_of_a_customer_before_their_signup(con, shop):
    before = one(
        con,
        """SELECT count(*) FROM events e JOIN customers c USING (customer_id)
           WHERE e.event_ts < c.signup_ts""",
    )
    assert before == 0
    # the order placed 5 s after signup: the visitor browsed anonymously, signed up at
    # checkout; the session keeps its natural length and only its end is logged in
    oid = shop.orders["order_id"][0].as_py()
    cust = shop.orders["customer_id"][0].as_py()
    rows = con.execute(
        f"""SELECT event_ts, customer_id FROM events WHERE session_id =
            (SELECT session_id FROM events WHERE order_id = {oid}) ORDER BY event_ts"""
    ).fetchall()
    signup = one(con, f"SELECT signup_ts FROM customers WHERE customer_id = {cust}")
    assert rows[-1][0] - rows[0][0] > timedelta(minutes=2)
    assert [c for t, c in rows] == [None if t < signup else cust for t, _ in rows]
    assert rows[0][1] is None
    assert rows[-1][1] == cust


def test_browsing_sessions_keep_the_customers_hour_of_day(con):
    # logged-in browsing sessions of one-order customers start within ~1 h of the
    # order's time of day (the anchor), except the few moved to another day
    share = one(
        con,
        """WITH one_order AS (SELECT customer_id, any_value(order_ts) AS ots FROM orders
                              WHERE customer_id IS NOT NULL GROUP BY ALL HAVING count(*) = 1),
           d AS (SELECT abs(epoch(s.first_ts) % 86400 - epoch(o.ots) % 86400) / 3600 AS h
                 FROM sessions s JOIN one_order o USING (customer_id) WHERE NOT s.purchased)
           SELECT avg((least(h, 24 - h) < 1.5)::INT) FROM d""",
    )
    assert share > 0.9


# --- funnel shares -----------------------------------------------------------------


def test_cart_abandonment_share_is_near_the_parameter(con):
    abandoned = one(con, "SELECT avg((NOT purchased)::INT) FROM sessions WHERE carted")
    assert abandoned == pytest.approx(EventParams().cart_abandon_rate, abs=0.03)
    reach_checkout = one(
        con, "SELECT avg(checked_out::INT) FROM sessions WHERE carted AND NOT purchased"
    )
    assert reach_checkout == pytest.approx(EventParams().abandoned_checkout_share, abs=0.04)
    # checkout never happens without a cart
    assert one(con, "SELECT count(*) FROM sessions WHERE checked_out AND NOT carted") == 0


def test_cart_abandonment_parameter_is_followed():
    shop = make_shop(seed=3)
    params = EventParams(cart_abandon_rate=0.5)
    t = generate_events(np.random.default_rng(0), params=params, **shop.kwargs()).table
    sess = query(
        """SELECT bool_or(event_type = 'purchase') AS p FROM t
           GROUP BY session_id HAVING bool_or(event_type = 'add_to_cart')""",
        t=t,
    )
    assert np.mean([not p for (p,) in sess]) == pytest.approx(0.5, abs=0.03)


def test_anonymous_share_of_browsing_sessions(con, shop):
    anon = one(con, "SELECT avg((customer_id IS NULL)::INT) FROM sessions WHERE NOT purchased")
    # browsing anchored on guest orders (3% of orders) is anonymous too
    assert anon == pytest.approx(0.3 + 0.7 * 0.03, abs=0.03)
    logged_in_purchases = one(
        con, "SELECT count(*) FROM sessions WHERE purchased AND customer_id IS NOT NULL"
    )
    assert logged_in_purchases == pc.count(shop.orders["customer_id"]).as_py()


def test_browsing_sessions_scale_with_orders(shop):
    counts = []
    for per_order in (1.0, 4.0):
        params = EventParams(browse_sessions_per_order=per_order, idle_sessions_per_year=0)
        ch = generate_events(np.random.default_rng(0), params=params, **shop.kwargs())
        counts.append(ch.n_sessions - shop.orders.num_rows)
    assert counts[0] == pytest.approx(shop.orders.num_rows, rel=0.1)
    assert counts[1] == pytest.approx(4 * shop.orders.num_rows, rel=0.04)


def test_customers_without_orders_browse_but_never_buy(con, shop):
    row = con.execute(
        """SELECT count(DISTINCT c.customer_id), count(s.session_id),
                  count(*) FILTER (s.purchased)
           FROM customers c JOIN sessions s USING (customer_id)
           WHERE c.customer_id NOT IN (SELECT customer_id FROM orders
                                       WHERE customer_id IS NOT NULL)"""
    ).fetchone()
    assert row is not None
    n_customers, n_sessions, n_purchases = row
    assert n_customers > 10
    assert n_sessions > n_customers
    assert n_purchases == 0


def test_extra_browsing_prefers_the_orders_categories(con):
    share = one(
        con,
        """WITH ps AS (SELECT session_id, order_id FROM events WHERE event_type = 'purchase'),
           cats AS (SELECT DISTINCT oi.order_id, p.category
                    FROM order_items oi JOIN products p USING (product_id)),
           extra AS (SELECT ps.order_id, p.category FROM ps JOIN events e USING (session_id)
                     JOIN products p ON p.product_id = e.product_id
                     WHERE e.event_type = 'product_view'
                       AND (ps.order_id, e.product_id) NOT IN
                           (SELECT (order_id, product_id) FROM order_items))
           SELECT avg(((order_id, category) IN (SELECT (order_id, category) FROM cats))::INT)
           FROM extra""",
    )
    # 80% drawn in the order's categories, plus chance hits of the global draws
    assert share > 0.8


def test_catalog_sampling_follows_popularity_within_a_category():
    products = pa.table(
        {
            "product_id": np.arange(10, 17),
            "category": ["a", "b", "a", "a", "b", "a", None],
            "popularity": [1.0, 5.0, 0.0, 2.0, 5.0, 7.0, 1.0],
        }
    )
    cat = _Catalog(products)
    a = int(cat.category_of(np.array([10]))[0])
    n = 200_000
    got = cat.sample(np.random.default_rng(0).random(n), np.full(n, a))
    ids, counts = np.unique(got, return_counts=True)
    assert ids.tolist() == [10, 13, 15]  # zero popularity never drawn
    assert counts / n == pytest.approx([0.1, 0.2, 0.7], abs=0.005)
    anywhere = cat.sample(np.random.default_rng(1).random(n), np.full(n, cat.any))
    assert np.mean(anywhere == 16) == pytest.approx(1 / 21, abs=0.003)
    unknown = cat.category_of(np.array([99, 16]))
    assert unknown[0] == cat.any
    assert unknown[1] != cat.any


def test_popular_products_are_viewed_more(con):
    r = one(
        con,
        """SELECT corr(p.popularity, n) FROM products p JOIN (
             SELECT product_id, count(*) AS n FROM events e
             WHERE event_type = 'product_view'
               AND session_id IN (SELECT session_id FROM sessions WHERE NOT purchased)
             GROUP BY ALL) USING (product_id)""",
    )
    assert r > 0.5


# --- ids, types, determinism --------------------------------------------------------


def test_ids_are_unique_and_respect_the_offsets(shop):
    a = generate_events(np.random.default_rng(0), **shop.kwargs(), id_offset=10, session_offset=5)
    b = generate_events(
        np.random.default_rng(1),
        **shop.kwargs(),
        id_offset=10 + a.n_events,
        session_offset=5 + a.n_sessions,
    )
    for ch, id0, s0 in ((a, 10, 5), (b, 10 + a.n_events, 5 + a.n_sessions)):
        ids = ch.table["event_id"].to_numpy()
        assert ch.table.num_rows == ch.n_events
        assert np.array_equal(ids, np.arange(id0, id0 + ch.n_events))
        sids = np.unique(ch.table["session_id"].to_numpy())
        assert np.array_equal(sids, np.arange(s0, s0 + ch.n_sessions))


def test_types_and_nullability(chunk, con):
    assert chunk.table.schema == EVENTS_ARROW_SCHEMA
    types = {t for (t,) in con.execute("SELECT DISTINCT event_type FROM events").fetchall()}
    assert types == set(EVENT_TYPES)
    bad = one(
        con,
        """SELECT count(*) FROM events WHERE
             (product_id IS NULL) <> (event_type IN ('page_view', 'checkout', 'purchase'))
             OR (order_id IS NULL) <> (event_type <> 'purchase')""",
    )
    assert bad == 0


def test_deterministic_for_a_seed(shop):
    a = generate_events(np.random.default_rng(42), **shop.kwargs()).table
    b = generate_events(np.random.default_rng(42), **shop.kwargs()).table
    c = generate_events(np.random.default_rng(43), **shop.kwargs()).table
    assert a.equals(b)
    assert not a.equals(c)


def test_loads_into_the_store_schema(chunk, tmp_path):
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        con.execute(EVENTS.ddl())
        tbl = chunk.table
        con.register("tbl", tbl)
        con.execute("INSERT INTO events BY NAME SELECT * FROM tbl")
        n, purchases = con.execute(
            "SELECT count(*), count(*) FILTER (event_type = 'purchase') FROM events"
        ).fetchone() or (0, 0)
    assert n == chunk.n_events
    assert purchases == pc.count(tbl["order_id"]).as_py() > 0


# --- inputs --------------------------------------------------------------------------


def test_unsorted_inputs_without_popularity_stay_consistent():
    shop = make_shop(seed=5, popularity=False, shuffle=True)
    t = generate_events(np.random.default_rng(0), **shop.kwargs()).table
    bad = query(
        """WITH ps AS (SELECT session_id, order_id, event_ts FROM t
                       WHERE event_type = 'purchase'),
           added AS (SELECT DISTINCT ps.order_id, e.product_id FROM ps
                     JOIN t e USING (session_id) WHERE e.event_type = 'add_to_cart')
           SELECT (SELECT count(*) FROM orders o LEFT JOIN ps USING (order_id)
                   WHERE ps.event_ts IS DISTINCT FROM o.order_ts)
                + (SELECT count(*) FROM items LEFT JOIN added a USING (order_id, product_id)
                   WHERE a.order_id IS NULL)""",
        t=t,
        orders=shop.orders,
        items=shop.order_items,
    )
    assert bad == [(0,)]


def test_empty_chunk_and_customers_only():
    shop = make_shop(n_orders=0)
    ch = generate_events(np.random.default_rng(0), **shop.kwargs())
    assert ch.n_events == ch.table.num_rows > 0  # idle sessions of the customers
    types = set(ch.table["event_type"].to_pylist())
    assert "purchase" not in types
    assert "add_to_cart" not in types
    empty = make_shop(n_customers=0, n_orders=0)
    ch = generate_events(np.random.default_rng(0), **empty.kwargs())
    assert ch.n_events == ch.n_sessions == ch.table.num_rows == 0
    assert ch.table.schema == EVENTS_ARROW_SCHEMA


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"orders": pa.table({"order_id": [1]})}, "orders: missing column 'customer_id'"),
        ({"start": datetime(2024, 1, 1)}, "timezone-aware"),
        ({"end": START}, "must be after start"),
        ({"start": START + timedelta(days=300)}, "outside"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(shop, change, message):
    kwargs = shop.kwargs() | change
    with pytest.raises(ValueError, match=message):
        generate_events(np.random.default_rng(0), **kwargs)


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="cart_abandon_rate"):
        EventParams(cart_abandon_rate=1.0)
    with pytest.raises(ValueError, match="days"):
        EventParams(days=0)


# --- the clickstream window ----------------------------------------------------------


def test_window_keeps_only_the_last_days_and_the_purchases_inside(shop):
    days = 60
    win = END - timedelta(days=days)
    # an order 10 s after the window start: its session is squeezed inside the window
    orders = shop.orders
    ts = orders["order_ts"].to_numpy().copy()
    ts[2] = np.datetime64(_us(win) + 10 * US, "us")
    orders = orders.set_column(2, "order_ts", pa.array(ts.astype("int64"), TS))
    kwargs = shop.kwargs() | {"orders": orders}
    full = generate_events(np.random.default_rng(0), **kwargs)
    ch = generate_events(np.random.default_rng(0), params=EventParams(days=days), **kwargs)
    assert ch.window_start == win
    share = pc.mean(pc.greater_equal(orders["order_ts"], pa.scalar(win, TS))).as_py()
    assert ch.n_sessions == pytest.approx(share * full.n_sessions, rel=0.2)
    t = ch.table
    assert pc.min(t["event_ts"]).as_py() >= win
    in_window = orders.filter(pc.greater_equal(orders["order_ts"], pa.scalar(win, TS)))
    pur = t.filter(pc.equal(t["event_type"], "purchase"))
    got = dict(zip(pur["order_id"].to_pylist(), pur["event_ts"].to_pylist(), strict=True))
    want = dict(
        zip(in_window["order_id"].to_pylist(), in_window["order_ts"].to_pylist(), strict=True)
    )
    assert got == want
    # the squeezed session still views and adds every line before the purchase
    oid = orders["order_id"][2].as_py()
    sid = pur.filter(pc.equal(pur["order_id"], oid))["session_id"][0].as_py()
    sess = t.filter(pc.equal(t["session_id"], sid))
    lines = shop.order_items.filter(pc.equal(shop.order_items["order_id"], oid))
    added = sess.filter(pc.equal(sess["event_type"], "add_to_cart"))["product_id"].to_pylist()
    assert not Counter(lines["product_id"].to_pylist()) - Counter(added)
    assert pc.min(sess["event_ts"]).as_py() >= win


def test_explicit_window_start_and_prebuilt_catalog(shop):
    # e.g. a shop-local midnight, not a whole number of UTC days before the end (off the
    # whole hours of this shop's orders: an order right at the window start has no room)
    win = END - timedelta(days=45, hours=1, minutes=30)
    kwargs = shop.kwargs() | {"products": _Catalog(shop.products)}
    ch = generate_events(
        np.random.default_rng(0), params=EventParams(days=10), window_start=win, **kwargs
    )
    assert ch.window_start == win  # replaces the 10 days of params
    assert pc.min(ch.table["event_ts"]).as_py() >= win
    # the prebuilt catalogue gives the same events as the products table
    same = generate_events(np.random.default_rng(0), window_start=win, **shop.kwargs())
    assert same.table.equals(ch.table)
    # clamped to the period
    early = generate_events(
        np.random.default_rng(0), window_start=START - timedelta(days=3), **shop.kwargs()
    )
    assert early.window_start == START
