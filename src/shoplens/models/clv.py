"""Customer lifetime value: the BTYD summary of a store, CLV, and the calibration table.

The time unit of everything here is the **day** (recency, T, horizons), so a BG/NBD
fitted on :func:`clv_summary` has ``alpha`` in days.

BTYD summary (:func:`clv_summary`), the conventions of the BTYD literature:

- only **completed** orders of known customers (``customer_id`` not NULL) placed
  strictly before ``as_of`` count; cancelled and returned orders are not purchases;
- purchases are counted in **shop-local calendar days**: several orders on one day
  are one purchase, whose value is the sum of their ``net`` (the one definition of
  :mod:`shoplens.analytics.facts`: lines minus line and order discounts);
- ``frequency`` = purchase days after the first (repeat purchases);
- ``recency`` = days from the first to the last purchase day (0 without a repeat);
- ``T`` = days from the start (local midnight) of the first purchase day to ``as_of``
  (local wall-clock time, so DST days count as one day; a whole number when
  ``as_of`` is a local midnight);
- ``monetary`` = mean value of the repeat purchase days with a **positive** value (the
  first purchase excluded); 0 when there is none (lifetimes' convention);
- ``spend_frequency`` = those positive repeat days (the ``x`` of Gamma-Gamma) and
  ``n_zero_value`` = repeat days with value <= 0 (fully discounted): they count as
  purchases for BG/NBD, but are excluded from Gamma-Gamma and counted here.

CLV (:func:`customer_lifetime_value`): the horizon is cut into periods (monthly by
default); each period contributes its expected purchases (BG/NBD, the difference of
the cumulative expectation at its end and start) times the expected spend per purchase
(Gamma-Gamma), discounted at the annual rate to the period's end:
``sum_i (E[X(T, T + t_i]] - E[X(T, T + t_(i-1)]]) * E[M] / (1 + d)^(t_i in years)``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sklearn.utils.validation import check_is_fitted

from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.errors import InvalidParameterError, ModelError
from shoplens.models.bgnbd import BetaGeoNBD, check_summary
from shoplens.models.gamma_gamma import GammaGamma
from shoplens.store.db import check_timezone, require_tables

F64 = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

TIME_UNIT = "day"
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

SUMMARY_COLUMNS = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary",
    "spend_frequency",
    "n_zero_value",
    "first_purchase",
    "last_purchase",
)

_SUMMARY_SQL = f"""
WITH purchase_days AS (
    SELECT customer_id,
           CAST(timezone($tz, order_ts) AS DATE) AS day,
           sum(net) AS value
    FROM {ORDER_FACTS}
    WHERE status = 'completed' AND customer_id IS NOT NULL AND order_ts < $as_of
    GROUP BY ALL
),
flagged AS (
    SELECT *, day > min(day) OVER (PARTITION BY customer_id) AS is_repeat
    FROM purchase_days
)
SELECT customer_id,
       count(*) FILTER (WHERE is_repeat) AS frequency,
       CAST(date_diff('day', min(day), max(day)) AS DOUBLE) AS recency,
       (epoch($as_of_local) - epoch(CAST(min(day) AS TIMESTAMP))) / 86400.0 AS T,
       coalesce(CAST(avg(value) FILTER (WHERE is_repeat AND value > 0) AS DOUBLE), 0.0)
           AS monetary,
       count(*) FILTER (WHERE is_repeat AND value > 0) AS spend_frequency,
       count(*) FILTER (WHERE is_repeat AND value <= 0) AS n_zero_value,
       min(day) AS first_purchase,
       max(day) AS last_purchase
FROM flagged
GROUP BY customer_id
ORDER BY customer_id
"""


def _as_of_instants(as_of: object, timezone: str) -> tuple[datetime, datetime]:
    """(the instant, as aware UTC-comparable datetime; the shop-local wall clock, naive).

    A ``date`` is its local midnight; a naive ``datetime`` is local time; an aware one
    is an exact instant.
    """
    zone = ZoneInfo(timezone)
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            return as_of.replace(tzinfo=zone), as_of
        return as_of, as_of.astimezone(zone).replace(tzinfo=None)
    if isinstance(as_of, date):
        local = datetime(as_of.year, as_of.month, as_of.day)
        return local.replace(tzinfo=zone), local
    raise InvalidParameterError(
        f"as_of must be a date or datetime, not {type(as_of).__name__} ({as_of!r})"
    )


def clv_summary(
    con: duckdb.DuckDBPyConnection, *, as_of: datetime | date, timezone: str
) -> pa.Table:
    """The BTYD summary of every customer with a completed order before ``as_of``.

    Columns :data:`SUMMARY_COLUMNS` (frequency, spend_frequency and n_zero_value
    BIGINT; recency, T and monetary DOUBLE in days and money; first_purchase and
    last_purchase local DATEs), ordered by customer_id; see the module docstring for
    the definitions. ``as_of``: an aware datetime is an instant, a naive one or a date
    is read in ``timezone``.
    """
    check_timezone(timezone)
    instant, local = _as_of_instants(as_of, timezone)
    require_tables(con, ("orders", "order_items"), why="for lifetime value")
    ensure_order_facts(con)
    return con.sql(
        _SUMMARY_SQL, params={"tz": timezone, "as_of": instant, "as_of_local": local}
    ).to_arrow_table()


_HOLDOUT_SQL = f"""
SELECT customer_id, count(DISTINCT CAST(timezone($tz, order_ts) AS DATE)) AS purchases
FROM {ORDER_FACTS}
WHERE status = 'completed' AND customer_id IS NOT NULL
  AND order_ts >= $start AND order_ts < $end
GROUP BY customer_id
ORDER BY customer_id
"""


def holdout_purchases(
    con: duckdb.DuckDBPyConnection,
    *,
    start: datetime | date,
    end: datetime | date,
    timezone: str,
) -> pa.Table:
    """Purchases per customer in ``[start, end)``, counted like ``frequency``.

    Columns customer_id, purchases (BIGINT: distinct shop-local days with a completed
    order); customers without one are absent (0). ``start`` and ``end`` as ``as_of``
    in :func:`clv_summary`. With ``start`` = the summary's ``as_of`` these are the
    actual purchases of :func:`calibration_table`.
    """
    check_timezone(timezone)
    start_at, _ = _as_of_instants(start, timezone)
    end_at, _ = _as_of_instants(end, timezone)
    require_tables(con, ("orders", "order_items"), why="for lifetime value")
    ensure_order_facts(con)
    return con.sql(
        _HOLDOUT_SQL, params={"tz": timezone, "start": start_at, "end": end_at}
    ).to_arrow_table()


def customer_lifetime_value(
    purchase_model: BetaGeoNBD,
    spend_model: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    *,
    horizon: float,
    annual_discount_rate: float = 0.10,
    time_unit_days: float = 1.0,
    steps: int | None = None,
    spend_frequency: ArrayLike | None = None,
) -> F64:
    """Discounted expected revenue per customer over the next ``horizon``.

    Parameters
    ----------
    purchase_model, spend_model : fitted BetaGeoNBD and GammaGamma
    frequency, recency, T : array-like
        The BTYD summary, in the purchase model's time unit.
    monetary : array-like
        Mean value of the positive repeat purchases (0 without one).
    horizon : float
        Length of the future window, in the model's time unit (days in shoplens).
    annual_discount_rate : float, default=0.10
        Each period's revenue is divided by ``(1 + rate)^(years to the period's end)``.
    time_unit_days : float, default=1.0
        Days per model time unit (7 for a model fitted in weeks).
    steps : int, optional
        Number of equal periods; default one per month (30.4 days), at least 1.
    spend_frequency : array-like, optional
        Transactions averaged in ``monetary`` (Gamma-Gamma's ``x``); default
        ``frequency``. Pass ``clv_summary``'s ``spend_frequency`` when some repeat
        days had no positive value.

    Returns
    -------
    ndarray of shape (n_customers,)
    """
    check_is_fitted(purchase_model)
    check_is_fitted(spend_model)
    x, t_x, t_end = check_summary(frequency, recency, T)
    if not np.isfinite(horizon) or horizon <= 0:
        raise InvalidParameterError(f"the CLV horizon must be > 0, got {horizon!r}")
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= -1:
        raise InvalidParameterError(
            f"the annual discount rate must be > -1, got {annual_discount_rate!r}"
        )
    if not np.isfinite(time_unit_days) or time_unit_days <= 0:
        raise InvalidParameterError(f"time_unit_days must be > 0, got {time_unit_days!r}")
    if steps is None:
        steps = max(1, round(horizon * time_unit_days / DAYS_PER_MONTH))
    if steps < 1:
        raise InvalidParameterError(f"steps must be >= 1, got {steps}")
    spend = spend_model.expected_spend(x if spend_frequency is None else spend_frequency, monetary)
    if len(spend) != len(x):
        raise ModelError("monetary must have one value per customer")
    ends = horizon * np.arange(1, steps + 1) / steps
    discount = (1.0 + annual_discount_rate) ** -(ends * time_unit_days / DAYS_PER_YEAR)
    cumulative = purchase_model.expected_purchases_at(ends, x, t_x, t_end)
    per_period = np.diff(cumulative, axis=0, prepend=0.0)
    value = np.einsum("k,kn->n", discount, per_period)  # no BLAS: see bgnbd._dot
    return np.asarray(value * spend, dtype=np.float64)


def calibration_table(
    model: BetaGeoNBD,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    actual_holdout_purchases: ArrayLike,
    holdout_length: float,
    max_frequency: int = 7,
) -> list[dict[str, Any]]:
    """The BTYD calibration/holdout table: predicted vs actual purchases in the holdout.

    Customers are grouped by calibration ``frequency`` 0, 1, ..., ``max_frequency``;
    the last group is open-ended (``max_frequency`` or more repeat purchases). Per
    group: ``customers``, ``predicted`` (mean of E[X(T, T + holdout_length] | history])
    and ``actual`` (mean of the observed holdout purchases, counted like frequency:
    purchase days). Empty groups are left out.
    """
    check_is_fitted(model)
    x, t_x, t_end = check_summary(frequency, recency, T)
    actual = np.asarray(actual_holdout_purchases, dtype=np.float64).reshape(-1)
    if len(actual) != len(x):
        raise ModelError(
            f"actual_holdout_purchases has {len(actual)} values for {len(x)} customers"
        )
    if not np.all(np.isfinite(actual)):
        raise ModelError("actual_holdout_purchases has missing or non-finite values")
    if max_frequency < 0:
        raise InvalidParameterError(f"max_frequency must be >= 0, got {max_frequency}")
    predicted = model.expected_purchases(holdout_length, x, t_x, t_end)
    group = np.minimum(x, max_frequency).astype(np.int64)
    customers = np.bincount(group, minlength=max_frequency + 1)
    pred_sum = np.bincount(group, weights=predicted, minlength=max_frequency + 1)
    actual_sum = np.bincount(group, weights=actual, minlength=max_frequency + 1)
    return [
        {
            "frequency": k,
            "customers": int(customers[k]),
            "predicted": float(pred_sum[k] / customers[k]),
            "actual": float(actual_sum[k] / customers[k]),
        }
        for k in range(max_frequency + 1)
        if customers[k] > 0
    ]
