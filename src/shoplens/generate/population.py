"""Customers: demographics (from pools) and latent behavioural traits (the truth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shoplens.generate.calendar import BASELINE_PROFILE, Calendar, seconds_of_day, utc_us
from shoplens.generate.catalog import CATEGORIES, CATEGORY_NAMES, N_CATEGORIES
from shoplens.generate.pools import Pools
from shoplens.schema import AGE_GROUPS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

# Age groups are schema.AGE_GROUPS (inclusive bounds); 25-40 is the largest. Ages are
# uniform within a group, except the open last group: an exponential tail from its low.
AGE_GROUP_WEIGHTS = np.array([0.17, 0.40, 0.27, 0.16])
AGE_GROUP_LO = np.array([lo for lo, _, _ in AGE_GROUPS])
AGE_GROUP_SPAN = np.array([hi - lo for lo, hi, _ in AGE_GROUPS])  # ages lo .. lo + span
OLDEST_AGE = 95
GENDERS = ("female", "male", "other")
GENDER_WEIGHTS = np.array([0.51, 0.47, 0.02])
CHANNELS = ("organic", "paid_search", "social", "email", "referral", "affiliate")
CHANNEL_BY_AGE = np.array(
    [
        [0.28, 0.18, 0.30, 0.04, 0.12, 0.08],
        [0.32, 0.22, 0.18, 0.08, 0.10, 0.10],
        [0.34, 0.26, 0.10, 0.12, 0.09, 0.09],
        [0.36, 0.26, 0.05, 0.16, 0.09, 0.08],
    ]
)
CHANNEL_RATE = np.array([1.1, 0.9, 0.8, 1.2, 1.15, 0.85])
CHANNEL_PROMO = np.array([1.0, 1.0, 1.2, 1.3, 1.0, 1.6])
# Preferred local hour by age group: young late evening, older morning/midday.
PREF_HOUR_MEAN = np.array([22.0, 20.5, 13.0, 10.0])
PREF_HOUR_SD = np.array([1.5, 2.0, 3.0, 2.0])

MEAN_RATE = 7.0  # orders per year while alive, average customer
RATE_SHAPE = 0.8  # gamma shape: heterogeneous rates
DROPOUT_A, DROPOUT_B = 1.2, 8.0  # Beta prior of the per-purchase dropout probability
PRE_PERIOD_SHARE = 0.3  # customers who signed up before the period
BUY_AT_SIGNUP = 0.65  # share whose first order is placed when they sign up
AFFINITY_CONCENTRATION = 8.0


def _affinity_profiles() -> F64:
    """(age group, gender) -> expected category shares, shape (4, 3, K)."""
    idx = {n: i for i, n in enumerate(CATEGORY_NAMES)}
    base = np.array([c.popularity for c in CATEGORIES])
    by_age: list[dict[str, float]] = [
        {"fashion": 1.5, "electronics": 1.4, "toys_games": 1.3, "books": 0.8,
         "garden_diy": 0.3, "health": 0.6, "home_kitchen": 0.6},
        {"toys_games": 1.4, "home_kitchen": 1.2, "groceries": 1.2, "pet_supplies": 1.2},
        {"home_kitchen": 1.4, "garden_diy": 1.5, "books": 1.1},
        {"books": 1.8, "health": 2.0, "garden_diy": 1.8, "fashion": 0.6, "electronics": 0.6},
    ]  # fmt: skip
    by_gender: list[dict[str, float]] = [
        {"beauty": 2.5, "fashion": 1.7, "jewelry_watches": 1.8, "shoes": 1.3,
         "electronics": 0.6, "garden_diy": 0.8},
        {"electronics": 2.0, "sports_outdoors": 1.5, "garden_diy": 1.4, "beauty": 0.4,
         "fashion": 0.8, "jewelry_watches": 0.5},
        {},
    ]  # fmt: skip
    out = np.empty((4, 3, N_CATEGORIES))
    for a, am in enumerate(by_age):
        for g, gm in enumerate(by_gender):
            v = base.copy()
            for name, m in am.items():
                v[idx[name]] *= m
            for name, m in gm.items():
                v[idx[name]] *= m
            out[a, g] = v / v.sum()
    return out


AFFINITY_PROFILES = _affinity_profiles()


def _draw(cdf_rows: F64, u: F64) -> I64:
    """Categorical draw per row from per-row CDFs (n, k) with uniforms ``u``."""
    out: I64 = np.minimum((cdf_rows < u[:, None]).sum(axis=1), cdf_rows.shape[1] - 1)
    return out


@dataclass(frozen=True)
class CustomerBlock:
    """One block of customers: ids ``first_id .. first_id + n - 1`` and their traits."""

    first_id: int
    n: int
    age: I64
    age_group: I64
    gender: I64
    country: I64
    channel: I64
    signup_day: I64
    signup_us: I64
    buys_at_signup: B
    rate: F64  # orders per year while alive, at an average day
    p_dropout: F64  # probability to drop out after each purchase
    spend: F64
    promo: F64  # probability that an order on a normal day uses a promo code
    affinity_keys: F64  # flat increasing keys row + cdf of category affinity
    favourite: I64
    preferred_hour: I64

    def customer_ids(self) -> I64:
        return np.arange(self.first_id, self.first_id + self.n, dtype=np.int64)


def draw_affinity(
    age_group: I64, gender: I64, rng: np.random.Generator, favourite: I64 | None = None
) -> tuple[F64, I64]:
    """Per-customer category affinities (flat keys row + cdf) and the favourite category.

    With ``favourite`` given (e.g. known from the truth), each customer's largest share
    is swapped onto that category, so it stays the favourite.
    """
    n = len(age_group)
    alpha = AFFINITY_CONCENTRATION * AFFINITY_PROFILES[age_group, gender]
    aff = rng.gamma(alpha)
    aff /= aff.sum(axis=1, keepdims=True)
    top = aff.argmax(axis=1).astype(np.int64)
    if favourite is not None:
        rows = np.arange(n)
        top_share = aff[rows, top].copy()
        aff[rows, top] = aff[rows, favourite]
        aff[rows, favourite] = top_share
        top = favourite.astype(np.int64)
    acdf = np.cumsum(aff, axis=1)
    acdf[:, -1] = 1.0
    affinity_keys = (np.arange(n)[:, None] + acdf).ravel()
    return affinity_keys, top


def make_customers(
    first_id: int,
    n: int,
    cal: Calendar,
    country_p: F64,
    churn: float,
    rng: np.random.Generator,
) -> CustomerBlock:
    age_group = _draw(np.broadcast_to(np.cumsum(AGE_GROUP_WEIGHTS), (n, 4)), rng.random(n))
    span = AGE_GROUP_SPAN[age_group]
    age = AGE_GROUP_LO[age_group] + np.floor(rng.random(n) * (span + 1)).astype(np.int64)
    last = len(AGE_GROUPS) - 1
    tail_max = min(OLDEST_AGE, AGE_GROUPS[last][1]) - AGE_GROUPS[last][0]
    tail = np.minimum(np.floor(rng.exponential(9.0, n)), tail_max).astype(np.int64)
    age = np.where(age_group == last, AGE_GROUP_LO[last] + tail, age)
    gender = np.searchsorted(np.cumsum(GENDER_WEIGHTS), rng.random(n) * 0.999999, side="right")
    gender = gender.astype(np.int64)
    country = np.searchsorted(np.cumsum(country_p), rng.random(n) * (1 - 1e-12), side="right")
    country = np.minimum(country, len(country_p) - 1).astype(np.int64)
    channel = _draw(np.cumsum(CHANNEL_BY_AGE, axis=1)[age_group], rng.random(n))

    # signup day: before the period (uniform) or inside it (growing, seasonal)
    p0 = cal.period_start
    n_period = cal.n_days - p0
    pre = rng.random(n) < PRE_PERIOD_SHARE
    growth = (1.0 + np.arange(n_period) / max(n_period, 1)) * np.sqrt(cal.weight[p0:])
    cdf = np.cumsum(growth) / growth.sum()
    in_day = p0 + np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), n_period - 1)
    signup_day = np.where(pre, rng.integers(0, p0, n), in_day).astype(np.int64)

    rate = MEAN_RATE / RATE_SHAPE * rng.gamma(RATE_SHAPE, 1.0, n) * CHANNEL_RATE[channel]
    p_dropout = 1.0 - (1.0 - rng.beta(DROPOUT_A, DROPOUT_B, n)) ** churn
    spend = rng.lognormal(0.0, 0.4, n)
    promo = np.minimum(rng.beta(0.5, 2.5, n) * CHANNEL_PROMO[channel], 0.98)

    affinity_keys, favourite = draw_affinity(age_group, gender, rng)

    pref = rng.normal(PREF_HOUR_MEAN[age_group], PREF_HOUR_SD[age_group])
    preferred_hour = np.mod(np.rint(pref), 24).astype(np.int64)

    buys = rng.random(n) < BUY_AT_SIGNUP
    # the signup time itself: non-buyers at a baseline time of day; buyers get theirs
    # from their first order (see orders.order_times)
    sec = seconds_of_day(np.full(n, BASELINE_PROFILE, dtype=np.int64), rng.random(n))
    signup_us = utc_us(cal, signup_day, sec)

    return CustomerBlock(
        first_id=first_id,
        n=n,
        age=age,
        age_group=age_group,
        gender=gender,
        country=country,
        channel=channel,
        signup_day=signup_day,
        signup_us=signup_us,
        buys_at_signup=buys,
        rate=rate,
        p_dropout=p_dropout,
        spend=spend,
        promo=promo,
        affinity_keys=affinity_keys,
        favourite=favourite,
        preferred_hour=preferred_hour,
    )


def _dict(indices: I64, values: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values))


def customers_table(
    c: CustomerBlock,
    signup_us: I64,
    countries: tuple[str, ...],
    pools: Pools,
    rng: np.random.Generator,
) -> pa.Table:
    """The canonical ``customers`` rows for a block (names etc. drawn from pools)."""
    n = c.n
    female = (c.gender == 0) | ((c.gender == 2) & (rng.random(n) < 0.5))
    u_first, u_last, u_city, u_dom = (rng.random(n) for _ in range(4))
    fi = np.where(
        female,
        pools.first_female.index(c.country, u_first),
        pools.first_male.index(c.country, u_first),
    )
    li = pools.last.index(c.country, u_last)
    first = pc.if_else(
        pa.array(female),
        pools.first_female.values.take(pa.array(np.where(female, fi, 0))),
        pools.first_male.values.take(pa.array(np.where(female, 0, fi))),
    )
    first_slug = pc.if_else(
        pa.array(female),
        pools.first_female_slug.values.take(pa.array(np.where(female, fi, 0))),
        pools.first_male_slug.values.take(pa.array(np.where(female, 0, fi))),
    )
    last = pools.last.values.take(pa.array(li))
    last_slug = pools.last_slug.values.take(pa.array(li))
    ids = c.customer_ids()
    email = pc.binary_join_element_wise(
        first_slug,
        ".",
        last_slug,
        pc.cast(pa.array(ids), pa.string()),
        "@",
        pools.domain.draw(c.country, u_dom),
        "",
    )
    return pa.table(
        {
            "customer_id": pa.array(ids),
            "signup_ts": pa.array(signup_us, pa.timestamp("us", tz="UTC")),
            "country": _dict(c.country, countries),
            "city": pools.city.draw(c.country, u_city),
            "age": pa.array(c.age.astype(np.int16)),
            "gender": _dict(c.gender, GENDERS),
            "acquisition_channel": _dict(c.channel, CHANNELS),
            "name": pc.binary_join_element_wise(first, last, " "),
            "email": email,
        }
    )
