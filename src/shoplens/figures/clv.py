"""Lifetime-value figures, from the ``customer_scores`` table (models branch, #7).

Builders take small aggregated tables (a histogram, a per-segment table), never one
row per customer, so they stay cheap on a million customers.
"""

from __future__ import annotations

import plotly.graph_objects as go
import pyarrow as pa

from shoplens.figures.theme import MONEY_FORMAT, PRIMARY, SECONDARY, empty_figure, new_figure


def clv_histogram(
    bins: pa.Table, *, title: str = "Distribution of total lifetime value"
) -> go.Figure:
    """Customers per CLV bin. ``bins``: bin_start, bin_end, customers (ordered)."""
    if bins.num_rows == 0:
        return empty_figure(title, "No scored customers")
    rows = bins.to_pylist()
    fig = new_figure(title, height=320)
    fig.add_bar(
        x=[(r["bin_start"] + r["bin_end"]) / 2 for r in rows],
        y=[r["customers"] for r in rows],
        width=[r["bin_end"] - r["bin_start"] for r in rows],
        customdata=[[r["bin_start"], r["bin_end"]] for r in rows],
        marker_color=PRIMARY,
        name="Customers",
        hovertemplate="%{customdata[0]:"
        + MONEY_FORMAT
        + "} to %{customdata[1]:"
        + MONEY_FORMAT
        + "}: %{y:,} customers<extra></extra>",
    )
    fig.update_layout(
        xaxis={
            "title": {"text": "Total lifetime value (historic + predicted)"},
            "tickformat": "~s",
        },
        yaxis={"title": {"text": "Customers"}, "tickformat": "~s"},
        showlegend=False,
        bargap=0.05,
    )
    return fig


def clv_by_segment(
    table: pa.Table, *, title: str = "Average lifetime value by RFM segment"
) -> go.Figure:
    """Stacked bars of mean historic and predicted CLV per segment.

    ``table``: segment, customers, historic_clv, predicted_clv (means per customer).
    """
    if table.num_rows == 0:
        return empty_figure(title, "No scored customers")
    segments = table.column("segment").to_pylist()[::-1]
    fig = new_figure(title, height=max(280, 80 + 30 * len(segments)))
    for col, name, colour in (
        ("historic_clv", "Historic (so far)", PRIMARY),
        ("predicted_clv", "Predicted (horizon)", SECONDARY),
    ):
        fig.add_bar(
            y=segments,
            x=table.column(col).to_pylist()[::-1],
            orientation="h",
            name=name,
            marker_color=colour,
            hovertemplate="%{y}: %{x:" + MONEY_FORMAT + "}<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        xaxis={"title": {"text": "Average value per customer"}, "tickformat": "~s"},
        yaxis={"title": {"text": "Segment"}, "type": "category"},
    )
    return fig
