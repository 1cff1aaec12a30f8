"""Cached loaders over the analytics calls: what each page shows, computed in DuckDB.

Every loader takes the store path, the time zone and the store's :func:`version`
(so a write invalidates the cache) plus the filters. Filtered order views run on the
in-memory snapshot (:mod:`shoplens.dashboard.snapshot`); the others open the store
read-only for their queries and close it (:func:`with_store`). Results are small Arrow tables (sums,
top rows, histograms); no loader pulls a table of one row per customer.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import streamlit as st

from shoplens.analytics import explore, results
from shoplens.analytics.explore import Filters, filter_options, slice_cohorts, slice_kpis
from shoplens.dashboard.snapshot import with_snapshot
from shoplens.dashboard.store_access import with_store
from shoplens.ingest.quality import read_reports
from shoplens.output import csv_text
from shoplens.store import store_status

TTL = "10m"


@st.cache_data(ttl=TTL, show_spinner=False)
def options(path: str, tz: str, version: int) -> dict[str, Any]:
    return with_snapshot(path, tz, version, filter_options)


@st.cache_data(ttl=TTL, show_spinner=False)
def compare(path: str, tz: str, version: int, f: Filters) -> pa.Table:
    """The KPI tiles: the slice and the period of equal length before it."""
    return with_snapshot(path, tz, version, lambda con: explore.compare_periods(con, f))


@st.cache_data(ttl=TTL, show_spinner=False)
def breakdown(path: str, tz: str, version: int, f: Filters, by: str) -> pa.Table:
    return with_snapshot(path, tz, version, lambda con: slice_kpis(con, f, by=by))


@st.cache_data(ttl=TTL, show_spinner=False)
def cohorts(path: str, tz: str, version: int, f: Filters) -> pa.Table:
    return with_snapshot(path, tz, version, lambda con: slice_cohorts(con, f))


@st.cache_data(ttl=TTL, show_spinner=False)
def rfm_cells(path: str, tz: str, version: int, f: Filters) -> pa.Table | None:
    return with_store(path, tz, lambda con: results.rfm_cells(con, f))


@st.cache_data(ttl=TTL, show_spinner=False)
def clv(path: str, tz: str, version: int, f: Filters) -> dict[str, pa.Table] | None:
    def run(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table] | None:
        bins = results.clv_bins(con, f)
        summary = results.clv_summary(con, f)
        top = results.top_customers(con, f, limit=25)
        if bins is None or summary is None or top is None:
            return None
        return {"bins": bins, "summary": summary, "top": top}

    return with_store(path, tz, run)


@st.cache_data(ttl=TTL, show_spinner=False)
def churn(path: str, tz: str, version: int, f: Filters) -> dict[str, Any] | None:
    def run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
        risk = results.churn_risk_counts(con, f)
        at_risk = results.at_risk_customers(con, f, limit=200)
        if risk is None or at_risk is None:
            return None
        return {"risk": risk, "at_risk": at_risk}

    return with_store(path, tz, run)


@st.cache_data(ttl=TTL, show_spinner=False)
def at_risk_csv(path: str, tz: str, version: int, f: Filters) -> str:
    table = with_store(path, tz, lambda con: results.at_risk_customers(con, f, limit=None))
    return csv_text(table) if table is not None else ""


@st.cache_data(ttl=TTL, show_spinner=False)
def evaluation(path: str, tz: str, version: int) -> dict[str, Any] | None:
    return with_store(path, tz, results.latest_evaluation)


@st.cache_data(ttl=TTL, show_spinner=False)
def next_category(path: str, tz: str, version: int, f: Filters) -> pa.Table | None:
    return with_store(path, tz, lambda con: results.next_category_mix(con, f))


@st.cache_data(ttl=TTL, show_spinner=False)
def find_customers(path: str, tz: str, version: int, text: str) -> list[str]:
    return with_store(path, tz, lambda con: results.find_customers(con, text))


@st.cache_data(ttl=TTL, show_spinner=False)
def customer(path: str, tz: str, version: int, customer_id: str) -> dict[str, Any]:
    return with_store(path, tz, lambda con: results.customer_profile(con, customer_id))


def live(path: str, tz: str, window: str) -> dict[str, Any] | None:
    """Not cached: the live page reads the newest windows on every refresh."""

    def run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
        windows = results.realtime_windows(con, window=window, last=60)
        if windows is None:
            return None
        return {"windows": windows, "scores": results.live_scores(con)}

    return with_store(path, tz, run)


@st.cache_data(ttl=TTL, show_spinner=False)
def quality(path: str, tz: str, version: int) -> dict[str, Any]:
    def run(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        reports = read_reports(con, 1)
        status = store_status(con)
        tables = pa.table(
            {
                "table": [t.name for t in status.tables],
                "kind": [t.kind for t in status.tables],
                "rows": pa.array([t.rows for t in status.tables], pa.int64()),
            }
        )
        return {"report": reports[-1] if reports else None, "tables": tables}

    return with_store(path, tz, run)
