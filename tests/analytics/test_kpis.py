"""KPIs against hand-computed numbers and an independent plain-Python computation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from shoplens.analytics.kpis import DIMENSIONS, KPI_DEFINITIONS, compute_kpis
from shoplens.errors import InvalidParameterError, StoreError
from shoplens.schema import AGE_GROUPS
from shoplens.store import create_tables, finalize_keys, load_table, open_store, write_new_store
from tests.conftest import MakeStore, _arrow, ts

OpenCon = Callable[..., duckdb.DuckDBPyConnection]
Row = dict[str, Any]

# --- the hand-made shop ------------------------------------------------------------
# Weekdays (UTC): 2024-12-15 Sun, 2025-01-06 Mon, 01-07 Tue, 02-03 Mon, 02-10 Mon,
# 03-01 Sat, 03-15 Sat, 04-01 Tue.

CUSTOMERS: list[Row] = [
    {"customer_id": "c1", "signup_ts": "2024-01-01 00:00", "country": "FR", "age": 30},
    {"customer_id": "c2", "signup_ts": "2024-01-01 00:00", "country": "DE", "age": 60},
    {"customer_id": "c3", "signup_ts": "2024-01-01 00:00", "country": "FR", "age": None},
]
PRODUCTS: list[Row] = [
    {"product_id": "p1", "name": "sneaker", "category": "Shoes", "unit_price": 40},
    {"product_id": "p2", "name": "tote", "category": "Bags", "unit_price": 20},
    {"product_id": "p3", "name": "socks", "category": None, "unit_price": 10},
]


def _o(oid: str, cid: str | None, when: str, status: str, **kw: Any) -> dict[str, Any]:
    return {"order_id": oid, "customer_id": cid, "order_ts": when, "status": status, **kw}


ORDERS: list[Row] = [
    # c2's first order ever, before the 2025-Q1 period
    _o("o0", "c2", "2024-12-15 10:00", "completed", channel="web"),
    # c1's first order: promo with an order-level discount and a line discount
    _o(
        "o1",
        "c1",
        "2025-01-06 09:00",
        "completed",
        channel="web",
        promo_code="WELCOME",
        discount=10,
    ),
    _o("o2", "c1", "2025-01-07 18:30", "completed", channel="app"),
    # an empty promo code is no promo
    _o("o3", "c2", "2025-02-03 12:00", "completed", channel="app", promo_code=""),
    _o("o4", "c2", "2025-02-10 20:00", "cancelled", channel="web"),
    _o("o5", "c1", "2025-03-01 08:00", "returned", promo_code="SPRING", discount=5),
    # a guest order
    _o("o6", None, "2025-03-15 14:00", "completed", channel="web"),
    # after the period; c3 has no age
    _o("o7", "c3", "2025-04-01 11:00", "completed", channel="app"),
]


def _i(oid: str, pid: str, qty: int, price: float, discount: float = 0) -> dict[str, Any]:
    return {
        "order_id": oid,
        "product_id": pid,
        "quantity": qty,
        "unit_price": price,
        "discount": discount,
    }


ITEMS: list[Row] = [
    _i("o0", "p2", 1, 20),
    _i("o1", "p1", 2, 40, discount=5),
    _i("o1", "p2", 1, 20),
    _i("o2", "p1", 1, 40),
    _i("o2", "p3", 3, 10),
    _i("o3", "p2", 2, 20, discount=4),
    _i("o4", "p1", 1, 40),
    _i("o5", "p2", 1, 20),
    _i("o5", "p3", 2, 10),
    _i("o6", "p3", 1, 10),
    _i("o6", "p1", 1, 40),
    _i("o7", "p1", 1, 40),
]

Q1 = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}
MONEY = [
    "gross_revenue",
    "discounts",
    "cancelled_revenue",
    "returned_revenue",
    "net_revenue",
    "new_customer_revenue",
    "returning_customer_revenue",
    "guest_revenue",
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The hand-made shop, built once for the module and opened read-only."""
    tables = {"customers": CUSTOMERS, "products": PRODUCTS, "orders": ORDERS, "order_items": ITEMS}

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        create_tables(con)
        for name, data in tables.items():
            load_table(con, name, _arrow(name, data))
        finalize_keys(con)

    path = tmp_path_factory.mktemp("kpis") / "shop.duckdb"
    write_new_store(path, fill)
    con = open_store(path, read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, **kw: Any) -> list[dict[str, Any]]:
    return list(compute_kpis(con, **kw).to_pylist())


# --- an independent computation in plain Python ------------------------------------

_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _age_group(age: int | None) -> str:
    for lo, hi, label in AGE_GROUPS:
        if age is not None and lo <= age <= hi:
            return label
    return "(unknown)"


def reference(
    orders: list[dict[str, Any]],
    items: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    products: list[dict[str, Any]],
    *,
    by: str | None = None,
    start: date | None = None,
    end: date | None = None,
    tz: str = "UTC",
) -> dict[Any, dict[str, Any]]:
    """KPIs per group, with exact fractions; money not rounded."""
    zone = ZoneInfo(tz)
    cust = {c["customer_id"]: c for c in customers}
    category = {p["product_id"]: p["category"] for p in products}
    first: dict[str, str] = {}
    for o in sorted(orders, key=lambda o: (ts(o["order_ts"]), o["order_id"])):
        if o["customer_id"] is not None:
            first.setdefault(o["customer_id"], o["order_id"])

    def key(o: dict[str, Any]) -> Any:
        local = ts(o["order_ts"]).astimezone(zone)
        c = cust.get(o["customer_id"]) if o["customer_id"] is not None else None
        return {
            None: None,
            "month": local.strftime("%Y-%m"),
            "hour": local.hour,
            "weekday": _WEEKDAYS[local.isoweekday() - 1],
            "channel": o.get("channel") or "(unknown)",
            "country": "(guest)"
            if o["customer_id"] is None
            else (c or {}).get("country") or "(unknown)",
            "age_group": "(guest)"
            if o["customer_id"] is None
            else _age_group((c or {}).get("age")),
        }[by]

    acc: dict[Any, dict[str, Any]] = defaultdict(lambda: defaultdict(Fraction))
    per_cust: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o in orders:
        day = ts(o["order_ts"]).astimezone(zone).date()
        if (start and day < start) or (end and day > end):
            continue
        lines = [i for i in items if i["order_id"] == o["order_id"]]
        order_gross = sum(Fraction(i["quantity"]) * Fraction(i["unit_price"]) for i in lines)
        od = Fraction(o.get("discount", 0))
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            g = (category[line["product_id"]] or "(unknown)") if by == "category" else key(o)
            groups[g].append(line)
        if not lines and by != "category":
            groups[key(o)] = []
        for g, ls in groups.items():
            a = acc[g]
            gross = sum(Fraction(i["quantity"]) * Fraction(i["unit_price"]) for i in ls)
            share = gross / order_gross if order_gross else Fraction(len(ls), len(lines))
            disc = sum(Fraction(i["discount"]) for i in ls) + od * share
            net = gross - disc
            status, cid = o["status"], o["customer_id"]
            a["orders"] += 1
            a[f"{status}_orders"] += 1
            a["gross_revenue"] += gross
            a["discounts"] += disc
            a["promo"] += 1 if o.get("promo_code") else 0
            if status == "completed":
                a["net_revenue"] += net
                a["units"] += sum(i["quantity"] for i in ls)
                if cid is None:
                    a["guest_revenue"] += net
                else:
                    per_cust[g][cid] += 1
                    kind = "new" if first[cid] == o["order_id"] else "returning"
                    a[f"{kind}_customer_revenue"] += net
            else:
                a[f"{status}_revenue"] += net

    def div(n: Fraction | int, d: Fraction | int) -> float | None:
        return float(Fraction(n) / d) if d else None

    out: dict[Any, dict[str, Any]] = {}
    for g, a in acc.items():
        pc = per_cust[g]
        r: dict[str, Any] = {
            k: int(a[k])
            for k in ("orders", "completed_orders", "cancelled_orders", "returned_orders")
        }
        r["customers"] = len(pc)
        r.update({m: float(a[m]) for m in MONEY})
        r["aov"] = div(a["net_revenue"], a["completed_orders"])
        r["units_per_order"] = div(a["units"], a["completed_orders"])
        r["purchase_frequency"] = div(sum(pc.values()), len(pc))
        r["repeat_purchase_rate"] = div(sum(1 for n in pc.values() if n >= 2), len(pc))
        r["promo_order_share"] = div(a["promo"], a["orders"])
        r["discount_rate"] = div(a["discounts"], a["gross_revenue"])
        r["cancellation_rate"] = div(a["cancelled_orders"], a["orders"])
        r["return_rate"] = div(a["returned_orders"], a["completed_orders"] + a["returned_orders"])
        out[g] = r
    return out


def assert_row(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) - {"grp"} >= set(want)
    for k, v in want.items():
        if v is None:
            assert got[k] is None, k
        elif k in MONEY or k == "aov":
            assert got[k] == pytest.approx(v, abs=0.005), k
        else:
            assert got[k] == pytest.approx(v, rel=1e-12), k


# --- totals, checked by hand -------------------------------------------------------


def test_totals_by_hand(shop: duckdb.DuckDBPyConnection) -> None:
    (r,) = rows(shop)
    assert r == {
        "orders": 8,
        "completed_orders": 6,
        "cancelled_orders": 1,
        "returned_orders": 1,
        "customers": 3,  # c1, c2, c3 (the guest is not a customer)
        "gross_revenue": 400.0,  # 20 + 100 + 70 + 40 + 40 + 40 + 50 + 40
        "discounts": 24.0,  # lines 5 + 4, orders 10 + 5
        "cancelled_revenue": 40.0,  # o4
        "returned_revenue": 35.0,  # o5: 40 - 5
        "net_revenue": 301.0,  # o0 20 + o1 85 + o2 70 + o3 36 + o6 50 + o7 40
        "new_customer_revenue": 145.0,  # o0, o1, o7
        "returning_customer_revenue": 106.0,  # o2, o3
        "guest_revenue": 50.0,  # o6
        "aov": 50.17,  # 301 / 6
        "units_per_order": pytest.approx(13 / 6),
        "purchase_frequency": pytest.approx(5 / 3),
        "repeat_purchase_rate": pytest.approx(2 / 3),  # c1 and c2
        "promo_order_share": 0.25,  # o1, o5
        "discount_rate": 0.06,
        "cancellation_rate": 0.125,
        "return_rate": pytest.approx(1 / 7),
    }


def test_period_totals_by_hand(shop: duckdb.DuckDBPyConnection) -> None:
    """c2's first order (o0) is before the period: o3 is still a returning order."""
    (r,) = rows(shop, **Q1)
    assert r["orders"] == 6  # o1..o6
    assert (r["completed_orders"], r["cancelled_orders"], r["returned_orders"]) == (4, 1, 1)
    assert r["gross_revenue"] == 340.0
    assert r["discounts"] == 24.0
    assert r["net_revenue"] == 241.0
    assert r["new_customer_revenue"] == 85.0  # o1 only
    assert r["returning_customer_revenue"] == 106.0  # o2, o3
    assert r["guest_revenue"] == 50.0
    assert r["customers"] == 2
    assert r["repeat_purchase_rate"] == 0.5  # c1 twice, c2 once
    assert r["purchase_frequency"] == 1.5
    assert r["aov"] == 60.25
    assert r["units_per_order"] == 2.75
    assert r["promo_order_share"] == pytest.approx(2 / 6)
    assert r["return_rate"] == 0.2


def test_columns_follow_the_definitions(shop: duckdb.DuckDBPyConnection) -> None:
    assert compute_kpis(shop).column_names == list(KPI_DEFINITIONS)
    for by in DIMENSIONS:
        assert compute_kpis(shop, by=by).column_names == [by, *KPI_DEFINITIONS]
    assert all(KPI_DEFINITIONS.values())


# --- every dimension against the plain-Python computation --------------------------


@pytest.mark.parametrize("by", [None, *DIMENSIONS])
@pytest.mark.parametrize("period", [{}, Q1], ids=["all", "q1"])
def test_matches_reference(
    shop: duckdb.DuckDBPyConnection, by: str | None, period: dict[str, date]
) -> None:
    want = reference(
        ORDERS, ITEMS, CUSTOMERS, PRODUCTS, by=by, start=period.get("start"), end=period.get("end")
    )
    got = rows(shop, by=by, **period)
    got_by_group = {(r.pop(by) if by else None): r for r in got}
    assert len(got_by_group) == len(got)
    assert set(got_by_group) == set(want)
    for g, w in want.items():
        assert_row(got_by_group[g], w)


EXPECTED_GROUPS = {
    "country": ["DE", "FR", "(guest)"],
    "month": ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04"],
    "category": ["Bags", "Shoes", "(unknown)"],
    "hour": [8, 9, 10, 11, 12, 14, 18, 20],
    "weekday": ["Mon", "Tue", "Sat", "Sun"],
    "age_group": ["25-40", "56+", "(guest)", "(unknown)"],
    "channel": ["app", "web", "(unknown)"],
}


@pytest.mark.parametrize("by", DIMENSIONS)
def test_groups_and_their_order(shop: duckdb.DuckDBPyConnection, by: str) -> None:
    assert compute_kpis(shop, by=by).column(by).to_pylist() == EXPECTED_GROUPS[by]


def test_breakdown_values_by_hand(shop: duckdb.DuckDBPyConnection) -> None:
    country = {r["country"]: r for r in rows(shop, by="country")}
    assert country["FR"]["customers"] == 2  # c1, c3
    assert country["FR"]["net_revenue"] == 195.0  # o1 85 + o2 70 + o7 40
    assert country["(guest)"]["customers"] == 0
    assert country["(guest)"]["guest_revenue"] == 50.0
    assert country["(guest)"]["purchase_frequency"] is None
    weekday = {r["weekday"]: r for r in rows(shop, by="weekday")}
    assert weekday["Mon"]["orders"] == 3  # o1, o3, o4
    assert weekday["Mon"]["cancellation_rate"] == pytest.approx(1 / 3)
    category = {r["category"]: r for r in rows(shop, by="category")}
    # o1's order discount of 10 is shared 8 (Shoes, gross 80) / 2 (Bags, gross 20)
    assert category["Shoes"]["discounts"] == 13.0  # line 5 + 8
    assert category["Bags"]["discounts"] == 8.5  # o1 2 + o3 line 4 + o5 2.5
    assert category["Bags"]["orders"] == 4  # o0, o1, o3, o5
    assert category["Shoes"]["orders"] == 5  # o1, o2, o4, o6, o7
    assert category["(unknown)"]["orders"] == 3  # o2, o5, o6


# --- identities ----------------------------------------------------------------------


@pytest.mark.parametrize("by", [None, *DIMENSIONS])
def test_net_identity(shop: duckdb.DuckDBPyConnection, by: str | None) -> None:
    for r in rows(shop, by=by):
        assert r["net_revenue"] == pytest.approx(
            r["gross_revenue"] - r["discounts"] - r["cancelled_revenue"] - r["returned_revenue"],
            abs=0.015,
        )
        assert r["net_revenue"] == pytest.approx(
            r["new_customer_revenue"] + r["returning_customer_revenue"] + r["guest_revenue"],
            abs=0.015,
        )


@pytest.mark.parametrize("by", DIMENSIONS)
def test_revenue_adds_up_across_groups(shop: duckdb.DuckDBPyConnection, by: str) -> None:
    (total,) = rows(shop)
    groups = rows(shop, by=by)
    for m in MONEY:
        assert sum(r[m] for r in groups) == pytest.approx(total[m], abs=0.005 * len(groups)), m
    if by != "category":  # an order counts once in every other breakdown
        assert sum(r["orders"] for r in groups) == total["orders"]


# --- period and time zone ------------------------------------------------------------


def test_period_in_shop_time_zone(make_store: MakeStore, open_con: OpenCon) -> None:
    path = make_store(
        orders=[
            _o("new_year", "c1", "2024-12-31 23:30", "completed"),  # 00:30 on Jan 1 in Paris
            _o("feb", "c1", "2025-01-31 23:30", "completed"),  # 00:30 on Feb 1 in Paris
            _o("jan", "c1", "2025-01-15 12:00", "completed"),
        ],
        order_items=[_i("new_year", "p1", 1, 1), _i("feb", "p1", 1, 100), _i("jan", "p1", 1, 10)],
    )
    jan = {"start": date(2025, 1, 1), "end": date(2025, 1, 31)}
    paris = open_con(path, timezone="Europe/Paris", read_only=True)
    (r,) = rows(paris, **jan)
    assert (r["orders"], r["gross_revenue"]) == (2, 11.0)
    assert [(x["month"], x["orders"]) for x in rows(paris, by="month")] == [
        ("2025-01", 2),
        ("2025-02", 1),
    ]
    assert [x["hour"] for x in rows(paris, by="hour")] == [0, 13]
    # the same store read in UTC
    utc = open_con(path, timezone="UTC", read_only=True)
    (r,) = rows(utc, **jan)
    assert (r["orders"], r["gross_revenue"]) == (2, 110.0)


def test_single_day_and_open_ended_periods(shop: duckdb.DuckDBPyConnection) -> None:
    day = date(2025, 1, 6)
    assert rows(shop, start=day, end=day)[0]["orders"] == 1
    assert rows(shop, start=date(2025, 3, 1))[0]["orders"] == 3  # o5, o6, o7
    assert rows(shop, end=date(2025, 1, 6))[0]["orders"] == 2  # o0, o1


def test_periods_up_to_the_last_and_from_the_first_calendar_day(
    shop: duckdb.DuckDBPyConnection,
) -> None:
    everything = rows(shop)
    assert rows(shop, end=date.max) == everything  # 9999-12-31 (no OverflowError)
    assert rows(shop, start=date.min, end=date.max) == everything
    assert rows(shop, start=date.max)[0]["orders"] == 0


def test_empty_period(shop: duckdb.DuckDBPyConnection) -> None:
    empty = {"start": date(2030, 1, 1), "end": date(2030, 12, 31)}
    (r,) = rows(shop, **empty)
    assert all(r[k] == 0 for k in ["orders", "completed_orders", "customers", *MONEY])
    assert r["aov"] is None
    assert r["cancellation_rate"] is None
    assert r["discount_rate"] is None
    for by in DIMENSIONS:
        t = compute_kpis(shop, by=by, **empty)
        assert t.num_rows == 0
        assert t.column_names == [by, *KPI_DEFINITIONS]


# --- first orders ----------------------------------------------------------------------


def test_first_order_is_the_earliest_of_any_status_ties_by_id(
    make_store: MakeStore, open_con: OpenCon
) -> None:
    path = make_store(
        orders=[
            # c1's first order was cancelled: its completed order is a returning one
            _o("a1", "c1", "2025-01-01 10:00", "cancelled"),
            _o("a2", "c1", "2025-01-02 10:00", "completed"),
            # c2: two orders at the same instant; 'b1' < 'b2' is the first
            _o("b2", "c2", "2025-01-03 10:00", "completed"),
            _o("b1", "c2", "2025-01-03 10:00", "completed"),
        ],
        order_items=[
            _i("a1", "p1", 1, 1),
            _i("a2", "p1", 1, 2),
            _i("b2", "p1", 1, 30),
            _i("b1", "p1", 1, 400),
        ],
    )
    (r,) = rows(open_con(path))
    assert r["new_customer_revenue"] == 400.0
    assert r["returning_customer_revenue"] == 32.0


# --- division by zero, odd data --------------------------------------------------------


def test_division_by_zero_gives_null(make_store: MakeStore, open_con: OpenCon) -> None:
    path = make_store(
        orders=[_o("x", "c1", "2025-01-01 10:00", "cancelled")],
        order_items=[_i("x", "p1", 1, 0)],
    )
    (r,) = rows(open_con(path))
    assert (r["orders"], r["cancelled_orders"], r["customers"]) == (1, 1, 0)
    for k in [
        "aov",
        "units_per_order",
        "purchase_frequency",
        "repeat_purchase_rate",
        "discount_rate",
        "return_rate",
    ]:
        assert r[k] is None, k
    assert r["cancellation_rate"] == 1.0
    assert r["promo_order_share"] == 0.0


def test_empty_store(make_store: MakeStore, open_con: OpenCon) -> None:
    con = open_con(make_store())
    (r,) = rows(con)
    assert r["orders"] == 0
    assert r["net_revenue"] == 0.0
    assert r["aov"] is None
    assert rows(con, by="category") == []


def test_order_discount_of_a_free_order_is_shared_equally(
    make_store: MakeStore, open_con: OpenCon
) -> None:
    path = make_store(
        products=PRODUCTS,
        orders=[_o("f", "c1", "2025-01-01 10:00", "completed", discount=2)],
        order_items=[_i("f", "p1", 1, 0), _i("f", "p2", 1, 0)],
    )
    got = {r["category"]: r["discounts"] for r in rows(open_con(path), by="category")}
    assert got == {"Bags": 1.0, "Shoes": 1.0}


def test_order_without_lines_counts_as_an_order(make_store: MakeStore, open_con: OpenCon) -> None:
    path = make_store(
        orders=[_o("e", "c1", "2025-01-01 10:00", "completed"), *ORDERS[1:2]],
        order_items=ITEMS[1:3],
    )
    (r,) = rows(open_con(path))
    assert (r["orders"], r["completed_orders"], r["gross_revenue"]) == (2, 2, 100.0)
    assert [x["orders"] for x in rows(open_con(path), by="month")] == [2]


def test_products_without_categories(make_store: MakeStore, open_con: OpenCon) -> None:
    path = make_store(
        products=[{**p, "category": None} for p in PRODUCTS], orders=ORDERS, order_items=ITEMS
    )
    (r,) = rows(open_con(path), by="category")
    assert r["category"] == "(unknown)"
    assert r["orders"] == 8
    assert r["net_revenue"] == 301.0


def test_lines_of_unknown_products_and_orders_of_unknown_customers(
    make_store: MakeStore, open_con: OpenCon
) -> None:
    path = make_store(orders=ORDERS, order_items=ITEMS)  # no customers, no products
    con = open_con(path)
    assert [r["category"] for r in rows(con, by="category")] == ["(unknown)"]
    assert [r["country"] for r in rows(con, by="country")] == ["(guest)", "(unknown)"]
    assert [r["age_group"] for r in rows(con, by="age_group")] == ["(guest)", "(unknown)"]


# --- errors ----------------------------------------------------------------------------


def test_unknown_dimension(shop: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidParameterError, match="unknown dimension 'city'"):
        compute_kpis(shop, by="city")
    with pytest.raises(InvalidParameterError):
        compute_kpis(shop, by="month; DROP TABLE orders")


def test_start_after_end(shop: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InvalidParameterError, match="after"):
        compute_kpis(shop, start=date(2025, 2, 1), end=date(2025, 1, 31))


def test_missing_table_or_column(make_store: MakeStore, open_con: OpenCon) -> None:
    """Each breakdown names what it lacks; what does not need it still works."""
    con = open_con(make_store(orders=ORDERS, order_items=ITEMS))
    steps = [  # from the least to the most destructive, on one store
        ("ALTER TABLE orders DROP COLUMN channel", ["channel"], "orders.channel"),
        ("ALTER TABLE products DROP COLUMN category", ["category"], "products.category"),
        ("DROP TABLE products", ["category"], "table 'products'"),
        ("DROP TABLE customers", ["country", "age_group"], "table 'customers'"),
    ]
    for drop, bys, missing in steps:
        con.execute(drop)
        for by in bys:
            with pytest.raises(StoreError, match=missing) as err:
                compute_kpis(con, by=by)
            assert "\n" not in str(err.value)
        assert compute_kpis(con, by="month").num_rows == 5
        assert compute_kpis(con).column("orders").to_pylist() == [8]
    con.execute("DROP TABLE order_items")
    with pytest.raises(StoreError, match="table 'order_items'"):
        compute_kpis(con)


def test_dimension_list(shop: duckdb.DuckDBPyConnection) -> None:
    assert DIMENSIONS == ("country", "month", "category", "hour", "weekday", "age_group", "channel")
