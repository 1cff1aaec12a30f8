"""Churn: risk counts, at-risk customers with their reasons (CSV), the model's evaluation."""

from __future__ import annotations

import streamlit as st

from shoplens import figures
from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, chart, money, not_computed, run_page, table


def render(ctx: Context) -> None:
    st.title("Churn")
    res = data.churn(ctx.path, ctx.tz, ctx.version, ctx.filters)
    if res is None:
        not_computed("customer_scores")
    else:
        risk = {r["churn_risk"]: r for r in res["risk"].to_pylist()}
        cols = st.columns(3)
        for col, level in zip(cols, ("high", "medium", "low"), strict=True):
            row = risk.get(level, {"customers": 0, "predicted_clv": 0, "share": 0})
            col.metric(
                f"{level.capitalize()} risk",
                f"{row['customers']:,}",
                f"{money(row['predicted_clv'], ctx.currency)} predicted CLV",
                delta_color="off",
                border=True,
            )
        st.subheader("At-risk customers (high risk, most likely churners first)")
        table(res["at_risk"], key="at_risk")
        st.download_button(
            "Download all high-risk customers (CSV)",
            data=data.at_risk_csv(ctx.path, ctx.tz, ctx.version, ctx.filters),
            file_name="at_risk_customers.csv",
            mime="text/csv",
            key="at_risk_csv",
        )
    evaluation = data.evaluation(ctx.path, ctx.tz, ctx.version)
    churn = (evaluation or {}).get("churn")
    st.subheader("Model evaluation (holdout)")
    if not churn or not churn.get("model"):
        not_computed("model_evaluation")
    else:
        left, right = st.columns(2)
        with left:
            chart(figures.churn_scores(churn), "churn_scores")
            chart(figures.confusion_matrix(churn), "churn_confusion")
        with right:
            chart(figures.calibration(churn), "churn_calibration")
            chart(figures.importance(churn.get("importance") or []), "churn_importance")


run_page(render)
