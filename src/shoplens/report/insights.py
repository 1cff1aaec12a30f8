"""The executive summary: insights chosen by rules, each stating its rule.

Every rule is a function of the collected tables that returns an :class:`Insight`
only when the effect is large enough to mention (the threshold is in the rule's
text), and nothing when the data lacks what it needs (no ages: no age insight; no
churn model: no lift). Nothing here is written for a particular shop.
"""

from __future__ import annotations

import calendar
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from shoplens.figures.theme import money
from shoplens.report.collect import ReportData

_WEEKDAY_NAMES = {
    "Mon": "Monday",
    "Tue": "Tuesday",
    "Wed": "Wednesday",
    "Thu": "Thursday",
    "Fri": "Friday",
    "Sat": "Saturday",
    "Sun": "Sunday",
}


@dataclass(frozen=True)
class Insight:
    """One finding: the sentence (with its number), the action it suggests, the rule."""

    key: str
    text: str
    action: str | None
    rule: str
    strength: float  # how far past its threshold (1.0 = at the threshold), for ordering


def _shares(table: pa.Table, key: str, metric: str = "net_revenue") -> list[tuple[Any, float]]:
    keys = table.column(key).to_pylist()
    values = [float(v or 0) for v in table.column(metric).to_pylist()]
    total = sum(values)
    if total <= 0:
        return []
    return [(k, v / total) for k, v in zip(keys, values, strict=True)]


def revenue_change(d: ReportData) -> Insight | None:
    now, before = float(d.kpis["net_revenue"] or 0), float(d.previous_kpis["net_revenue"] or 0)
    threshold = 0.10
    if before <= 0:
        return None
    change = now / before - 1
    if abs(change) < threshold:
        return None
    days = (d.end - d.start).days + 1
    word = "up" if change > 0 else "down"
    return Insight(
        "revenue_change",
        f"Net revenue is {word} {abs(change):.0%} on the previous {days} days "
        f"({money(now)} vs {money(before)} {d.currency}).",
        None if change > 0 else "Check which segments and categories shrank (sections below).",
        f"Mentioned when net revenue changes by at least {threshold:.0%} on the previous "
        "period of equal length.",
        abs(change) / threshold,
    )


def peak_hours(d: ReportData, width: int = 3) -> Insight | None:
    table = d.by.get("hour")
    if table is None or table.num_rows == 0:
        return None
    by_hour = dict(_shares(table, "hour"))
    shares = [by_hour.get(h, 0.0) for h in range(24)]
    if not any(shares):
        return None
    best = max(range(24), key=lambda h: sum(shares[(h + k) % 24] for k in range(width)))
    share = sum(shares[(best + k) % 24] for k in range(width))
    uniform = width / 24
    if share < 1.5 * uniform:
        return None
    return Insight(
        "peak_hours",
        f"Revenue peaks between {best:02d}:00 and {(best + width) % 24:02d}:00 "
        f"({share:.0%} of the day's revenue in {width} hours).",
        f"Schedule campaigns and e-mails for {(best - 1) % 24:02d}:00, an hour before the peak.",
        f"Mentioned when the best {width}-hour window holds at least 1.5x its even share "
        f"({1.5 * uniform:.1%} of revenue).",
        share / (1.5 * uniform),
    )


def busiest_weekday(d: ReportData) -> Insight | None:
    table = d.by.get("weekday")
    if table is None or table.num_rows < 7:
        return None
    day, share = max(_shares(table, "weekday"), key=lambda kv: kv[1])
    ratio = share * 7
    if ratio < 1.2:
        return None
    return Insight(
        "weekday",
        f"{_WEEKDAY_NAMES.get(day, day)} brings {share:.0%} of revenue, "
        f"{ratio:.1f}x an average day.",
        f"Launch offers on {_WEEKDAY_NAMES.get(day, day)}s.",
        "Mentioned when the best weekday brings at least 1.2x an even seventh of revenue.",
        ratio / 1.2,
    )


def _complete_months(d: ReportData) -> list[tuple[str, float]]:
    """(YYYY-MM, net revenue) of the months fully inside the data."""
    out = []
    for month, rev in zip(
        d.by_month.column("month").to_pylist(),
        d.by_month.column("net_revenue").to_pylist(),
        strict=True,
    ):
        y, m = int(month[:4]), int(month[5:7])
        first, last = date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
        if first >= d.first_day and last <= d.last_day:
            out.append((month, float(rev or 0)))
    return out


def seasonality(d: ReportData) -> Insight | None:
    months = _complete_months(d)
    if len(months) < 6:
        return None
    median = statistics.median(v for _, v in months)
    month, peak = max(months, key=lambda kv: kv[1])
    if median <= 0 or peak / median < 1.3:
        return None
    name = f"{calendar.month_name[int(month[5:7])]} {month[:4]}"
    return Insight(
        "seasonality",
        f"{name} revenue is {peak / median:.1f}x the median month.",
        "Plan stock, staff and campaigns for that season ahead of time.",
        f"Mentioned when the best complete month is at least 1.3x the median of the "
        f"{len(months)} complete months.",
        peak / median / 1.3,
    )


def _core_group(
    d: ReportData, dim: str, label: str, key: str, action: str | None = None
) -> Insight | None:
    table = d.by.get(dim)
    if table is None or not d.present.get(dim):
        return None
    shares = [(k, s) for k, s in _shares(table, dim) if k not in ("(unknown)", "(guest)")]
    if len(shares) < 2:
        return None
    group, share = max(shares, key=lambda kv: kv[1])
    uniform = 1 / len(shares)
    if share < 1.5 * uniform:
        return None
    return Insight(
        key,
        label.format(group=group, share=share),
        action,
        f"Mentioned when one of the {len(shares)} groups brings at least 1.5x an even share "
        f"({1.5 * uniform:.0%}) of revenue.",
        share / (1.5 * uniform),
    )


def core_age_group(d: ReportData) -> Insight | None:
    return _core_group(
        d,
        "age_group",
        "Customers aged {group} bring {share:.0%} of revenue.",
        "age_group",
        "Aim creative and targeting at this age group first.",
    )


def top_country(d: ReportData) -> Insight | None:
    return _core_group(
        d,
        "country",
        "{group} brings {share:.0%} of revenue.",
        "country",
        "Localise campaigns, payment and delivery for it first.",
    )


def top_category(d: ReportData) -> Insight | None:
    return _core_group(
        d,
        "category",
        "The {group} category brings {share:.0%} of revenue.",
        "category",
        "Keep it stocked and featured; cross-sell the next categories to its buyers.",
    )


def _segment_rows(d: ReportData) -> dict[str, dict[str, Any]]:
    return {r["segment"]: r for r in d.segment_revenue.to_pylist()}


def at_risk(d: ReportData) -> Insight | None:
    rows = _segment_rows(d)
    names = [n for n in ("At Risk", "Can't Lose Them") if n in rows]
    customers = sum(rows[n]["share"] for n in names)
    revenue = sum(rows[n]["revenue_share"] for n in names)
    if revenue < 0.10:
        return None
    days = (d.end - d.start).days + 1
    period = "last year's" if days == 365 else f"the last {days} days'"
    return Insight(
        "at_risk",
        f"{customers:.0%} of customers are At Risk or Can't Lose Them and hold {revenue:.0%} "
        f"of {period} revenue.",
        "Win them back first: a personal offer before they lapse for good.",
        "Mentioned when the At Risk and Can't Lose Them segments hold at least 10% of the "
        "period's revenue.",
        revenue / 0.10,
    )


def champions(d: ReportData) -> Insight | None:
    row = _segment_rows(d).get("Champions")
    if row is None or row["share"] <= 0:
        return None
    ratio = row["revenue_share"] / row["share"]
    if ratio < 2:
        return None
    return Insight(
        "champions",
        f"Champions are {row['share']:.0%} of customers and bring {row['revenue_share']:.0%} "
        "of revenue.",
        "Keep them close (early access, loyalty perks) rather than discounting.",
        "Mentioned when Champions' share of revenue is at least 2x their share of customers.",
        ratio / 2,
    )


def promo_reliance(d: ReportData) -> Insight | None:
    share = d.kpis.get("promo_order_share") or 0.0
    rate = d.kpis.get("discount_rate") or 0.0
    if share < 0.2:
        return None
    return Insight(
        "promo",
        f"{share:.0%} of orders use a promo code; discounts cost {rate:.1%} of gross revenue.",
        "Check that promos bring new or returning customers rather than discount regulars.",
        "Mentioned when at least 20% of orders use a promo code.",
        share / 0.2,
    )


def second_month_retention(d: ReportData) -> Insight | None:
    rows = [r for r in d.cohorts.to_pylist() if r["months_since"] == 1 and r["cohort_size"] >= 20]
    if len(rows) < 3:
        return None
    size = sum(r["cohort_size"] for r in rows)
    retained = sum(r["active_customers"] for r in rows) / size
    if retained >= 0.25:
        return None
    return Insight(
        "retention",
        f"Only {retained:.0%} of new customers buy again in the month after their first order.",
        "Add a welcome series with a reason to come back within a month.",
        "Mentioned when fewer than 25% of new customers (cohorts of 20 or more) buy in "
        "their second month.",
        0.25 / max(retained, 0.01),
    )


def return_rate(d: ReportData) -> Insight | None:
    rate = d.kpis.get("return_rate") or 0.0
    if rate < 0.08:
        return None
    return Insight(
        "returns",
        f"{rate:.1%} of delivered orders come back.",
        "Look at the categories and products returned most.",
        "Mentioned when at least 8% of completed or returned orders are returned.",
        rate / 0.08,
    )


def churn_lift(d: ReportData) -> Insight | None:
    model = ((d.evaluation or {}).get("churn") or {}).get("model") or {}
    lift = model.get("top_decile_lift")
    if not isinstance(lift, int | float) or lift < 1.5:
        return None
    return Insight(
        "churn_lift",
        f"The churn model finds {lift:.1f}x more churners than random in its top decile.",
        "Target retention offers at the top-scored tenth of customers.",
        "Mentioned when the top-decile lift of the stored churn evaluation is at least 1.5.",
        lift / 1.5,
    )


def next_category_gain(d: ReportData) -> Insight | None:
    pref = (d.evaluation or {}).get("preference") or {}
    model = (pref.get("model") or {}).get("top1")
    base = ((pref.get("baselines") or {}).get("most_frequent") or {}).get("top1")
    if not isinstance(model, int | float) or not isinstance(base, int | float):
        return None
    gain = model - base
    if gain < 0.03:
        return None
    return Insight(
        "next_category",
        f"The next-category model is right {model:.0%} of the time, {gain * 100:.0f} points "
        "above repeating the customer's most frequent category.",
        "Use its prediction to pick the products in each customer's e-mails.",
        "Mentioned when top-1 accuracy beats the most-frequent-category baseline by at least "
        "3 points.",
        gain / 0.03,
    )


RULES: tuple[Callable[[ReportData], Insight | None], ...] = (
    revenue_change,
    seasonality,
    peak_hours,
    busiest_weekday,
    core_age_group,
    top_country,
    top_category,
    at_risk,
    champions,
    promo_reliance,
    second_month_retention,
    return_rate,
    churn_lift,
    next_category_gain,
)


def insights(d: ReportData, *, limit: int = 10) -> list[Insight]:
    """The insights whose rules fire, strongest first (at most ``limit``)."""
    found = [i for rule in RULES if (i := rule(d)) is not None]
    return sorted(found, key=lambda i: i.strength, reverse=True)[:limit]


__all__ = ["RULES", "Insight", "insights"]
