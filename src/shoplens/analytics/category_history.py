"""Category history: what each customer bought, by category, before a moment; and labels.

The features and labels of the next-category model (:mod:`shoplens.models.next_category`),
in SQL on the order facts of :mod:`shoplens.analytics.facts` (the per-(order, category)
line facts, so "value" keeps the one definition of net money).

What counts
    **Completed** orders of **known customers** with at least one line whose product
    has a category. Cancelled and returned orders are not purchases. Lines of
    products without a category (or absent from ``products``) are ignored.

An order's category
    The category with the largest net value in the order: per category, the sum over
    its lines of ``quantity * unit_price - line discount``, minus its pro-rata share of
    the order-level discount (:data:`~shoplens.analytics.facts.LINE_FACTS`). Ties are
    broken by the category name (alphabetically first wins), so the result never
    depends on row order. The same rule gives the label (:func:`next_category_labels`)
    and the per-order counts of the features, so "most frequent past category" and
    the label speak of the same thing.

Point in time
    :func:`category_history` reads only rows strictly before ``as_of`` (orders,
    lines through their order's time, customers through ``signup_ts``): changing or
    adding anything at or after ``as_of`` never changes a feature (tested).
    Demographics are the customer's row, which the schema treats as static.

Time features
    The hour-of-day and weekday profile describe the customer's **past** completed
    orders (shop-local time, ``timezone``). The time of the purchase being predicted
    is not known when the prediction is made, so it is never a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.analytics.facts import (
    CATEGORIES,
    LINE_FACTS,
    ORDER_FACTS,
    ensure_line_facts,
)
from shoplens.errors import InvalidParameterError, ModelError
from shoplens.store.db import CACHE_PREFIX, check_timezone, existing_tables, require_tables

NEEDED_TABLES = ("orders", "order_items", "products")

# Hour-of-day dayparts (shop-local): the same bins as analytics/features.py.
DAYPARTS: tuple[tuple[str, int, int], ...] = (
    ("hour_night", 0, 5),
    ("hour_morning", 6, 11),
    ("hour_afternoon", 12, 17),
    ("hour_evening", 18, 23),
)
HOUR_FEATURES: tuple[str, ...] = (*(d[0] for d in DAYPARTS), "modal_hour")
WEEKDAY_FEATURES: tuple[str, ...] = ("weekend_share", "modal_weekday")
ORDER_FEATURES: tuple[str, ...] = (
    "n_orders",
    "n_lines",
    "n_categories",
    "days_since_last_order",
    "days_since_first_order",
    "mean_order_value",
    "last_category_share",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("last_category", "top_category")
DEMOGRAPHIC_NUMERIC: tuple[str, ...] = ("age",)
DEMOGRAPHIC_CATEGORICAL: tuple[str, ...] = ("gender", "country")

# One row per (completed categorised order of a known customer, category) in the
# window {window}; category_rank 1 is the order's category (module docstring).
# Sums of DOUBLE values are rounded to 1e-6: a parallel sum's last bits depend on the
# order rows arrive in, and features must not change from one run to the next.
_ORDER_CATEGORY_SQL = f"""
SELECT f.customer_id, f.order_id, f.order_ts, c.category, n.n_lines,
       CAST(l.gross - l.line_discount AS DOUBLE) - l.order_discount AS value,
       round(sum(CAST(l.gross - l.line_discount AS DOUBLE) - l.order_discount)
           OVER (PARTITION BY l.order_key), 6) AS order_value,
       row_number() OVER (
           PARTITION BY l.order_key
           ORDER BY CAST(l.gross - l.line_discount AS DOUBLE) - l.order_discount DESC,
                    c.category
       ) AS category_rank
FROM {LINE_FACTS} AS l
JOIN {CATEGORIES} AS c ON c.cat_key = l.cat_key
JOIN {ORDER_FACTS} AS f ON f.order_key = l.order_key
JOIN (
    SELECT i.order_id, c.cat_key, count(*) AS n_lines
    FROM order_items AS i
    JOIN products AS p ON p.product_id = i.product_id
    JOIN {CATEGORIES} AS c ON c.category = p.category
    GROUP BY ALL
) AS n ON n.order_id = f.order_id AND n.cat_key = l.cat_key
WHERE l.status = 'completed' AND f.customer_id IS NOT NULL
  AND {{window}}
"""
_LABEL_WINDOW = "l.order_ts >= $start AND l.order_ts < $end"
_HISTORY_WINDOW = "l.order_ts < $as_of"
_OC = f"temp.main.{CACHE_PREFIX}category_history_oc"

_LABELS_SQL = f"""
SELECT customer_id,
       arg_min(order_id, (order_ts, order_id)) AS order_id,
       min(order_ts) AS order_ts,
       arg_min(category, (order_ts, order_id)) AS category
FROM ({_ORDER_CATEGORY_SQL.format(window=_LABEL_WINDOW)}) AS oc
WHERE category_rank = 1
GROUP BY customer_id
ORDER BY customer_id
"""

# Per (customer, category): orders whose category it is, and net value bought in it.
_PER_CATEGORY_SQL = f"""
SELECT customer_id, category,
       count(*) FILTER (WHERE category_rank = 1) AS orders,
       sum(n_lines) AS lines,
       round(sum(value), 6) AS value
FROM {_OC}
GROUP BY customer_id, category
"""

_PER_CUSTOMER_SQL = f"""
WITH per_category AS ({_PER_CATEGORY_SQL}),
per_order AS (
    SELECT customer_id, order_id, order_ts, category, order_value,
           sum(n_lines) OVER (PARTITION BY order_id) AS order_lines
    FROM {_OC} QUALIFY category_rank = 1
),
hours AS (
    SELECT customer_id, order_ts,
           hour(timezone($tz, order_ts)) AS h,
           isodow(timezone($tz, order_ts)) AS dow
    FROM per_order
),
modal_hour AS (
    SELECT customer_id, arg_max(h, (n, -h)) AS modal_hour
    FROM (SELECT customer_id, h, count(*) AS n FROM hours GROUP BY ALL)
    GROUP BY customer_id
),
modal_weekday AS (
    SELECT customer_id, arg_max(dow, (n, -dow)) AS modal_weekday
    FROM (SELECT customer_id, dow, count(*) AS n FROM hours GROUP BY ALL)
    GROUP BY customer_id
),
profile AS (
    SELECT customer_id,
           avg(CAST(h BETWEEN 0 AND 5 AS DOUBLE)) AS hour_night,
           avg(CAST(h BETWEEN 6 AND 11 AS DOUBLE)) AS hour_morning,
           avg(CAST(h BETWEEN 12 AND 17 AS DOUBLE)) AS hour_afternoon,
           avg(CAST(h BETWEEN 18 AND 23 AS DOUBLE)) AS hour_evening,
           avg(CAST(dow >= 6 AS DOUBLE)) AS weekend_share
    FROM hours GROUP BY customer_id
),
top AS (
    -- most frequent order category; ties: more value, then the name
    SELECT customer_id, arg_max(category, (orders, value, -rank_name)) AS top_category
    FROM (SELECT *, dense_rank() OVER (ORDER BY category) AS rank_name FROM per_category)
    GROUP BY customer_id
),
ncat AS (
    SELECT customer_id, count(*) FILTER (WHERE value > 0) AS n_categories
    FROM per_category GROUP BY customer_id
),
orders AS (
    SELECT customer_id,
           count(*) AS n_orders,
           sum(order_lines) AS n_lines,
           epoch($as_of - max(order_ts)) / 86400.0 AS days_since_last_order,
           epoch($as_of - min(order_ts)) / 86400.0 AS days_since_first_order,
           round(avg(order_value), 6) AS mean_order_value,
           arg_max(category, (order_ts, order_id)) AS last_category
    FROM per_order GROUP BY customer_id
)
SELECT o.*, t.top_category, n.n_categories,
       p.hour_night, p.hour_morning, p.hour_afternoon, p.hour_evening,
       m.modal_hour, p.weekend_share, w.modal_weekday
FROM orders AS o
JOIN profile AS p USING (customer_id)
JOIN modal_hour AS m USING (customer_id)
JOIN modal_weekday AS w USING (customer_id)
JOIN top AS t USING (customer_id)
JOIN ncat AS n USING (customer_id)
"""


@dataclass(frozen=True)
class HistoryColumns:
    """The columns of a :func:`category_history` table, by kind."""

    categories: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)


def order_share_column(category: str) -> str:
    """Name of the feature "share of the customer's orders whose category is ``category``"."""
    return f"order_share[{category}]"


def line_share_column(category: str) -> str:
    """Name of the feature "share of the customer's order lines in ``category``"."""
    return f"line_share[{category}]"


def value_share_column(category: str) -> str:
    """Name of the feature "share of the customer's net value spent in ``category``"."""
    return f"value_share[{category}]"


def to_instant(value: datetime | date, timezone: str) -> datetime:
    """An aware instant: aware datetimes as they are; naive ones and dates in ``timezone``."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        return value.replace(tzinfo=ZoneInfo(timezone))
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=ZoneInfo(timezone))
    raise InvalidParameterError(
        f"expected a date or datetime, not {type(value).__name__} ({value!r})"
    )


def add_days(instant: datetime, days: int, timezone: str) -> datetime:
    """``instant`` plus ``days`` shop-local calendar days (same wall-clock time, DST-proof)."""
    local = instant.astimezone(ZoneInfo(timezone))
    return local + timedelta(days=days)  # wall-clock arithmetic on a ZoneInfo datetime


def store_categories(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The categories the next-category model can use; raise :class:`ModelError` if < 2.

    Needs ``orders``, ``order_items`` and ``products`` with categories, and at least
    two categories among the products of completed orders of known customers.
    """
    have = existing_tables(con)
    if "products" not in have:
        raise ModelError("no categories: the store has no products table (no next-category model)")
    require_tables(con, NEEDED_TABLES, why="for the next-category model")
    cols = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns()"
            " WHERE database_name = current_database() AND schema_name = 'main'"
            " AND table_name = 'products'"
        ).fetchall()
    }
    if "category" not in cols:
        raise ModelError("no categories: products have no category column (no next-category model)")
    ensure_line_facts(con)
    rows = con.execute(
        f"SELECT DISTINCT c.category FROM {LINE_FACTS} AS l"
        f" JOIN {CATEGORIES} AS c ON c.cat_key = l.cat_key"
        f" JOIN {ORDER_FACTS} AS f ON f.order_key = l.order_key"
        " WHERE l.status = 'completed' AND f.customer_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    cats = [str(r[0]) for r in rows]
    if not cats:
        raise ModelError(
            "no categories: no completed order of a known customer has a product with a"
            " category (no next-category model)"
        )
    if len(cats) == 1:
        raise ModelError(
            f"a single category ({cats[0]!r}) in the completed orders: nothing to predict"
            " (no next-category model)"
        )
    return cats


def next_category_labels(
    con: duckdb.DuckDBPyConnection,
    *,
    cutoff: datetime | date,
    horizon_days: int,
    timezone: str,
) -> pa.Table:
    """The category of each customer's first completed purchase in [cutoff, cutoff + horizon).

    One row per known customer with a completed, categorised order in the window:
    ``customer_id``, ``order_id``, ``order_ts`` and ``category`` (the order's category:
    largest net value, ties by name; see the module docstring). Orders at the same
    instant: the smallest ``order_id`` is first. The window ends ``horizon_days``
    shop-local days after the cutoff. Ordered by customer_id.
    """
    check_timezone(timezone)
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise InvalidParameterError(
            f"horizon_days must be a positive integer, got {horizon_days!r}"
        )
    start = to_instant(cutoff, timezone)
    end = add_days(start, horizon_days, timezone)
    store_categories(con)
    return con.sql(_LABELS_SQL, params={"start": start, "end": end}).to_arrow_table()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = 'main'"
        " AND table_name = ?",
        [table],
    ).fetchall()
    return {r[0] for r in rows}


def _known_customers_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, list[str]]:
    """SQL of the customers known before $as_of (with demographics), and those columns.

    Known: signed up before ``as_of`` (customers table) or placed any order before it.
    """
    have = existing_tables(con)
    ccols = _columns(con, "customers") if "customers" in have else set()
    demo = [c for c in (*DEMOGRAPHIC_NUMERIC, *DEMOGRAPHIC_CATEGORICAL) if c in ccols]
    ordered = (
        f"SELECT DISTINCT customer_id FROM {ORDER_FACTS}"
        " WHERE customer_id IS NOT NULL AND order_ts < $as_of"
    )
    if not ccols:
        return f"SELECT customer_id FROM ({ordered})", []
    signed = (
        "SELECT customer_id FROM customers WHERE signup_ts < $as_of"
        if "signup_ts" in ccols
        else "SELECT customer_id FROM customers WHERE false"
    )
    casts = {"age": "CAST(c.age AS DOUBLE)"}
    select = ", ".join(f"{casts.get(d, f'CAST(c.{d} AS VARCHAR)')} AS {d}" for d in demo)
    sql = (
        f"SELECT k.customer_id{', ' + select if select else ''}"
        f" FROM ({signed} UNION {ordered}) AS k"
        " LEFT JOIN customers AS c ON c.customer_id = k.customer_id"
    )
    return sql, demo


def category_history(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime | date,
    timezone: str,
    categories: list[str] | None = None,
) -> pa.Table:
    """Per-customer category history from data strictly before ``as_of``.

    One row per customer known at ``as_of`` (signed up, or ordered, before it),
    ordered by customer_id. Columns (see :func:`history_columns` for the list):

    - ``order_share[<category>]``, ``line_share[<category>]`` and
      ``value_share[<category>]`` for every category of ``categories`` (default:
      :func:`store_categories`): the share of the customer's completed orders whose
      category it is, of their order lines in it, and of their net value spent in it
      (0 for a category never bought; NULL without orders);
    - ``n_orders`` (completed, categorised), ``n_lines`` (their categorised lines),
      ``n_categories`` (bought with a positive
      value), ``days_since_last_order``, ``days_since_first_order``,
      ``mean_order_value``, ``last_category`` (of the last order) and its
      ``last_category_share``, ``top_category`` (most frequent order category; ties:
      more value, then the name);
    - hour-of-day profile of past orders in shop-local time (``hour_night`` 0-5 h,
      ``hour_morning`` 6-11, ``hour_afternoon`` 12-17, ``hour_evening`` 18-23, and
      ``modal_hour``, ties to the earlier hour), weekday profile (``weekend_share``,
      ``modal_weekday`` ISO 1-7);
    - demographics present in the customers table: ``age``, ``gender``, ``country``.

    Customers without a completed categorised order have ``n_orders`` 0 and NULL
    elsewhere (except demographics).
    """
    check_timezone(timezone)
    cats = categories if categories is not None else store_categories(con)
    if categories is not None:
        store_categories(con)  # same checks, and the facts exist
    instant = to_instant(as_of, timezone)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_OC} AS "
        + _ORDER_CATEGORY_SQL.format(window=_HISTORY_WINDOW),
        {"as_of": instant},
    )
    try:
        per_category = con.sql(_PER_CATEGORY_SQL).to_arrow_table()
        per_customer = con.sql(
            _PER_CUSTOMER_SQL, params={"as_of": instant, "tz": timezone}
        ).to_arrow_table()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_OC}")
    known_sql, demo = _known_customers_sql(con)
    known = con.sql(f"{known_sql} ORDER BY customer_id", params={"as_of": instant})
    known_t = known.to_arrow_table()
    return _assemble(known_t, per_customer, per_category, cats, demo)


def history_columns(categories: list[str], demographics: list[str]) -> HistoryColumns:
    """The columns :func:`category_history` returns for these categories and demographics."""
    kinds = (order_share_column, line_share_column, value_share_column)
    shares = [f(c) for c in categories for f in kinds]
    numeric = (
        *shares,
        *ORDER_FEATURES,
        *HOUR_FEATURES,
        *WEEKDAY_FEATURES,
        *(d for d in DEMOGRAPHIC_NUMERIC if d in demographics),
    )
    categorical = (
        *CATEGORICAL_FEATURES,
        *(d for d in DEMOGRAPHIC_CATEGORICAL if d in demographics),
    )
    return HistoryColumns(tuple(categories), numeric, categorical)


def _assemble(
    known: pa.Table,
    per_customer: pa.Table,
    per_category: pa.Table,
    categories: list[str],
    demo: list[str],
) -> pa.Table:
    """Join the parts on customer_id, pivot the per-category shares (numpy)."""
    ids = known.column("customer_id").combine_chunks()
    n = len(ids)
    out: dict[str, pa.Array] = {"customer_id": ids}
    # per-customer rows -> positions in `ids`
    pos = pc.index_in(per_customer.column("customer_id"), value_set=ids).to_numpy(
        zero_copy_only=False
    )
    n_orders = np.zeros(n, dtype=np.int64)
    n_orders[pos] = per_customer.column("n_orders").to_numpy()
    has = n_orders > 0

    # category shares: scatter the long (customer, category) rows into two matrices
    k = len(categories)
    orders_m = np.zeros((n, k))
    lines_m = np.zeros((n, k))
    value_m = np.zeros((n, k))
    crow = pc.index_in(per_category.column("customer_id"), value_set=ids).to_numpy(
        zero_copy_only=False
    )
    ccol = pc.index_in(per_category.column("category"), value_set=pa.array(categories))
    ccol_np = ccol.to_numpy(zero_copy_only=False)
    keep = ~np.isnan(ccol_np.astype(float))  # a category unknown to `categories`: dropped
    r, c = crow[keep].astype(np.int64), ccol_np[keep].astype(np.int64)
    orders_m[r, c] = per_category.column("orders").to_numpy(zero_copy_only=False)[keep]
    lines_m[r, c] = per_category.column("lines").to_numpy(zero_copy_only=False)[keep]
    value_m[r, c] = np.maximum(per_category.column("value").to_numpy(zero_copy_only=False)[keep], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        orders_m /= n_orders[:, None]
        lines_m /= lines_m.sum(axis=1, keepdims=True)
        value_tot = value_m.sum(axis=1, keepdims=True)
        value_m = np.where(value_tot > 0, value_m / value_tot, 0.0)
    orders_m[~has] = np.nan
    lines_m[~has] = np.nan
    value_m[~has] = np.nan
    for j, cat in enumerate(categories):
        # NaN (no history) -> NULL
        out[order_share_column(cat)] = pa.array(orders_m[:, j], from_pandas=True)
        out[line_share_column(cat)] = pa.array(lines_m[:, j], from_pandas=True)
        out[value_share_column(cat)] = pa.array(value_m[:, j], from_pandas=True)

    def scatter(name: str, dtype: pa.DataType) -> pa.Array:
        values = per_customer.column(name).combine_chunks()
        if len(pos) == 0:
            return pa.nulls(n, dtype)
        # rows without history: NULL (take with a null index)
        inverse = np.full(n, -1, dtype=np.int64)
        inverse[pos] = np.arange(len(pos))
        idx = pa.array(inverse, mask=inverse < 0)
        return pc.cast(values.take(idx), dtype)

    out["n_orders"] = pa.array(n_orders)
    for name in ORDER_FEATURES[1:]:
        if name == "last_category_share":
            continue
        out[name] = scatter(name, pa.float64())
    out["n_lines"] = pc.fill_null(pc.cast(out["n_lines"], pa.int64()), 0)
    last = scatter("last_category", pa.string())
    last_idx = pc.index_in(last, value_set=pa.array(categories)).to_numpy(zero_copy_only=False)
    last_share = np.full(n, np.nan)
    ok = ~np.isnan(last_idx.astype(float))
    last_share[ok] = orders_m[np.flatnonzero(ok), last_idx[ok].astype(np.int64)]
    out["last_category_share"] = pa.array(last_share, from_pandas=True)
    for name in (*HOUR_FEATURES, *WEEKDAY_FEATURES):
        out[name] = scatter(name, pa.float64())
    for name in DEMOGRAPHIC_NUMERIC:
        if name in demo:
            out[name] = pc.cast(known.column(name), pa.float64())
    out["last_category"] = last
    out["top_category"] = scatter("top_category", pa.string())
    for name in DEMOGRAPHIC_CATEGORICAL:
        if name in demo:
            out[name] = pc.cast(known.column(name), pa.string())
    cols = history_columns(categories, demo)
    table = pa.table(out)
    return table.select(["customer_id", *cols.features])
