"""Readers: stage a CSV/TSV, Parquet, Excel or JSON-lines file as text TEMP tables.

:func:`read_raw` implements the contract of :mod:`shoplens.ingest.raw`: every source
column becomes VARCHAR (named as in the header, whitespace and BOM stripped), plus
``__row`` BIGINT saying where the record is in the source. Empty cells/fields and JSON
``null`` are SQL NULL. Parsing, mapping and cleaning happen later, in SQL.

How each format is read:

- **CSV/TSV/TXT** (optionally ``.gz``): a fast pre-scan in Python (numpy) checks the
  bytes (binary content, lines longer than :data:`MAX_LINE_BYTES`, UTF-8 validity),
  then DuckDB's ``read_csv`` reads every field as text, in strict mode (a row with
  another field count than the header is an error naming its line). The delimiter is
  taken from the header line (``,`` ``;`` tab ``|``: the one that splits the first
  records consistently into the most fields) unless given. Files that are not UTF-8
  (cp1252, else latin-1, or the given ``encoding``) are transcoded to a temporary UTF-8
  file first. ``__row`` is the line number in the file (the header is line 1): exact
  when every record is one line (the common case, checked by counting line breaks);
  with blank lines or quoted multi-line fields the lines are numbered by a second pass
  with Python's csv module; should that pass disagree with DuckDB on the records,
  ``__row`` falls back to record number + 1.
- **Parquet**: ``read_parquet``; scalars cast to text, nested values as JSON text.
  ``__row`` is the record number (1-based).
- **Excel .xlsx** (openpyxl, read-only, cached formula values): one table per non-empty
  sheet, or only ``sheet``. The header is the first non-empty row; ``__row`` is the
  sheet row number. Whole numbers are written without ``.0``, dates as ``YYYY-MM-DD``,
  datetimes as ``YYYY-MM-DD HH:MM:SS``, booleans as ``true``/``false``; a numeric cell
  holding an Excel serial date stays a number.
- **JSON lines** (``.jsonl``, ``.ndjson``, ``.json``; one object per line, a ``.json``
  array also works; optionally ``.gz``): columns are the keys in order of first
  appearance; strings as they are, numbers and booleans as JSON text, nested values as
  JSON text. ``__row`` is the record number (1-based).

The format is chosen from the extension, except that the magic bytes of gzip, zip
(xlsx) and Parquet win over an extension that says otherwise. Columns with an empty
header and no value at all (a trailing delimiter, a blank spreadsheet column) are
dropped; an empty header over values is an error.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import itertools
import re
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

import duckdb
import numpy as np
import openpyxl
import pyarrow as pa

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable

__all__ = ["MAX_LINE_BYTES", "SUPPORTED_EXTENSIONS", "read_raw"]

MAX_LINE_BYTES = 2 * 1024 * 1024
"""Longest line accepted in a text file (DuckDB's default ``max_line_size``)."""

_TEXT_EXTS = (".csv", ".tsv", ".txt", ".tab")
_JSON_EXTS = (".jsonl", ".ndjson", ".json")
_PARQUET_EXTS = (".parquet", ".pq")
_EXCEL_EXTS = (".xlsx", ".xlsm")
SUPPORTED_EXTENSIONS = (*_TEXT_EXTS, *_JSON_EXTS, *_PARQUET_EXTS, *_EXCEL_EXTS, ".gz")

_CHUNK = 8 * 1024 * 1024
_HEAD = 256 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_NAMED_DELIMITERS = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# Bytes undefined in cp1252: their presence means latin-1.
_NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_table_counter = itertools.count(1)


def read_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    name: str = "raw",
) -> list[RawTable]:
    """Stage ``path`` on ``con`` as TEMP table(s) of text; see the module docstring.

    ``sheet`` picks one Excel sheet (default: every non-empty sheet); ``encoding`` and
    ``delimiter`` override detection for text files; ``name`` goes into the TEMP table
    names (``__shoplens_raw_<name>_<n>``). Raises :class:`InputError` naming the file
    (and the row/line and column when known) for anything wrong with the input.
    """
    path = Path(path)
    source = path.name or str(path)
    if not path.exists():
        raise InputError(f"file not found: {path}", source=source)
    if path.is_dir():
        raise InputError(
            "is a directory; expected a CSV, Parquet, Excel or JSON-lines file", source=source
        )
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(8)
    except OSError as e:
        raise InputError(f"cannot read the file: {e.strerror or e}", source=source) from None
    if size == 0:
        raise InputError("the file is empty (0 bytes); expected a header line", source=source)

    kind, compressed = _detect_kind(path, magic, source)
    if sheet is not None and kind != "excel":
        raise InputError("a sheet can only be chosen for an Excel (.xlsx) file", source=source)
    if kind in ("parquet", "excel") and (encoding is not None or delimiter is not None):
        raise InputError(
            f"encoding and delimiter only apply to text files, not to {kind.title()}",
            source=source,
        )
    if kind == "json" and delimiter is not None:
        raise InputError("a delimiter does not apply to JSON lines", source=source)

    base = _table_base(name)
    if kind == "csv":
        return [_read_csv(con, path, source, base, compressed, encoding, delimiter, path.suffixes)]
    if kind == "json":
        return [_read_json(con, path, source, base, compressed, encoding)]
    if kind == "parquet":
        return [_read_parquet(con, path, source, base)]
    return _read_excel(con, path, source, base, sheet)


# --- format detection ---------------------------------------------------------------


def _detect_kind(path: Path, magic: bytes, source: str) -> tuple[str, bool]:
    """(csv | json | parquet | excel, gzip-compressed) from extension and magic bytes."""
    suffixes = [s.lower() for s in path.suffixes]
    ext = suffixes[-1] if suffixes else ""
    is_gzip = magic[:2] == b"\x1f\x8b"
    if ext == ".gz":
        if not is_gzip:
            raise InputError("has a .gz extension but is not gzip-compressed", source=source)
        inner = suffixes[-2] if len(suffixes) > 1 else ".csv"
        if inner in _JSON_EXTS:
            return "json", True
        if inner in _TEXT_EXTS:
            return "csv", True
        raise InputError(
            f"compressed {inner} files are not supported; only .csv/.tsv/.txt/.jsonl "
            "can be gzip-compressed",
            source=source,
        )
    if magic[:4] == b"PAR1":
        return "parquet", False
    if magic[:4] == b"PK\x03\x04" and (ext in _EXCEL_EXTS or ext in _TEXT_EXTS + _JSON_EXTS):
        return "excel", False
    if magic == _OLE_MAGIC:
        raise InputError(
            "is a legacy Excel .xls (or other OLE) file; save it as .xlsx or CSV",
            source=source,
        )
    if ext in _EXCEL_EXTS:
        raise InputError("is not a valid .xlsx workbook (not a zip archive)", source=source)
    if ext in _PARQUET_EXTS:
        raise InputError("is not a Parquet file (no PAR1 magic bytes)", source=source)
    if ext in _TEXT_EXTS + _JSON_EXTS:
        if is_gzip:
            return ("json" if ext in _JSON_EXTS else "csv"), True
        return ("json" if ext in _JSON_EXTS else "csv"), False
    raise InputError(
        f"unknown file type {ext or '(no extension)'!r}; expected one of "
        + ", ".join(SUPPORTED_EXTENSIONS),
        source=source,
    )


# --- helpers --------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_base(name: str) -> str:
    clean = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower() or "raw"
    return f"__shoplens_raw_{clean[:40]}"


def _new_table(con: duckdb.DuckDBPyConnection, base: str) -> str:
    existing = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    }
    while True:
        candidate = f"{base}_{next(_table_counter)}"
        if candidate not in existing:
            return candidate


def _clean_name(raw: object) -> str:
    return str(raw if raw is not None else "").replace("\ufeff", "").strip()


def _check_names(names: Sequence[str], source: str, what: str = "header") -> None:
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


def _duck_message(e: duckdb.Error) -> str:
    return _duck_message_text(str(e))


def _duck_message_text(text: str) -> str:
    text = text.strip()
    first = text.splitlines()[0] if text else "unknown error"
    return re.sub(r"^[A-Za-z ]*Error: ", "", first)


def _drop_empty_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    names: list[str],
    placeholders: dict[int, str],
    source: str,
    row_word: str,
) -> list[str]:
    """Drop unnamed columns holding no value; raise if an unnamed column holds one."""
    if not placeholders:
        return names
    for pos, ph in placeholders.items():
        hit = con.execute(
            f"SELECT min({_ident(ROW_COLUMN)}) FROM {_ident(table)} "
            f"WHERE {_ident(ph)} IS NOT NULL AND trim({_ident(ph)}) <> ''"
        ).fetchall()
        if hit and hit[0][0] is not None:
            after = next((n for n in reversed(names[: pos - 1]) if n), None)
            where = f" (after {after!r})" if after else ""
            con.execute(f"DROP TABLE IF EXISTS {_ident(table)}")
            raise InputError(
                f"header field {pos}{where} is empty but the column holds values; "
                "expected a name for every column",
                source=source,
                row=int(hit[0][0]),
            )
        con.execute(f"ALTER TABLE {_ident(table)} DROP COLUMN {_ident(ph)}")
    return [n for i, n in enumerate(names, start=1) if i not in placeholders]


def _name_columns(
    names_raw: Sequence[object], source: str
) -> tuple[list[str], list[str], dict[int, str]]:
    """(clean names, SQL aliases, {position: placeholder} for empty names)."""
    names = [_clean_name(n) for n in names_raw]
    _check_names(names, source)
    placeholders = {i: f"__shoplens_empty_{i}" for i, n in enumerate(names, start=1) if not n}
    aliases = [n or placeholders[i] for i, n in enumerate(names, start=1)]
    return names, aliases, placeholders


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {_ident(table)}").fetchall()
    return int(row[0][0]) if row else 0


# --- text files: pre-scan and encoding ------------------------------------------------


@dataclass
class _Scan:
    lines: int
    """Physical lines (line breaks, plus a last line without one)."""
    utf8_error_line: int | None
    """First line that is not valid UTF-8 (None: the whole file is valid UTF-8)."""
    latin1: bool
    """Holds bytes undefined in cp1252."""
    head: bytes
    bom: str | None


@contextmanager
def _open_bytes(path: Path, compressed: bool, source: str) -> Iterator[IO[bytes]]:
    try:
        if compressed:
            with gzip.open(path, "rb") as g:
                yield cast("IO[bytes]", g)
        else:
            with path.open("rb") as f:
                yield f
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise InputError(
            f"corrupt gzip data ({e}); expected a valid .gz file", source=source
        ) from None


def _scan_text(
    path: Path, compressed: bool, source: str, check_utf8: bool, max_line: int = MAX_LINE_BYTES
) -> _Scan:
    """One pass over the bytes: line count, longest line, NUL bytes, UTF-8 validity."""
    lines = 0  # line breaks seen so far
    run = 0  # bytes since the last line break
    head = b""
    bom: str | None = None
    utf8_error_line: int | None = None
    latin1 = False
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    last = b""
    with _open_bytes(path, compressed, source) as f:
        first = True
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            if first:
                first = False
                head = chunk[:_HEAD]
                if head.startswith(b"\xef\xbb\xbf"):
                    bom = "utf-8"
                elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
                    bom = "utf-16"
                    check_utf8 = False
            arr = np.frombuffer(chunk, dtype=np.uint8)
            breaks = np.flatnonzero(arr == 10)
            if bom != "utf-16":
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    line = lines + chunk.count(b"\n", 0, nul) + 1
                    raise InputError(
                        "binary content (a NUL byte); expected a text file (CSV/TSV or JSON lines)",
                        source=source,
                        row=line,
                    )
            if breaks.size == 0:
                run += len(chunk)
                if run > max_line:
                    _too_long(source, lines + 1)
            else:
                if run + int(breaks[0]) > max_line:
                    _too_long(source, lines + 1)
                if breaks.size > 1:
                    gaps = np.diff(breaks)
                    k = int(np.argmax(gaps))
                    if int(gaps[k]) - 1 > max_line:
                        _too_long(source, lines + k + 2)
                run = len(chunk) - int(breaks[-1]) - 1
                lines += int(breaks.size)
            if check_utf8 and utf8_error_line is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    pos = max(0, min(e.start, len(chunk)))
                    utf8_error_line = lines - int(breaks.size) + chunk.count(b"\n", 0, pos) + 1
            if not latin1 and any(b in chunk for b in _NOT_CP1252):
                latin1 = True
            last = chunk[-1:]
    if check_utf8 and utf8_error_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error_line = lines + 1
    if last and last != b"\n":
        lines += 1
    return _Scan(lines, utf8_error_line, latin1, head, bom)


def _too_long(source: str, line: int) -> None:
    raise InputError(
        f"a line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB without a line break; "
        "expected a text file with one record per line",
        source=source,
        row=line,
    )


def _normalize_encoding(encoding: str, source: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r}; expected e.g. utf-8, latin-1 or cp1252",
            source=source,
        ) from None


def _choose_encoding(scan: _Scan, encoding: str | None, source: str) -> str:
    """The Python codec to read with: 'utf-8' means DuckDB reads the file as is."""
    if encoding is not None:
        enc = _normalize_encoding(encoding, source)
        if enc in ("utf-8", "utf-8-sig"):
            if scan.utf8_error_line is not None:
                raise InputError(
                    "not valid UTF-8; expected the encoding given (utf-8): try latin-1 or cp1252",
                    source=source,
                    row=scan.utf8_error_line,
                )
            return "utf-8"
        return enc
    if scan.bom == "utf-16":
        return "utf-16"
    if scan.utf8_error_line is None:
        return "utf-8"
    return "latin-1" if scan.latin1 else "cp1252"


def _transcode(path: Path, compressed: bool, enc: str, source: str, tmpdir: str) -> Path:
    """Write the file re-encoded as UTF-8 into ``tmpdir``."""
    out = Path(tmpdir) / "transcoded.csv"
    decoder = codecs.getincrementaldecoder(enc)("strict")
    line = 1
    with _open_bytes(path, compressed, source) as f, out.open("wb") as w:
        while True:
            chunk = f.read(_CHUNK)
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as e:
                line += chunk.count(b"\n", 0, max(0, e.start))
                raise InputError(
                    f"cannot be decoded as {enc}; expected a text file in that encoding",
                    source=source,
                    row=line,
                ) from None
            line += chunk.count(b"\n")
            w.write(text.encode("utf-8"))
            if final:
                break
    return out


@contextmanager
def _utf8_file(path: Path, compressed: bool, enc: str, source: str) -> Iterator[tuple[Path, bool]]:
    """(a UTF-8 file DuckDB can read, whether it is gzip-compressed)."""
    if enc == "utf-8":
        yield path, compressed
        return
    with tempfile.TemporaryDirectory(prefix="shoplens-") as tmp:
        yield _transcode(path, compressed, enc, source, tmp), False


# --- CSV ------------------------------------------------------------------------------


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


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: str,
    base: str,
    compressed: bool,
    encoding: str | None,
    delimiter: str | None,
    suffixes: list[str],
) -> RawTable:
    given_enc = _normalize_encoding(encoding, source) if encoding is not None else None
    check_utf8 = given_enc is None or given_enc in ("utf-8", "utf-8-sig")
    scan = _scan_text(path, compressed, source, check_utf8)
    enc = _choose_encoding(scan, encoding, source)
    head_text = scan.head.decode(enc if enc != "utf-8" else "utf-8-sig", errors="replace")
    head_text = head_text.lstrip("\ufeff")
    if not head_text.strip():
        raise InputError("no header line (the file holds only blank lines)", source=source)
    exts = [s.lower() for s in suffixes if s.lower() != ".gz"]
    delim = (
        _parse_delimiter(delimiter, source)
        if delimiter is not None
        else _pick_delimiter(head_text, exts[-1] if exts else "")
    )
    header = next(iter(_first_records(head_text, delim, limit=1)), None)
    if header is None:
        raise InputError("cannot read a header line; expected column names", source=source)
    names, aliases, placeholders = _name_columns(header, source)

    with _utf8_file(path, compressed, enc, source) as (file, gz):
        escape = _sniff_escape(con, file, delim, gz, head_text)
        table = _new_table(con, base)
        cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
        select = ", ".join(f"c{i} AS {_ident(a)}" for i, a in enumerate(aliases))
        sql = (
            f"CREATE TEMP TABLE {_ident(table)} AS SELECT {select}, "
            f"CAST(row_number() OVER () + 1 AS BIGINT) AS {_ident(ROW_COLUMN)} "
            f"FROM read_csv(?, auto_detect = false, header = true, delim = ?, quote = '\"', "
            f"escape = ?, columns = {cols}, strict_mode = true, null_padding = false, "
            f"max_line_size = {MAX_LINE_BYTES}, compression = ?)"
        )
        try:
            con.execute(sql, [str(file), delim, escape, "gzip" if gz else "none"])
        except duckdb.Error as e:
            con.execute(f"DROP TABLE IF EXISTS {_ident(table)}")
            raise _csv_error(e, file, gz, delim, escape, len(names), source) from None
        rows = _count(con, table)
        if rows + 1 != scan.lines and rows > 0:
            _renumber_lines(con, table, file, gz, delim, escape, len(names), rows)
    names = _drop_empty_columns(con, table, names, placeholders, source, "line")
    return RawTable(table=table, source=source, columns=tuple(names), rows=rows, row_kind="line")


def _open_text(file: Path, gz: bool) -> IO[str]:
    if gz:
        return gzip.open(file, "rt", encoding="utf-8-sig", newline="")
    return file.open(encoding="utf-8-sig", newline="")


def _python_csv_records(
    file: Path, gz: bool, delim: str, escape: str
) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of every non-blank record after the header, Python's csv."""
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
) -> None:
    """Blank lines or multi-line fields: number records by their line in the file."""
    try:
        starts = [
            start
            for start, rec in _python_csv_records(file, gz, delim, escape)
            if width > 1 or rec != [""]
        ]
    except (csv.Error, UnicodeDecodeError, OSError):
        return
    if len(starts) != rows:
        return  # Python and DuckDB disagree: keep record number + 1.
    lines = pa.table(
        {"i": pa.array(range(2, rows + 2), pa.int64()), "line": pa.array(starts, pa.int64())}
    )
    view = f"{table}__lines"
    con.register(view, lines)
    try:
        con.execute(
            f"UPDATE {_ident(table)} SET {_ident(ROW_COLUMN)} = l.line FROM {_ident(view)} l "
            f"WHERE {_ident(table)}.{_ident(ROW_COLUMN)} = l.i"
        )
    finally:
        con.unregister(view)


def _csv_error(
    e: duckdb.Error, file: Path, gz: bool, delim: str, escape: str, width: int, source: str
) -> InputError:
    """Translate a DuckDB CSV error, finding the offending line when possible."""
    text = str(e)
    if "Expected Number of Columns" in text or "quote" in text.lower():
        try:
            for start, rec in _python_csv_records(file, gz, delim, escape):
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
    return InputError(f"cannot read as CSV: {_duck_message(e)}", source=source, row=line)


# --- JSON lines -----------------------------------------------------------------------


def _read_json(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: str,
    base: str,
    compressed: bool,
    encoding: str | None,
) -> RawTable:
    given_enc = _normalize_encoding(encoding, source) if encoding is not None else None
    check_utf8 = given_enc is None or given_enc in ("utf-8", "utf-8-sig")
    with _open_bytes(path, compressed, source) as f:
        start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    # A JSON array may legitimately be one long line; objects are limited by DuckDB.
    max_line = 1 << 62 if start.startswith(b"[") else MAX_LINE_BYTES
    scan = _scan_text(path, compressed, source, check_utf8, max_line)
    enc = _choose_encoding(scan, encoding, source)
    head = scan.head.decode(enc, errors="replace").lstrip("\ufeff").lstrip()
    if not head:
        raise InputError("holds only blank lines; expected one JSON object per line", source=source)
    if head[0] not in "{[":
        raise InputError(
            "not JSON (does not start with '{' or '['); expected one JSON object per line",
            source=source,
            row=1,
        )
    fmt = "array" if head.startswith("[") else "newline_delimited"
    with _utf8_file(path, compressed, enc, source) as (file, gz):
        comp = "gzip" if gz else "none"
        src = "read_json_objects(?, format = ?, compression = ?)"
        params = [str(file), fmt, comp]
        try:
            bad = con.execute(
                f"SELECT r, json_type(json) FROM (SELECT row_number() OVER () AS r, json "
                f"FROM {src}) WHERE json_type(json) <> 'OBJECT' LIMIT 1",
                params,
            ).fetchall()
            if bad:
                raise InputError(
                    f"a JSON {str(bad[0][1]).lower()} where an object was expected; "
                    "expected one JSON object per record",
                    source=source,
                    row=int(bad[0][0]),
                )
            keys = con.execute(
                f"SELECT k FROM (SELECT r, unnest(json_keys(json)) AS k, "
                f"unnest(generate_series(1, len(json_keys(json)))) AS p "
                f"FROM (SELECT row_number() OVER () AS r, json FROM {src})) "
                f"GROUP BY k ORDER BY min([r, p])",
                params,
            ).fetchall()
        except duckdb.Error as e:
            raise _json_error(e, source) from None
        raw_keys = [str(k[0]) for k in keys]
        names, aliases, placeholders = _name_columns(raw_keys, source)
        table = _new_table(con, base)
        if raw_keys:
            cols = (
                "{"
                + ", ".join(f"'{k.replace(chr(39), chr(39) * 2)}': 'JSON'" for k in raw_keys)
                + "}"
            )
            select = ", ".join(
                f"CASE WHEN json_type({_ident(k)}) = 'VARCHAR' THEN {_ident(k)} ->> '$' "
                f"WHEN json_type({_ident(k)}) = 'NULL' THEN NULL "
                f"ELSE CAST({_ident(k)} AS VARCHAR) END AS {_ident(a)}"
                for k, a in zip(raw_keys, aliases, strict=True)
            )
            from_ = (
                f"read_json(?, format = ?, compression = ?, columns = {cols}, "
                f"maximum_object_size = {MAX_LINE_BYTES * 8})"
            )
            sql = (
                f"CREATE TEMP TABLE {_ident(table)} AS SELECT {select}, "
                f"CAST(row_number() OVER () AS BIGINT) AS {_ident(ROW_COLUMN)} FROM {from_}"
            )
        else:
            sql = (
                f"CREATE TEMP TABLE {_ident(table)} AS SELECT "
                f"CAST(row_number() OVER () AS BIGINT) AS {_ident(ROW_COLUMN)} FROM {src}"
            )
        try:
            con.execute(sql, params)
        except duckdb.Error as e:
            con.execute(f"DROP TABLE IF EXISTS {_ident(table)}")
            raise _json_error(e, source) from None
    rows = _count(con, table)
    names = _drop_empty_columns(con, table, names, placeholders, source, "row")
    return RawTable(table=table, source=source, columns=tuple(names), rows=rows, row_kind="row")


def _json_error(e: duckdb.Error, source: str) -> InputError:
    text = re.sub(r' in file "[^"]*",?', "", str(e))
    m = re.search(r"line (\d+)", text)
    return InputError(
        f"malformed JSON ({_duck_message_text(text)}); expected one JSON object per line",
        source=source,
        row=int(m.group(1)) if m else None,
    )


# --- Parquet --------------------------------------------------------------------------


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: str, base: str) -> RawTable:
    try:
        described = con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [str(path)],
        ).fetchall()
    except duckdb.Error as e:
        raise InputError(
            f"not a readable Parquet file ({_duck_message(e)})", source=source
        ) from None
    raw = [str(r[0]) for r in described]
    names, aliases, placeholders = _name_columns(raw, source)
    exprs = []
    for (col, typ), alias in zip(described, aliases, strict=True):
        t = str(typ).upper()
        nested = t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "JSON"))
        value = f"to_json({_ident(col)})" if nested else _ident(col)
        exprs.append(f"CAST({value} AS VARCHAR) AS {_ident(alias)}")
    table = _new_table(con, base)
    select = ", ".join([*exprs, f"CAST(row_number() OVER () AS BIGINT) AS {_ident(ROW_COLUMN)}"])
    try:
        con.execute(
            f"CREATE TEMP TABLE {_ident(table)} AS SELECT {select} FROM read_parquet(?)",
            [str(path)],
        )
    except duckdb.Error as e:
        con.execute(f"DROP TABLE IF EXISTS {_ident(table)}")
        raise InputError(
            f"not a readable Parquet file ({_duck_message(e)})", source=source
        ) from None
    rows = _count(con, table)
    names = _drop_empty_columns(con, table, names, placeholders, source, "row")
    return RawTable(table=table, source=source, columns=tuple(names), rows=rows, row_kind="row")


# --- Excel ----------------------------------------------------------------------------


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


def _read_excel(
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
            staged = _stage_sheet(con, rows, sheet_source, base)
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
                con.execute(f"DROP TABLE IF EXISTS {_ident(t.table)}")


def _stage_sheet(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[int, list[str | None]]],
    source: str,
    base: str,
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
    names = [_clean_name(h) for h in header]
    _check_names(names, source)
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
    columns = {
        f"c{k}": pa.array([r[j] if j < len(r) else None for _, r in data], pa.string())
        for k, j in enumerate(keep)
    }
    columns["r"] = pa.array([i for i, _ in data], pa.int64())
    arrow = pa.table(columns)
    table = _new_table(con, base)
    view = f"{table}__arrow"
    select = ", ".join(f"c{k} AS {_ident(names[j])}" for k, j in enumerate(keep))
    con.register(view, arrow)
    try:
        con.execute(
            f"CREATE TEMP TABLE {_ident(table)} AS SELECT {select}, "
            f"r AS {_ident(ROW_COLUMN)} FROM {_ident(view)} ORDER BY r"
        )
    finally:
        con.unregister(view)
    return RawTable(
        table=table,
        source=source,
        columns=tuple(names[j] for j in keep),
        rows=len(data),
        row_kind="row",
    )


def _excel_col(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
