"""The shop's calendar: daily demand weights, campaigns, time of day and UTC offsets.

Demand is an inhomogeneous Poisson process: every customer buys at a personal rate
multiplied by the day weight ``w[d]`` (month, weekday, Black Friday, campaigns; mean 1
over the period). Times of day follow a per-customer hour profile in shop-local time,
which is converted to UTC by :func:`utc_us` from the real local midnights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

US = 1_000_000
DAY_US = 86_400 * US

HISTORY_DAYS = 365
"""Days simulated before the period, so customers who signed up earlier have a past."""

MONTH_FACTOR = np.array([0.9, 0.85, 0.92, 0.92, 0.95, 0.92, 0.95, 0.9, 0.95, 1.0, 1.3, 1.5])
WEEKDAY_FACTOR = np.array([1.05, 1.0, 1.0, 1.0, 0.95, 0.85, 1.15])  # Monday first
# Black Friday weekend: offset from Black Friday -> multiplier (before strength).
BLACK_FRIDAY_FACTOR = {-4: 1.2, -3: 1.2, -2: 1.25, -1: 1.3, 0: 3.5, 1: 1.9, 2: 1.7, 3: 2.4}
CHRISTMAS_FACTOR = {(12, 24): 0.6, (12, 25): 0.45, (12, 26): 0.7, (12, 31): 0.7, (1, 1): 0.6}

# Shop-local hour-of-day baseline (orders): quiet nights, lunch bump, evening peak.
HOUR_BASELINE = np.array(
    [
        0.9,
        0.5,
        0.3,
        0.2,
        0.2,
        0.3,
        0.6,
        1.2,
        2.0,
        2.8,
        3.3,
        3.5,
        3.8,
        3.6,
        3.3,
        3.3,
        3.5,
        4.0,
        4.8,
        5.6,
        6.2,
        6.0,
        4.2,
        2.2,
    ]
)
BASELINE_PROFILE = 24
"""Profile index of the plain baseline (used for signups); 0..23 are preferred hours."""

# Campaign codes by month (1..12); BLACKFRIDAY covers the Black Friday weekend.
CAMPAIGN_CODES = ("WINTER15", "SPRING10", "SUMMER15", "AUTUMN10", "FLASH20", "XMAS20")
_MONTH_CAMPAIGN = {1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 0, 12: 5}


def black_friday(year: int) -> date:
    """The Friday after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=21 + 1)


def _hour_profiles() -> F64:
    """CDF table (25, 25): rows 0..23 by preferred hour, row 24 the baseline."""
    hours = np.arange(24)
    base = HOUR_BASELINE / HOUR_BASELINE.sum()
    rows = []
    for pref in range(24):
        bump = np.exp(2.5 * np.cos(2 * np.pi * (hours - pref) / 24))
        rows.append(0.4 * base + 0.6 * bump / bump.sum())
    rows.append(base)
    pdf = np.array(rows)
    cdf = np.zeros((25, 25))
    cdf[:, 1:] = np.cumsum(pdf, axis=1)
    cdf[:, -1] = 1.0
    return cdf


HOUR_CDF = _hour_profiles()
# Flat, globally increasing keys: profile p's bins are p + cdf[p, 1:].
_HOUR_KEYS = (np.arange(25)[:, None] + HOUR_CDF[:, 1:]).ravel()


def seconds_of_day(profile: I64 | I32, frac: F64) -> F64:
    """Local seconds after midnight at quantile ``frac`` of each row's hour profile.

    Monotone in ``frac`` for a fixed profile, so sorted quantiles give sorted times.
    """
    idx = np.searchsorted(_HOUR_KEYS, profile + frac, side="right")
    hour = np.clip(idx - 24 * profile, 0, 23)
    lo = HOUR_CDF[profile, hour]
    hi = HOUR_CDF[profile, hour + 1]
    pos = np.clip((frac - lo) / np.maximum(hi - lo, 1e-12), 0.0, 0.999999)
    out: F64 = (hour + pos) * 3600.0
    return out


@dataclass(frozen=True)
class Calendar:
    """Days ``0..n_days-1``: ``HISTORY_DAYS`` before the period, then the period."""

    first_day: date
    n_days: int
    period_start: int
    """Index of the period's first day."""
    weight: F64
    """Relative demand per day; mean 1 over the period."""
    cum_weight: F64
    """``cum_weight[d]`` = sum of ``weight[:d]`` (length n_days + 1)."""
    day_start_utc_us: I64
    """Local midnight of each day (and of the day after the period) as UTC microseconds."""
    campaign: I32
    """Campaign code index per day (into ``CAMPAIGN_CODES``), -1 if none."""
    black_friday_window: npt.NDArray[np.bool_]
    """Black Friday to Cyber Monday (BLACKFRIDAY code days)."""

    @property
    def end_utc_us(self) -> int:
        """End of the period (exclusive), UTC microseconds."""
        return int(self.day_start_utc_us[-1])


def build_calendar(
    start: date,
    days: int,
    timezone: str,
    seasonality: float,
    promo_intensity: float,
    rng: np.random.Generator,
) -> Calendar:
    first = start - timedelta(days=HISTORY_DAYS)
    n = HISTORY_DAYS + days
    dates = [first + timedelta(days=i) for i in range(n + 1)]
    tz = ZoneInfo(timezone)
    # real local midnights: on DST-change days the offset at midnight differs from the
    # offset later that day, so such days last 23 or 25 hours (a midnight skipped by a
    # transition resolves, with fold=0, to the first instant of the day)
    start_us = np.array(
        [int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * US for d in dates],
        dtype=np.int64,
    )
    dates = dates[:n]
    months = np.array([d.month for d in dates], dtype=np.int32)
    weekdays = np.array([d.weekday() for d in dates], dtype=np.int64)

    factor = MONTH_FACTOR[months - 1] * WEEKDAY_FACTOR[weekdays]
    bf_window = np.zeros(n, dtype=np.bool_)
    index = {d: i for i, d in enumerate(dates)}
    for year in range(first.year, dates[-1].year + 1):
        bf = black_friday(year)
        for off, mult in BLACK_FRIDAY_FACTOR.items():
            j = index.get(bf + timedelta(days=off))
            if j is not None:
                factor[j] *= mult
                bf_window[j] = off >= 0
        for (m, dd), mult in CHRISTMAS_FACTOR.items():
            j = index.get(date(year, m, dd))
            if j is not None:
                factor[j] *= mult
    weight = factor**seasonality

    campaign = np.full(n, -1, dtype=np.int32)
    if promo_intensity > 0:
        # each month a Poisson number of 1-3 day campaigns, code by season
        month_starts = [i for i, d in enumerate(dates) if d.day == 1 or i == 0]
        counts = rng.poisson(min(1.5 * promo_intensity, 6.0), size=len(month_starts))
        for ms, count in zip(month_starts, counts, strict=True):
            length_of_month = 28
            for _ in range(int(count)):
                s = ms + int(rng.integers(0, length_of_month))
                length = int(rng.integers(1, 4))
                for i in range(s, min(s + length, n)):
                    if not bf_window[i]:
                        code = 4 if rng.random() < 0.2 else _MONTH_CAMPAIGN[int(months[i])]
                        campaign[i] = code
        # a code stays the same within a run of consecutive campaign days
        for i in range(1, n):
            if campaign[i] >= 0 and campaign[i - 1] >= 0:
                campaign[i] = campaign[i - 1]
        weight = weight * np.where(campaign >= 0, 1.0 + 0.6 * promo_intensity, 1.0)
        weight = weight * np.where(bf_window, 1.0 + 0.3 * promo_intensity, 1.0)

    weight = weight / weight[HISTORY_DAYS:].mean()
    cum = np.zeros(n + 1)
    cum[1:] = np.cumsum(weight)
    return Calendar(
        first_day=first,
        n_days=n,
        period_start=HISTORY_DAYS,
        weight=weight,
        cum_weight=cum,
        day_start_utc_us=start_us,
        campaign=campaign,
        black_friday_window=bf_window,
    )


def utc_us(cal: Calendar, day: I64, seconds: F64) -> I64:
    """Local day index + local seconds of day (``[0, 86400)``) -> UTC microseconds.

    The one conversion used for every simulated timestamp. On ordinary days a local
    second is a real second after local midnight. Days of a DST change last 23 or 25
    hours: there the seconds are scaled to the real length of the day, so the result
    always lies in ``[day start, next day start)`` (never on a neighbouring day), is
    increasing in ``(day, seconds)``, and local times move by at most an hour.
    """
    start = cal.day_start_utc_us[day]
    length = cal.day_start_utc_us[day + 1] - start
    us = np.clip((seconds * 1e6).astype(np.int64), 0, DAY_US - 1)
    odd = length != DAY_US
    if odd.any():
        scaled = (us * (length / DAY_US)).astype(np.int64)
        us = np.where(odd, np.minimum(scaled, length - 1), us)
    out: I64 = start + us
    return out


def to_datetime(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
