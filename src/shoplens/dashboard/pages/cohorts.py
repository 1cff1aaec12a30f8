"""Cohorts: monthly retention of the customers in the slice."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, run_page


def render(ctx: Context) -> None:
    st.title("Cohorts")
    st.caption(
        "A customer's cohort is the month of their first completed order in the period; "
        "cells are the share of the cohort buying N months later (filters applied)."
    )
    cohorts = data.cohorts(ctx.path, ctx.tz, ctx.version, ctx.filters)
    sizes = {r["cohort"]: r["cohort_size"] for r in cohorts.to_pylist()}
    st.metric("Customers in the cohorts", f"{sum(sizes.values()):,}")
    chart(figures.retention_heatmap(cohorts, title="Cohort retention"), "cohorts")


run_page(render)
