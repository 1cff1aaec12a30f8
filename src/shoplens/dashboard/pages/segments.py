"""Segments: revenue by RFM segment in the slice, and the RFM grid of its customers."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, not_computed, run_page, table


def render(ctx: Context) -> None:
    st.title("Segments")
    if not ctx.options["segments"]:
        not_computed("customer_segments")
        return
    by_segment = data.breakdown(ctx.path, ctx.tz, ctx.version, ctx.filters, "segment")
    st.caption(
        f"RFM segments as last computed ({ctx.options['segment_source']}); orders of "
        f"{ctx.filters.start} – {ctx.filters.end}."
    )
    left, right = st.columns(2)
    with left:
        chart(
            figures.breakdown_bars(by_segment, "segment", title="Net revenue by RFM segment"),
            "segment_revenue",
        )
    with right:
        cells = data.rfm_cells(ctx.path, ctx.tz, ctx.version, ctx.filters)
        if cells is None:
            not_computed("customer_segments")
        else:
            chart(
                figures.rfm_grid(
                    cells, title="RFM grid (customers of the chosen countries and segments)"
                ),
                "rfm_grid",
            )
    table(
        by_segment.select(
            ["segment", "customers", "orders", "net_revenue", "aov", "promo_order_share"]
        ),
        key="segments_table",
    )


run_page(render)
