"""Helpers shared by the readers: TEMP table names, column names, DuckDB messages.

Every reader stages a :class:`~shoplens.ingest.raw.RawTable`; these helpers give the
table a fresh name, clean and check the header names, and drop the unnamed columns
that hold no value (an unnamed column holding values is an error).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import duckdb

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN

__all__ = [
    "check_names",
    "clean_name",
    "count_rows",
    "drop_empty_columns",
    "duck_message",
    "duck_message_text",
    "ident",
    "name_columns",
    "new_table",
]

_table_counter = itertools.count(1)


def ident(name: str) -> str:
    """``name`` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def new_table(con: duckdb.DuckDBPyConnection, base: str) -> str:
    """A TEMP table name ``<base>_<n>`` not in use on ``con``."""
    existing = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    }
    while True:
        candidate = f"{base}_{next(_table_counter)}"
        if candidate not in existing:
            return candidate


def clean_name(raw: object) -> str:
    """A header name without BOM and surrounding whitespace (None: empty)."""
    return str(raw if raw is not None else "").replace("\ufeff", "").strip()


def check_names(names: Sequence[str], source: str, what: str = "header") -> None:
    """Raise on duplicate names; empty names are handled by the caller."""
    seen: dict[str, int] = {}
    for i, n in enumerate(names, start=1):
        if not n:
            continue
        if n in seen:
            raise InputError(
                f"duplicate column name in the {what} (fields {seen[n]} and {i}); "
                "expected unique column names",
                source=source,
                column=n,
            )
        seen[n] = i


def duck_message(e: duckdb.Error) -> str:
    """The first line of a DuckDB error, without its ``...Error: `` prefix."""
    return duck_message_text(str(e))


def duck_message_text(text: str) -> str:
    text = text.strip()
    first = text.splitlines()[0] if text else "unknown error"
    return re.sub(r"^[A-Za-z ]*Error: ", "", first)


def drop_empty_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    names: list[str],
    placeholders: dict[int, str],
    source: str,
) -> list[str]:
    """Drop unnamed columns holding no value; raise if an unnamed column holds one."""
    if not placeholders:
        return names
    for pos, ph in placeholders.items():
        hit = con.execute(
            f"SELECT min({ident(ROW_COLUMN)}) FROM {ident(table)} "
            f"WHERE {ident(ph)} IS NOT NULL AND trim({ident(ph)}) <> ''"
        ).fetchall()
        if hit and hit[0][0] is not None:
            after = next((n for n in reversed(names[: pos - 1]) if n), None)
            where = f" (after {after!r})" if after else ""
            con.execute(f"DROP TABLE IF EXISTS {ident(table)}")
            raise InputError(
                f"header field {pos}{where} is empty but the column holds values; "
                "expected a name for every column",
                source=source,
                row=int(hit[0][0]),
            )
        con.execute(f"ALTER TABLE {ident(table)} DROP COLUMN {ident(ph)}")
    return [n for i, n in enumerate(names, start=1) if i not in placeholders]


def name_columns(
    names_raw: Sequence[object], source: str
) -> tuple[list[str], list[str], dict[int, str]]:
    """(clean names, SQL aliases, {position: placeholder} for empty names)."""
    names = [clean_name(n) for n in names_raw]
    check_names(names, source)
    placeholders = {i: f"__shoplens_empty_{i}" for i, n in enumerate(names, start=1) if not n}
    aliases = [n or placeholders[i] for i, n in enumerate(names, start=1)]
    return names, aliases, placeholders


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in ``table``."""
    row = con.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()
    return int(row[0][0]) if row else 0
