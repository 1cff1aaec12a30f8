"""Exact duplicates across the sources of one import (sheets of a workbook, files).

Within one source, :func:`shoplens.ingest.clean.stage_rows` drops rows equal to an
earlier row in every cell. Sources of one import overlap too: the UCI "Online Retail
II" workbook has two sheets that both hold the first days of December 2010, the same
invoices with the same lines. A line is a duplicate whatever source it comes from, so
:class:`SeenLines` remembers a key of every line staged by the earlier sources of the
import; a later source's line with the same key is dropped and counted
(``overlap_rows``, part of ``duplicate_rows``).

The key of a line is the MD5 of its values as JSON: the mapped fields' trimmed values
(by canonical field name, so ``Price`` in one sheet matches ``UnitPrice`` in another)
and the other source columns' trimmed values with their names. Two sources with
different unmapped columns share no duplicates: a line is only a duplicate when it is
the same in every cell. An order legitimately spread over two sources keeps its
distinct lines.
"""

from __future__ import annotations

import itertools

import duckdb

from shoplens.ingest.raw import RawTable
from shoplens.ingest.read_staging import ident

KEY_COLUMN = "__sl_key"

_counter = itertools.count(1)


def line_key_sql(raw: RawTable, cols: dict[str, str]) -> str:
    """SQL over ``raw``'s columns: the line's key (UHUGEINT), see the module docstring."""
    mapped = set(cols.values())
    parts: list[str] = []
    for field in sorted(cols):
        parts.append(f"NULLIF(trim({ident(cols[field])}), '')")
    for c in sorted((c for c in raw.columns if c not in mapped), key=str.casefold):
        name = c.casefold().replace("'", "''")
        parts += [f"'{name}'", f"NULLIF(trim({ident(c)}), '')"]
    return f"md5_number(to_json(list_value({', '.join(parts)})))"


class SeenLines:
    """The keys of the lines staged by the earlier sources of one import (a TEMP table).

    Call :meth:`drop` when the import ends (also on error).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.table = f"temp.main.__sl_seen_{next(_counter)}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table.rsplit('.', 1)[-1]} (k UHUGEINT)")

    def remove_seen(self, rows_table: str) -> int:
        """Delete from ``rows_table`` the lines an earlier source staged; return how many
        source rows they were (``__sl_n`` counts a line's copies within its source)."""
        k = ident(KEY_COLUMN)
        n = self.con.execute(
            f"SELECT coalesce(sum(__sl_n), 0) FROM {rows_table}"
            f" WHERE {k} IN (SELECT k FROM {self.table})"
        ).fetchone()
        removed = int(n[0]) if n else 0
        if removed:
            self.con.execute(f"DELETE FROM {rows_table} WHERE {k} IN (SELECT k FROM {self.table})")
        return removed

    def add(self, rows_table: str) -> None:
        self.con.execute(f"INSERT INTO {self.table} SELECT {ident(KEY_COLUMN)} FROM {rows_table}")

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.table}")
