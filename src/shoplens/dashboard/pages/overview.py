"""Overview: KPI tiles vs the previous period, trends and breakdowns of the slice."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, delta, money, run_page


def render(ctx: Context) -> None:
    f = ctx.filters
    st.title("Overview")
    st.caption(
        f"{f.start} – {f.end} compared with the {(f.end - f.start).days + 1} days before"  # type: ignore[operator]
        " (same filters)."
    )
    # tiles first (one cheap query), then the breakdowns: the page fills in as they come
    now, before = data.compare(ctx.path, ctx.tz, ctx.version, f).to_pylist()
    tiles = [
        (
            "Net revenue",
            money(now["net_revenue"], ctx.currency),
            delta(now["net_revenue"], before["net_revenue"]),
        ),
        ("Orders", f"{now['orders']:,}", delta(now["orders"], before["orders"])),
        ("Customers", f"{now['customers']:,}", delta(now["customers"], before["customers"])),
        ("Average order value", money(now["aov"], ctx.currency), delta(now["aov"], before["aov"])),
        (
            "Orders with promo",
            f"{now['promo_order_share'] or 0:.1%}",
            delta(now["promo_order_share"], before["promo_order_share"], points=True),
        ),
        (
            "Return rate",
            f"{now['return_rate'] or 0:.1%}",
            delta(now["return_rate"], before["return_rate"], points=True),
        ),
    ]
    for col, (label, value, change) in zip(st.columns(3) + st.columns(3), tiles, strict=True):
        col.metric(
            label,
            value,
            change,
            border=True,
            delta_color="inverse" if label == "Return rate" else "normal",
        )
    chart(
        figures.monthly_trend(
            data.breakdown(ctx.path, ctx.tz, ctx.version, f, "month"),
            title="Net revenue and orders by month (period)",
        ),
        "trend",
    )
    left, right = st.columns(2)
    with left:
        chart(
            figures.breakdown_bars(
                data.breakdown(ctx.path, ctx.tz, ctx.version, f, "country"), "country"
            ),
            "country",
        )
    with right:
        chart(
            figures.breakdown_bars(
                data.breakdown(ctx.path, ctx.tz, ctx.version, f, "category"), "category"
            ),
            "category",
        )
    st.caption(
        "With a category filter, whole orders containing the category count; the category "
        "chart shows each category's own lines."
    )


run_page(render)
