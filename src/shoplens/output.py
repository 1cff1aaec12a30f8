"""Rendering library results (Arrow tables) as JSON documents, CSV and rich tables.

The JSON documents have a stable, documented shape (see the README):
``{"shoplens": <command>, "version": 1, ...command fields..., "rows": [...]}``.
Money and rates are JSON numbers (money rounded to cents), dates ISO strings.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from rich.table import Table
from rich.text import Text

from shoplens.store.status import StoreStatus

JSON_VERSION = 1


def plain(value: Any) -> Any:
    """A JSON-safe plain value: Decimal -> float, datetime/date -> ISO, NaN -> None."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in table.to_pylist()]


def json_document(command: str, fields: Mapping[str, Any], **tables: pa.Table) -> str:
    doc: dict[str, Any] = {"shoplens": command, "version": JSON_VERSION}
    doc.update({k: plain(v) for k, v in fields.items()})
    for name, table in tables.items():
        doc[name] = records(table)
    return json.dumps(doc, indent=2, ensure_ascii=False)


def csv_text(table: pa.Table, extra: Mapping[str, Any] | None = None) -> str:
    """CSV with a header; ``extra`` adds constant leading columns (e.g. kind=rfm)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    lead = list(extra or {})
    writer.writerow([*lead, *table.column_names])
    for row in table.to_pylist():
        writer.writerow([*(extra or {}).values(), *(_csv_cell(v) for v in row.values())])
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    v = plain(value)
    return "" if v is None else v


def format_value(name: str, value: Any) -> str:
    """Human formatting for a table cell, guided by the column name."""
    v = plain(value)
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if name.endswith(("_share", "_rate", "share")) or name in {"value"}:
            return f"{v:.1%}"
        if name.endswith(("revenue", "discounts")):
            return f"{v:,.0f}"
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}" if name not in {"hour", "months_since"} else str(v)
    return str(v)


# Column headers for people (the data keeps the stable snake_case names).
SHORT_HEADERS = {
    "revenue_share": "rev share",
    "avg_recency_days": "recency d",
    "avg_frequency": "orders/cust",
    "avg_monetary": "value/cust",
    "units_per_order": "units/order",
    "promo_order_share": "promo share",
    "cancellation_rate": "cancel rate",
    "completed_orders": "completed",
    "net_revenue": "net revenue",
}


def rich_table(
    table: pa.Table,
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Table:
    cols = list(columns) if columns is not None else table.column_names
    out = _table(title)
    names = {**SHORT_HEADERS, **(headers or {})}
    for i, c in enumerate(cols):
        kind = table.schema.field(c).type
        numeric = (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        )
        out.add_column(
            names.get(c, c).replace("_", " "),
            justify="right" if numeric else "left",
            no_wrap=numeric or i == 0,
        )
    for row in table.select(cols).to_pylist():
        out.add_row(*(Text(format_value(c, row[c])) for c in cols))
    return out


def _table(title: str | None) -> Table:
    # Titles and cells are Text, not markup: data (file names, product names, bad
    # values from a user's file) may contain "[...]", which rich would parse.
    return Table(
        title=Text(title) if title is not None else None,
        title_justify="left",
        header_style="bold",
    )


def key_value_table(
    items: Iterable[tuple[str, Any, str]], *, title: str | None = None, name_header: str = "KPI"
) -> Table:
    """A vertical table: name, formatted value, description."""
    out = _table(title)
    out.add_column(name_header, no_wrap=True)
    out.add_column("value", justify="right", no_wrap=True)
    out.add_column("meaning", style="dim")
    for name, value, meaning in items:
        out.add_row(Text(name), Text(format_value(name, value)), Text(meaning))
    return out


def counts_table(counts: Mapping[str, int]) -> pa.Table:
    return pa.table({"table": list(counts), "rows": [int(v) for v in counts.values()]})


def status_tables(status: StoreStatus) -> pa.Table:
    """StoreStatus -> table, kind, rows, first, last."""
    ts = status.tables
    return pa.table(
        {
            "table": [t.name for t in ts],
            "kind": [t.kind for t in ts],
            "rows": pa.array([t.rows for t in ts], pa.int64()),
            "first": [
                t.first.isoformat(sep=" ", timespec="minutes") if t.first else None for t in ts
            ],
            "last": [t.last.isoformat(sep=" ", timespec="minutes") if t.last else None for t in ts],
        }
    )


def status_results(status: StoreStatus) -> pa.Table:
    rs = status.results
    return pa.table(
        {
            "result": [r.name for r in rs],
            "rows": pa.array([r.rows for r in rs], pa.int64()),
            "computed_at": [r.computed_at.isoformat(sep=" ", timespec="seconds") for r in rs],
            "params": [json.dumps(r.params, sort_keys=True) for r in rs],
        }
    )


def cohort_grid(table: pa.Table, *, title: str, max_months: int = 12) -> Table:
    """Pivot the long cohort table into the classic triangle: cohorts x months since."""
    rows = table.to_pylist()
    months = sorted({r["months_since"] for r in rows})
    shown = [m for m in months if m <= max_months]
    out = _table(title)
    out.add_column("cohort", no_wrap=True)
    out.add_column("size", justify="right", no_wrap=True)
    for m in shown:
        out.add_column(f"M{m}", justify="right", no_wrap=True)
    by_cohort: dict[str, dict[int, Any]] = {}
    sizes: dict[str, int] = {}
    for r in rows:
        by_cohort.setdefault(r["cohort"], {})[r["months_since"]] = r["value"]
        sizes[r["cohort"]] = r["cohort_size"]
    for cohort, values in by_cohort.items():
        cells = [f"{values[m]:.0%}" if values.get(m) is not None else "" for m in shown]
        out.add_row(cohort, f"{sizes[cohort]:,}", *cells)
    if len(shown) < len(months):
        out.caption = f"months {max_months + 1}..{months[-1]} left out: --json or --csv for all"
    return out
