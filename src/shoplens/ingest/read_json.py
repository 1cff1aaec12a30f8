"""JSON lines (one object per line; a ``.json`` array also works), via DuckDB.

Columns are the keys in order of first appearance; strings as they are, numbers and
booleans as JSON text, nested values as JSON text. ``__row`` is the record number.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable
from shoplens.ingest.read_staging import duck_message_text, ident, name_columns, stage
from shoplens.ingest.read_text import MAX_LINE_BYTES, open_bytes, prepare_text, utf8_file

__all__ = ["read_json"]


def read_json(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: str,
    base: str,
    compressed: bool,
    encoding: str | None,
) -> RawTable:
    with open_bytes(path, compressed, source) as f:
        start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    # A JSON array may legitimately be one long line; objects are limited by DuckDB.
    max_line = 1 << 62 if start.startswith(b"[") else MAX_LINE_BYTES
    _, enc, head = prepare_text(path, compressed, source, encoding, max_line)
    head = head.lstrip()
    if not head:
        raise InputError("holds only blank lines; expected one JSON object per line", source=source)
    if head[0] not in "{[":
        raise InputError(
            "not JSON (does not start with '{' or '['); expected one JSON object per line",
            source=source,
            row=1,
        )
    fmt = "array" if head.startswith("[") else "newline_delimited"
    with utf8_file(path, compressed, enc, source) as (file, gz):
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
                    f"a JSON {_json_kind(str(bad[0][1]))} where an object was expected; "
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
        names, aliases, placeholders = name_columns(raw_keys, source)
        if raw_keys:
            cols = (
                "{"
                + ", ".join(f"'{k.replace(chr(39), chr(39) * 2)}': 'JSON'" for k in raw_keys)
                + "}"
            )
            select = ", ".join(
                f"CASE WHEN json_type({ident(k)}) = 'VARCHAR' THEN {ident(k)} ->> '$' "
                f"WHEN json_type({ident(k)}) = 'NULL' THEN NULL "
                f"ELSE CAST({ident(k)} AS VARCHAR) END AS {ident(a)}"
                for k, a in zip(raw_keys, aliases, strict=True)
            )
            from_ = (
                f"read_json(?, format = ?, compression = ?, columns = {cols}, "
                f"maximum_object_size = {MAX_LINE_BYTES * 8})"
            )
            query = (
                f"SELECT {select}, "
                f"CAST(row_number() OVER () AS BIGINT) AS {ident(ROW_COLUMN)} FROM {from_}"
            )
        else:
            query = f"SELECT CAST(row_number() OVER () AS BIGINT) AS {ident(ROW_COLUMN)} FROM {src}"
        return stage(
            con,
            base,
            query,
            params,
            names,
            placeholders,
            source,
            "row",
            lambda e: _json_error(e, source),
        )


# DuckDB's json_type names -> JSON's own words (no DuckDB type names in messages)
_JSON_KINDS = {"VARCHAR": "string", "BOOLEAN": "boolean", "ARRAY": "array", "NULL": "null"}


def _json_kind(duck_type: str) -> str:
    return _JSON_KINDS.get(duck_type.upper(), "number")


def _json_error(e: duckdb.Error, source: str) -> InputError:
    text = re.sub(r' in file "[^"]*",?', "", str(e))
    m = re.search(r"line (\d+)", text)
    return InputError(
        f"malformed JSON ({duck_message_text(text)}); expected one JSON object per line",
        source=source,
        row=int(m.group(1)) if m else None,
    )
