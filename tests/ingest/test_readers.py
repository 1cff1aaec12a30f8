"""read_raw: every format and variant staged as text, and every bad input as InputError."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplens.errors import InputError
from shoplens.ingest.raw import ROW_COLUMN, RawTable
from shoplens.ingest.readers import MAX_LINE_BYTES, read_raw


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    yield c
    c.close()


def rows_of(con: duckdb.DuckDBPyConnection, t: RawTable) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in (*t.columns, ROW_COLUMN))
    return con.execute(f'SELECT {cols} FROM "{t.table}" ORDER BY "{ROW_COLUMN}"').fetchall()


def one(con: duckdb.DuckDBPyConnection, path: Path, **kw: Any) -> RawTable:
    tables = read_raw(con, path, **kw)
    assert len(tables) == 1
    return tables[0]


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


# --- CSV --------------------------------------------------------------------------------


def test_csv_quoted_comma_empty_line_and_multiline_field(con, tmp_path):
    p = write(
        tmp_path / "orders.csv",
        'Invoice,Description,Price\n1,"HEART, T-LIGHT",2.55\n\n2,"two\nlines",3\n3,,4\n',
    )
    t = one(con, p)
    assert t.source == "orders.csv"
    assert t.columns == ("Invoice", "Description", "Price")
    assert t.rows == 3
    assert t.row_kind == "line"
    assert t.table.startswith("__shoplens_raw_raw_")
    assert rows_of(con, t) == [
        ("1", "HEART, T-LIGHT", "2.55", 2),
        ("2", "two\nlines", "3", 4),
        ("3", None, "4", 6),
    ]


def test_csv_types_are_varchar_and_row_bigint(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", "a,b\n1,2.5\n"))
    types = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [t.table],
    ).fetchall()
    assert types == [("a", "VARCHAR"), ("b", "VARCHAR"), ("__row", "BIGINT")]
    assert con.execute(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = ?", [t.table]
    ).fetchall() == [(True,)]


def test_csv_leading_zeros_and_text_kept_verbatim(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", "zip,code\n01234,007\n"))
    assert rows_of(con, t) == [("01234", "007", 2)]


def test_semicolon_delimiter_detected(con, tmp_path):
    t = one(con, write(tmp_path / "eu.csv", "id;price;name\n1;2,50;a, b\n2;3,00;c\n"))
    assert t.columns == ("id", "price", "name")
    assert rows_of(con, t) == [("1", "2,50", "a, b", 2), ("2", "3,00", "c", 3)]


def test_tab_delimiter_detected_in_tsv_and_txt(con, tmp_path):
    for name in ("a.tsv", "a.txt"):
        t = one(con, write(tmp_path / name, "id\tname\n1\tx, y\n"))
        assert t.columns == ("id", "name")
        assert rows_of(con, t) == [("1", "x, y", 2)]


def test_pipe_delimiter_and_given_delimiter(con, tmp_path):
    p = write(tmp_path / "a.csv", "a|b\n1|2\n")
    assert rows_of(con, one(con, p)) == [("1", "2", 2)]
    # Given: ';' even though the header would split on ','.
    p2 = write(tmp_path / "b.csv", "a,x;b\n1,5;2\n")
    t = one(con, p2, delimiter=";")
    assert t.columns == ("a,x", "b")
    assert rows_of(con, t) == [("1,5", "2", 2)]
    assert one(con, write(tmp_path / "c.csv", "a\tb\n1\t2\n"), delimiter="tab").columns == (
        "a",
        "b",
    )


def test_header_names_stripped_of_whitespace_and_bom(con, tmp_path):
    p = write(tmp_path / "bom.csv", "\ufeff Customer ID ,  Country\n17850,United Kingdom\n")
    t = one(con, p)
    assert t.columns == ("Customer ID", "Country")
    assert rows_of(con, t) == [("17850", "United Kingdom", 2)]


def test_latin1_detected(con, tmp_path):
    p = write(tmp_path / "de.csv", "name;city\nJosé;Köln\nMüller;Zürich\n".encode("latin-1"))
    t = one(con, p)
    assert rows_of(con, t) == [("José", "Köln", 2), ("Müller", "Zürich", 3)]


def test_cp1252_detected_euro_sign(con, tmp_path):
    p = write(tmp_path / "w.csv", "product,price\nCafé,€5\n".encode("cp1252"))
    assert rows_of(con, one(con, p)) == [("Café", "€5", 2)]


def test_given_encoding(con, tmp_path):
    p = write(tmp_path / "a.csv", "a,b\nü,é\n".encode("latin-1"))
    assert rows_of(con, one(con, p, encoding="ISO-8859-1")) == [("ü", "é", 2)]
    p2 = write(tmp_path / "u16.csv", "a,b\nü,é\n".encode("utf-16"))
    assert rows_of(con, one(con, p2)) == [("ü", "é", 2)]


def test_gzip_csv(con, tmp_path):
    p = tmp_path / "orders.csv.gz"
    p.write_bytes(gzip.compress(b"a,b\n1,2\n3,4\n"))
    t = one(con, p)
    assert t.source == "orders.csv.gz"
    assert rows_of(con, t) == [("1", "2", 2), ("3", "4", 3)]


def test_gzip_latin1_csv(con, tmp_path):
    p = tmp_path / "orders.csv.gz"
    p.write_bytes(gzip.compress("a;b\né;ü\n".encode("latin-1")))
    assert rows_of(con, one(con, p)) == [("é", "ü", 2)]


def test_gzip_detected_by_magic_when_extension_lies(con, tmp_path):
    p = tmp_path / "orders.csv"
    p.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert rows_of(con, one(con, p)) == [("1", "2", 2)]


def test_crlf_and_no_trailing_newline(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", "a,b\r\n1,2\r\n3,4"))
    assert rows_of(con, t) == [("1", "2", 2), ("3", "4", 3)]


def test_header_only_gives_zero_rows(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", "a,b,c\n"))
    assert (t.columns, t.rows) == (("a", "b", "c"), 0)


def test_trailing_delimiter_column_without_values_is_dropped(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", "a,b,\n1,2,\n3,4,\n"))
    assert t.columns == ("a", "b")
    assert rows_of(con, t) == [("1", "2", 2), ("3", "4", 3)]


def test_backslash_escaped_quotes(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", 'a,b\n1,"say \\"hi\\""\n2,"x"\n'))
    assert rows_of(con, t) == [("1", 'say "hi"', 2), ("2", "x", 3)]


def test_doubled_quotes(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", 'a,b\n1,"say ""hi"""\n'))
    assert rows_of(con, t) == [("1", 'say "hi"', 2)]


def test_unique_table_names_and_name_prefix(con, tmp_path):
    p = write(tmp_path / "a.csv", "a\n1\n")
    t1 = one(con, p, name="order lines!")
    t2 = one(con, p, name="order lines!")
    assert t1.table != t2.table
    assert t1.table.startswith("__shoplens_raw_order_lines_")


# --- Parquet ----------------------------------------------------------------------------


def test_parquet_values_as_text(con, tmp_path):
    p = tmp_path / "items.parquet"
    pq.write_table(
        pa.table(
            {
                "order_id": pa.array([1, 2], pa.int64()),
                " price ": pa.array([2.5, None], pa.float64()),
                "day": pa.array([dt.date(2024, 1, 5), dt.date(2024, 2, 1)]),
                "tags": pa.array([["a", "b"], []]),
                "addr": pa.array([{"city": "Paris"}, None]),
            }
        ),
        p,
    )
    t = one(con, p)
    assert (t.columns, t.rows, t.row_kind) == (
        ("order_id", "price", "day", "tags", "addr"),
        2,
        "row",
    )
    assert rows_of(con, t) == [
        ("1", "2.5", "2024-01-05", '["a","b"]', '{"city":"Paris"}', 1),
        ("2", None, "2024-02-01", "[]", None, 2),
    ]


def test_parquet_detected_by_magic_when_extension_lies(con, tmp_path):
    p = tmp_path / "export.csv"
    pq.write_table(pa.table({"a": ["x"]}), p)
    assert rows_of(con, one(con, p)) == [("x", 1)]


# --- Excel ------------------------------------------------------------------------------


def make_book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Orders"
    ws.append(["Invoice", " InvoiceDate ", "Quantity", "Price", "Serial", "Paid"])
    ws.append(["536365", dt.datetime(2010, 12, 1, 8, 26), 6, 2.55, 45000, True])
    ws.append([536366, dt.date(2010, 12, 2), 6.0, 3.0, None, False])
    ws.append([None, None, None, None, None, None])
    ws.append([536367, dt.datetime(2010, 12, 3, 0, 0, 0), -1, 1e-7, None, None])
    prod = wb.create_sheet("Products")
    prod["A1"] = "sku"
    prod["B1"] = "name"
    prod["A2"] = "85123A"
    prod["B2"] = "HEART"
    wb.create_sheet("Notes")  # empty: skipped
    wb.save(path)
    return path


def test_xlsx_all_sheets(con, tmp_path):
    tables = read_raw(con, make_book(tmp_path / "book.xlsx"))
    assert [t.source for t in tables] == ["book.xlsx[Orders]", "book.xlsx[Products]"]
    orders, products = tables
    assert orders.columns == ("Invoice", "InvoiceDate", "Quantity", "Price", "Serial", "Paid")
    assert (orders.rows, orders.row_kind) == (4, "row")
    assert rows_of(con, orders) == [
        ("536365", "2010-12-01 08:26:00", "6", "2.55", "45000", "true", 2),
        ("536366", "2010-12-02", "6", "3", None, "false", 3),
        (None, None, None, None, None, None, 4),
        ("536367", "2010-12-03", "-1", "1e-07", None, None, 5),
    ]
    assert rows_of(con, products) == [("85123A", "HEART", 2)]


def test_xlsx_one_sheet(con, tmp_path):
    t = one(con, make_book(tmp_path / "book.xlsx"), sheet="Products")
    assert (t.source, t.columns, t.rows) == ("book.xlsx[Products]", ("sku", "name"), 1)


def test_xlsx_header_below_blank_rows_and_blank_first_column(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["B3"] = "id"
    ws["C3"] = "when"
    ws["B4"] = 7
    ws["C4"] = dt.datetime(2024, 1, 5, 10, 30, 15)
    p = tmp_path / "b.xlsx"
    wb.save(p)
    t = one(con, p)
    assert t.columns == ("id", "when")
    assert rows_of(con, t) == [("7", "2024-01-05 10:30:15", 4)]


def test_xlsx_header_only_sheet(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["a", "b"])
    p = tmp_path / "h.xlsx"
    wb.save(p)
    t = one(con, p)
    assert (t.columns, t.rows) == (("a", "b"), 0)


# --- JSON lines -------------------------------------------------------------------------


def test_jsonl_nested_and_mixed(con, tmp_path):
    lines = [
        {"id": 1, "name": "a", "tags": ["x", "y"], "addr": {"city": "Paris"}},
        {"id": "B2", "name": None, "paid": True, "price": 2.5},
        {"id": 3},
    ]
    p = write(tmp_path / "events.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    t = one(con, p)
    assert t.columns == ("id", "name", "tags", "addr", "paid", "price")
    assert (t.rows, t.row_kind) == (3, "row")
    assert rows_of(con, t) == [
        ("1", "a", '["x","y"]', '{"city":"Paris"}', None, None, 1),
        ("B2", None, None, None, "true", "2.5", 2),
        ("3", None, None, None, None, None, 3),
    ]


def test_ndjson_json_and_gz(con, tmp_path):
    body = '{"a": "x", "b": 1}\n{"a": "y", "b": 2}\n'
    for name in ("e.ndjson", "e.json"):
        t = one(con, write(tmp_path / name, body))
        assert rows_of(con, t) == [("x", "1", 1), ("y", "2", 2)]
    gz = tmp_path / "e.jsonl.gz"
    gz.write_bytes(gzip.compress(body.encode()))
    assert rows_of(con, one(con, gz)) == [("x", "1", 1), ("y", "2", 2)]


def test_json_array_file(con, tmp_path):
    t = one(con, write(tmp_path / "e.json", '[{"a": "x"}, {"a": "y"}]'))
    assert rows_of(con, t) == [("x", 1), ("y", 2)]


# --- errors -----------------------------------------------------------------------------


def err(con: duckdb.DuckDBPyConnection, path: Path, **kw: Any) -> InputError:
    with pytest.raises(InputError) as info:
        read_raw(con, path, **kw)
    return info.value


def test_missing_file(con, tmp_path):
    e = err(con, tmp_path / "nope.csv")
    assert e.source == "nope.csv"
    assert "file not found" in str(e)


def test_directory(con, tmp_path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    assert "is a directory" in str(err(con, d))


def test_empty_file(con, tmp_path):
    e = err(con, write(tmp_path / "e.csv", b""))
    assert str(e) == "e.csv: the file is empty (0 bytes); expected a header line"


def test_blank_lines_only(con, tmp_path):
    assert "no header line" in str(err(con, write(tmp_path / "e.csv", "\n\n  \n")))


def test_binary_garbage_csv(con, tmp_path):
    e = err(con, write(tmp_path / "g.csv", bytes(range(256)) * 10))
    assert e.source == "g.csv"
    assert e.row == 1
    assert "binary content" in str(e)


def test_binary_garbage_jsonl(con, tmp_path):
    e = err(con, write(tmp_path / "g.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00"))
    assert "binary content" in str(e)


def test_text_that_is_not_json(con, tmp_path):
    e = err(con, write(tmp_path / "g.jsonl", "a,b\n1,2\n"))
    assert (e.source, e.row) == ("g.jsonl", 1)
    assert "not JSON" in str(e)


def test_malformed_json_line(con, tmp_path):
    e = err(con, write(tmp_path / "g.jsonl", '{"a": 1}\n{"a": \n'))
    assert e.source == "g.jsonl"
    assert "malformed JSON" in str(e)


def test_json_line_not_an_object(con, tmp_path):
    e = err(con, write(tmp_path / "g.jsonl", '{"a": 1}\n[1, 2]\n'))
    assert e.row == 2
    assert "a JSON array where an object was expected" in str(e)


def test_wrong_given_encoding(con, tmp_path):
    p = write(tmp_path / "a.csv", "a,b\n1,2\nü,é\n".encode("latin-1"))
    e = err(con, p, encoding="utf-8")
    assert (e.source, e.row) == ("a.csv", 3)
    assert "not valid UTF-8" in str(e)


def test_undecodable_in_given_encoding(con, tmp_path):
    p = write(tmp_path / "a.csv", b"a,b\n1,\x81\n")
    e = err(con, p, encoding="cp1252")
    assert (e.source, e.row) == ("a.csv", 2)
    assert "cannot be decoded as cp1252" in str(e)


def test_unknown_encoding(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", "a\n1\n"), encoding="klingon")
    assert "unknown encoding 'klingon'" in str(e)


def test_inconsistent_field_count_names_line(con, tmp_path):
    p = write(tmp_path / "a.csv", 'a,b,c\n1,"x\ny",3\n\n4,5\n6,7,8\n')
    e = err(con, p)
    assert (e.source, e.row) == ("a.csv", 5)
    assert "2 fields where the header has 3" in str(e)


def test_too_many_fields(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", "a;b\n1;2\n3;4;5\n"))
    assert e.row == 3
    assert "3 fields where the header has 2 (delimiter ';')" in str(e)


def test_unterminated_quote(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", 'a,b\n1,"open\n2,3\n'))
    assert e.source == "a.csv"


def test_duplicate_header(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", "id,Price, Price\n1,2,3\n"))
    assert e.column == "Price"
    assert "duplicate column name" in str(e)
    assert "column 'Price'" in str(e)


def test_empty_header_with_values(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", "id,,price\n1,x,3\n"))
    assert e.row == 2
    assert "header field 2 (after 'id') is empty" in str(e)


def test_huge_single_line_fails_fast(con, tmp_path):
    p = write(tmp_path / "h.csv", b"a,b\n1," + b"x" * (50 * 1024 * 1024))
    e = err(con, p)
    assert (e.source, e.row) == ("h.csv", 2)
    assert "longer than 2 MiB" in str(e)
    assert MAX_LINE_BYTES == 2 * 1024 * 1024


def test_long_line_inside_file(con, tmp_path):
    p = write(tmp_path / "h.csv", b"a,b\n1,2\n1," + b"x" * (MAX_LINE_BYTES + 10) + b"\n3,4\n")
    e = err(con, p)
    assert e.row == 3


def test_unknown_extension(con, tmp_path):
    e = err(con, write(tmp_path / "a.doc", "hello"))
    assert "unknown file type '.doc'" in str(e)


def test_missing_sheet_lists_sheets(con, tmp_path):
    e = err(con, make_book(tmp_path / "book.xlsx"), sheet="Sheet9")
    assert str(e) == (
        "book.xlsx: no sheet named 'Sheet9'; the workbook has: 'Orders', 'Products', 'Notes'"
    )


def test_corrupt_xlsx(con, tmp_path):
    e = err(con, write(tmp_path / "b.xlsx", b"PK\x03\x04garbage" * 10))
    assert "not a valid .xlsx workbook" in str(e)
    e2 = err(con, write(tmp_path / "c.xlsx", "a,b\n1,2\n"))
    assert "not a valid .xlsx workbook (not a zip archive)" in str(e2)


def test_legacy_xls(con, tmp_path):
    e = err(con, write(tmp_path / "b.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100))
    assert "legacy Excel .xls" in str(e)


def test_xlsx_all_sheets_empty(con, tmp_path):
    p = tmp_path / "e.xlsx"
    openpyxl.Workbook().save(p)
    assert "every sheet is empty" in str(err(con, p))


def test_xlsx_duplicate_header_and_unnamed_column(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["a", "a"])
    p = tmp_path / "d.xlsx"
    wb.save(p)
    e = err(con, p)
    assert (e.source, e.column) == ("d.xlsx[Sheet]", "a")
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["a", None])
    ws.append([1, 2])
    wb.save(p)
    e = err(con, p)
    assert e.row == 2
    assert "column B (after 'a') has values but no header" in str(e)


def test_gz_that_is_not_gzip(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv.gz", "a,b\n1,2\n"))
    assert str(e) == "a.csv.gz: has a .gz extension but is not gzip-compressed"


def test_truncated_gzip(con, tmp_path):
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 10000)
    e = err(con, write(tmp_path / "a.csv.gz", data[: len(data) // 2]))
    assert "corrupt gzip data" in str(e)


def test_parquet_that_is_not_parquet(con, tmp_path):
    e = err(con, write(tmp_path / "a.parquet", "a,b\n1,2\n"))
    assert "not a Parquet file" in str(e)


def test_corrupt_parquet(con, tmp_path):
    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), p)
    data = p.read_bytes()
    p.write_bytes(data[:4] + b"\x00" * (len(data) - 8) + data[-4:])
    e = err(con, p)
    assert "not a readable Parquet file" in str(e)


def test_options_that_do_not_apply(con, tmp_path):
    p = write(tmp_path / "a.csv", "a\n1\n")
    assert "only be chosen for an Excel" in str(err(con, p, sheet="x"))
    assert "invalid delimiter" in str(err(con, p, delimiter=";;"))


def test_json_array_on_one_long_line_is_allowed(con, tmp_path):
    items = [{"id": i, "pad": "x" * 100} for i in range(25_000)]
    p = write(tmp_path / "big.json", json.dumps(items))
    assert p.stat().st_size > MAX_LINE_BYTES
    t = one(con, p)
    assert t.rows == 25_000
    assert rows_of(con, t)[-1] == ("24999", "x" * 100, 25_000)


def test_failed_reads_leave_no_temp_tables(con, tmp_path):
    bad_csv = write(tmp_path / "a.csv", "id,,price\n1,x,3\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["a"])
    ws.append([1])
    bad_sheet = wb.create_sheet("Bad")
    bad_sheet.append(["x", "x"])
    book = tmp_path / "b.xlsx"
    wb.save(book)
    for p in (bad_csv, book, write(tmp_path / "c.csv", "a,b\n1,2,3\n")):
        err(con, p)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


def test_latin1_json_lines(con, tmp_path):
    p = write(tmp_path / "e.jsonl", '{"city": "Köln"}\n'.encode("latin-1"))
    assert rows_of(con, one(con, p)) == [("Köln", 1)]


# --- review regressions ---------------------------------------------------------------


def test_csv_header_names_differing_only_in_case_are_duplicates(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", "Ref,ref\n1,2\n"))
    assert (e.source, e.column) == ("a.csv", "ref")
    assert "duplicate column name in the header (fields 1 and 2)" in str(e)


def test_json_keys_differing_only_in_case_are_duplicates(con, tmp_path):
    e = err(con, write(tmp_path / "a.jsonl", '{"Ref": 1, "ref": 2}\n'))
    assert (e.source, e.column) == ("a.jsonl", "ref")
    assert "duplicate column name" in str(e)
    assert "malformed JSON" not in str(e)


def test_xlsx_header_names_differing_only_in_case_are_duplicates(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Ref", "ref"])
    ws.append([1, 2])
    p = tmp_path / "d.xlsx"
    wb.save(p)
    e = err(con, p)
    assert (e.source, e.column) == ("d.xlsx[Sheet]", "ref")
    assert "duplicate column name" in str(e)


@pytest.mark.parametrize("header", ["__row", "__ROW", " __Row "])
def test_csv_column_named_row_is_rejected(con, tmp_path, header):
    e = err(con, write(tmp_path / "a.csv", f"a,{header}\n1,2\n"))
    assert (e.source, e.column) == ("a.csv", header.strip())
    assert "reserved" in str(e)


def test_json_and_parquet_column_named_row_is_rejected(con, tmp_path):
    e = err(con, write(tmp_path / "a.jsonl", '{"a": 1, "__row": 2}\n'))
    assert (e.source, e.column) == ("a.jsonl", "__row")
    assert "reserved" in str(e)
    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"a": ["x"], "__Row": ["y"]}), p)
    e = err(con, p)
    assert (e.source, e.column) == ("a.parquet", "__Row")
    assert "reserved" in str(e)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


def test_xlsx_column_named_row_is_rejected(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["a", "__ROW"])
    ws.append([1, 2])
    p = tmp_path / "r.xlsx"
    wb.save(p)
    e = err(con, p)
    assert (e.source, e.column) == ("r.xlsx[Sheet]", "__ROW")
    assert "reserved" in str(e)


def test_csv_leading_blank_lines_before_header(con, tmp_path):
    t = one(con, write(tmp_path / "a.csv", "\n\na,b\n1,2\n3,4\n"))
    assert (t.columns, t.rows) == (("a", "b"), 2)
    assert rows_of(con, t) == [("1", "2", 4), ("3", "4", 5)]
    t = one(con, write(tmp_path / "b.csv", '\r\na;b\r\n1;"x\r\ny"\r\n\r\n3;4\r\n'))
    assert (t.columns, t.rows) == (("a", "b"), 2)
    assert rows_of(con, t) == [("1", "x\r\ny", 3), ("3", "4", 6)]
    t = one(con, write(tmp_path / "c.csv.gz", gzip.compress(b"\xef\xbb\xbf\n\na\n1\n")))
    assert rows_of(con, t) == [("1", 4)]
    t = one(con, write(tmp_path / "d.csv", b"\n\na,b\n"))
    assert (t.columns, t.rows) == (("a", "b"), 0)


def test_csv_leading_blank_lines_error_lines(con, tmp_path):
    e = err(con, write(tmp_path / "a.csv", "\n\na,b\n1,2\n3,4,5\n"))
    assert e.row == 5
    assert "3 fields where the header has 2" in str(e)
    e = err(con, write(tmp_path / "b.csv", "\nid,,price\n1,,3\n2,x,3\n"))
    assert e.row == 4
    assert "header field 2 (after 'id') is empty" in str(e)


def test_xlsx_whitespace_only_first_row_without_data_is_an_empty_sheet(con, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Blank"
    ws["B2"] = "   "
    good = wb.create_sheet("Good")
    good.append(["id"])
    good.append([1])
    p = tmp_path / "w.xlsx"
    wb.save(p)
    tables = read_raw(con, p)
    assert [t.source for t in tables] == ["w.xlsx[Good]"]
    assert rows_of(con, tables[0]) == [("1", 2)]
    e = err(con, p, sheet="Blank")
    assert "sheet 'Blank' is empty" in str(e)


def test_detect_kind_passes_the_format_extension(con, tmp_path):
    t = one(con, write(tmp_path / "a.tsv.gz", gzip.compress(b"x\n1\n")))
    assert t.columns == ("x",)
    t = one(con, write(tmp_path / "b.TSV", "only one column\nv\n"))
    assert t.columns == ("only one column",)
