"""Lifetime value: distribution, by segment, top customers (from ``customer_scores``)."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, money, not_computed, run_page, table


def render(ctx: Context) -> None:
    st.title("Lifetime value")
    res = data.clv(ctx.path, ctx.tz, ctx.version, ctx.filters)
    if res is None:
        not_computed("customer_scores")
        return
    summary = res["summary"].to_pylist()
    customers = sum(r["customers"] for r in summary)
    total = sum(r["total_clv_sum"] or 0 for r in summary)
    a, b = st.columns(2)
    a.metric("Scored customers", f"{customers:,}", border=True)
    b.metric(
        "Average total CLV",
        money(total / customers if customers else None, ctx.currency),
        border=True,
    )
    st.caption("Country and segment filters apply; scores are as of the last `shoplens score`.")
    left, right = st.columns(2)
    with left:
        chart(figures.clv_histogram(res["bins"]), "clv_hist")
    with right:
        chart(figures.clv_by_segment(res["summary"]), "clv_segments")
    st.subheader("Top customers")
    table(res["top"], key="clv_top")


run_page(render)
