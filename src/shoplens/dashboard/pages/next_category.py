"""Next category: what customers are predicted to buy next, and how accurate that is."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, not_computed, run_page, table


def render(ctx: Context) -> None:
    st.title("Next category")
    mix = data.next_category(ctx.path, ctx.tz, ctx.version, ctx.filters)
    if mix is None:
        not_computed("customer_scores")
    else:
        predicted = sum(
            r["customers"] for r in mix.to_pylist() if r["category"] != "(no prediction)"
        )
        st.metric("Customers with a prediction", f"{predicted:,}")
        chart(
            figures.breakdown_bars(
                mix, "category", "customers", title="Customers by predicted next category"
            ),
            "next_mix",
        )
        table(mix, key="next_table")
    evaluation = data.evaluation(ctx.path, ctx.tz, ctx.version)
    pref = (evaluation or {}).get("preference")
    if not pref or not pref.get("model"):
        not_computed("model_evaluation")
    else:
        chart(figures.next_category_scores(pref), "next_scores")


run_page(render)
