"""What a store holds: tables, row counts, date ranges and computed results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from shoplens.schema import CANONICAL, TRUTH
from shoplens.store.db import existing_tables
from shoplens.store.results import ResultInfo, list_results

# the column that dates each table
_DATE_COLUMN = {
    "customers": "signup_ts",
    "orders": "order_ts",
    "events": "event_ts",
}


@dataclass(frozen=True)
class TableStatus:
    name: str
    rows: int
    kind: str  # "canonical", "truth", "result"
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class StoreStatus:
    tables: list[TableStatus]
    missing_required: list[str]
    results: list[ResultInfo]

    def table(self, name: str) -> TableStatus | None:
        return next((t for t in self.tables if t.name == name), None)


def store_status(con: duckdb.DuckDBPyConnection) -> StoreStatus:
    have = existing_tables(con)
    results = list_results(con)
    result_names = {r.name for r in results}
    tables: list[TableStatus] = []
    for name in [*CANONICAL, *TRUTH, *sorted(result_names)]:
        if name not in have:
            continue
        kind = "canonical" if name in CANONICAL else "truth" if name in TRUTH else "result"
        col = _DATE_COLUMN.get(name)
        if col:
            row = con.execute(
                f'SELECT count(*), min("{col}"), max("{col}") FROM "{name}"'
            ).fetchone()
            assert row is not None
            tables.append(TableStatus(name, int(row[0]), kind, row[1], row[2]))
        else:
            row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            assert row is not None
            tables.append(TableStatus(name, int(row[0]), kind))
    missing = [n for n, t in CANONICAL.items() if t.required and n not in have]
    return StoreStatus(tables, missing, results)
