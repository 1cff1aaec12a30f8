"""Figures of the segments: the RFM grid and the segment summaries.

Inputs: the per-cell counts of the R x FM grid (columns r_score, fm_score,
customers, and optionally segment), and :func:`shoplens.analytics.segment_summary`.
"""

from __future__ import annotations

import plotly.graph_objects as go
import pyarrow as pa

from shoplens.figures.theme import PERCENT_FORMAT, PRIMARY, SECONDARY, SEQUENTIAL, new_figure

# short labels for the grid cells (the full names are in the hover)
_SHORT = {
    "Champions": "Champions",
    "Loyal Customers": "Loyal",
    "Potential Loyalists": "Pot. loyal",
    "New Customers": "New",
    "Promising": "Promising",
    "Need Attention": "Attention",
    "About To Sleep": "Sleepy",
    "At Risk": "At risk",
    "Can't Lose Them": "Can't lose",
    "Hibernating": "Hibernating",
    "Lost": "Lost",
}


def rfm_grid(cells: pa.Table, *, title: str = "RFM grid: customers per cell") -> go.Figure:
    """Heatmap of customers per (recency score, FM score) cell, 5 x 5, named by segment.

    ``cells``: r_score, fm_score (1..5), customers, optionally segment. Missing cells
    count 0.
    """
    z = [[0] * 5 for _ in range(5)]
    names = [[""] * 5 for _ in range(5)]
    has_segment = "segment" in cells.column_names
    for row in cells.to_pylist():
        r, fm = int(row["r_score"]), int(row["fm_score"])
        z[r - 1][fm - 1] = int(row["customers"])
        if has_segment:
            names[r - 1][fm - 1] = str(row["segment"])
    total = sum(map(sum, z)) or 1
    text = [
        [f"{_SHORT.get(names[r][f], names[r][f])}<br>{z[r][f] / total:.0%}" for f in range(5)]
        for r in range(5)
    ]
    fig = new_figure(title, height=420)
    fig.add_heatmap(
        z=z,
        x=[1, 2, 3, 4, 5],
        y=[1, 2, 3, 4, 5],
        text=text,
        texttemplate="%{text}",
        customdata=names,
        colorscale=SEQUENTIAL,
        colorbar={"title": {"text": "Customers"}},
        hovertemplate="R %{y}, FM %{x}: %{customdata}<br>%{z:,} customers<extra></extra>",
    )
    fig.update_layout(
        xaxis={"title": {"text": "Frequency + monetary score (FM)"}, "dtick": 1},
        yaxis={"title": {"text": "Recency score (R)"}, "dtick": 1},
    )
    return fig


def segment_shares(
    summary: pa.Table, *, title: str = "Segments: customers vs revenue"
) -> go.Figure:
    """Grouped horizontal bars: share of customers and share of revenue per segment."""
    segments = summary.column("segment").to_pylist()[::-1]
    fig = new_figure(title, height=max(280, 80 + 34 * len(segments)))
    for col, name, colour in (
        ("share", "Share of customers", PRIMARY),
        ("revenue_share", "Share of revenue", SECONDARY),
    ):
        fig.add_bar(
            y=segments,
            x=summary.column(col).to_pylist()[::-1],
            name=name,
            orientation="h",
            marker_color=colour,
            hovertemplate="%{y}: %{x:" + PERCENT_FORMAT + "}<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        xaxis={"title": {"text": "Share"}, "tickformat": ".0%"},
        yaxis={"title": {"text": "Segment"}, "type": "category"},
    )
    return fig
