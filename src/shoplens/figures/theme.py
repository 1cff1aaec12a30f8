"""One look for every figure: colours, the plotly template and number formats.

Number formats follow :func:`shoplens.output.format_value` (the CLI's rules): money
without cents and with thousands separators, rates as percentages with one decimal.
Fonts are the system stack (no web fonts: the report must work offline).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from shoplens.output import format_value

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', 'Liberation Sans', sans-serif"

PRIMARY = "#2f6fb0"
SECONDARY = "#e07b39"
MUTED = "#9aa5b1"
GOOD = "#3a9a5b"
BAD = "#c8453c"
# qualitative palette (colour-blind friendly, Okabe-Ito based)
PALETTE: tuple[str, ...] = (
    "#2f6fb0",
    "#e07b39",
    "#3a9a5b",
    "#c8453c",
    "#8c6bb1",
    "#d4a017",
    "#56b4e9",
    "#7f7f7f",
    "#cc79a7",
    "#009e73",
    "#f0e442",
)
SEQUENTIAL = "Blues"

MONEY_FORMAT = ",.0f"  # d3 format for axes and hovers
PERCENT_FORMAT = ".1%"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 13, "color": "#1f2933"},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        title={"x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        xaxis={"gridcolor": "#e4e7eb", "zerolinecolor": "#cbd2d9", "automargin": True},
        yaxis={"gridcolor": "#e4e7eb", "zerolinecolor": "#cbd2d9", "automargin": True},
        # legend under the title, left-aligned: no overlap with it on a phone-wide chart
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        hoverlabel={"font": {"family": FONT}},
    )
)


def new_figure(title: str, *, height: int = 360) -> go.Figure:
    """An empty figure with the shoplens template, a title and a height."""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=height)
    return fig


def money(value: Any) -> str:
    """12345.6 -> '12,346' (money without cents, like the CLI)."""
    return format_value("revenue", value)


def percent(value: Any) -> str:
    """0.1234 -> '12.3%'."""
    return format_value("share", value)


def count(value: Any) -> str:
    """12345 -> '12,345'."""
    return format_value("customers", value)


def empty_figure(title: str, message: str, *, height: int = 200) -> go.Figure:
    """A figure that says why there is nothing to draw (no data for the filters...)."""
    fig = new_figure(title, height=height)
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"color": MUTED, "size": 14},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
