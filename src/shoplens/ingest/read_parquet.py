"""Parquet via DuckDB's ``read_parquet``: scalars cast to text, nested values as JSON."""

from __future__ import annotations

from pathlib import Path

import duckdb

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable
from shoplens.ingest.read_staging import duck_message, ident, name_columns, stage

__all__ = ["read_parquet"]


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: str, base: str) -> RawTable:
    try:
        described = con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [str(path)],
        ).fetchall()
    except duckdb.Error as e:
        raise _parquet_error(e, source) from None
    raw = [str(r[0]) for r in described]
    names, aliases, placeholders = name_columns(raw, source)
    exprs = []
    for (col, typ), alias in zip(described, aliases, strict=True):
        t = str(typ).upper()
        nested = t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "JSON"))
        value = f"to_json({ident(col)})" if nested else ident(col)
        exprs.append(f"CAST({value} AS VARCHAR) AS {ident(alias)}")
    select = ", ".join([*exprs, f"CAST(row_number() OVER () AS BIGINT) AS {ident(ROW_COLUMN)}"])
    return stage(
        con,
        base,
        f"SELECT {select} FROM read_parquet(?)",
        [str(path)],
        names,
        placeholders,
        source,
        "row",
        lambda e: _parquet_error(e, source),
    )


def _parquet_error(e: duckdb.Error, source: str) -> InputError:
    return InputError(f"not a readable Parquet file ({duck_message(e)})", source=source)
