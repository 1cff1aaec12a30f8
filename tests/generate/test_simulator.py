"""Behaviour of the simulated shop, checked with numbers on a 20k-customer shop."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from faker import Faker as RealFaker

from shoplens.generate import DEFAULT_COUNTRY_WEIGHTS, SimulationParams, simulate
from shoplens.generate.calendar import black_friday, build_calendar
from shoplens.generate.catalog import CATEGORY_NAMES
from shoplens.generate.events import EVENTS_ARROW_SCHEMA
from shoplens.generate.population import AGE_GROUP_WEIGHTS, make_customers
from shoplens.schema import AGE_GROUPS, CANONICAL, ORDER_STATUSES, age_group_sql

from .conftest import Query, as_dict, connect, query_fn

# --- shape and scale -----------------------------------------------------------------


def test_tables_and_columns(shop: dict[str, pa.Table]) -> None:
    for name in ("customers", "products", "orders", "order_items", "events"):
        assert set(shop[name].column_names) == set(CANONICAL[name].column_names), name
    assert shop["orders"].schema.field("order_ts").type == pa.timestamp("us", tz="UTC")
    assert shop["customers"].schema.field("signup_ts").type == pa.timestamp("us", tz="UTC")
    for table, col in (("orders", "order_id"), ("order_items", "product_id")):
        assert shop[table].schema.field(col).type == pa.int64()


def test_scale_about_ten_lines_per_customer(shop: dict[str, pa.Table]) -> None:
    n = shop["customers"].num_rows
    assert 8.5 <= shop["order_items"].num_rows / n <= 11.5
    assert 3.2 <= shop["orders"].num_rows / n <= 4.8


def test_order_ids_follow_time_and_line_numbers(q: Query) -> None:
    (n, lo, hi, unordered) = q(
        """SELECT count(*), min(order_id), max(order_id),
                  count(*) FILTER (WHERE order_ts < lag_ts)
           FROM (SELECT *, lag(order_ts) OVER (ORDER BY order_id) AS lag_ts FROM orders)"""
    )[0]
    assert (lo, hi) == (1, n)
    assert unordered == 0
    bad = q(
        """SELECT count(*) FROM (SELECT order_id, count(*) n, min(line_no) lo,
           max(line_no) hi, count(DISTINCT line_no) d FROM order_items GROUP BY 1)
           WHERE lo <> 1 OR hi <> n OR d <> n"""
    )[0][0]
    assert bad == 0


def _orphans(q: Query, child: str, col: str, parent: str, pcol: str | None = None) -> int:
    pcol = pcol or col
    sql = f"SELECT count(*) FROM {child} WHERE {col} NOT IN (SELECT {pcol} FROM {parent})"
    return int(q(sql)[0][0])


def test_referential_integrity(q: Query) -> None:
    assert _orphans(q, "order_items", "order_id", "orders") == 0
    assert _orphans(q, "orders", "order_id", "order_items") == 0  # no empty order
    assert _orphans(q, "orders", "customer_id", "customers") == 0
    assert _orphans(q, "order_items", "product_id", "products") == 0
    assert _orphans(q, "events", "customer_id", "customers") == 0
    assert _orphans(q, "truth_customers", "customer_id", "customers") == 0
    assert _orphans(q, "customers", "customer_id", "truth_customers") == 0
    # no order before its customer's signup, all orders inside the period
    early = q(
        "SELECT count(*) FROM orders JOIN customers USING (customer_id) WHERE order_ts < signup_ts"
    )
    assert early == [(0,)]
    lo, hi = q("SELECT min(order_ts)::DATE, max(order_ts)::DATE FROM orders")[0]
    assert lo >= date(2024, 1, 1)
    assert hi <= date(2025, 12, 31)


# --- customers -----------------------------------------------------------------------


def test_signups_spread_over_the_period(q: Query) -> None:
    rows = q(
        """SELECT CASE WHEN signup_ts < '2024-01-01' THEN 'before'
                  ELSE strftime(signup_ts, '%Y-Q') || quarter(signup_ts) END k, count(*)
           FROM customers GROUP BY 1"""
    )
    counts = as_dict(rows)
    assert 0.15 <= counts.pop("before") / 20_000 <= 0.45
    assert len(counts) == 8  # every quarter of 2024-2025 has signups
    assert min(counts.values()) >= 800


def test_age_groups_and_demographics(q: Query) -> None:
    assert q("SELECT min(age) FROM customers")[0][0] >= 18
    groups = as_dict(q(f"SELECT {age_group_sql()}, count(*) FROM customers GROUP BY 1"))
    assert set(groups) == {label for _, _, label in AGE_GROUPS}
    assert max(groups, key=lambda g: groups[g]) == "25-40"
    genders = as_dict(q("SELECT gender, count(*) FROM customers GROUP BY 1"))
    assert genders["female"] > 8000
    assert genders["male"] > 8000
    channels = as_dict(q("SELECT acquisition_channel, count(*) FROM customers GROUP BY 1"))
    assert set(channels) == {"organic", "paid_search", "social", "email", "referral", "affiliate"}


def test_ages_lie_in_the_drawn_age_group() -> None:
    start = date(2025, 1, 1)
    cal = build_calendar(start, 30, "UTC", 1.0, 1.0, np.random.default_rng(0))
    c = make_customers(1, 50_000, cal, np.array([1.0]), 1.0, np.random.default_rng(1))
    lo = np.array([g[0] for g in AGE_GROUPS])[c.age_group]
    hi = np.array([g[1] for g in AGE_GROUPS])[c.age_group]
    assert ((c.age >= lo) & (c.age <= hi)).all()
    counts = np.bincount(c.age_group, minlength=len(AGE_GROUPS))
    assert int(counts.argmax()) == [g[2] for g in AGE_GROUPS].index("25-40")
    # every age of the bounded groups occurs, also the upper bounds
    for g, (g_lo, g_hi, _) in enumerate(AGE_GROUPS[:-1]):
        assert set(c.age[c.age_group == g].tolist()) == set(range(g_lo, g_hi + 1))


def test_age_group_shares_follow_the_weights(q: Query) -> None:
    groups = as_dict(q(f"SELECT {age_group_sql()}, count(*) FROM customers GROUP BY 1"))
    for label, weight in zip([g[2] for g in AGE_GROUPS], AGE_GROUP_WEIGHTS, strict=True):
        assert groups[label] / 20_000 == pytest.approx(weight, abs=0.015), label


def test_default_country_mix(q: Query) -> None:
    countries = as_dict(q("SELECT country, count(*) FROM customers GROUP BY 1"))
    assert len(countries) >= 10
    assert all(len(c) == 2 and c.isupper() for c in countries)
    assert max(countries, key=lambda c: countries[c]) == "DE"
    assert countries["DE"] / 20_000 == pytest.approx(0.22, abs=0.02)


def test_names_emails_cities_come_from_pools(q: Query) -> None:
    n_names, n_emails, n_cities_de = q(
        """SELECT count(DISTINCT name), count(DISTINCT email),
                  count(DISTINCT city) FILTER (WHERE country = 'DE') FROM customers"""
    )[0]
    assert n_emails == 20_000  # unique
    assert n_cities_de <= 150  # drawn from a pool, not generated per row
    assert n_names > 5000
    assert (
        q("SELECT count(*) FROM customers WHERE email NOT SIMILAR TO '[a-z0-9.]+@[a-z0-9.-]+'")[0][
            0
        ]
        == 0
    )


def test_custom_country_weights_and_unknown_codes() -> None:
    shop = simulate(SimulationParams(customers=3000, country_weights={"fr": 3, "XK": 1, "DE": 0}))
    counts = as_dict(query_fn(connect(shop))("SELECT country, count(*) FROM customers GROUP BY 1"))
    assert set(counts) == {"FR", "XK"}
    assert counts["FR"] / 3000 == pytest.approx(0.75, abs=0.03)


def test_faker_only_builds_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    from shoplens.generate import pools

    created: list[str] = []

    def counting(locale: str) -> object:
        created.append(locale)
        return RealFaker(locale)

    monkeypatch.setattr("shoplens.generate.pools.Faker", counting)
    pools.build_pools.cache_clear()
    simulate(SimulationParams(customers=5000, seed=99, events=False))
    assert len(created) == len(DEFAULT_COUNTRY_WEIGHTS)  # one per country


def test_no_events_gives_an_empty_events_table() -> None:
    shop = simulate(SimulationParams(customers=300, events=False))
    assert set(shop) == {"customers", "products", "orders", "order_items", "events",
                         "truth_customers"}  # fmt: skip
    assert shop["events"].num_rows == 0
    assert shop["events"].schema == EVENTS_ARROW_SCHEMA
    assert shop["orders"].num_rows > 0


# --- catalog -------------------------------------------------------------------------


def test_catalog_categories_and_prices(q: Query) -> None:
    med = as_dict(q("SELECT category, median(unit_price) FROM products GROUP BY 1"))
    assert len(med) >= 10
    assert set(med) == set(CATEGORY_NAMES)
    assert med["electronics"] > 5 * med["books"]
    assert q("SELECT min(unit_price) FROM products")[0][0] > 0
    # popularity: the top 10% of products sell far more than their share
    top = q(
        """WITH s AS (SELECT product_id, sum(quantity) n FROM order_items GROUP BY 1)
           SELECT sum(n) FILTER (WHERE r <= 100) / sum(n)
           FROM (SELECT *, row_number() OVER (ORDER BY n DESC) r FROM s)"""
    )[0][0]
    assert top > 0.3


# --- time patterns -------------------------------------------------------------------


def test_nov_dec_above_monthly_median(q: Query) -> None:
    rows = q("SELECT year(order_ts), month(order_ts), sum(net) FROM lines GROUP BY 1, 2")
    for year in (2024, 2025):
        rev = {m: r for y, m, r in rows if y == year}
        median = statistics.median(rev.values())
        assert rev[11] >= 1.2 * median, year
        assert rev[12] >= 1.2 * median, year


def test_black_friday_spike(q: Query) -> None:
    for year in (2024, 2025):
        daily = as_dict(
            q(
                f"SELECT order_ts::DATE, sum(net) FROM lines WHERE order_ts >= '{year}-11-01' "
                f"AND order_ts < '{year}-12-05' GROUP BY 1"
            )
        )
        bf = black_friday(year)
        median = statistics.median(v for d, v in daily.items() if d.month == 11)
        assert daily[bf] >= 2.0 * median
        assert daily[bf + timedelta(days=3)] >= 1.4 * median  # Cyber Monday
        assert daily[bf] == max(daily.values())


def test_hour_of_day_evening_peak(q: Query) -> None:
    share = as_dict(
        q("SELECT hour(order_ts), count(*) / sum(count(*)) OVER () FROM orders GROUP BY 1")
    )
    evening = sum(share[h] for h in range(18, 23))
    night = sum(share[h] for h in range(0, 7))
    assert evening > 3 * night
    assert max(share, key=lambda h: share[h]) in range(18, 23)


def test_weekday_pattern(q: Query) -> None:
    per_day = as_dict(q("SELECT isodow(order_ts), count(*) FROM orders GROUP BY 1"))
    assert per_day[7] > 1.2 * per_day[6]  # Sunday evening shopping, quiet Saturday


def test_preferred_hour_depends_on_age(q: Query) -> None:
    rows = q(
        f"""SELECT {age_group_sql()},
                   avg((preferred_hour >= 20 OR preferred_hour <= 1)::INT),
                   avg((preferred_hour BETWEEN 7 AND 14)::INT)
            FROM truth_customers JOIN customers USING (customer_id) GROUP BY 1"""
    )
    late_pref = {g: late for g, late, _ in rows}
    day_pref = {g: day for g, _, day in rows}
    assert late_pref["18-24"] > 0.8
    assert day_pref["56+"] > 0.8
    # and orders follow: young customers order late, older ones earlier in the day
    late = as_dict(
        q(
            f"SELECT {age_group_sql()}, avg((hour(order_ts) >= 20)::INT) FROM orders "
            "JOIN customers USING (customer_id) GROUP BY 1"
        )
    )
    assert late["18-24"] > 2 * late["56+"]


def test_timezone_shifts_utc_hours() -> None:
    utc = simulate(SimulationParams(customers=4000, timezone="UTC", events=False))
    tokyo = simulate(SimulationParams(customers=4000, timezone="Asia/Tokyo", events=False))

    def peak(tables: dict[str, pa.Table], tz: str) -> int:
        rows = query_fn(connect(tables, tz))(
            "SELECT hour(order_ts), count(*) FROM orders GROUP BY 1"
        )
        return int(max(rows, key=lambda r: r[1])[0])

    assert peak(utc, "UTC") in range(19, 23)
    assert peak(tokyo, "Asia/Tokyo") in range(19, 23)  # local pattern kept
    assert peak(tokyo, "UTC") in range(10, 14)  # stored 9 hours earlier in UTC
    # the same orders, at the same local times: identical local timestamps
    assert utc["orders"].num_rows == tokyo["orders"].num_rows

    def local(tables: dict[str, pa.Table], tz: str) -> list[tuple[Any, ...]]:
        return query_fn(connect(tables))(
            f"""SELECT order_id, customer_id,
                       strftime(timezone('{tz}', order_ts), '%Y-%m-%d %H:%M:%S.%f')
                FROM orders ORDER BY order_id"""
        )

    assert local(utc, "UTC") == local(tokyo, "Asia/Tokyo")


def test_seasonality_zero_is_flat() -> None:
    flat = simulate(
        SimulationParams(customers=6000, seasonality=0, promo_intensity=0, events=False)
    )
    rows = query_fn(connect(flat))(
        "SELECT month(order_ts), count(*) FROM orders WHERE year(order_ts) = 2025 GROUP BY 1"
    )
    per_month = as_dict(rows)
    # only customer-base growth remains: December is not special vs October
    assert per_month[12] / per_month[10] < 1.15


def test_campaign_days_raise_volume_and_promo_use() -> None:
    shop = simulate(SimulationParams(customers=20_000, seasonality=0, events=False, seed=3))
    q = query_fn(connect(shop))
    rows = q(
        """SELECT order_ts::DATE d, count(*) n,
                  bool_or(promo_code IN ('WINTER15','SPRING10','SUMMER15','AUTUMN10',
                                         'FLASH20','XMAS20')) campaign,
                  avg((promo_code IS NOT NULL)::INT) promo
           FROM orders WHERE order_ts >= '2025-01-01' GROUP BY 1"""
    )
    camp = [r for r in rows if r[2]]
    other = [r for r in rows if not r[2]]
    assert len(camp) >= 15
    assert statistics.mean(r[1] for r in camp) > 1.3 * statistics.mean(r[1] for r in other)
    assert statistics.mean(r[3] for r in camp) > 1.8 * statistics.mean(r[3] for r in other)


# --- behaviour and truth -------------------------------------------------------------


def test_no_orders_after_dropout(q: Query) -> None:
    after = q(
        """SELECT count(*) FROM orders JOIN truth_customers USING (customer_id)
           WHERE dropout_ts IS NOT NULL AND order_ts > dropout_ts"""
    )[0][0]
    assert after == 0
    alive, dropped = q("SELECT avg(alive_at_end::INT), count(dropout_ts) FROM truth_customers")[0]
    assert 0.35 <= alive <= 0.8
    assert dropped >= 4000
    # dropped customers really stop: a customer who dropped before 2025 never orders in 2025
    assert (
        q(
            """SELECT count(*) FROM orders JOIN truth_customers USING (customer_id)
           WHERE dropout_ts < '2025-01-01' AND order_ts >= '2025-01-01'"""
        )[0][0]
        == 0
    )


@pytest.mark.parametrize(("churn", "lo", "hi"), [(0.0, 1.0, 1.0), (3.0, 0.15, 0.5)])
def test_churn_strength(churn: float, lo: float, hi: float) -> None:
    shop = simulate(SimulationParams(customers=3000, churn=churn, events=False))
    alive, n_dropout = query_fn(connect(shop))(
        "SELECT avg(alive_at_end::INT), count(dropout_ts) FROM truth_customers"
    )[0]
    assert lo <= alive <= hi
    if churn == 0:
        assert n_dropout == 0


def test_heterogeneous_rates_drive_order_counts(q: Query) -> None:
    corr = q(
        """SELECT corr(t.purchase_rate, coalesce(n, 0)) FROM truth_customers t
           LEFT JOIN (SELECT customer_id, count(*) n FROM orders GROUP BY 1) USING (customer_id)
           WHERE t.alive_at_end"""
    )[0][0]
    assert corr > 0.5
    cv = q("SELECT stddev(purchase_rate) / avg(purchase_rate) FROM truth_customers")[0][0]
    assert cv > 0.8  # gamma heterogeneity


def test_promo_sensitive_customers_use_promos(q: Query) -> None:
    rows = q(
        """SELECT ntile(5) OVER (ORDER BY promo_sensitivity) k, promo_code IS NOT NULL p
           FROM orders JOIN truth_customers USING (customer_id)"""
    )
    by_k: dict[int, list[bool]] = {}
    for k, p in rows:
        by_k.setdefault(k, []).append(p)
    share = {k: sum(v) / len(v) for k, v in by_k.items()}
    assert share[5] > 4 * share[1]
    assert share[5] > 0.4


def test_favourite_category_is_most_bought(q: Query) -> None:
    hit = q(
        """WITH c AS (SELECT l.customer_id, p.category, sum(quantity) n
                      FROM lines l JOIN products p USING (product_id) GROUP BY 1, 2),
                top AS (SELECT customer_id, arg_max(category, n) cat, sum(n) total
                        FROM c GROUP BY 1)
           SELECT avg((cat = favourite_category)::INT) FROM top
           JOIN truth_customers USING (customer_id) WHERE total >= 8"""
    )[0][0]
    assert hit > 4 / len(CATEGORY_NAMES)


def test_affinity_depends_on_gender_and_age(q: Query) -> None:
    share = as_dict(
        q("""SELECT c.gender || ':' || p.category, sum(quantity) / sum(sum(quantity))
                    OVER (PARTITION BY c.gender)
             FROM lines l JOIN customers c USING (customer_id)
             JOIN products p USING (product_id) GROUP BY c.gender, p.category""")
    )
    assert share["female:beauty"] > 2 * share["male:beauty"]
    assert share["male:electronics"] > 1.5 * share["female:electronics"]


def test_spend_level_raises_order_value(q: Query) -> None:
    lo, hi = q(
        """WITH v AS (SELECT order_id, customer_id, sum(net) value FROM lines GROUP BY 1, 2)
           SELECT avg(value) FILTER (WHERE spend_level < 0.8),
                  avg(value) FILTER (WHERE spend_level > 1.25)
           FROM v JOIN truth_customers USING (customer_id)"""
    )[0]
    assert hi > 1.5 * lo


# --- money, status, promos -----------------------------------------------------------


def test_money_is_sane(q: Query) -> None:
    (bad_line,) = q(
        """SELECT count(*) FROM order_items WHERE unit_price < 0 OR discount < 0
           OR discount > quantity * unit_price + 1e-9 OR quantity < 1
           OR abs(discount * 100 - round(discount * 100)) > 1e-6
           OR abs(unit_price * 100 - round(unit_price * 100)) > 1e-6"""
    )[0]
    assert bad_line == 0
    (bad_order,) = q(
        """SELECT count(*) FROM orders o JOIN (SELECT order_id, sum(net) net FROM lines
           GROUP BY 1) USING (order_id)
           WHERE o.discount < 0 OR o.discount > net + 1e-9
           OR abs(o.discount * 100 - round(o.discount * 100)) > 1e-6"""
    )[0]
    assert bad_order == 0
    assert q("SELECT count(*) FROM orders WHERE discount > 0")[0][0] > 0
    assert q("SELECT count(*) FROM order_items WHERE discount > 0")[0][0] > 0


def test_promo_codes_and_discounts(q: Query) -> None:
    codes = as_dict(
        q("SELECT promo_code, count(*) FROM orders WHERE promo_code IS NOT NULL GROUP BY 1")
    )
    assert {"WELCOME10", "BLACKFRIDAY", "SUMMER15", "LOYAL5", "TENOFF"} <= set(codes)
    # a 10% code discounts 10% of the line gross (unless a larger markdown applies)
    ratio = q(
        """SELECT median(discount / (quantity * unit_price)) FROM lines
           WHERE promo_code = 'WELCOME10'"""
    )[0][0]
    assert ratio == pytest.approx(0.10, abs=0.002)
    bf_dates = q("SELECT DISTINCT order_ts::DATE FROM orders WHERE promo_code = 'BLACKFRIDAY'")
    for (d,) in bf_dates:
        assert black_friday(d.year) <= d <= black_friday(d.year) + timedelta(days=3)
    # WELCOME10 only on a customer's first order
    assert (
        q(
            """SELECT count(*) FROM (SELECT customer_id, order_id, promo_code,
           row_number() OVER (PARTITION BY customer_id ORDER BY order_ts) r FROM orders)
           WHERE promo_code = 'WELCOME10' AND r > 1"""
        )[0][0]
        == 0
    )


def test_status_shares_and_channels(q: Query) -> None:
    share = as_dict(q("SELECT status, count(*) / sum(count(*)) OVER () FROM orders GROUP BY 1"))
    assert set(share) == set(ORDER_STATUSES)
    assert share["cancelled"] == pytest.approx(0.03, abs=0.006)
    assert share["returned"] == pytest.approx(0.05, abs=0.006)
    channels = as_dict(q("SELECT channel, count(*) FROM orders GROUP BY 1"))
    assert set(channels) == {"web", "app", "phone"}
    assert q("SELECT DISTINCT currency FROM orders") == [("EUR",)]


def test_configured_rates_currency_and_no_promos() -> None:
    shop = simulate(
        SimulationParams(
            customers=3000,
            cancel_rate=0.1,
            return_rate=0.2,
            currency="USD",
            promo_intensity=0,
            events=False,
        )
    )
    q = query_fn(connect(shop))
    share = as_dict(q("SELECT status, count(*) / sum(count(*)) OVER () FROM orders GROUP BY 1"))
    assert share["cancelled"] == pytest.approx(0.1, abs=0.015)
    assert share["returned"] == pytest.approx(0.2, abs=0.02)
    assert q("SELECT DISTINCT currency FROM orders") == [("USD",)]
    assert q("SELECT count(promo_code), sum(discount) FROM orders") == [(0, 0.0)]


def test_truth_columns(q: Query) -> None:
    row = q(
        """SELECT min(preferred_hour), max(preferred_hour), min(promo_sensitivity),
                  max(promo_sensitivity), min(spend_level), min(purchase_rate),
                  count(DISTINCT favourite_category),
                  count(*) FILTER (WHERE alive_at_end AND dropout_ts IS NOT NULL)
           FROM truth_customers"""
    )[0]
    assert row[0] >= 0
    assert row[1] <= 23
    assert row[2] >= 0
    assert row[3] <= 1
    assert row[4] > 0
    assert row[5] > 0
    assert row[6] == len(CATEGORY_NAMES)
    assert row[7] == 0


def test_events_follow_orders(q: Query) -> None:
    types = as_dict(q("SELECT event_type, count(*) FROM events GROUP BY 1"))
    assert types["purchase"] > 0
    # purchase events point at real orders at the order's time
    assert (
        q(
            """SELECT count(*) FROM events e LEFT JOIN orders o USING (order_id)
           WHERE e.event_type = 'purchase' AND (o.order_id IS NULL OR e.event_ts <> o.order_ts)"""
        )[0][0]
        == 0
    )
    assert q("SELECT count(*) - count(DISTINCT event_id) FROM events")[0][0] == 0
