"""Time windows of the rolling-origin evaluation, and the churn labels.

The data run from the first order to ``data_end``, the shop-local midnight after the
last order (of any status). With a cutoff ``c`` and a horizon ``h`` (days):

- **holdout**: features at ``c`` (data strictly before it), labels from ``[c, c + h)``;
- **training window**: features at ``c - h``, labels from ``[c - h, c)``;
- **refit** (for scoring): the same configuration trained on the latest labelled
  window, which is the holdout, and applied to features at ``data_end``.

Nothing from after a feature date reaches its features; labels only look forward.
The default cutoff is ``data_end - h`` (the last order date minus the horizon), so the
holdout ends where the data end.

Labels
    ``horizon`` (default): churned = no completed order in the window after the
    feature date. ``inactive-days``: the rule of the older analysis, churned = no
    completed order in the last N days *before* the feature date. It labels from the
    same data the features use (``recency_days > N`` is the label), so a model learns
    it almost perfectly and its scores look far better than any real prediction: it is
    kept for comparison, not for decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa

from shoplens.errors import InvalidParameterError, ModelError
from shoplens.store.db import existing_tables

LABELS = ("horizon", "inactive-days")
MIN_HORIZON_DAYS, MAX_HORIZON_DAYS = 7, 3650


@dataclass(frozen=True)
class Windows:
    data_start: datetime
    data_end: datetime
    cutoff: datetime
    horizon_days: int

    @property
    def train_cutoff(self) -> datetime:
        return _shift(self.cutoff, -self.horizon_days)

    @property
    def holdout_end(self) -> datetime:
        return _shift(self.cutoff, self.horizon_days)


def _shift(t: datetime, days: int) -> datetime:
    """``t`` moved by whole shop-local days (wall clock, DST-proof)."""
    local = t + timedelta(days=days)
    return local.replace(tzinfo=t.tzinfo)


def local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def data_range(con: duckdb.DuckDBPyConnection, timezone: str) -> tuple[datetime, datetime]:
    """(first order instant, shop-local midnight after the last order); ModelError if none."""
    if "orders" not in existing_tables(con):
        raise ModelError("the store has no orders table: nothing to train on")
    (row,) = con.execute(
        "SELECT min(order_ts), CAST(max(order_ts) AS DATE) FROM orders"
        " WHERE customer_id IS NOT NULL"
    ).fetchall()
    if row[0] is None:
        raise ModelError("the store has no orders of known customers: nothing to train on")
    return row[0], local_midnight(row[1] + timedelta(days=1), timezone)


def make_windows(
    con: duckdb.DuckDBPyConnection, *, cutoff: date | None, horizon_days: int, timezone: str
) -> Windows:
    """Check the cutoff and horizon against the data; one-line errors when they do not fit."""
    if not MIN_HORIZON_DAYS <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidParameterError(
            f"--horizon-days must be between {MIN_HORIZON_DAYS} and {MAX_HORIZON_DAYS},"
            f" got {horizon_days}"
        )
    start, end = data_range(con, timezone)
    first_day = start.astimezone(ZoneInfo(timezone)).date()
    last_day = (end - timedelta(days=1)).date()
    c = _shift(end, -horizon_days) if cutoff is None else local_midnight(cutoff, timezone)
    if cutoff is not None and not first_day < cutoff <= last_day:
        raise InvalidParameterError(
            f"cutoff {cutoff} is outside the data ({first_day} to {last_day})"
        )
    w = Windows(data_start=start, data_end=end, cutoff=c, horizon_days=horizon_days)
    if w.holdout_end > end:
        days_after = (end - c).days
        raise InvalidParameterError(
            f"horizon of {horizon_days} days is longer than the data after the cutoff"
            f" {c.date()} ({days_after} days, data end {last_day})"
        )
    if w.train_cutoff <= start:
        raise InvalidParameterError(
            f"not enough history before the cutoff {c.date()}: the training window starts"
            f" {horizon_days} days earlier, on {w.train_cutoff.date()}, before the first order"
            f" ({first_day})"
        )
    return w


def buyers_between(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> set[str]:
    """Customers with a completed order in ``[start, end)``."""
    rows = con.execute(
        "SELECT DISTINCT customer_id FROM orders WHERE status = 'completed'"
        " AND customer_id IS NOT NULL AND order_ts >= ? AND order_ts < ?",
        [start, end],
    ).fetchall()
    return {r[0] for r in rows}


def churn_labels(
    con: duckdb.DuckDBPyConnection,
    features: pa.Table,
    *,
    at: datetime,
    horizon_days: int,
    label: str = "horizon",
    inactive_days: int = 90,
) -> np.ndarray:
    """1 = churned, per row of ``features`` (features at ``at``); see the module doc."""
    if label == "horizon":
        buyers = buyers_between(con, at, _shift(at, horizon_days))
        ids = features.column("customer_id").to_pylist()
        return np.fromiter((cid not in buyers for cid in ids), dtype=np.int8, count=len(ids))
    if label == "inactive-days":
        recency = np.asarray(features.column("recency_days").to_numpy(), dtype=np.float64)
        return np.asarray(recency > inactive_days, dtype=np.int8)
    raise InvalidParameterError(f"unknown label {label!r} (expected one of {', '.join(LABELS)})")


def split_indices(y: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Stratified random split of ``range(len(y))`` into parts of the given fractions."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    bounds = np.cumsum(fractions) / sum(fractions)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        cuts = np.rint(bounds * len(idx)).astype(int)
        start = 0
        for k, stop in enumerate(cuts):
            parts[k].append(idx[start:stop])
            start = stop
    return [np.sort(np.concatenate(p)) for p in parts]
