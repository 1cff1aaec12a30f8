"""CSV/TSV/TXT: delimiter sniffing, DuckDB's ``read_csv``, line numbering, errors.

DuckDB's ``read_csv`` reads every field as text, in strict mode (a row with another
field count than the header is an error naming its line). The delimiter is taken from
the header line (``,`` ``;`` tab ``|``: the one that splits the first records
consistently into the most fields) unless given. ``__row`` is the line number in the
file (the header is line 1, unless blank lines precede it: they are skipped and
counted): exact when every record is one line (the common case, checked by counting
line breaks); with blank lines or quoted multi-line fields the lines are numbered by a
second pass with Python's csv module; should that pass disagree with DuckDB on the
records, ``__row`` falls back to record number + 1 (plus the leading blank lines).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable
from shoplens.ingest.read_staging import duck_message, ident, name_columns, stage
from shoplens.ingest.read_text import MAX_LINE_BYTES, prepare_text, utf8_file

__all__ = ["read_csv"]

_DELIMITERS = (",", ";", "\t", "|")
_NAMED_DELIMITERS = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _first_records(text: str, delim: str, limit: int = 20) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delim, quotechar='"')
    records: list[list[str]] = []
    try:
        for rec in reader:
            if rec:
                records.append(rec)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def _pick_delimiter(head_text: str, ext: str) -> str:
    """The delimiter splitting the first records consistently into the most fields."""
    # The last line of the head may be cut: drop it.
    cut = head_text.rsplit("\n", 1)[0] if "\n" in head_text else head_text
    best: tuple[int, int, int] | None = None
    for rank, d in enumerate(_DELIMITERS):
        recs = _first_records(cut, d)
        if not recs:
            continue
        width = len(recs[0])
        if width < 2:
            continue
        consistent = int(all(len(r) == width for r in recs))
        score = (consistent, width, -rank)
        if best is None or score > best:
            best = score
    if best is not None:
        return _DELIMITERS[-best[2]]
    return "\t" if ext in (".tsv", ".tab") else ","


def _parse_delimiter(delimiter: str, source: str) -> str:
    d = _NAMED_DELIMITERS.get(delimiter.lower(), delimiter)
    if len(d) != 1 or d in ('"', "\n", "\r"):
        raise InputError(
            f"invalid delimiter {delimiter!r}; expected one character such as , ; | or tab",
            source=source,
        )
    return d


def _sniff_escape(
    con: duckdb.DuckDBPyConnection, file: Path, delim: str, gz: bool, head_text: str
) -> str:
    """'\\' when the file escapes quotes with a backslash (DuckDB's sniffer agrees)."""
    if '\\"' not in head_text:
        return '"'
    try:
        row = con.execute(
            "SELECT Escape FROM sniff_csv(?, delim = ?, quote = '\"', compression = ?)",
            [str(file), delim, "gzip" if gz else "none"],
        ).fetchall()
    except duckdb.Error:
        return '"'
    return "\\" if row and row[0][0] == "\\" else '"'


def read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: str,
    base: str,
    compressed: bool,
    encoding: str | None,
    delimiter: str | None,
    ext: str,
) -> RawTable:
    """Stage a CSV/TSV file; ``ext`` (``.csv``, ``.tsv``...) picks the default delimiter."""
    scan, enc, head_text = prepare_text(path, compressed, source, encoding)
    if not head_text.strip():
        raise InputError("no header line (the file holds only blank lines)", source=source)
    # Blank lines before the header: DuckDB would take the first one as the header.
    skip = _leading_blank_lines(head_text)
    delim = (
        _parse_delimiter(delimiter, source)
        if delimiter is not None
        else _pick_delimiter(head_text, ext)
    )
    header = next(iter(_first_records(head_text, delim, limit=1)), None)
    if header is None:
        raise InputError("cannot read a header line; expected column names", source=source)
    names, aliases, placeholders = name_columns(header, source)

    with utf8_file(path, compressed, enc, source) as (file, gz):
        escape = _sniff_escape(con, file, delim, gz, head_text)
        cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
        select = ", ".join(f"c{i} AS {ident(a)}" for i, a in enumerate(aliases))
        query = (
            f"SELECT {select}, "
            f"CAST(row_number() OVER () + {skip + 1} AS BIGINT) AS {ident(ROW_COLUMN)} "
            f"FROM read_csv(?, auto_detect = false, header = true, skip = {skip}, delim = ?, "
            f"quote = '\"', escape = ?, columns = {cols}, strict_mode = true, "
            f"null_padding = false, max_line_size = {MAX_LINE_BYTES}, compression = ?)"
        )

        def renumber(table: str, rows: int) -> None:
            if rows + 1 + skip != scan.lines and rows > 0:
                _renumber_lines(con, table, file, gz, delim, escape, len(names), rows, skip)

        return stage(
            con,
            base,
            query,
            [str(file), delim, escape, "gzip" if gz else "none"],
            names,
            placeholders,
            source,
            "line",
            lambda e: _csv_error(e, file, gz, delim, escape, len(names), source, skip),
            renumber,
        )


def _leading_blank_lines(text: str) -> int:
    """Empty lines at the start of ``text`` (lines holding only a line break)."""
    m = re.match(r"(?:\r?\n)*", text)
    return m.group().count("\n") if m else 0


def _open_text(file: Path, gz: bool) -> IO[str]:
    if gz:
        return gzip.open(file, "rt", encoding="utf-8-sig", newline="")
    return file.open(encoding="utf-8-sig", newline="")


def _python_csv_records(
    file: Path, gz: bool, delim: str, escape: str, skip: int
) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of every non-blank record after the header, Python's csv.

    The header is the first record after the ``skip`` blank lines at the start.
    """
    csv.field_size_limit(max(MAX_LINE_BYTES * 4, 1 << 24))
    with _open_text(file, gz) as f:
        if escape == "\\":
            reader = csv.reader(
                f, delimiter=delim, quotechar='"', escapechar="\\", doublequote=False
            )
        else:
            reader = csv.reader(f, delimiter=delim, quotechar='"')
        prev = 0
        header = True
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if start <= skip:
                continue
            if header:
                header = False
                continue
            if rec:
                yield start, rec


def _renumber_lines(
    con: duckdb.DuckDBPyConnection,
    table: str,
    file: Path,
    gz: bool,
    delim: str,
    escape: str,
    width: int,
    rows: int,
    skip: int,
) -> None:
    """Blank lines or multi-line fields: number records by their line in the file."""
    try:
        starts = [
            start
            for start, rec in _python_csv_records(file, gz, delim, escape, skip)
            if width > 1 or rec != [""]
        ]
    except (csv.Error, UnicodeDecodeError, OSError):
        return
    if len(starts) != rows:
        return  # Python and DuckDB disagree: keep record number + 1.
    lines = pa.table(
        {
            "i": pa.array(range(skip + 2, skip + rows + 2), pa.int64()),
            "line": pa.array(starts, pa.int64()),
        }
    )
    view = f"{table}__lines"
    con.register(view, lines)
    try:
        con.execute(
            f"UPDATE {ident(table)} SET {ident(ROW_COLUMN)} = l.line FROM {ident(view)} l "
            f"WHERE {ident(table)}.{ident(ROW_COLUMN)} = l.i"
        )
    finally:
        con.unregister(view)


def _csv_error(
    e: duckdb.Error,
    file: Path,
    gz: bool,
    delim: str,
    escape: str,
    width: int,
    source: str,
    skip: int,
) -> InputError:
    """Translate a DuckDB CSV error, finding the offending line when possible."""
    text = str(e)
    if "Expected Number of Columns" in text or "quote" in text.lower():
        try:
            for start, rec in _python_csv_records(file, gz, delim, escape, skip):
                if len(rec) != width:
                    shown = "tab" if delim == "\t" else repr(delim)
                    return InputError(
                        f"{len(rec)} field{'' if len(rec) == 1 else 's'} where the header "
                        f"has {width} "
                        f"(delimiter {shown}); expected the same number of fields on every line",
                        source=source,
                        row=start,
                    )
        except (csv.Error, UnicodeDecodeError, OSError):
            pass
    m = re.search(r"CSV Error on Line: (\d+)", text)
    line = int(m.group(1)) if m else None
    if "Expected Number of Columns" in text:
        found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        detail = f"{found.group(2)} fields where the header has {found.group(1)}" if found else ""
        return InputError(
            f"{detail}; expected the same number of fields on every line",
            source=source,
            row=line,
        )
    if "quote" in text.lower():
        return InputError(
            "unterminated quoted field; expected every opening quote to be closed",
            source=source,
            row=line,
        )
    return InputError(f"cannot read as CSV: {duck_message(e)}", source=source, row=line)
