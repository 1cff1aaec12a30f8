"""Data quality: the latest import's report and what the store holds."""

from __future__ import annotations

import pyarrow as pa
import streamlit as st

from shoplens.dashboard import data
from shoplens.dashboard.ui import Context, run_page, table
from shoplens.ingest.quality import COUNT_DEFINITIONS


def render(ctx: Context) -> None:
    st.title("Data quality")
    res = data.quality(ctx.path, ctx.tz, ctx.version)
    report = res["report"]
    if report is None:
        st.info(
            "No import in this store (simulated, or written by other tools): no data-quality "
            "report. `shoplens import` writes one."
        )
    else:
        counts = report.counts()
        st.subheader(f"Latest import: {report.source}")
        st.caption(f"Mapping {report.mapping}; dates {report.date_format}.")
        table(
            pa.table(
                {
                    "count": list(COUNT_DEFINITIONS),
                    "value": [counts.get(k) for k in COUNT_DEFINITIONS],
                    "meaning": list(COUNT_DEFINITIONS.values()),
                }
            ),
            key="quality_counts",
        )
    st.subheader("Tables")
    table(res["tables"], key="quality_tables")


run_page(render)
