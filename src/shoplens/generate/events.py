"""Clickstream events consistent with the orders, generated with numpy only.

Three kinds of session:

- **purchase sessions**, one per order: a landing ``page_view``, then (in a random
  cyclic order) extra page views, views of other products (mostly in the categories of
  the ordered products), ``product_view`` + ``add_to_cart`` of every ordered line and,
  sometimes, ``product_view`` + ``add_to_cart`` of a product removed again with a
  ``remove_from_cart`` at cart review; then ``checkout`` and ``purchase``. The purchase
  event has the order's ``order_id`` and ``event_ts == order_ts`` exactly; the earlier
  events are spaced by lognormal gaps (seconds to minutes) before it.
- **browsing sessions** anchored on an order (``browse_sessions_per_order`` per order on
  average), days before or after it at about the same time of day, looking at products
  of that order's categories. A share of them put items in the cart and leave (cart
  abandonment), some of those even reach ``checkout``.
- **idle sessions** of customers without orders in the window (signed up, browsed,
  never bought), at the hours of day of the chunk's orders.

A share of the non-purchase sessions is anonymous (``customer_id`` NULL: the visitor did
not log in). Every session lies inside ``[window start, end)`` and not before the
customer's signup; within a session timestamps are strictly increasing.

The layout is built without sorting events: each session is a run of *units* (extra
page view, extra product view, cart line, removed line), rotated by a random offset,
which are expanded into events by index arithmetic. Events come out ordered by
``(session_id, event_ts)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.schema import EVENT_TYPES

__all__ = ["EVENTS_ARROW_SCHEMA", "EventParams", "EventsChunk", "generate_events"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

PAGE_VIEW = EVENT_TYPES.index("page_view")
PRODUCT_VIEW = EVENT_TYPES.index("product_view")
ADD_TO_CART = EVENT_TYPES.index("add_to_cart")
REMOVE_FROM_CART = EVENT_TYPES.index("remove_from_cart")
CHECKOUT = EVENT_TYPES.index("checkout")
PURCHASE = EVENT_TYPES.index("purchase")

TS_TYPE = pa.timestamp("us", tz="UTC")
EVENT_TYPE_TYPE = pa.dictionary(pa.int8(), pa.string())
EVENTS_ARROW_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.int64(), nullable=False),
        pa.field("session_id", pa.int64(), nullable=False),
        pa.field("customer_id", pa.int64()),
        pa.field("event_ts", TS_TYPE, nullable=False),
        pa.field("event_type", EVENT_TYPE_TYPE, nullable=False),
        pa.field("product_id", pa.int64()),
        pa.field("order_id", pa.int64()),
    ]
)
_EVENT_TYPE_DICT = pa.array(EVENT_TYPES, pa.string())

US = 1_000_000
DAY_US = 86_400 * US
YEAR_US = 365.25 * DAY_US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# unit kinds inside a session
_U_PAGE, _U_VIEW, _U_CART, _U_REMOVED = 0, 1, 2, 3


@dataclass(frozen=True)
class EventParams:
    """Knobs of the clickstream. Rates are expectations (Poisson means) unless noted.

    Attributes:
        browse_sessions_per_order: non-purchase sessions per order (Poisson mean),
            placed days before/after the order at about the same hour of day.
        idle_sessions_per_year: non-purchase sessions per year of membership for
            customers with no order in the window (visitors who never bought).
        anonymous_share: probability that a non-purchase session is anonymous
            (``customer_id`` NULL). Purchase sessions are logged in, except for guest
            orders (NULL ``customer_id`` in ``orders``), which stay anonymous.
        cart_abandon_rate: among sessions with at least one ``add_to_cart``, the share
            that do not end in a purchase. Every purchase session has a cart, so the
            chunk gets ``n_orders * rate / (1 - rate)`` abandoned carts in expectation,
            picked at random among its non-purchase sessions (capped at all of them:
            with fewer than ``rate / (1 - rate)`` browsing sessions per order the rate
            cannot be reached).
        abandoned_checkout_share: share of abandoned carts that reach ``checkout``.
        abandoned_cart_items: extra items in an abandoned cart beyond the first
            (Poisson mean).
        remove_rate: probability that a session with a cart also adds a further product
            and removes it again (``remove_from_cart`` at cart review).
        extra_page_views: page views after the landing page (Poisson mean).
        extra_product_views: views of products that are not put in the cart
            (Poisson mean).
        same_category_share: probability that such a product is drawn from the
            categories of the session's order (else from the whole catalogue, by
            popularity).
        gap_median_s, gap_sigma: lognormal gap between consecutive events of a
            session (median in seconds, sigma of the log). Sessions that would start
            before the window or the customer's signup are compressed to fit.
        browse_shift_days: mean distance in days between a browsing session and its
            anchor order (1 + exponential, either direction).
        days: keep only the last ``days`` days of clickstream before ``end`` (shops keep
            a limited history; it also bounds the cost). ``None``: the whole period.
            Orders before the window get no purchase session nor browsing sessions.
    """

    browse_sessions_per_order: float = 3.0
    idle_sessions_per_year: float = 2.0
    anonymous_share: float = 0.3
    cart_abandon_rate: float = 0.7
    abandoned_checkout_share: float = 0.2
    abandoned_cart_items: float = 0.3
    remove_rate: float = 0.15
    extra_page_views: float = 1.0
    extra_product_views: float = 2.0
    same_category_share: float = 0.8
    gap_median_s: float = 45.0
    gap_sigma: float = 0.7
    browse_shift_days: float = 14.0
    days: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "browse_sessions_per_order",
            "idle_sessions_per_year",
            "abandoned_cart_items",
            "extra_page_views",
            "extra_product_views",
            "gap_sigma",
            "browse_shift_days",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"EventParams.{name} must be >= 0, got {getattr(self, name)}")
        for name in (
            "anonymous_share",
            "abandoned_checkout_share",
            "remove_rate",
            "same_category_share",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"EventParams.{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.cart_abandon_rate < 1:
            raise ValueError(
                f"EventParams.cart_abandon_rate must be in [0, 1), got {self.cart_abandon_rate}"
            )
        if not self.gap_median_s > 0:
            raise ValueError(f"EventParams.gap_median_s must be > 0, got {self.gap_median_s}")
        if self.days is not None and self.days <= 0:
            raise ValueError(f"EventParams.days must be a positive number of days, got {self.days}")


@dataclass(frozen=True)
class EventsChunk:
    """One chunk of events; advance ``id_offset`` by ``n_events`` and
    ``session_offset`` by ``n_sessions`` for the next chunk."""

    table: pa.Table
    n_events: int
    n_sessions: int
    window_start: datetime


# --- input helpers -----------------------------------------------------------------


def _column(table: pa.Table, table_name: str, name: str) -> Any:
    if name not in table.column_names:
        raise ValueError(f"{table_name}: missing column {name!r} (have {table.column_names})")
    return table.column(name)


def _int_ids(table: pa.Table, table_name: str, name: str) -> tuple[I64, Mask]:
    """(values with NULL as -1, valid mask)."""
    col = _column(table, table_name, name)
    valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
    values = pc.fill_null(col.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)
    return values.astype(np.int64, copy=False), valid.astype(np.bool_, copy=False)


def _ts_us(table: pa.Table, table_name: str, name: str) -> tuple[I64, Mask]:
    """Microseconds since the epoch (NULL as INT64_MIN) and the valid mask."""
    col = _column(table, table_name, name)
    if not pa.types.is_timestamp(col.type):
        raise ValueError(f"{table_name}.{name}: expected a timestamp column, got {col.type}")
    if col.type.tz is None:
        raise ValueError(f"{table_name}.{name}: timestamps must be timezone-aware (UTC)")
    as_int = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    valid = pc.is_valid(as_int).to_numpy(zero_copy_only=False).astype(np.bool_, copy=False)
    values = pc.fill_null(as_int, np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)
    return values.astype(np.int64, copy=False), valid


def _to_us(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError(f"start/end must be timezone-aware datetimes, got {when!r}")
    return (when - _EPOCH) // timedelta(microseconds=1)


def _lookup(sorted_keys: I64, order: I64 | None, keys: I64) -> I64:
    """Row index of each key in the (sorted view of the) key column; -1 when absent."""
    if len(sorted_keys) == 0:
        return np.full(len(keys), -1, np.int64)
    lo = int(sorted_keys[0])
    if int(sorted_keys[-1]) - lo == len(sorted_keys) - 1:  # contiguous ids: no search
        pos = keys - lo
        inside = (pos >= 0) & (pos < len(sorted_keys))
        rows = pos if order is None else order[np.where(inside, pos, 0)]
        return np.where(inside, rows, -1)
    pos = np.searchsorted(sorted_keys, keys).astype(np.int64)
    pos = np.minimum(pos, len(sorted_keys) - 1)
    found = sorted_keys[pos] == keys
    rows = pos if order is None else order[pos]
    return np.where(found, rows, -1)


def _sorted_keys(keys: I64) -> tuple[I64, I64 | None]:
    if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])):
        return keys, None
    order = np.argsort(keys, kind="stable").astype(np.int64)
    return keys[order], order


class _Catalog:
    """Products grouped by category with cumulative popularity, for fast sampling.

    Category codes are 0..n_cat-1; code ``n_cat`` (:attr:`any`) means the whole
    catalogue. Sampling inverts the cumulative weights with a guide table (one cell per
    quarter product on average), so a draw is a couple of gathers, not a binary search.
    """

    def __init__(self, products: pa.Table) -> None:
        pid, _ = _int_ids(products, "products", "product_id")
        cat = _column(products, "products", "category")
        codes = pc.fill_null(cat.cast(pa.string()), "").combine_chunks().dictionary_encode()
        cat_code = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        n_cat = len(codes.dictionary)
        if "popularity" in products.column_names:
            weight = pc.fill_null(products.column("popularity").cast(pa.float64()), 0.0)
            w = np.clip(weight.to_numpy(zero_copy_only=False), 0.0, None)
        else:
            w = np.ones(len(pid))
        if len(pid) and not w.sum() > 0:
            w = np.ones(len(pid))
        by_cat = np.argsort(cat_code, kind="stable")
        self.size = len(pid)
        self.any = n_cat
        self.product_id: I64 = pid[by_cat]
        self.cumw: F64 = np.cumsum(w[by_cat])
        total = float(self.cumw[-1]) if self.size else 1.0
        counts = np.bincount(cat_code, minlength=n_cat)
        cat_end = np.cumsum(counts)
        before = np.concatenate([[0.0], self.cumw])
        # per category code (and the extra code for "any"): start and width of weights
        self.cat_lo: F64 = np.append(before[cat_end - counts], 0.0)
        self.cat_w: F64 = np.append(before[cat_end], total) - self.cat_lo
        n_cells = max(1024, 4 * self.size)
        self.scale = n_cells / total
        cells = np.arange(n_cells) / self.scale * (1 - 1e-9)
        self.guide: I64 = np.minimum(
            np.searchsorted(self.cumw, cells, side="right"), max(self.size - 1, 0)
        ).astype(np.int64)
        self.sorted_pid, self.pid_order = _sorted_keys(pid)
        self.cat_of_row: I64 = cat_code

    def category_of(self, product_ids: I64) -> I64:
        """Category code of each product id (:attr:`any` for unknown products)."""
        rows = _lookup(self.sorted_pid, self.pid_order, product_ids)
        return np.where(rows >= 0, self.cat_of_row[np.maximum(rows, 0)], self.any)

    def sample(self, u: F64, cats: I64) -> I64:
        """One product id per draw, by popularity within the category code."""
        x = self.cat_lo[cats] + u * self.cat_w[cats]
        cell = np.minimum((x * self.scale).astype(np.int64), len(self.guide) - 1)
        idx = self.guide[cell]
        last = self.size - 1
        todo = np.flatnonzero(self.cumw[idx] <= x)
        while len(todo):  # a few rounds: cells hold ~1/4 product on average
            idx[todo] += 1
            at = idx[todo]
            todo = todo[(at < last) & (self.cumw[np.minimum(at, last)] <= x[todo])]
        return self.product_id[np.minimum(idx, last)]


# --- timing helpers ----------------------------------------------------------------


def _time_of_day(rng: np.random.Generator, n: int, pool_us: I64) -> I64:
    """Times of day drawn from ``pool_us`` (the chunk's order times) with +-30 min jitter."""
    if len(pool_us) == 0:
        return rng.integers(0, DAY_US, n, dtype=np.int64)
    tod = pool_us[rng.integers(0, len(pool_us), n)] % DAY_US
    return tod + rng.integers(-30 * 60 * US, 30 * 60 * US, n, dtype=np.int64)


def _uniform_days(rng: np.random.Generator, lo: I64, hi: int, tod: I64) -> I64:
    """A uniform day in [lo, hi) at time of day ``tod``, kept inside [lo, hi)."""
    t = lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)
    t = t - t % DAY_US + tod
    t = np.where(t < lo, t + DAY_US, t)
    t = np.where(t >= hi, t - DAY_US, t)
    return np.clip(t, lo, hi - 1)


# --- the generator -----------------------------------------------------------------


def generate_events(
    rng: np.random.Generator,
    *,
    orders: pa.Table,
    order_items: pa.Table,
    customers: pa.Table,
    products: pa.Table | _Catalog,
    start: datetime,
    end: datetime,
    params: EventParams | None = None,
    id_offset: int = 0,
    session_offset: int = 0,
    window_start: datetime | None = None,
) -> EventsChunk:
    """Clickstream events for one chunk of customers, consistent with their orders.

    Args:
        rng: the random generator (the only source of randomness).
        orders: ``order_id`` int64, ``customer_id`` int64 (NULL: guest order),
            ``order_ts`` timestamp (tz-aware), all inside ``[start, end)``.
        order_items: ``order_id``, ``product_id`` (int64), one row per line.
        customers: ``customer_id`` int64, ``signup_ts`` timestamp (NULL: unknown).
            Every customer of the chunk, including those without orders.
        products: ``product_id`` int64, ``category`` string, optional ``popularity``
            float64 (sampling weight; uniform when absent). The whole catalogue; callers
            generating many chunks may pass ``_Catalog(products)`` built once instead.
        start, end: aware datetimes bounding the simulated period.
        params: see :class:`EventParams` (defaults when None).
        id_offset, session_offset: first ``event_id`` / ``session_id`` of this chunk.
        window_start: first instant of the clickstream window, e.g. a local midnight
            of the shop (clamped to ``[start, end)``). When given it replaces the window
            of ``params.days`` days counted back from ``end`` in UTC (24-hour days).

    Returns:
        An :class:`EventsChunk`; its table has :data:`EVENTS_ARROW_SCHEMA` (``event_type``
        dictionary-encoded) and is ordered by ``(session_id, event_ts)``.
    """
    p = params if params is not None else EventParams()
    start_us, end_us = _to_us(start), _to_us(end)
    if end_us <= start_us:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if window_start is not None:
        win_us = min(max(start_us, _to_us(window_start)), end_us - 1)
    elif p.days is not None:
        win_us = max(start_us, end_us - p.days * DAY_US)
    else:
        win_us = start_us

    # orders, customers and their signup bounds
    oid, _ = _int_ids(orders, "orders", "order_id")
    ocust, ocust_ok = _int_ids(orders, "orders", "customer_id")
    ots, ots_ok = _ts_us(orders, "orders", "order_ts")
    if not ots_ok.all():
        raise ValueError("orders.order_ts: NULL timestamps")
    if len(ots) and (ots.min() < start_us or ots.max() >= end_us):
        raise ValueError(f"orders.order_ts: values outside [{start}, {end})")
    cid, _ = _int_ids(customers, "customers", "customer_id")
    signup, signup_ok = _ts_us(customers, "customers", "signup_ts")
    c_lo = np.where(signup_ok, np.maximum(signup, win_us), win_us)
    c_sorted, c_order = _sorted_keys(cid)
    o_crow = np.where(ocust_ok, _lookup(c_sorted, c_order, ocust), -1)
    o_lo = np.where(o_crow >= 0, c_lo[np.maximum(o_crow, 0)], win_us)
    o_lo = np.minimum(o_lo, ots)  # an order before the signup (bad input) still fits

    # order lines grouped by order
    catalog = products if isinstance(products, _Catalog) else _Catalog(products)
    io_id, _ = _int_ids(order_items, "order_items", "order_id")
    ip_id, ip_ok = _int_ids(order_items, "order_items", "product_id")
    if not ip_ok.all():
        raise ValueError("order_items.product_id: NULL product ids")
    o_sorted, o_order = _sorted_keys(oid)
    if len(o_sorted) > 1 and bool(np.any(o_sorted[1:] == o_sorted[:-1])):
        raise ValueError("orders.order_id: duplicate ids")
    i_row = _lookup(o_sorted, o_order, io_id)
    if bool(np.any(i_row < 0)):
        missing = io_id[np.argmax(i_row < 0)]
        raise ValueError(f"order_items.order_id: {missing} is not in orders")
    if len(i_row) > 1 and not bool(np.all(i_row[1:] >= i_row[:-1])):
        by_order = np.argsort(i_row, kind="stable")
        i_row, ip_id = i_row[by_order], ip_id[by_order]
    n_lines = np.bincount(i_row, minlength=len(oid)).astype(np.int64)
    line_start = np.cumsum(n_lines) - n_lines
    line_cat = catalog.category_of(ip_id)

    # sessions: purchase (one per order in the window), browsing (anchored), idle
    sel = np.flatnonzero(ots >= win_us)
    n_pur = len(sel)
    n_browse_o = rng.poisson(p.browse_sessions_per_order, n_pur)
    anchor = np.repeat(sel, n_browse_o)
    has_order = np.zeros(len(cid), np.bool_)  # in the whole period, not only the window
    has_order[o_crow[o_crow >= 0]] = True
    years = np.clip((end_us - c_lo) / YEAR_US, 0.0, None)
    n_idle_c = rng.poisson(p.idle_sessions_per_year * years * ~has_order)
    idle_c = np.repeat(np.arange(len(cid)), n_idle_c)
    n_b1, n_b2 = len(anchor), len(idle_c)
    n_browse = n_b1 + n_b2
    n_sess = n_pur + n_browse

    s_order = np.concatenate([sel, anchor, np.full(n_b2, -1, np.int64)])
    s_cust = np.concatenate([ocust[sel], ocust[anchor], cid[idle_c]])
    anonymous = rng.random(n_browse) < p.anonymous_share
    s_cust_ok = np.concatenate([ocust_ok[sel], ocust_ok[anchor] & ~anonymous[:n_b1]])
    s_cust_ok = np.concatenate([s_cust_ok, ~anonymous[n_b1:]])
    # earliest event: purchase sessions may start before the signup (see below)
    s_lo = np.concatenate([np.full(n_pur, win_us), o_lo[anchor], c_lo[idle_c]])

    # session start (browsing) / last event (purchase) times
    shift = (1 + rng.exponential(max(p.browse_shift_days - 1, 0.0), n_b1)).astype(np.int64)
    shift = shift * DAY_US + rng.integers(-45 * 60 * US, 45 * 60 * US, n_b1, dtype=np.int64)
    before = rng.random(n_b1) < 0.5
    a_ts, a_lo = ots[anchor], o_lo[anchor]
    t1 = np.where(before, a_ts - shift, a_ts + shift)
    t1 = np.where(t1 < a_lo, a_ts + shift, t1)  # reflect into the window
    t1 = np.where(t1 >= end_us, a_ts - shift, t1)
    bad = (t1 < a_lo) | (t1 >= end_us)
    if bad.any():
        t1[bad] = _uniform_days(rng, a_lo[bad], end_us, a_ts[bad] % DAY_US)
    t2 = _uniform_days(rng, c_lo[idle_c], end_us, _time_of_day(rng, n_b2, ots[sel]))
    s_time = np.concatenate([ots[sel], t1, t2])

    # contents: counts of each unit kind
    n_pv = rng.poisson(p.extra_page_views, n_sess)
    n_view = rng.poisson(p.extra_product_views, n_sess)
    target = n_pur * p.cart_abandon_rate / (1 - p.cart_abandon_rate)
    p_cart = min(1.0, target / n_browse) if n_browse else 0.0
    b_cart = rng.random(n_browse) < p_cart
    b_items = np.where(b_cart, 1 + rng.poisson(p.abandoned_cart_items, n_browse), 0)
    n_cart = np.concatenate([n_lines[sel], b_items])
    has_rm = ((n_cart > 0) & (rng.random(n_sess) < p.remove_rate)).astype(np.int64)
    b_co = b_cart & (rng.random(n_browse) < p.abandoned_checkout_share)
    has_co = np.concatenate([np.ones(n_pur, np.int64), b_co.astype(np.int64)])
    has_pu = np.concatenate([np.ones(n_pur, np.int64), np.zeros(n_browse, np.int64)])

    # units, laid out per session as [pages, views, cart lines, removed] and then
    # rotated by a random offset: unit j of a session is unrotated unit (j + rot) % m
    n_units = n_pv + n_view + n_cart + has_rm
    n_u = int(n_units.sum())
    u_first = np.cumsum(n_units) - n_units
    u_end = np.repeat(u_first + n_units, n_units)
    rot = (rng.random(n_sess) * n_units).astype(np.int64)
    src = np.arange(n_u, dtype=np.int64) + np.repeat(rot, n_units)
    src -= np.repeat(n_units, n_units) * (src >= u_end)
    del u_end
    kinds = np.tile(np.array([_U_PAGE, _U_VIEW, _U_CART, _U_REMOVED], np.int8), n_sess)
    kind = np.repeat(kinds, np.stack([n_pv, n_view, n_cart, has_rm], axis=1).ravel())[src]
    u_sess_of = np.repeat(np.arange(n_sess), n_units)  # session of each unit

    # products of the units: ordered lines, or drawn near the session's order
    is_line = kind == _U_CART
    is_line[u_first[n_pur] if n_pur < n_sess else n_u :] = False  # browse carts are drawn
    drawn = (kind != _U_PAGE) & ~is_line
    d_sess = u_sess_of[drawn]
    d_order = s_order[d_sess]
    # order -1 (idle sessions) indexes the appended sentinel: no lines
    d_nl = np.append(n_lines, 0)[d_order]
    n_drawn = len(d_order)
    pick = np.append(line_start, 0)[d_order] + (rng.random(n_drawn) * d_nl).astype(np.int64)
    line_cat_ext = np.append(line_cat, catalog.any)  # index len(line_cat): no line
    d_cat = line_cat_ext[np.where(d_nl > 0, pick, len(line_cat))]
    d_cat[rng.random(n_drawn) >= p.same_category_share] = catalog.any
    u_prod = np.full(n_u, -1, np.int64)
    if catalog.size:
        u_prod[drawn] = catalog.sample(rng.random(n_drawn), d_cat)
    elif n_drawn:
        raise ValueError("products: empty catalogue")
    l_sess = u_sess_of[is_line]
    # unrotated position within the session's cart block = line number in the order
    line_no = src[is_line] - (u_first + n_pv + n_view)[l_sess]
    u_prod[is_line] = ip_id[line_start[s_order[l_sess]] + line_no]
    del src, is_line, drawn, d_sess, d_order, d_nl, pick, d_cat, l_sess, line_no

    # events: landing page view, units (1 or 2 events), remove, checkout, purchase
    in_cart = kind >= _U_CART
    u_nev = 1 + in_cart.astype(np.int64)
    n_ev = 1 + n_pv + n_view + 2 * (n_cart + has_rm) + has_rm + has_co + has_pu
    e_first = np.cumsum(n_ev) - n_ev
    e_last = e_first + n_ev - 1
    n_events = int(n_ev.sum())
    u_cum = np.cumsum(u_nev) - u_nev  # events of earlier units, all sessions
    s_unit_ev = n_pv + n_view + 2 * (n_cart + has_rm)
    u_before = np.cumsum(s_unit_ev) - s_unit_ev  # unit events of earlier sessions
    u_at = u_cum + np.repeat(e_first + 1 - u_before, n_units)
    del u_cum, u_nev
    etype = np.full(n_events, PAGE_VIEW, np.int8)  # page views unless overwritten below
    eprod = np.full(n_events, -1, np.int64)
    is_prod = kind != _U_PAGE
    at = u_at[is_prod]
    etype[at] = PRODUCT_VIEW
    eprod[at] = u_prod[is_prod]
    at = u_at[in_cart] + 1
    etype[at] = ADD_TO_CART
    eprod[at] = u_prod[in_cart]
    rm_sess = np.flatnonzero(has_rm)
    at = e_last[rm_sess] - has_pu[rm_sess] - has_co[rm_sess]
    etype[at] = REMOVE_FROM_CART
    eprod[at] = u_prod[kind == _U_REMOVED]
    etype[(e_last - has_pu)[has_co == 1]] = CHECKOUT
    etype[e_last[:n_pur]] = PURCHASE
    del kind, u_prod, u_at, is_prod, in_cart, at

    # timestamps: lognormal gaps, anchored on the last event of each session; the
    # first gap of each session is replaced by the jump from the previous session's
    # last event, so one in-place cumsum turns the gaps into timestamps
    gap = _gap_table(p.gap_median_s, p.gap_sigma)[np.frombuffer(rng.bytes(2 * n_events), np.uint16)]
    dur = np.add.reduceat(gap, e_first) - gap[e_first] if n_events else gap[:0]
    b_dur = dur[n_pur:]
    last = np.concatenate(
        [ots[sel], np.clip(s_time[n_pur:] + b_dur, s_lo[n_pur:] + b_dur, end_us - 1)]
    )
    squeeze = np.flatnonzero(last - dur < s_lo)
    if len(squeeze):
        dur[squeeze] = _squeeze(gap, squeeze, e_first, n_ev, (last - s_lo)[squeeze])
    first_ts = last - dur
    gap[e_first] = first_ts - np.concatenate([[0], last[:-1]])
    ts = np.cumsum(gap, out=gap)
    del gap

    # a purchase session that started before the customer signed up (registration at
    # checkout) is anonymous until the signup: same session, customer_id NULL before
    e_cust_ok = None if bool(s_cust_ok.all()) else np.repeat(s_cust_ok, n_ev)
    early = np.flatnonzero(first_ts[:n_pur] < o_lo[sel])
    if len(early):
        if e_cust_ok is None:
            e_cust_ok = np.ones(n_events, np.bool_)
        counts = n_ev[early]
        sub_first = np.cumsum(counts) - counts
        idx = np.arange(int(counts.sum())) + np.repeat(e_first[early] - sub_first, counts)
        e_cust_ok[idx] &= ts[idx] >= np.repeat(o_lo[sel][early], counts)

    table = _events_table(
        id_offset=id_offset,
        session_ids=np.repeat(np.arange(n_sess, dtype=np.int64) + session_offset, n_ev),
        customer=np.repeat(s_cust, n_ev),
        customer_ok=e_cust_ok,
        ts=ts,
        etype=etype,
        product=eprod,
        purchase_at=e_last[:n_pur],
        order_ids=oid[sel],
    )
    return EventsChunk(
        table=table,
        n_events=n_events,
        n_sessions=n_sess,
        window_start=_EPOCH + timedelta(microseconds=win_us),
    )


@cache
def _gap_table(median_s: float, sigma: float) -> I64:
    """65536 quantiles of the lognormal gap, in microseconds (>= 1): a gap is one
    random uint16 and one gather, several times cheaper than drawing lognormals."""
    normal = NormalDist()
    z = np.array([normal.inv_cdf((k + 0.5) / 65536) for k in range(65536)])
    table: I64 = (np.exp(np.log(median_s) + sigma * z) * US).astype(np.int64) + 1
    table.flags.writeable = False
    return table


def _squeeze(gap: I64, sessions: I64, e_first: I64, n_ev: I64, room: I64) -> I64:
    """Rescale in place the gaps of ``sessions`` so each lasts at most ``room`` (sessions
    just after a signup or the window start); returns their new durations.

    New gaps are ``floor(gap * f) + 1`` with ``f = (room - n_gaps) / duration``, so
    their total never exceeds the room. With less room than one microsecond per gap
    (degenerate input) the gaps are 1 us and the session starts too early.
    """
    counts = n_ev[sessions]
    sub_first = np.cumsum(counts) - counts
    idx = np.arange(int(counts.sum())) + np.repeat(e_first[sessions] - sub_first, counts)
    g = gap[idx]
    g[sub_first] = 0  # the first event's gap is before the session
    dur = np.add.reduceat(g, sub_first)
    factor = np.clip((room - (counts - 1)) / np.maximum(dur, 1), 0.0, 1.0)
    g = (g * np.repeat(factor, counts)).astype(np.int64) + 1
    g[sub_first] = 0
    gap[idx] = g
    new_dur: I64 = np.add.reduceat(g, sub_first)
    return new_dur


def _validity(valid: Mask) -> Any:
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _events_table(
    *,
    id_offset: int,
    session_ids: I64,
    customer: I64,
    customer_ok: Mask | None,
    ts: I64,
    etype: npt.NDArray[np.int8],
    product: I64,
    purchase_at: I64,
    order_ids: I64,
) -> pa.Table:
    n = len(ts)
    order = np.zeros(n, np.int64)
    order[purchase_at] = order_ids
    order_ok = np.zeros(n, np.bool_)
    order_ok[purchase_at] = True
    int64 = pa.int64()
    columns = [
        pa.array(np.arange(id_offset, id_offset + n, dtype=np.int64), int64),
        pa.array(session_ids, int64),
        pa.Array.from_buffers(
            int64,
            n,
            [None if customer_ok is None else _validity(customer_ok), pa.py_buffer(customer)],
        ),
        pa.Array.from_buffers(TS_TYPE, n, [None, pa.py_buffer(ts)]),
        pa.DictionaryArray.from_arrays(pa.array(etype, pa.int8()), _EVENT_TYPE_DICT),
        pa.Array.from_buffers(int64, n, [_validity(product >= 0), pa.py_buffer(product)]),
        pa.Array.from_buffers(int64, n, [_validity(order_ok), pa.py_buffer(order)]),
    ]
    return pa.Table.from_arrays(columns, schema=EVENTS_ARROW_SCHEMA)
