"""Live figures, from the stream processor's ``realtime_kpis`` table (issue #9)."""

from __future__ import annotations

import plotly.graph_objects as go
import pyarrow as pa

from shoplens.figures.theme import MONEY_FORMAT, PRIMARY, SECONDARY, empty_figure, new_figure


def live_revenue(
    windows: pa.Table, *, title: str = "Live: revenue and orders per window"
) -> go.Figure:
    """Revenue (bars) and orders (line) per window, for rows of dimension 'all'.

    ``windows``: the ``realtime_kpis`` columns (window_start, revenue, orders, dimension).
    """
    rows = [r for r in windows.to_pylist() if r.get("dimension", "all") == "all"]
    if not rows:
        return empty_figure(title, "No windows yet")
    rows.sort(key=lambda r: r["window_start"])
    xs = [r["window_start"] for r in rows]
    fig = new_figure(title, height=320)
    fig.add_bar(
        x=xs,
        y=[float(r["revenue"] or 0) for r in rows],
        name="Revenue",
        marker_color=PRIMARY,
        hovertemplate="%{x}: %{y:" + MONEY_FORMAT + "}<extra>revenue</extra>",
    )
    fig.add_scatter(
        x=xs,
        y=[r["orders"] for r in rows],
        name="Orders",
        yaxis="y2",
        mode="lines+markers",
        line={"color": SECONDARY},
    )
    fig.update_layout(
        xaxis={"title": {"text": "Window start"}},
        yaxis={"title": {"text": "Revenue"}, "tickformat": "~s"},
        yaxis2={
            "title": {"text": "Orders"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
        },
    )
    return fig
