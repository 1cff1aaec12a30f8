"""The data-quality report of an import: every cleaning step counted, with examples.

Stored in the store in two tables, written in the import's transaction:

- ``import_runs``: one row per imported source (run id, source, mapping, date format,
  started/finished, every count of :class:`QualityReport` as a column; a count newer
  than the store's table is added as a column, 0 for the older runs);
- ``import_findings``: the findings of each run (kind, source, row, column, value,
  message), at most :data:`STORED_PER_KIND` per kind (the counts are exact).

Finding kinds (rows *dropped* are not in the canonical tables; the others are kept):

===================== ======== =========================================================
kind                  dropped  meaning
===================== ======== =========================================================
missing_value         yes      a required value is empty (order id, product, quantity,
                               price)
unparseable           yes      a value is not a number / date in the expected format
invalid_value         yes      quantity 0, negative quantity where not allowed, negative
                               discount
out_of_range          yes      a value too large for the store: quantity above
                               2,147,483,647, price, discount or quantity x price of
                               10^16 or more
negative_price        yes      unit price < 0 (accounting adjustments such as UCI's
                               "Adjust bad debt"; not a sale)
mixed_sign_line       yes      a negative-quantity line in an order with positive lines
orphan_line           yes      the line's order has no timestamp on any line (Olist: the
                               line's order is not among the imported orders)
conflicting_order     no       an order-level field differs between lines of an order:
                               the first line (in source order) wins
unknown_status        no       a status value in none of the mapping's lists: completed
zero_price            no       unit price 0 (free items)
quantity_outlier      no       quantity > median + 10 × max(MAD, median)
price_outlier         no       unit price > median + 10 × max(MAD, median)
future_date           no       order timestamp after the import time
empty_order           yes      Olist: an order without any line (not in the bad share)
orphan_order          no       Olist: the order's customer is not in the customers file:
                               kept as a guest order
untranslated_category no       Olist: a category without an English name, kept in
                               Portuguese (one finding per category)
other_currency        yes      an order in another currency than ``--currency``
converted_currency    no       an order converted with ``--fx-rates``
changed_customer      no       a customer already in the store whose country, name,
                               email, city or signup the import changes (merged)
===================== ======== =========================================================

``bad_rows`` (missing_value + unparseable + invalid_value + out_of_range) plus ``orphan_lines`` over
the rows left after removing empty and duplicate rows is the bad share checked against
``max_bad_share``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.ingest.read_staging import ident
from shoplens.store.db import existing_tables

RUNS_TABLE = "import_runs"
FINDINGS_TABLE = "import_findings"
EXAMPLES_PER_KIND = 5
STORED_PER_KIND = 100


@dataclass(frozen=True)
class Finding:
    kind: str
    source: str
    row: int | None
    column: str | None
    value: str | None
    message: str


# finding kind -> the report count it feeds
FINDING_COUNTS: dict[str, str] = {
    "missing_value": "missing_values",
    "unparseable": "unparseable_values",
    "invalid_value": "invalid_values",
    "out_of_range": "out_of_range_values",
    "negative_price": "negative_price_rows",
    "mixed_sign_line": "mixed_sign_lines",
    "orphan_line": "orphan_lines",
    "zero_price": "zero_price_lines",
    "quantity_outlier": "quantity_outliers",
    "price_outlier": "price_outliers",
    "future_date": "future_orders",
    "conflicting_order": "conflicting_orders",
    "unknown_status": "unknown_status_orders",
    "empty_order": "empty_orders",
    "orphan_order": "orphan_orders",
    "untranslated_category": "untranslated_categories",
    "other_currency": "other_currency_orders",
    "converted_currency": "converted_orders",
}


@dataclass
class QualityReport:
    """Counts of one imported source; see the module docstring for the kinds."""

    source: str
    mapping: str
    date_format: str = ""
    rows_read: int = 0
    empty_rows: int = 0
    duplicate_rows: int = 0
    overlap_rows: int = 0
    dates_parsed: int = 0
    bad_rows: int = 0
    missing_values: int = 0
    unparseable_values: int = 0
    invalid_values: int = 0
    out_of_range_values: int = 0
    negative_price_rows: int = 0
    mixed_sign_lines: int = 0
    orphan_lines: int = 0
    bad_share: float = 0.0
    lines: int = 0
    orders: int = 0
    customers: int = 0
    products: int = 0
    guest_orders: int = 0
    completed_orders: int = 0
    cancelled_orders: int = 0
    returned_orders: int = 0
    zero_price_lines: int = 0
    quantity_outliers: int = 0
    price_outliers: int = 0
    future_orders: int = 0
    conflicting_orders: int = 0
    unknown_status_orders: int = 0
    empty_orders: int = 0
    orphan_orders: int = 0
    untranslated_categories: int = 0
    other_currency_orders: int = 0
    converted_orders: int = 0
    merged_customers: int = 0
    changed_customers: int = 0
    run_id: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    findings: list[Finding] = field(default_factory=list)
    """Examples: at most :data:`EXAMPLES_PER_KIND` per kind (all stored ones when read back
    with ``examples=None``)."""

    def counts(self) -> dict[str, int | float]:
        return {f: getattr(self, f) for f in COUNT_FIELDS}

    def findings_table(self) -> pa.Table:
        """The example findings as a table: kind, row, column, value, message."""
        return pa.table(
            {
                "kind": [x.kind for x in self.findings],
                "row": pa.array([x.row for x in self.findings], pa.int64()),
                "column": [x.column for x in self.findings],
                "value": [x.value for x in self.findings],
                "message": [x.message for x in self.findings],
            }
        )

    def set_finding_counts(self, by_kind: dict[str, int]) -> None:
        """Set the per-kind counts (and ``bad_rows``) from the number of findings per kind."""
        for kind, attr in FINDING_COUNTS.items():
            setattr(self, attr, by_kind.get(kind, 0))
        self.bad_rows = (
            self.missing_values
            + self.unparseable_values
            + self.invalid_values
            + self.out_of_range_values
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("started_at", "finished_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


COUNT_DEFINITIONS: dict[str, str] = {
    "rows_read": "Data rows in the source.",
    "empty_rows": "Rows with every cell empty: dropped.",
    "duplicate_rows": "Exact copies of an earlier row: dropped.",
    "overlap_rows": "... of which copies of a line of an earlier sheet or file of the import.",
    "dates_parsed": "Order timestamps parsed (rows left after empty and duplicate rows).",
    "bad_rows": "Rows dropped for a missing, unparseable or invalid value.",
    "missing_values": "... of which a required value is empty.",
    "unparseable_values": "... of which a value is not a number/date in the expected format.",
    "invalid_values": "... of which quantity 0, a disallowed negative quantity or discount.",
    "out_of_range_values": "... of which a value too large for the store (quantity, money).",
    "negative_price_rows": "Rows with a negative unit price (adjustments): dropped.",
    "mixed_sign_lines": "Negative lines in orders with positive lines: dropped.",
    "orphan_lines": "Lines of orders without a timestamp on any line: dropped.",
    "bad_share": "(bad_rows + orphan_lines) / rows after empty and duplicate rows.",
    "lines": "Order lines imported.",
    "orders": "Orders imported.",
    "customers": "Customers imported (derived from the orders).",
    "products": "Products imported (derived from the lines).",
    "guest_orders": "Orders without a customer id: kept as guest orders.",
    "completed_orders": "Orders with status completed.",
    "cancelled_orders": "Orders with status cancelled (kept).",
    "returned_orders": "Orders with status returned (kept).",
    "zero_price_lines": "Lines with unit price 0 (kept).",
    "quantity_outliers": "Lines with quantity > median + 10 x max(MAD, median): flagged, kept.",
    "price_outliers": "Lines with unit price > median + 10 x max(MAD, median): flagged, kept.",
    "future_orders": "Orders dated after the import: kept.",
    "conflicting_orders": "Orders whose lines disagree on an order field: first line wins.",
    "unknown_status_orders": "Orders with a status value in no list: completed.",
    "empty_orders": "Olist: orders without any line: not imported (not in the bad share).",
    "orphan_orders": "Olist: orders whose customer is not in the customers file: guests.",
    "untranslated_categories": "Olist: categories without an English name: kept as is.",
    "other_currency_orders": "Orders in another currency than --currency: not imported.",
    "converted_orders": "Orders converted to the reporting currency with --fx-rates.",
    "merged_customers": "Customers already in the store (same id): merged.",
    "changed_customers": "... of which the import changed country, name, email or signup.",
}

_META = ("source", "mapping", "date_format", "run_id", "started_at", "finished_at", "findings")
COUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(QualityReport) if f.name not in _META)


def _count_type(name: str) -> str:
    return "DOUBLE" if name == "bad_share" else "BIGINT"


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the report tables; add count columns newer than an existing runs table."""
    counts = ", ".join(f"{ident(c)} {_count_type(c)} NOT NULL" for c in COUNT_FIELDS)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (run_id BIGINT PRIMARY KEY,"
        " source VARCHAR NOT NULL, mapping VARCHAR NOT NULL, date_format VARCHAR NOT NULL,"
        f" started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL, {counts})"
    )
    have = {
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns()"
            " WHERE table_name = $t AND schema_name = 'main'"
            " AND database_name = current_database()",
            {"t": RUNS_TABLE},
        ).fetchall()
    }
    for c in COUNT_FIELDS:
        if c not in have:  # a store written before the count existed: old runs count 0
            con.execute(
                f"ALTER TABLE {RUNS_TABLE} ADD COLUMN {ident(c)} {_count_type(c)} DEFAULT 0"
            )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {FINDINGS_TABLE} (run_id BIGINT NOT NULL,"
        ' kind VARCHAR NOT NULL, source VARCHAR NOT NULL, "row" BIGINT, "column" VARCHAR,'
        ' "value" VARCHAR, message VARCHAR NOT NULL)'
    )


def write_report(
    con: duckdb.DuckDBPyConnection, report: QualityReport, findings: pa.Table | None
) -> int:
    """Insert ``report`` (and the stored ``findings`` rows) inside the caller's transaction.

    ``findings`` has the columns of ``import_findings`` except ``run_id``. Returns the
    new run id (also set on ``report``).
    """
    _ensure_tables(con)
    ((last,),) = con.execute(f"SELECT coalesce(max(run_id), 0) FROM {RUNS_TABLE}").fetchall()
    run_id = int(last) + 1
    report.run_id = run_id
    cols = ["run_id", "source", "mapping", "date_format", "started_at", "finished_at"]
    values: list[Any] = [
        run_id,
        report.source,
        report.mapping,
        report.date_format,
        report.started_at,
        report.finished_at,
    ]
    cols += list(COUNT_FIELDS)
    values += [getattr(report, c) for c in COUNT_FIELDS]
    names = ", ".join(ident(c) for c in cols)
    marks = ", ".join("?" for _ in cols)
    con.execute(f"INSERT INTO {RUNS_TABLE} ({names}) VALUES ({marks})", values)
    if findings is not None and findings.num_rows:
        con.register("__sl_findings", findings)
        try:
            con.execute(
                f'INSERT INTO {FINDINGS_TABLE} SELECT ?, kind, source, "row", "column",'
                ' "value", message FROM __sl_findings',
                [run_id],
            )
        finally:
            con.unregister("__sl_findings")
    return run_id


def read_reports(
    con: duckdb.DuckDBPyConnection, last: int = 1, *, examples: int | None = EXAMPLES_PER_KIND
) -> list[QualityReport]:
    """The reports of the ``last`` imports, oldest first; [] if nothing was imported."""
    if RUNS_TABLE not in existing_tables(con):
        return []
    rel = con.execute(
        f"SELECT * FROM (SELECT * FROM {RUNS_TABLE} ORDER BY run_id DESC LIMIT ?) ORDER BY run_id",
        [last],
    )
    names = [d[0] for d in rel.description or []]
    reports: list[QualityReport] = []
    for row in rel.fetchall():
        data = dict(zip(names, row, strict=True))
        rep = QualityReport(**{k: v for k, v in data.items() if k in _FIELD_NAMES})
        rep.bad_share = float(rep.bad_share)
        reports.append(rep)
    if not reports:
        return reports
    limit = examples if examples is not None else 1 << 62
    found = con.execute(
        f'SELECT run_id, kind, source, "row", "column", "value", message FROM {FINDINGS_TABLE}'
        " WHERE run_id IN (SELECT unnest($runs)) QUALIFY row_number() OVER"
        " (PARTITION BY run_id, kind ORDER BY rowid) <= $limit ORDER BY rowid",
        {"runs": [r.run_id for r in reports], "limit": limit},
    ).fetchall()
    by_run: dict[int, list[Finding]] = {}
    for run_id, *rest in found:
        by_run.setdefault(int(run_id), []).append(Finding(*rest))
    for rep in reports:
        rep.findings = by_run.get(rep.run_id or 0, [])
    return reports


_FIELD_NAMES = {f.name for f in fields(QualityReport)}


def report_json(reports: list[QualityReport]) -> str:
    """The stable JSON document of ``shoplens import/quality --json``."""
    doc = {"shoplens": "quality", "version": 1, "imports": [r.to_json() for r in reports]}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)
