"""Customer: search one customer; history, segment, scores and churn reasons."""

from __future__ import annotations

import streamlit as st

from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, money, run_page, table


def render(ctx: Context) -> None:
    st.title("Customer")
    query = st.text_input("Customer id (or its beginning)", key="customer_query").strip()
    if not query:
        st.caption("Type a customer id to see their orders, segment and scores.")
        return
    found = data.find_customers(ctx.path, ctx.tz, ctx.version, query)
    if not found:
        st.warning(f"No customer id starts with “{query}”.")
        return
    cid = st.selectbox("Customer", found, key="customer_pick")
    profile = data.customer(ctx.path, ctx.tz, ctx.version, cid)
    orders = profile["orders"]
    completed = [r for r in orders.to_pylist() if r["status"] == "completed"]
    info = profile.get("customer") or {}
    seg = profile.get("segments") or {}
    scores = profile.get("customer_scores")
    cols = st.columns(4)
    cols[0].metric("Completed orders", f"{len(completed):,}", border=True)
    cols[1].metric(
        "Net spend", money(sum(r["net_value"] for r in completed), ctx.currency), border=True
    )
    cols[2].metric(
        "RFM segment",
        seg.get("rfm_segment") or (scores or {}).get("rfm_segment") or "–",
        border=True,
    )
    cols[3].metric("Country", info.get("country") or "–", border=True)
    st.subheader("Scores")
    if scores is None:
        st.info("Not computed yet: run `shoplens score` on this store.", icon="⏳")
    else:
        s = st.columns(4)
        s[0].metric(
            "Churn probability",
            f"{scores['churn_probability']:.0%}",
            scores["churn_risk"],
            delta_color="off",
        )
        s[1].metric("Predicted CLV", money(scores["predicted_clv"], ctx.currency))
        s[2].metric("P(alive)", f"{scores['p_alive']:.0%}")
        s[3].metric("Next category", scores["next_category"] or "–")
        for reason in scores.get("churn_reasons") or []:
            st.markdown(f"- {reason}")
    st.subheader("Orders")
    table(orders, key="customer_orders")


run_page(render)
