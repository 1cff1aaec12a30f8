"""Store -> every table the report needs, computed once (the report's only I/O with the store).

The report covers a period (``start``..``end``, shop-local days, inclusive; default:
the last 365 days of data, or all of it when there is less) and compares its KPIs with
the period of equal length just before. Trends by month and the cohorts show the
whole history. Model and live tables are read when they exist (``None`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shoplens import analytics
from shoplens.analytics import results
from shoplens.analytics.facts import ORDER_FACTS, ensure_order_facts
from shoplens.errors import InvalidParameterError, StoreError
from shoplens.ingest.quality import QualityReport, read_reports
from shoplens.store import open_store, require_tables
from shoplens.store.db import existing_tables

DEFAULT_DAYS = 365
BREAKDOWNS: tuple[str, ...] = ("country", "category", "age_group", "channel")
_PLACEHOLDERS = ("(unknown)", "(guest)")


@dataclass
class ReportData:
    """Everything the report shows, as tables and plain values."""

    store: str
    timezone: str
    currency: str
    generated_at: datetime
    first_day: date
    last_day: date
    start: date
    end: date
    previous_start: date
    previous_end: date
    kpis: dict[str, Any]
    previous_kpis: dict[str, Any]
    by_month: pa.Table  # whole history
    by: dict[str, pa.Table]  # weekday, hour, and BREAKDOWNS over the period
    present: dict[str, bool]  # breakdowns the data has (age, channel...)
    rfm_cells: pa.Table  # r_score, fm_score, segment, customers
    rfm_summary: pa.Table
    behaviour_summary: pa.Table
    segment_revenue: pa.Table  # rfm segment, customers, period revenue and shares
    cohorts: pa.Table
    clv_bins: pa.Table | None = None
    clv_summary: pa.Table | None = None
    top_customers: pa.Table | None = None
    churn_risk: pa.Table | None = None
    evaluation: dict[str, Any] | None = None
    quality: QualityReport | None = None
    table_rows: dict[str, int] = field(default_factory=dict)


def collect(
    path: str | Path,
    *,
    start: date | None = None,
    end: date | None = None,
    timezone: str = "UTC",
    currency: str = "EUR",
) -> ReportData:
    """Open the store read-only, compute every table of the report, close the store."""
    con = open_store(path, read_only=True, timezone=timezone)
    try:
        return collect_from(con, str(path), start=start, end=end, currency=currency)
    finally:
        con.close()


def _period(first: date, last: date, start: date | None, end: date | None) -> tuple[date, date]:
    end = end or last
    if start is None:
        start = max(first, end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise InvalidParameterError(f"period start {start} is after its end {end}")
    return start, end


def collect_from(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    start: date | None = None,
    end: date | None = None,
    currency: str = "EUR",
) -> ReportData:
    """:func:`collect` on an open connection (its TimeZone is the shop's)."""
    require_tables(con, ("orders", "order_items"), why="for the report")
    row = con.execute(
        "SELECT CAST(min(order_ts) AS DATE), CAST(max(order_ts) AS DATE) FROM orders"
    ).fetchone()
    if row is None or row[0] is None:
        raise StoreError(f"store {name} has no orders: nothing to report")
    first, last = row[0], row[1]
    start, end = _period(first, last, start, end)
    days = (end - start).days + 1
    prev_start, prev_end = start - timedelta(days=days), start - timedelta(days=1)
    ((tz,),) = con.execute("SELECT current_setting('TimeZone')").fetchall()

    def kpis(d0: date, d1: date, by: str | None = None) -> pa.Table:
        return analytics.compute_kpis(con, start=d0, end=d1, by=by)

    have = existing_tables(con)
    by: dict[str, pa.Table] = {d: kpis(start, end, d) for d in ("weekday", "hour")}
    present: dict[str, bool] = {}
    for dim in BREAKDOWNS:
        try:
            table = kpis(start, end, dim)
        except StoreError:  # the store lacks the column (an import without it)
            present[dim] = False
            continue
        values = table.column(dim).to_pylist()
        present[dim] = any(v not in _PLACEHOLDERS for v in values)
        by[dim] = table
    assigned = analytics.assign_segments(con, as_of=end + timedelta(days=1))
    cells = (
        assigned.group_by(["r_score", "fm_score", "rfm_segment"])
        .aggregate([("customer_id", "count")])
        .rename_columns(["r_score", "fm_score", "segment", "customers"])
    )
    data = ReportData(
        store=name,
        timezone=str(tz),
        currency=currency,
        generated_at=datetime.now(UTC),
        first_day=first,
        last_day=last,
        start=start,
        end=end,
        previous_start=prev_start,
        previous_end=prev_end,
        kpis=kpis(start, end).to_pylist()[0],
        previous_kpis=kpis(prev_start, prev_end).to_pylist()[0],
        by_month=analytics.compute_kpis(con, by="month"),
        by=by,
        present=present,
        rfm_cells=cells,
        rfm_summary=analytics.segment_summary(assigned, "rfm"),
        behaviour_summary=analytics.segment_summary(assigned, "behaviour"),
        segment_revenue=_segment_revenue(con, assigned, start, end),
        cohorts=analytics.cohort_matrix(con),
        clv_bins=results.clv_bins(con),
        clv_summary=results.clv_summary(con),
        top_customers=results.top_customers(con, limit=15),
        churn_risk=results.churn_risk_counts(con),
        evaluation=results.latest_evaluation(con),
        table_rows={
            t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])  # type: ignore[index]
            for t in ("customers", "products", "orders", "order_items", "events")
            if t in have
        },
    )
    reports = read_reports(con, 1)
    data.quality = reports[-1] if reports else None
    return data


def _segment_revenue(
    con: duckdb.DuckDBPyConnection, assigned: pa.Table, start: date, end: date
) -> pa.Table:
    """Per RFM segment: customers, their share, net revenue in the period and its share."""
    ensure_order_facts(con)
    con.register("__report_segments", assigned.select(["customer_id", "rfm_segment"]))
    try:
        table = con.sql(
            f"""
            WITH rev AS (
              SELECT customer_id, sum(net) AS revenue FROM {ORDER_FACTS}
              WHERE status = 'completed' AND customer_id IS NOT NULL
                AND order_ts >= CAST($start AS DATE)::TIMESTAMPTZ
                AND order_ts < CAST($end_excl AS DATE)::TIMESTAMPTZ
              GROUP BY customer_id
            )
            SELECT s.rfm_segment AS segment, count(*) AS customers,
                   round(CAST(coalesce(sum(rev.revenue), 0) AS DOUBLE), 2) AS revenue
            FROM __report_segments AS s LEFT JOIN rev USING (customer_id)
            GROUP BY s.rfm_segment ORDER BY revenue DESC
            """,
            params={"start": start, "end_excl": end + timedelta(days=1)},
        ).to_arrow_table()
    finally:
        con.unregister("__report_segments")
    customers = pc.sum(table.column("customers")).as_py() or 1
    revenue = pc.sum(table.column("revenue")).as_py() or 1.0
    table = table.append_column(
        "share", pc.divide(pc.cast(table.column("customers"), pa.float64()), customers)
    )
    return table.append_column("revenue_share", pc.divide(table.column("revenue"), revenue))
