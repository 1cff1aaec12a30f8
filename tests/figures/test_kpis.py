"""Figure builders of the KPI breakdowns: trace types, axes, data."""

from __future__ import annotations

import pyarrow as pa

from shoplens.figures import breakdown_bars, monthly_trend, promo_usage, revenue_share_bars

BY_MONTH = pa.table(
    {
        "month": ["2025-01", "2025-02", "2025-03"],
        "orders": [10, 20, 30],
        "net_revenue": [100.0, 250.0, 400.0],
        "promo_order_share": [0.1, 0.2, None],
        "discount_rate": [0.05, 0.04, 0.03],
    }
)


def test_monthly_trend_bars_revenue_and_lines_orders() -> None:
    fig = monthly_trend(BY_MONTH)
    bar, line = fig.data
    assert (bar.type, line.type) == ("bar", "scatter")
    assert list(bar.x) == ["2025-01", "2025-02", "2025-03"]
    assert list(bar.y) == [100.0, 250.0, 400.0]
    assert list(line.y) == [10, 20, 30]
    assert line.yaxis == "y2"
    assert fig.layout.xaxis.title.text == "Month"
    assert fig.layout.yaxis.title.text == "Net revenue"
    assert fig.layout.yaxis2.title.text == "Orders"


def test_empty_table_gives_an_annotated_empty_figure() -> None:
    fig = monthly_trend(BY_MONTH.slice(0, 0))
    assert len(fig.data) == 0
    assert "No orders" in fig.layout.annotations[0].text


def test_hour_shares_fill_all_24_hours() -> None:
    table = pa.table({"hour": [9, 20], "net_revenue": [30.0, 70.0]})
    fig = revenue_share_bars(table, "hour")
    (bar,) = fig.data
    assert bar.type == "bar"
    assert len(bar.x) == 24
    assert bar.x[9] == "09"
    assert bar.y[9] == 0.3
    assert bar.y[20] == 0.7
    assert bar.y[0] == 0
    assert sum(bar.y) == 1.0
    assert fig.layout.xaxis.title.text == "Hour of day"
    assert fig.layout.yaxis.tickformat == ".0%"


def test_breakdown_sorts_and_groups_the_rest() -> None:
    table = pa.table({"country": ["A", "B", "C", "D"], "net_revenue": [5.0, 40.0, 20.0, 1.0]})
    fig = breakdown_bars(table, "country", top=2)
    (bar,) = fig.data
    assert bar.orientation == "h"
    # largest at the top: plotly draws the first category at the bottom
    assert list(bar.y) == ["other (2)", "C", "B"]
    assert list(bar.x) == [6.0, 20.0, 40.0]
    assert fig.layout.xaxis.title.text == "Net revenue"
    assert fig.layout.yaxis.title.text == "Country"


def test_breakdown_of_a_rate_leaves_the_rest_out() -> None:
    table = pa.table({"channel": ["web", "app", "x"], "promo_order_share": [0.2, 0.5, 0.1]})
    fig = breakdown_bars(table, "channel", "promo_order_share", top=2)
    assert list(fig.data[0].y) == ["web", "app"]
    assert fig.layout.xaxis.tickformat == ".0%"


def test_promo_usage_two_lines_in_percent() -> None:
    fig = promo_usage(BY_MONTH)
    assert [t.type for t in fig.data] == ["scatter", "scatter"]
    assert [t.name for t in fig.data] == ["Orders with a promo code", "Discounts / gross revenue"]
    assert list(fig.data[1].y) == [0.05, 0.04, 0.03]
    assert fig.layout.yaxis.tickformat == ".0%"
