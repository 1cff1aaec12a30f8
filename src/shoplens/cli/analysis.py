"""The commands that analyse a store: kpis, segments, cohorts, status."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from typing import Annotated

import typer

from shoplens import analytics, output, store
from shoplens.cli.core import (
    CsvOpt,
    Format,
    JsonOpt,
    NoSaveOpt,
    StoreOpt,
    TzOpt,
    _format,
    _open,
    _settings,
    out,
)
from shoplens.cli.engine import EngineName, EngineOpt, MasterOpt, SourceOpt, open_analysis
from shoplens.cli.params import DAY_METAVAR, parse_day


class CohortMetric(StrEnum):
    customers = "customers"
    revenue = "revenue"


# --- kpis ---------------------------------------------------------------------------

_KPI_TABLE_COLUMNS = (
    "orders",
    "customers",
    "net_revenue",
    "aov",
    "units_per_order",
    "promo_order_share",
    "cancellation_rate",
    "return_rate",
)


def kpis_cmd(
    store_path: StoreOpt = None,
    start: Annotated[
        date | None,
        typer.Option(
            "--from", parser=parse_day, metavar=DAY_METAVAR, help="First day (shop time zone)."
        ),
    ] = None,
    stop: Annotated[
        date | None,
        typer.Option("--to", parser=parse_day, metavar=DAY_METAVAR, help="Last day, inclusive."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Break down by: " + ", ".join(analytics.DIMENSIONS) + "."),
    ] = None,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    no_save: NoSaveOpt = False,
    source: SourceOpt = None,
    engine: EngineOpt = EngineName.duckdb,
    spark_master: MasterOpt = "local[2]",
) -> None:
    """Revenue (gross, net, discounts, cancellations, returns), orders, basket, promo use..."""
    fmt = _format(as_json, as_csv)
    settings = _settings(store=store_path)
    d0, d1 = start, stop
    with open_analysis(
        settings,
        source=source,
        engine=engine,
        master=spark_master,
        write=not no_save,
        needs_orders="for KPIs",
        timezone=timezone,
    ) as (con, save_to, tz):
        table = analytics.compute_kpis(con, start=d0, end=d1, by=by)
        if save_to is not None:
            store.write_result(
                save_to, f"kpis_by_{by}" if by else "kpis_total", table, {"from": d0, "to": d1}
            )
    fields = {"timezone": tz, "from": d0, "to": d1, "by": by}
    if fmt is Format.json:
        out.print_json(output.json_document("kpis", fields, rows=table))
    elif fmt is Format.csv:
        sys.stdout.write(output.csv_text(table))
    elif by is None:
        row = table.to_pylist()[0]
        period = f"{d0 or 'start'} to {d1 or 'end'}"
        out.print(
            output.key_value_table(
                ((k, row[k], v) for k, v in analytics.KPI_DEFINITIONS.items()),
                title=f"KPIs, {period} ({tz})",
            )
        )
    elif table.num_rows == 0:
        out.print(f"No orders between {d0 or 'the start'} and {d1 or 'the end'}.")
    else:
        out.print(
            output.rich_table(
                table,
                columns=[by, *_KPI_TABLE_COLUMNS],
                title=f"KPIs by {by} ({tz})",
            )
        )
        out.print("[dim]All KPIs: --json or --csv.[/]")


# --- segments -----------------------------------------------------------------------


def segments_cmd(
    store_path: StoreOpt = None,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    no_save: NoSaveOpt = False,
    source: SourceOpt = None,
    engine: EngineOpt = EngineName.duckdb,
    spark_master: MasterOpt = "local[2]",
) -> None:
    """RFM scores, the named RFM segments and the behavioural segments (VIP, promo addict...)."""
    fmt = _format(as_json, as_csv)
    settings = _settings(store=store_path)
    with open_analysis(
        settings,
        source=source,
        engine=engine,
        master=spark_master,
        write=not no_save,
        needs_orders="for segments",
        timezone=timezone,
    ) as (con, save_to, tz):
        assigned = analytics.assign_segments(con, rules=settings.segments)
        rfm = analytics.segment_summary(assigned, "rfm")
        behaviour = analytics.segment_summary(assigned, "behaviour")
        if save_to is not None:
            rules = settings.segments.model_dump()
            store.write_result(save_to, "customer_segments", assigned, rules)
            store.write_result(save_to, "segment_summary_rfm", rfm)
            store.write_result(save_to, "segment_summary_behaviour", behaviour)
    fields = {"timezone": tz, "customers": assigned.num_rows}
    if fmt is Format.json:
        out.print_json(output.json_document("segments", fields, rfm=rfm, behaviour=behaviour))
    elif fmt is Format.csv:
        sys.stdout.write(output.csv_text(rfm, {"kind": "rfm"}))
        sys.stdout.write(output.csv_text(behaviour, {"kind": "behaviour"}).split("\n", 1)[1])
    else:
        out.print(output.rich_table(rfm, title=f"RFM segments ({assigned.num_rows:,} customers)"))
        out.print(output.rich_table(behaviour, title="Behavioural segments"))


# --- cohorts ------------------------------------------------------------------------


def cohorts_cmd(
    store_path: StoreOpt = None,
    metric: Annotated[
        CohortMetric, typer.Option(help="Retention of customers or of revenue.")
    ] = CohortMetric.customers,
    timezone: TzOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    no_save: NoSaveOpt = False,
    source: SourceOpt = None,
    engine: EngineOpt = EngineName.duckdb,
    spark_master: MasterOpt = "local[2]",
) -> None:
    """Monthly acquisition cohorts: retention by month since first order."""
    fmt = _format(as_json, as_csv)
    settings = _settings(store=store_path)
    with open_analysis(
        settings,
        source=source,
        engine=engine,
        master=spark_master,
        write=not no_save,
        needs_orders="for cohorts",
        timezone=timezone,
    ) as (con, save_to, tz):
        table = analytics.cohort_matrix(con, metric=metric.value)
        if save_to is not None:
            store.write_result(save_to, f"cohorts_{metric.value}", table, {"metric": metric.value})
    fields = {"timezone": tz, "metric": metric.value}
    if fmt is Format.json:
        out.print_json(output.json_document("cohorts", fields, rows=table))
    elif fmt is Format.csv:
        sys.stdout.write(output.csv_text(table))
    else:
        months = max(3, min(24, (out.width - 20) // 6 - 1))
        out.print(
            output.cohort_grid(
                table, title=f"{metric.value.capitalize()} retention", max_months=months
            )
        )


# --- status -------------------------------------------------------------------------


def status_cmd(
    store_path: StoreOpt = None, timezone: TzOpt = None, as_json: JsonOpt = False
) -> None:
    """Tables, row counts, date ranges and what has been computed."""
    settings = _settings(store=store_path)
    with _open(settings, write=False, timezone=timezone) as con:
        st = store.store_status(con)
        tz = store.session_timezone(con)
        meta = store.read_meta(con)
    tables = output.status_tables(st)
    results = output.status_results(st)
    if as_json:
        out.print_json(
            output.json_document(
                "status",
                {
                    "store": str(settings.store),
                    "timezone": tz,
                    "shop": {"timezone": meta.timezone, "currency": meta.currency},
                    "missing_required": st.missing_required,
                },
                tables=tables,
                results=results,
            )
        )
        return
    out.print(output.rich_table(tables, title=f"{settings.store}"))
    out.print(
        f"shop time zone {meta.timezone or f'not recorded (using {tz})'},"
        f" currency {meta.currency or 'not recorded'}",
        markup=False,
        highlight=False,
    )
    if st.missing_required:
        out.print(f"[yellow]missing required tables: {', '.join(st.missing_required)}[/]")
    if results.num_rows:
        out.print(output.rich_table(results, title="Computed results"))
    else:
        out.print("[dim]Nothing computed yet: run kpis, segments or cohorts.[/]")
