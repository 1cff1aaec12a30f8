"""Figures of the KPI tables (:func:`shoplens.analytics.compute_kpis` and its breakdowns).

Each builder takes the ``pyarrow.Table`` the analytics return (a breakdown ``by=...``)
and returns a plotly ``Figure``; nothing here reads a store.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pyarrow as pa

from shoplens.figures.theme import (
    MONEY_FORMAT,
    PERCENT_FORMAT,
    PRIMARY,
    SECONDARY,
    empty_figure,
    new_figure,
)

DIMENSION_LABELS: dict[str, str] = {
    "month": "Month",
    "day": "Day",
    "weekday": "Weekday",
    "hour": "Hour of day",
    "country": "Country",
    "category": "Category",
    "age_group": "Age group",
    "channel": "Channel",
    "segment": "Segment",
}

METRIC_LABELS: dict[str, str] = {
    "net_revenue": "Net revenue",
    "orders": "Orders",
    "completed_orders": "Completed orders",
    "customers": "Customers",
    "aov": "Average order value",
    "promo_order_share": "Orders with a promo code",
    "discount_rate": "Discounts / gross revenue",
}

_NO_DATA = "No orders for this period and these filters"


def _col(table: pa.Table, name: str) -> list[Any]:
    values: list[Any] = table.column(name).to_pylist()
    return values


def monthly_trend(
    by_month: pa.Table, *, title: str = "Net revenue and orders by month"
) -> go.Figure:
    """Net revenue per month (bars) and orders (line, right axis)."""
    if by_month.num_rows == 0:
        return empty_figure(title, _NO_DATA)
    fig = new_figure(title)
    months = _col(by_month, "month")
    fig.add_bar(
        x=months,
        y=_col(by_month, "net_revenue"),
        name="Net revenue",
        marker_color=PRIMARY,
        hovertemplate="%{x}: %{y:" + MONEY_FORMAT + "}<extra>net revenue</extra>",
    )
    fig.add_scatter(
        x=months,
        y=_col(by_month, "orders"),
        name="Orders",
        yaxis="y2",
        mode="lines+markers",
        line={"color": SECONDARY},
        hovertemplate="%{x}: %{y:,}<extra>orders</extra>",
    )
    fig.update_layout(
        xaxis={"title": {"text": "Month"}, "type": "category"},
        yaxis={"title": {"text": "Net revenue"}, "tickformat": "~s"},
        yaxis2={
            "title": {"text": "Orders"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickformat": ",.0f",
            "rangemode": "tozero",
        },
    )
    return fig


def revenue_share_bars(table: pa.Table, dimension: str, *, title: str | None = None) -> go.Figure:
    """Share of net revenue per value of ``dimension`` (hour, weekday...), in data order.

    Hours are shown 0..23 with empty hours at 0, so the day's shape is never distorted.
    """
    label = DIMENSION_LABELS.get(dimension, dimension)
    title = title or f"Share of net revenue by {label.lower()}"
    if table.num_rows == 0:
        return empty_figure(title, _NO_DATA)
    keys = _col(table, dimension)
    revenue = [float(v or 0) for v in _col(table, "net_revenue")]
    if dimension == "hour":
        by_hour = dict(zip(keys, revenue, strict=True))
        keys = list(range(24))
        revenue = [by_hour.get(h, 0.0) for h in keys]
    total = sum(revenue) or 1.0
    fig = new_figure(title, height=320)
    fig.add_bar(
        x=[f"{k:02d}" if dimension == "hour" else k for k in keys],
        y=[r / total for r in revenue],
        marker_color=PRIMARY,
        name="Share of net revenue",
        customdata=revenue,
        hovertemplate="%{x}: %{y:" + PERCENT_FORMAT + "} (%{customdata:" + MONEY_FORMAT + "})"
        "<extra></extra>",
    )
    fig.update_layout(
        xaxis={"title": {"text": label}, "type": "category"},
        yaxis={"title": {"text": "Share of net revenue"}, "tickformat": ".0%"},
        showlegend=False,
    )
    return fig


def breakdown_bars(
    table: pa.Table,
    dimension: str,
    metric: str = "net_revenue",
    *,
    top: int = 12,
    title: str | None = None,
) -> go.Figure:
    """Horizontal bars of ``metric`` per value of ``dimension``, largest first, ``top`` shown.

    Values beyond the first ``top`` are summed into one "other (n)" bar when the
    metric is additive (revenue, orders); for other metrics they are left out.
    """
    label = DIMENSION_LABELS.get(dimension, dimension)
    metric_label = METRIC_LABELS.get(metric, metric)
    title = title or f"{metric_label} by {label.lower()}"
    if table.num_rows == 0:
        return empty_figure(title, _NO_DATA)
    pairs: list[tuple[Any, float]] = sorted(
        (
            (k, float(v or 0))
            for k, v in zip(_col(table, dimension), _col(table, metric), strict=True)
        ),
        key=lambda kv: kv[1],
        reverse=True,
    )
    shown, rest = pairs[:top], pairs[top:]
    if rest and metric in {"net_revenue", "orders", "completed_orders", "gross_revenue"}:
        shown.append((f"other ({len(rest)})", sum(v for _, v in rest)))
    shown.reverse()  # plotly draws the first bar at the bottom
    is_rate = metric.endswith(("_share", "_rate"))
    fmt = PERCENT_FORMAT if is_rate else (MONEY_FORMAT if metric != "orders" else ",")
    fig = new_figure(title, height=max(240, 60 + 26 * len(shown)))
    fig.add_bar(
        y=[str(k) for k, _ in shown],
        x=[v for _, v in shown],
        orientation="h",
        marker_color=PRIMARY,
        name=metric_label,
        texttemplate="%{x:" + fmt + "}",
        textposition="auto",
        hovertemplate="%{y}: %{x:" + fmt + "}<extra></extra>",
    )
    fig.update_layout(
        xaxis={"title": {"text": metric_label}, "tickformat": ".0%" if is_rate else "~s"},
        yaxis={"title": {"text": label}, "type": "category"},
        showlegend=False,
    )
    return fig


def promo_usage(by_month: pa.Table, *, title: str = "Promo usage by month") -> go.Figure:
    """Share of orders with a promo code and discounts / gross revenue, per month."""
    if by_month.num_rows == 0:
        return empty_figure(title, _NO_DATA)
    fig = new_figure(title, height=320)
    months = _col(by_month, "month")
    for metric, colour in (("promo_order_share", PRIMARY), ("discount_rate", SECONDARY)):
        fig.add_scatter(
            x=months,
            y=_col(by_month, metric),
            name=METRIC_LABELS[metric],
            mode="lines+markers",
            line={"color": colour},
            hovertemplate="%{x}: %{y:" + PERCENT_FORMAT + "}<extra></extra>",
        )
    fig.update_layout(
        xaxis={"title": {"text": "Month"}, "type": "category"},
        yaxis={"title": {"text": "Share"}, "tickformat": ".0%", "rangemode": "tozero"},
    )
    return fig
