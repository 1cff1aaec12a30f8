"""Excel .xlsx via openpyxl (read-only, cached formula values): one table per sheet.

The header is the first non-empty row; ``__row`` is the sheet row number. Whole numbers
are written without ``.0``, dates as ``YYYY-MM-DD``, datetimes as
``YYYY-MM-DD HH:MM:SS``, booleans as ``true``/``false``.

A cell holding a formula whose value was never saved (a workbook written by a program,
not saved in Excel) has no value to read: it is staged empty and counted per column in
:attr:`RawTable.unsaved_formulas`, so that the cleaning can say so instead of calling
it a missing value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import duckdb
import openpyxl
import pyarrow as pa
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable
from shoplens.ingest.read_staging import duck_message, ident, name_columns, new_table, stage

__all__ = ["read_excel"]


def _cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() else str(v)
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    s = str(v)
    return s if s != "" else None


def read_excel(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, base: str, sheet: str | None
) -> list[RawTable]:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types on corrupt input
        raise InputError(
            f"not a valid .xlsx workbook ({type(e).__name__}: {e})", source=source
        ) from None
    out: list[RawTable] = []
    ok = False
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(
                f"no sheet named {sheet!r}; the workbook has: "
                + ", ".join(repr(s) for s in wb.sheetnames),
                source=source,
            )
        wanted = [sheet] if sheet is not None else list(wb.sheetnames)
        for title in wanted:
            ws = wb[title]
            sheet_source = f"{source}[{title}]"
            if not hasattr(ws, "iter_rows"):  # a chart sheet: no cells
                if sheet is not None:
                    raise InputError("is a chart sheet, not a table", source=sheet_source)
                continue
            try:
                rows = [
                    (i, [_cell_text(v) for v in r])
                    for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
                ]
            except Exception as e:  # corrupt sheet XML
                raise InputError(
                    f"cannot read the sheet ({type(e).__name__}: {e})", source=sheet_source
                ) from None
            staged = _stage_sheet(con, rows, sheet_source, base, _unsaved_formulas(ws))
            if staged is not None:
                out.append(staged)
        if not out:
            what = f"sheet {sheet!r} is" if sheet is not None else "every sheet is"
            raise InputError(f"{what} empty; expected a header row", source=source)
        ok = True
        return out
    finally:
        wb.close()
        if not ok:
            for t in out:
                con.execute(f"DROP TABLE IF EXISTS {ident(t.table)}")


def _unsaved_formulas(ws: Any) -> set[tuple[int, int]]:
    """(row, column) of the cells holding a formula without a saved value (1-based).

    openpyxl reads such a cell as empty; the sheet's XML tells them apart: a ``<c>``
    with an ``<f>`` and no ``<v>``. A cheap byte scan skips sheets without formulas.
    """
    get_source = getattr(ws, "_get_source", None)
    if get_source is None:
        return set()
    try:
        with get_source() as src:
            tail, found = b"", False
            while chunk := src.read(1 << 20):
                if b"<f" in tail + chunk or b":f " in tail + chunk or b":f>" in tail + chunk:
                    found = True
                    break
                tail = chunk[-4:]
        if not found:
            return set()
        out: set[tuple[int, int]] = set()
        with get_source() as src:
            for _, elem in ElementTree.iterparse(src, events=("end",)):
                if elem.tag.rsplit("}", 1)[-1] != "c":
                    continue
                kids = {k.tag.rsplit("}", 1)[-1]: k for k in elem}
                value = kids.get("v")
                ref = elem.get("r")
                if "f" in kids and (value is None or not (value.text or "")) and ref:
                    col, row = coordinate_from_string(ref)
                    out.add((int(row), column_index_from_string(col)))
                elem.clear()
        return out
    except (ElementTree.ParseError, OSError, ValueError):
        return set()  # openpyxl read the values: leave the check out


def _stage_sheet(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[int, list[str | None]]],
    source: str,
    base: str,
    unsaved: set[tuple[int, int]] | None = None,
) -> RawTable | None:
    start = next((k for k, (_, r) in enumerate(rows) if any(v is not None for v in r)), None)
    if start is None:
        return None
    header_row = rows[start][1]
    data = rows[start + 1 :]
    while data and not any(v is not None for v in data[-1][1]):
        data.pop()
    width = max([len(header_row), *(len(r) for _, r in data)])
    header = [*header_row, *([None] * (width - len(header_row)))]
    names, _, _ = name_columns(header, source)
    keep: list[int] = []
    for j, n in enumerate(names):
        if n:
            keep.append(j)
            continue
        hit = next((i for i, r in data if j < len(r) and r[j] is not None), None)
        if hit is not None:
            after = next((x for x in reversed(names[:j]) if x), None)
            where = f" (after {after!r})" if after else ""
            raise InputError(
                f"column {_excel_col(j + 1)}{where} has values but no header; "
                "expected a name for every column",
                source=source,
                row=hit,
            )
        # An unnamed, empty column (e.g. a blank first column): dropped.
    if not keep:
        # Only whitespace in the first non-empty row and nothing below: an empty sheet.
        return None
    columns = {
        f"c{k}": pa.array([r[j] if j < len(r) else None for _, r in data], pa.string())
        for k, j in enumerate(keep)
    }
    columns["r"] = pa.array([i for i, _ in data], pa.int64())
    formulas: dict[str, tuple[int, int]] = {}
    data_rows = {i for i, _ in data}
    for r, c in sorted(unsaved or ()):
        j = c - 1
        if r in data_rows and j in keep:
            cells, first = formulas.get(names[j], (0, r))
            formulas[names[j]] = (cells + 1, first)
    view = f"{new_table(con, base)}__arrow"
    select = ", ".join(f"c{k} AS {ident(names[j])}" for k, j in enumerate(keep))
    con.register(view, pa.table(columns))
    try:
        raw = stage(
            con,
            base,
            f"SELECT {select}, r AS {ident(ROW_COLUMN)} FROM {ident(view)} ORDER BY r",
            [],
            [names[j] for j in keep],
            {},
            source,
            "row",
            lambda e: InputError(f"cannot stage the sheet ({duck_message(e)})", source=source),
        )
    finally:
        con.unregister(view)
    return dataclasses.replace(raw, unsaved_formulas=formulas) if formulas else raw


def _excel_col(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
