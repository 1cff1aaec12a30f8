"""Shop time zones with daylight saving time: local days, the period and the window."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from shoplens.generate import SimulationParams, simulate
from shoplens.generate.calendar import HISTORY_DAYS, build_calendar, utc_us

from .conftest import connect, query_fn

US = 1_000_000
DAY_US = 86_400 * US


def _midnight_us(d: date, tz: str) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).timestamp()) * US


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"])
def test_days_start_at_real_local_midnights(tz: str) -> None:
    start = date(2025, 1, 1)
    cal = build_calendar(start, 365, tz, 1.0, 1.0, np.random.default_rng(0))
    first = start - timedelta(days=HISTORY_DAYS)
    want = [_midnight_us(first + timedelta(days=i), tz) for i in range(cal.n_days + 1)]
    assert cal.day_start_utc_us.tolist() == want
    lengths = set(np.diff(cal.day_start_utc_us).tolist())
    if tz in ("UTC", "Asia/Tokyo"):
        assert lengths == {DAY_US}
    else:  # a 23-hour and a 25-hour day each year
        assert lengths == {DAY_US, DAY_US - 3600 * US, DAY_US + 3600 * US}


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_local_seconds_stay_inside_their_day(tz: str) -> None:
    cal = build_calendar(date(2025, 1, 1), 365, tz, 1.0, 1.0, np.random.default_rng(0))
    days = np.repeat(np.arange(cal.n_days, dtype=np.int64), 5)
    sec = np.tile(np.array([0.0, 1.0, 43_200.0, 86_399.0, 86_399.999999]), cal.n_days)
    ts = utc_us(cal, days, sec)
    assert (ts >= cal.day_start_utc_us[days]).all()
    assert (ts < cal.day_start_utc_us[days + 1]).all()
    assert (np.diff(ts) > 0).all()  # strictly increasing in (day, seconds)
    # on ordinary days a local second is a real second after local midnight
    plain = np.diff(cal.day_start_utc_us)[days] == DAY_US
    assert (
        ts[plain] - cal.day_start_utc_us[days][plain] == (sec[plain] * 1e6).astype(np.int64)
    ).all()


@pytest.mark.parametrize(
    ("tz", "end"),
    [
        ("Europe/Berlin", date(2025, 3, 29)),  # the day after the period is 23 hours long
        ("Europe/Berlin", date(2025, 10, 25)),  # ... 25 hours long
        ("America/New_York", date(2025, 3, 8)),
        ("America/New_York", date(2025, 11, 1)),
    ],
)
def test_period_ending_before_a_dst_change(tz: str, end: date) -> None:
    shop = simulate(SimulationParams(customers=20_000, days=30, end_date=end, timezone=tz))
    lo = _midnight_us(end - timedelta(days=29), tz)
    hi = _midnight_us(end + timedelta(days=1), tz)
    for table, col in (("orders", "order_ts"), ("events", "event_ts")):
        ts = shop[table][col].cast(pa.int64()).to_numpy()
        assert ts.min() >= lo, table
        assert ts.max() < hi, table
    assert shop["events"].num_rows > 0


def test_event_window_starts_at_a_local_midnight() -> None:
    # the 30-day window (12 March - 10 April) starts in winter time, ends in summer time
    tz = "Europe/Berlin"
    shop = simulate(
        SimulationParams(customers=20_000, days=60, end_date=date(2025, 4, 10), timezone=tz)
    )
    ts = shop["events"]["event_ts"].cast(pa.int64()).to_numpy()
    assert ts.min() >= _midnight_us(date(2025, 3, 12), tz)
    assert ts.max() < _midnight_us(date(2025, 4, 11), tz)
    # the first local day of the window does have events from its first hour on
    assert ts.min() < _midnight_us(date(2025, 3, 12), tz) + 3 * 3600 * US


def _local(shop: dict[str, pa.Table], tz: str) -> list[tuple[int, int, str]]:
    q = query_fn(connect(shop))
    return [
        (r[0], r[1], r[2])
        for r in q(
            f"""SELECT order_id, customer_id,
                       strftime(timezone('{tz}', order_ts), '%Y-%m-%d %H:%M:%S.%f')
                FROM orders ORDER BY order_id"""
        )
    ]


@pytest.mark.parametrize(
    ("tz", "changes"),
    [
        ("Europe/Berlin", ("2025-03-30", "2025-10-26")),
        ("America/New_York", ("2025-03-09", "2025-11-02")),
    ],
)
def test_local_times_survive_both_dst_changes(tz: str, changes: tuple[str, str]) -> None:
    params = {"customers": 6000, "days": 365, "end_date": date(2025, 12, 31), "events": False}
    utc = simulate(SimulationParams(**params, timezone="UTC"))  # type: ignore[arg-type]
    local = simulate(SimulationParams(**params, timezone=tz))  # type: ignore[arg-type]
    a, b = _local(utc, "UTC"), _local(local, tz)
    assert len(a) == len(b)
    # every order is inside the (local) period
    assert min(t for _, _, t in b) >= "2025-01-01"
    assert max(t for _, _, t in b) < "2026-01-01"
    for (oid_a, cust_a, ts_a), (oid_b, cust_b, ts_b) in zip(a, b, strict=True):
        assert (oid_a, cust_a) == (oid_b, cust_b)  # same orders, same numbering
        assert ts_a[:10] == ts_b[:10]  # on the same local day
        if ts_a != ts_b:  # only on the two days with 23 or 25 hours
            assert ts_a[:10] in changes, (ts_a, ts_b)
            shift = datetime.fromisoformat(ts_b) - datetime.fromisoformat(ts_a)
            assert abs(shift) <= timedelta(hours=1)
    # the local hour-of-day pattern is the shop's: evening peak, quiet night
    hours = np.bincount([int(t[11:13]) for _, _, t in b], minlength=24)
    assert int(hours.argmax()) in range(18, 23)
    assert hours[18:23].sum() > 3 * hours[0:7].sum()
