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
  file first. ``__row`` is the line number in the file (the header is line 1, unless
  blank lines precede it): exact when every record is one line (the common case,
  checked by counting line breaks); with blank lines or quoted multi-line fields the
  lines are numbered by a second pass with Python's csv module; should that pass
  disagree with DuckDB on the records, ``__row`` falls back to record number + 1 (plus
  the leading blank lines).
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
dropped; an empty header over values is an error. Column names must be unique ignoring
case (DuckDB's column names are case-insensitive), and ``__row`` (any case) is reserved.

This module detects the format and names the TEMP tables; each format has its own
module: :mod:`~shoplens.ingest.read_csv`, :mod:`~shoplens.ingest.read_json`,
:mod:`~shoplens.ingest.read_parquet`, :mod:`~shoplens.ingest.read_excel`, with
:mod:`~shoplens.ingest.read_text` (pre-scan, encoding) and
:mod:`~shoplens.ingest.read_staging` (helpers shared by all).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from shoplens.errors import InputError
from shoplens.ingest.raw import RawTable
from shoplens.ingest.read_csv import read_csv
from shoplens.ingest.read_excel import read_excel
from shoplens.ingest.read_json import read_json
from shoplens.ingest.read_parquet import read_parquet
from shoplens.ingest.read_text import MAX_LINE_BYTES

__all__ = ["MAX_LINE_BYTES", "SUPPORTED_EXTENSIONS", "read_raw"]

_TEXT_EXTS = (".csv", ".tsv", ".txt", ".tab")
_JSON_EXTS = (".jsonl", ".ndjson", ".json")
_PARQUET_EXTS = (".parquet", ".pq")
_EXCEL_EXTS = (".xlsx", ".xlsm")
SUPPORTED_EXTENSIONS = (*_TEXT_EXTS, *_JSON_EXTS, *_PARQUET_EXTS, *_EXCEL_EXTS, ".gz")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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

    kind, compressed, ext = _detect_kind(path, magic, source)
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
        return [read_csv(con, path, source, base, compressed, encoding, delimiter, ext)]
    if kind == "json":
        return [read_json(con, path, source, base, compressed, encoding)]
    if kind == "parquet":
        return [read_parquet(con, path, source, base)]
    return read_excel(con, path, source, base, sheet)


# --- format detection ---------------------------------------------------------------


def _detect_kind(path: Path, magic: bytes, source: str) -> tuple[str, bool, str]:
    """(csv | json | parquet | excel, gzip-compressed, extension) from extension and magic.

    The extension is lower-case, the one before ``.gz`` for a ``.gz`` file.
    """
    suffixes = [s.lower() for s in path.suffixes]
    ext = suffixes[-1] if suffixes else ""
    is_gzip = magic[:2] == b"\x1f\x8b"
    if ext == ".gz":
        if not is_gzip:
            raise InputError("has a .gz extension but is not gzip-compressed", source=source)
        inner = suffixes[-2] if len(suffixes) > 1 else ".csv"
        if inner in _JSON_EXTS:
            return "json", True, inner
        if inner in _TEXT_EXTS:
            return "csv", True, inner
        raise InputError(
            f"compressed {inner} files are not supported; only .csv/.tsv/.txt/.jsonl "
            "can be gzip-compressed",
            source=source,
        )
    if magic[:4] == b"PAR1":
        return "parquet", False, ext
    if magic[:4] == b"PK\x03\x04" and (ext in _EXCEL_EXTS or ext in _TEXT_EXTS + _JSON_EXTS):
        return "excel", False, ext
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
        return ("json" if ext in _JSON_EXTS else "csv"), is_gzip, ext
    raise InputError(
        f"unknown file type {ext or '(no extension)'!r}; expected one of "
        + ", ".join(SUPPORTED_EXTENSIONS),
        source=source,
    )


# --- TEMP table names -----------------------------------------------------------------


def _table_base(name: str) -> str:
    clean = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower() or "raw"
    return f"__shoplens_raw_{clean[:40]}"
