"""Malformed input: each file gives a clear error or a counted finding, never a crash,
and after every failure the store is exactly as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shoplens.errors import InputError
from shoplens.ingest import PRESETS, ImportOptions, import_file
from shoplens.ingest.mapping import Mapping
from tests.ingest.import_files import SHOPIFY_CSV, UCI_OLD_CSV, snapshot, write

HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
GOOD = [
    "1,A,Mug,2,2024-03-01 10:00,3.50,7,DE",
    "2,B,Cup,1,2024-03-02 10:00,2.00,8,FR",
    "3,A,Mug,1,2024-03-03 10:00,3.50,,DE",
]


def lines(*extra: str, good: list[str] = GOOD) -> str:
    return HEADER + "\n".join([*good, *extra]) + "\n"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("base")
    import_file(write(tmp, "old.csv", UCI_OLD_CSV), tmp / "base.duckdb", PRESETS["order-lines"])
    return tmp / "base.duckdb"


@pytest.fixture
def store(base_store: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(base_store, tmp_path / "store.duckdb"))


ERRORS: list[tuple[str, str | bytes, str]] = [
    ("missing_column", HEADER.replace(",Quantity", "") + "1,A,Mug,2024-03-01,3.5,7,DE\n",
     r"names columns the source lacks: 'Quantity'"),
    ("header_only", HEADER, r"no data rows|header"),
    ("empty_file", "", r"empty"),
    ("binary_garbage", bytes(range(256)) * 40, r"bad\.csv"),
    ("quantities_not_numbers", lines("4,A,Mug,two,2024-03-04 10:00,3.50,7,DE"),
     r"row 5, column 'Quantity'.*allowed 1.0%.*'two'.*--max-bad-share 0.25"),
    ("unparseable_dates", lines("4,A,Mug,1,yesterday,3.50,7,DE"),
     r"row 5, column 'InvoiceDate'.*not a date"),
    ("fractional_quantity", lines("4,A,Mug,2.5,2024-03-04 10:00,3.50,7,DE"),
     r"row 5, column 'Quantity'.*whole number"),
    ("huge_quantity", lines("4,A,Mug,99999999999,2024-03-04 10:00,3.50,7,DE"),
     r"row 5, column 'Quantity'"),
    ("missing_order_id", lines(",A,Mug,1,2024-03-04 10:00,3.50,7,DE"),
     r"row 5, column 'Invoice'.*no order id"),
    ("missing_price", lines("4,A,Mug,1,2024-03-04 10:00,,7,DE"),
     r"row 5, column 'Price'.*no unit price"),
    ("zero_quantity", lines("4,A,Mug,0,2024-03-04 10:00,3.50,7,DE"),
     r"row 5, column 'Quantity'.*must not be 0"),
    ("price_not_a_number", lines("4,A,Mug,1,2024-03-04 10:00,3.5.0,7,DE"),
     r"row 5, column 'Price'.*not a number"),
    ("only_empty_rows", HEADER + ",,,,,,,\n,,,,,,,\n", r"no usable order lines"),
    ("only_negative_prices", HEADER + "1,B,Adjust,1,2024-03-01 10:00,-5,,DE\n",
     r"no usable order lines"),
    ("huge_single_line", HEADER + "1,A," + "x" * 3_000_000 + ",1,2024-03-01,1,7,DE\n",
     r"bad\.csv.*line"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "content", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_file_is_a_clear_error_and_store_unchanged(
    store: Path, tmp_path: Path, case: str, content: str | bytes, message: str
) -> None:
    before = snapshot(store)
    src = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        src.write_bytes(content)
    else:
        src.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        import_file(src, store, PRESETS["order-lines"])
    assert str(info.value).startswith("bad.csv"), case
    assert "\n" not in str(info.value)
    assert snapshot(store) == before


def _import(store: Path, tmp_path: Path, text: str, mapping: Mapping | None = None):
    (rep,) = import_file(
        write(tmp_path, "f.csv", text),
        store,
        mapping or PRESETS["order-lines"],
        ImportOptions(max_bad_share=0.5, unknown_status="completed"),
    )
    return rep


def test_conflicting_order_values_are_a_finding_first_line_wins(
    store: Path, tmp_path: Path
) -> None:
    text = lines(
        "9,A,Mug,1,2024-03-05 10:00,3.50,7,DE",
        "9,B,Cup,1,2024-03-05 10:01,2.00,8,DE",
    )
    rep = _import(store, tmp_path, text)
    assert rep.conflicting_orders == 1
    (f,) = [f for f in rep.findings if f.kind == "conflicting_order"]
    assert (f.row, f.column, f.value) == (5, "Customer ID", "9")
    assert "first line wins" in f.message
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT customer_id FROM orders WHERE order_id = '9'").fetchall() == [("7",)]
    con.close()


def test_negative_quantity_is_invalid_where_the_mapping_says_so(
    store: Path, tmp_path: Path
) -> None:
    text = SHOPIFY_CSV + "#1006,z@x.org,paid,,2024-03-08 10:00:00 +0100,-1,Mug,3,M,,0,,DE,EUR,\n"
    rep = _import(store, tmp_path, text, PRESETS["shopify"])
    assert (rep.invalid_values, rep.bad_rows, rep.orders) == (1, 1, 5)


def test_order_without_timestamp_is_orphan(store: Path, tmp_path: Path) -> None:
    text = SHOPIFY_CSV + "#1007,z@x.org,paid,,,1,Mug,3,M,,0,,DE,EUR,\n#1007,,,,,2,Cup,2,C,,,,,,\n"
    rep = _import(store, tmp_path, text, PRESETS["shopify"])
    assert (rep.orphan_lines, rep.orders, rep.bad_rows) == (2, 5, 0)
    assert {(f.row, f.column) for f in rep.findings if f.kind == "orphan_line"} == {
        (9, "Created at"),
        (10, "Created at"),
    }


def test_money_with_currency_signs_and_negative_discount(store: Path, tmp_path: Path) -> None:
    text = SHOPIFY_CSV.replace(",12.50,MUG-B,SPRING10,2.50,", ",€12.50,MUG-B,SPRING10,-2.50,")
    rep = _import(store, tmp_path, text, PRESETS["shopify"])
    # the negative order discount makes the first line of #1001 bad; its second line
    # then has no timestamp: an orphan
    assert (rep.invalid_values, rep.orphan_lines, rep.orders) == (1, 1, 4)


def test_mixed_date_formats_best_family_wins(store: Path, tmp_path: Path) -> None:
    text = lines("4,A,Mug,1,03/15/2024 10:00,3.50,7,DE")
    rep = _import(store, tmp_path, text)
    assert rep.date_format == "iso (detected)"
    assert (rep.unparseable_values, rep.dates_parsed, rep.orders) == (1, 3, 3)


def test_duplicates_only(store: Path, tmp_path: Path) -> None:
    rep = _import(store, tmp_path, lines(good=[GOOD[0]] * 4))
    assert (rep.rows_read, rep.duplicate_rows, rep.lines) == (4, 3, 1)


def test_latin1_file(store: Path, tmp_path: Path) -> None:
    text = lines("4,C,Café crème,1,2024-03-04 10:00,3.50,7,DE")
    src = write(tmp_path, "latin.csv", text, encoding="latin-1")
    (rep,) = import_file(src, store, PRESETS["order-lines"])
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT name FROM products WHERE product_id = 'C'").fetchall() == [
        ("Café crème",)
    ]
    con.close()
    assert rep.lines == 4
