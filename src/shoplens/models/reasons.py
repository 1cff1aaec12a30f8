"""Churn reasons: the three things that push a customer's churn score most, in words.

How they are derived (a documented approximation of per-customer contributions):
the features are grouped by what a marketer can act on or recognise (:data:`GROUPS`:
last order, order history, spend, promotions, returns, order timing, browsing,
profile). For each customer and group, the group's features are replaced by the
population's typical values (median; most frequent value for a category) and the
model re-scores the customer; the contribution is the change in churn probability
(the customer's score minus the score with a typical group). The three groups with the
largest absolute contributions (at least 0.01) become sentences with the customer's
own numbers, marked "raises risk" or "lowers risk". Replacing a whole group at once
keeps correlated features (recency and BG/NBD's outputs) together, so their effect is
not split and lost. It costs one prediction per group, not per feature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from shoplens.models.churn import churn_probability

MIN_CONTRIBUTION = 0.01
TOP = 3

GROUPS: dict[str, tuple[str, ...]] = {
    "last order": (
        "recency_days",
        "gap_ratio",
        "orders_30d",
        "orders_90d",
        "net_90d",
        "trend_30",
        "trend_90",
        "bgnbd_p_alive",
        "bgnbd_p_zero",
        "bgnbd_expected",
    ),
    "order history": ("frequency", "repeat_days", "tenure_days", "ipt_mean", "ipt_std"),
    "spend": ("monetary_total", "monetary_mean"),
    "promotions": ("promo_share",),
    "returns": ("return_share", "cancel_share"),
    "timing": ("hour_night", "hour_morning", "hour_afternoon", "hour_evening", "weekend_share"),
    "browsing": (
        "sessions_30d",
        "product_views_30d",
        "cart_adds_30d",
        "cart_abandonment",
        "days_since_session",
    ),
    "profile": ("age", "gender", "country", "acquisition_channel"),
}


class _Row:
    """One customer's values, read from column arrays (cheaper than DataFrame rows)."""

    def __init__(self, columns: dict[str, np.ndarray], i: int) -> None:
        self.columns = columns
        self.i = i

    def get(self, col: str) -> Any:
        values = self.columns.get(col)
        return None if values is None else values[self.i]


def _num(row: _Row, col: str) -> float:
    v = row.get(col)
    return float(v) if v is not None and not pd.isna(v) else float("nan")


def _last_order(row: _Row, cur: str) -> str:
    days = _num(row, "recency_days")
    ratio = _num(row, "gap_ratio")
    text = f"no order for {days:.0f} days"
    if np.isfinite(ratio):
        text += f", {ratio:.1f}x their usual gap"
    else:
        text += " after a single order"
    return text


def _history(row: _Row, cur: str) -> str:
    n = int(_num(row, "frequency"))
    tenure = _num(row, "tenure_days")
    return f"{n} order{'s' if n != 1 else ''} in {tenure:.0f} days as a customer"


def _spend(row: _Row, cur: str) -> str:
    return (
        f"spent {_num(row, 'monetary_total'):,.0f} {cur} in total,"
        f" {_num(row, 'monetary_mean'):,.0f} {cur} per order"
    )


def _promo(row: _Row, cur: str) -> str:
    return f"{_num(row, 'promo_share'):.0%} of orders with a promo code"


def _returns(row: _Row, cur: str) -> str:
    return (
        f"{_num(row, 'return_share'):.0%} of orders returned,"
        f" {_num(row, 'cancel_share'):.0%} cancelled"
    )


def _timing(row: _Row, cur: str) -> str:
    parts = {
        "at night": _num(row, "hour_night"),
        "in the morning": _num(row, "hour_morning"),
        "in the afternoon": _num(row, "hour_afternoon"),
        "in the evening": _num(row, "hour_evening"),
    }
    when = max(parts, key=lambda k: parts[k] if np.isfinite(parts[k]) else -1)
    return f"orders mostly {when}, {_num(row, 'weekend_share'):.0%} at weekends"


def _browsing(row: _Row, cur: str) -> str:
    s = int(_num(row, "sessions_30d")) if np.isfinite(_num(row, "sessions_30d")) else 0
    text = f"{s} visit{'s' if s != 1 else ''} to the shop in the last 30 days"
    ab = _num(row, "cart_abandonment")
    if np.isfinite(ab):
        text += f", {ab:.0%} of carts abandoned"
    return text


def _profile(row: _Row, cur: str) -> str:
    bits = []
    if np.isfinite(_num(row, "age")):
        bits.append(f"age {_num(row, 'age'):.0f}")
    for col, label in (("country", "from"), ("acquisition_channel", "came through")):
        v = row.get(col)
        if isinstance(v, str) and v != "unknown":
            bits.append(f"{label} {v}")
    return "profile: " + (", ".join(bits) if bits else "unknown")


SENTENCES: dict[str, Callable[[_Row, str], str]] = {
    "last order": _last_order,
    "order history": _history,
    "spend": _spend,
    "promotions": _promo,
    "returns": _returns,
    "timing": _timing,
    "browsing": _browsing,
    "profile": _profile,
}


def typical_values(X: pd.DataFrame) -> dict[str, Any]:
    """Median of each numeric column, most frequent value of the others."""
    out: dict[str, Any] = {}
    for col in X.columns:
        if pd.api.types.is_numeric_dtype(X[col]):
            out[col] = float(X[col].median()) if X[col].notna().any() else np.nan
        else:
            mode = X[col].mode(dropna=True)
            out[col] = mode.iloc[0] if len(mode) else None
    return out


def contributions(estimator: Any, X: pd.DataFrame, p: np.ndarray) -> pd.DataFrame:
    """Per customer and group: p - p(with the group at typical values)."""
    typical = typical_values(X)
    out = {}
    for group, cols in GROUPS.items():
        present = [c for c in cols if c in X.columns]
        if not present:
            continue
        Xg = X.copy()
        for c in present:
            Xg[c] = typical[c]
            if not pd.api.types.is_numeric_dtype(X[c]):
                Xg[c] = Xg[c].astype(object)
        out[group] = p - churn_probability(estimator, Xg)
    return pd.DataFrame(out, index=X.index)


def churn_reasons(
    estimator: Any, X: pd.DataFrame, p: np.ndarray, *, currency: str = "EUR"
) -> list[list[str]]:
    """Up to three sentences per customer (module docstring), in order of weight."""
    contrib = contributions(estimator, X, p)
    groups = list(contrib.columns)
    values = contrib.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :TOP]
    columns = {c: X[c].to_numpy() for c in X.columns}
    reasons: list[list[str]] = []
    for i in range(len(X)):
        row = _Row(columns, i)
        sentences = []
        for k in order[i]:
            c = values[i, k]
            if abs(c) < MIN_CONTRIBUTION:
                break
            text = SENTENCES[groups[k]](row, currency)
            sentences.append(f"{text} ({'raises' if c > 0 else 'lowers'} risk)")
        reasons.append(sentences)
    return reasons
