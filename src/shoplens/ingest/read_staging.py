"""Helpers shared by the readers: TEMP table names, column names, DuckDB messages.

Every reader stages a :class:`~shoplens.ingest.raw.RawTable`; these helpers give the
table a fresh name, clean and check the header names, and drop the unnamed columns
that hold no value (an unnamed column holding values is an error).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

import duckdb

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable

__all__ = [
    "check_names",
    "clean_name",
    "drop_empty_columns",
    "duck_message",
    "duck_message_text",
    "ident",
    "name_columns",
    "new_table",
    "stage",
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
    """Raise on duplicate names and on the reserved ``__row``; empty names are the caller's.

    Names are compared case-insensitively, as DuckDB compares column names: ``Ref`` and
    ``ref`` in one header would otherwise be staged as ``Ref`` and ``ref_1``.
    """
    seen: dict[str, int] = {}
    reserved = ROW_COLUMN.casefold()
    for i, n in enumerate(names, start=1):
        if not n:
            continue
        key = n.casefold()
        if key == reserved:
            raise InputError(
                f"reserved column name in the {what} (field {i}, used for the row number); "
                "expected another column name",
                source=source,
                column=n,
            )
        if key in seen:
            raise InputError(
                f"duplicate column name in the {what} (fields {seen[key]} and {i}); "
                "expected unique column names",
                source=source,
                column=n,
            )
        seen[key] = i


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
    """Drop unnamed columns holding no value; raise if an unnamed column holds one.

    On error ``table`` is left for the caller to drop (:func:`stage` does).
    """
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


def stage(
    con: duckdb.DuckDBPyConnection,
    base: str,
    query: str,
    params: Sequence[object],
    names: list[str],
    placeholders: dict[int, str],
    source: str,
    row_kind: str,
    on_error: Callable[[duckdb.Error], InputError],
    after: Callable[[str, int], None] | None = None,
) -> RawTable:
    """Stage ``query`` as a new TEMP table and describe it as a :class:`RawTable`.

    ``query`` selects the columns aliased as :func:`name_columns` says, plus
    ``__row``; a DuckDB error becomes ``on_error(e)``. ``after(table, rows)`` runs
    before the unnamed empty columns are dropped (e.g. to renumber ``__row``). On any
    error the table is dropped.
    """
    table = new_table(con, base)
    ok = False
    try:
        try:
            # CREATE TABLE ... AS returns the number of rows it wrote.
            created = con.execute(
                f"CREATE TEMP TABLE {ident(table)} AS {query}", list(params)
            ).fetchall()
        except duckdb.Error as e:
            raise on_error(e) from None
        rows = int(created[0][0]) if created else 0
        if after is not None:
            after(table, rows)
        kept = drop_empty_columns(con, table, names, placeholders, source)
        ok = True
    finally:
        if not ok:
            con.execute(f"DROP TABLE IF EXISTS {ident(table)}")
    return RawTable(table=table, source=source, columns=tuple(kept), rows=rows, row_kind=row_kind)
