"""Live: the stream processor's windows and live scores, refreshed every few seconds."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, money, not_computed, run_page, table


def render(ctx: Context) -> None:
    st.title("Live")
    window = st.segmented_control("Window", ["1m", "1h"], default="1m", key="live_window") or "1m"

    @st.fragment(run_every=5)
    def live_view() -> None:
        res = data.live(ctx.path, ctx.tz, window)
        if res is None:
            not_computed("realtime_kpis")
            return
        rows = res["windows"].to_pylist()
        last = rows[-1] if rows else None
        cols = st.columns(3)
        cols[0].metric(
            "Revenue, last window", money(last["revenue"] if last else None, ctx.currency)
        )
        cols[1].metric("Orders, last window", f"{last['orders']:,}" if last else "–")
        cols[2].metric("Active customers", f"{last['active_customers']:,}" if last else "–")
        chart(figures.live_revenue(res["windows"]), "live_chart")
        if res["scores"] is not None:
            st.subheader("Latest customer updates")
            table(res["scores"], key="live_scores")
        st.caption("Refreshes every 5 s.")

    live_view()


run_page(render)
