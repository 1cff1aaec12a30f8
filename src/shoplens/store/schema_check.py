"""Check on open that the store's canonical tables have the columns and types of ``schema``.

A store edited by hand or written by another tool (``quantity`` as text, a naive
``TIMESTAMP``) would otherwise fail later with a DuckDB binder error in the middle of an
analysis, or, worse, give numbers in the wrong time zone. Types are compared by family
(any integer type for an INTEGER column, any number for money), so a store built by
another tool with compatible types still opens.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from shoplens.errors import StoreError
from shoplens.schema import CANONICAL, TRUTH

_INTEGER = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
_FLOAT = frozenset({"FLOAT", "DOUBLE"})


def _family(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    if t in _INTEGER:
        return "integer"
    if t.startswith("DECIMAL") or t in _FLOAT:
        return "number"
    if t in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return "timestamp with time zone"
    if t == "VARCHAR" or t.startswith("VARCHAR("):
        return "text"
    return t.lower()


def _accepts(expected: str, actual: str) -> bool:
    want, have = _family(expected), _family(actual)
    if want == "number":
        return have in ("number", "integer")
    return want == have


_READABLE = {
    "integer": "an integer",
    "number": "a number",
    "text": "text (VARCHAR)",
    "timestamp with time zone": "a TIMESTAMPTZ (timestamp with time zone)",
}


def check_schema(con: duckdb.DuckDBPyConnection, path: str | Path) -> None:
    """Raise a :class:`StoreError` naming the first canonical column that is missing or mistyped.

    Tables the store does not have are not checked (commands say which they need).
    """
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_catalog = current_database()"
    ).fetchall()
    have: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        have.setdefault(table, {})[column] = data_type
    for name, spec in {**CANONICAL, **TRUTH}.items():
        if name not in have:
            continue
        columns = have[name]
        for col in spec.columns:
            actual = columns.get(col.name)
            if actual is None:
                raise StoreError(
                    f"store {path}: table {name!r} has no column {col.name!r}"
                    " (not a shoplens store, or one edited by hand)"
                )
            if not _accepts(col.type, actual):
                want = _READABLE.get(_family(col.type), col.type)
                raise StoreError(
                    f"store {path}: column {name}.{col.name} is {actual}, expected {want}"
                    " (not a shoplens store, or one edited by hand)"
                )
