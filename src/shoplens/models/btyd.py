"""BG/NBD and Gamma-Gamma at a point in time: fit on the summary before a date, predict.

Glue between the estimators (:mod:`shoplens.models.bgnbd`,
:mod:`shoplens.models.gamma_gamma`) and the rest: the churn features and baselines
(P(alive), P(no purchase in the horizon), expected purchases) and the CLV scores. The
time unit is the day throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from shoplens.errors import ModelError
from shoplens.models.bgnbd import BetaGeoNBD
from shoplens.models.clv import calibration_table, clv_summary, holdout_purchases
from shoplens.models.gamma_gamma import GammaGamma

BTYD_FEATURES = ("bgnbd_p_alive", "bgnbd_p_zero", "bgnbd_expected")


@dataclass
class BTYDFit:
    summary: pd.DataFrame  # indexed by customer_id: frequency, recency, T, monetary...
    bgnbd: BetaGeoNBD
    gamma_gamma: GammaGamma | None
    gamma_gamma_skipped: str | None  # why Gamma-Gamma was not fitted
    zero_value_days: int  # repeat purchase days of value <= 0, left out of Gamma-Gamma


def summary_frame(
    con: duckdb.DuckDBPyConnection, *, as_of: datetime, timezone: str
) -> pd.DataFrame:
    table = clv_summary(con, as_of=as_of, timezone=timezone)
    frame: pd.DataFrame = table.to_pandas().set_index("customer_id")
    return frame


def fit_btyd(con: duckdb.DuckDBPyConnection, *, as_of: datetime, timezone: str) -> BTYDFit:
    """Fit BG/NBD (and Gamma-Gamma where it can be) on the data strictly before ``as_of``.

    Raises :class:`ModelError` when BG/NBD cannot be fitted (no customer, no repeat
    buyer). Gamma-Gamma is skipped, with the reason, when no repeat buyer has a
    positive repeat value.
    """
    s = summary_frame(con, as_of=as_of, timezone=timezone)
    if s.empty:
        raise ModelError(f"no customer has a completed order before {as_of.date()}")
    f, r, t = (s[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    bg = BetaGeoNBD().fit(f, r, t)
    zero = int(s["n_zero_value"].sum()) if "n_zero_value" in s else 0
    m = s["monetary"].to_numpy(dtype=np.float64)
    x = s["spend_frequency"].to_numpy(dtype=np.float64)
    ok = (x > 0) & (m > 0)
    gg: GammaGamma | None = None
    why: str | None = None
    try:
        gg = GammaGamma().fit(x[ok], m[ok])
    except ModelError as exc:
        why = str(exc)
    return BTYDFit(
        summary=s, bgnbd=bg, gamma_gamma=gg, gamma_gamma_skipped=why, zero_value_days=zero
    )


def btyd_features(model: BetaGeoNBD, summary: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
    """P(alive), P(no purchase in the horizon), expected purchases, per summary row."""
    f, r, t = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    return pd.DataFrame(
        {
            "bgnbd_p_alive": model.p_alive(f, r, t),
            "bgnbd_p_zero": model.p_no_purchase(horizon_days, f, r, t),
            "bgnbd_expected": model.expected_purchases(horizon_days, f, r, t),
        },
        index=summary.index,
    )


def model_report(model: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """{"params", "stderr", "log_likelihood", "customers"} of a fitted BTYD estimator."""
    return {
        "params": {n: round(float(getattr(model, f"{n}_")), 6) for n in names},
        "stderr": {n: round(float(model.stderr_[n]), 6) for n in names},
        "log_likelihood": round(float(model.log_likelihood_), 4),
        "customers": int(model.n_customers_),
    }


def calibration(
    con: duckdb.DuckDBPyConnection, fit: BTYDFit, w: Any, timezone: str
) -> list[dict[str, Any]]:
    """The BTYD calibration table of the holdout (predicted vs actual repeat purchases)."""
    actual = holdout_purchases(con, start=w.cutoff, end=w.holdout_end, timezone=timezone)
    counts = pd.Series(
        actual.column("purchases").to_numpy(), index=actual.column("customer_id").to_pylist()
    )
    s = fit.summary
    got = counts.reindex(s.index).fillna(0).to_numpy(np.float64)
    f, r, t = (s[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    rows = calibration_table(fit.bgnbd, f, r, t, got, float(w.horizon_days))
    return [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for row in rows
    ]
