"""The cohort retention heatmap, from :func:`shoplens.analytics.cohort_matrix` (long form)."""

from __future__ import annotations

import plotly.graph_objects as go
import pyarrow as pa

from shoplens.figures.theme import SEQUENTIAL, empty_figure, new_figure


def retention_heatmap(
    cohorts: pa.Table,
    *,
    max_months: int = 18,
    title: str = "Cohort retention: share of each cohort buying N months after its first order",
) -> go.Figure:
    """Cohorts (rows, oldest at the top) x months since first order, value as a percentage.

    Cells after the end of the data are blank; months beyond ``max_months`` are left
    out (the title says so).
    """
    if cohorts.num_rows == 0:
        return empty_figure(title, "No completed orders of known customers")
    rows = cohorts.to_pylist()
    labels = sorted({r["cohort"] for r in rows})
    months = sorted({int(r["months_since"]) for r in rows if r["months_since"] <= max_months})
    index = {c: i for i, c in enumerate(labels)}
    column = {m: i for i, m in enumerate(months)}
    z: list[list[float | None]] = [[None] * len(months) for _ in labels]
    sizes = dict.fromkeys(labels, 0)
    for r in rows:
        m = int(r["months_since"])
        if m <= max_months:
            z[index[r["cohort"]]][column[m]] = r["value"]
        sizes[r["cohort"]] = int(r["cohort_size"])
    text = [["" if v is None else f"{v:.0%}" for v in line] for line in z]
    y = [f"{c} ({sizes[c]:,})" for c in labels]
    fig = new_figure(title, height=max(320, 90 + 22 * len(labels)))
    fig.add_heatmap(
        z=z,
        x=months,
        y=y,
        text=text,
        texttemplate="%{text}",
        textfont={"size": 10},
        colorscale=SEQUENTIAL,
        zmin=0,
        zmax=max((v for line in z for v in line[1:] if v is not None), default=1.0) or 1.0,
        colorbar={"title": {"text": "Retained"}, "tickformat": ".0%"},
        hovertemplate="%{y}, month %{x}: %{z:.1%}<extra></extra>",
        hoverongaps=False,
    )
    fig.update_layout(
        xaxis={"title": {"text": "Months since first order"}, "dtick": 1},
        yaxis={
            "title": {"text": "Cohort (customers)"},
            "autorange": "reversed",
            "type": "category",
        },
    )
    return fig
