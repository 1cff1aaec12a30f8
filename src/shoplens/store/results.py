"""Result tables: analyses write their output back to the store under a fixed name.

Each write replaces the table and records when it was computed, with which
parameters and in which time zone (``params["timezone"]``, the connection's), in
``shoplens_results``, all in one transaction.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from shoplens.store.db import existing_tables, note_committed
from shoplens.store.meta import session_timezone

RESULTS_TABLE = "shoplens_results"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ResultInfo:
    name: str
    computed_at: datetime
    rows: int
    params: dict[str, Any]


def _ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} ("
        " name VARCHAR PRIMARY KEY, computed_at TIMESTAMPTZ NOT NULL,"
        " rows BIGINT NOT NULL, params VARCHAR NOT NULL)"
    )


def write_result(
    con: duckdb.DuckDBPyConnection, name: str, data: Any, params: dict[str, Any] | None = None
) -> None:
    """Replace result table ``name`` with ``data`` (Arrow, DataFrame or relation)."""
    if not _NAME.match(name) or name == RESULTS_TABLE:
        raise ValueError(f"invalid result table name {name!r}")
    params = {**(params or {}), "timezone": session_timezone(con)}
    con.register("__shoplens_result", data)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            _ensure_results_table(con)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM __shoplens_result')
            row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            n = int(row[0]) if row else 0
            con.execute(
                f"INSERT OR REPLACE INTO {RESULTS_TABLE} VALUES (?, now(), ?, ?)",
                [name, n, json.dumps(params, default=str, sort_keys=True)],
            )
            con.execute("COMMIT")
            note_committed()
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("__shoplens_result")


def list_results(con: duckdb.DuckDBPyConnection) -> list[ResultInfo]:
    if RESULTS_TABLE not in existing_tables(con):
        return []
    rows = con.execute(
        f"SELECT name, computed_at, rows, params FROM {RESULTS_TABLE} ORDER BY name"
    ).fetchall()
    return [ResultInfo(r[0], r[1], int(r[2]), json.loads(r[3])) for r in rows]


def record_result(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> None:
    """Record that result table ``name`` was updated in place (e.g. upserted by the
    stream processor) now, with its row count; call inside the writer's transaction."""
    if not _NAME.match(name) or name == RESULTS_TABLE:
        raise ValueError(f"invalid result table name {name!r}")
    _ensure_results_table(con)
    row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
    n = int(row[0]) if row else 0
    con.execute(
        f"INSERT OR REPLACE INTO {RESULTS_TABLE} VALUES (?, now(), ?, ?)",
        [name, n, json.dumps(params or {}, default=str, sort_keys=True)],
    )
