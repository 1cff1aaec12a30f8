"""Importing real small files: canonical tables and quality numbers, exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import duckdb
import pytest

from shoplens.analytics import compute_kpis
from shoplens.errors import InputError
from shoplens.ingest import PRESETS, ImportOptions, QualityReport, import_file, load_mapping
from shoplens.ingest.quality import read_reports
from shoplens.store import open_store
from tests.ingest.import_files import (
    AMBIGUOUS_CSV,
    CUSTOM_CSV,
    CUSTOM_TOML,
    SHOPIFY_CSV,
    UCI_CSV,
    UCI_OLD_CSV,
    rows,
    snapshot,
    write,
)

D = Decimal
UCI_OPTS = ImportOptions(max_bad_share=0.1)
# SHOPIFY_CSV has a status "mystery", in none of the preset's lists
SHOPIFY_OPTS = ImportOptions(unknown_status="completed")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def import_uci(tmp_path: Path, store: str = "s.duckdb") -> tuple[Path, QualityReport]:
    src = write(tmp_path, "uci.csv", UCI_CSV)
    (rep,) = import_file(src, tmp_path / store, PRESETS["order-lines"], UCI_OPTS)
    return tmp_path / store, rep


@pytest.fixture
def uci_store(tmp_path: Path) -> Path:
    return import_uci(tmp_path)[0]


def test_uci_quality_report(tmp_path: Path) -> None:
    _, rep = import_uci(tmp_path)
    assert rep.counts() == {
        "rows_read": 15,
        "empty_rows": 1,
        "duplicate_rows": 1,
        "overlap_rows": 0,
        "dates_parsed": 12,
        "bad_rows": 1,
        "missing_values": 0,
        "unparseable_values": 1,
        "invalid_values": 0,
        "out_of_range_values": 0,
        "negative_price_rows": 1,
        "mixed_sign_lines": 1,
        "orphan_lines": 0,
        "bad_share": 1 / 13,
        "lines": 10,
        "orders": 8,
        "customers": 2,
        "products": 4,
        "guest_orders": 1,
        "completed_orders": 6,
        "cancelled_orders": 1,
        "returned_orders": 1,
        "zero_price_lines": 1,
        "quantity_outliers": 1,
        "price_outliers": 0,
        "future_orders": 1,
        "conflicting_orders": 0,
        "unknown_status_orders": 0,
        "empty_orders": 0,
        "orphan_orders": 0,
        "untranslated_categories": 0,
        "other_currency_orders": 0,
        "converted_orders": 0,
        "merged_customers": 0,
        "changed_customers": 0,
    }
    assert rep.date_format == "us (detected)"
    assert rep.run_id == 1
    found = {(f.kind, f.row, f.column, f.value) for f in rep.findings}
    assert found == {
        ("unparseable", 10, "InvoiceDate", "13/45/2010 11:00"),
        ("negative_price", 9, "Price", "-100.00"),
        ("mixed_sign_line", 14, "Quantity", "-1"),
        ("zero_price", 12, "Price", "0.00"),
        ("quantity_outlier", 15, "Quantity", "500"),
        ("future_date", 16, "InvoiceDate", "2099-12-31 09:00:00+00"),
    }
    assert all(f.source == "uci.csv" for f in rep.findings)
    outlier = next(f for f in rep.findings if f.kind == "quantity_outlier")
    assert "27.5" in outlier.message  # median 2.5 + 10 * max(MAD 1.5, median 2.5)


def test_uci_canonical_tables(uci_store: Path) -> None:
    con = duckdb.connect(str(uci_store), read_only=True)
    assert rows(con, "SELECT * FROM orders ORDER BY order_id") == [
        ("489434", "13085", utc("2010-12-01 07:45"), "completed", None, None, D("0"), "EUR"),
        ("489435", None, utc("2010-12-01 07:46"), "completed", None, None, D("0"), "EUR"),
        ("489437", "13086", utc("2010-12-13 10:00"), "returned", None, None, D("0"), "EUR"),
        ("489440", "13086", utc("2010-12-20 12:00"), "completed", None, None, D("0"), "EUR"),
        ("489441", "13085", utc("2010-12-21 09:00"), "completed", None, None, D("0"), "EUR"),
        ("489442", "13086", utc("2010-12-22 09:00"), "completed", None, None, D("0"), "EUR"),
        ("489443", "13086", utc("2099-12-31 09:00"), "completed", None, None, D("0"), "EUR"),
        ("C489436", "13085", utc("2010-12-02 09:00"), "cancelled", None, None, D("0"), "EUR"),
    ]
    assert rows(con, "SELECT * FROM order_items ORDER BY order_id, line_no") == [
        ("489434", 1, "85048", 12, D("6.95"), D("0")),
        ("489434", 2, "79323P", 12, D("6.75"), D("0")),
        ("489435", 1, "22350", 2, D("2.55"), D("0")),
        ("489437", 1, "22350", 1, D("2.55"), D("0")),
        ("489440", 1, "22350", 4, D("2.55"), D("0")),
        ("489440", 2, "POST", 1, D("0"), D("0")),
        ("489441", 1, "85048", 2, D("6.95"), D("0")),
        ("489442", 1, "22350", 500, D("2.55"), D("0")),
        ("489443", 1, "22350", 1, D("2.55"), D("0")),
        ("C489436", 1, "85048", 3, D("6.95"), D("0")),
    ]
    assert rows(con, "SELECT customer_id, signup_ts, country FROM customers ORDER BY 1") == [
        ("13085", utc("2010-12-01 07:45"), "United Kingdom"),
        ("13086", utc("2010-12-13 10:00"), "France"),
    ]
    assert rows(con, "SELECT * FROM products ORDER BY 1") == [
        ("22350", "CAT BOWL", None, D("2.55")),
        ("79323P", "CHERRY LIGHTS", None, D("6.75")),
        ("85048", "GLASS BALL", None, D("6.95")),
        ("POST", "POSTAGE", None, D("0")),
    ]
    con.close()


def test_kpis_on_imported_store_match_hand_computed(uci_store: Path) -> None:
    con = open_store(uci_store, read_only=True)
    (k,) = compute_kpis(con).to_pylist()
    con.close()
    # gross: 164.40 + 5.10 + 20.85 (cancelled) + 2.55 (returned) + 10.20 + 13.90
    #        + 1275.00 + 2.55
    assert k["orders"] == 8
    assert k["completed_orders"] == 6
    assert k["cancelled_orders"] == 1
    assert k["returned_orders"] == 1
    assert k["customers"] == 2
    assert k["gross_revenue"] == pytest.approx(1494.55)
    assert k["cancelled_revenue"] == pytest.approx(20.85)
    assert k["returned_revenue"] == pytest.approx(2.55)
    assert k["net_revenue"] == pytest.approx(1471.15)
    assert k["guest_revenue"] == pytest.approx(5.10)
    assert k["aov"] == pytest.approx(245.19)
    assert k["cancellation_rate"] == pytest.approx(1 / 8)
    assert k["return_rate"] == pytest.approx(1 / 7)
    assert k["units_per_order"] == pytest.approx((24 + 2 + 5 + 2 + 500 + 1) / 6)


def test_uci_old_spelling_iso_dates(tmp_path: Path) -> None:
    src = write(tmp_path, "old.csv", UCI_OLD_CSV)
    (rep,) = import_file(src, tmp_path / "s.duckdb", PRESETS["order-lines"])
    assert (rep.date_format, rep.orders, rep.lines, rep.cancelled_orders) == (
        "iso (detected)",
        3,
        4,
        1,
    )
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert rows(con, "SELECT order_id, customer_id, order_ts, status FROM orders ORDER BY 1") == [
        ("536365", "17850", utc("2010-12-01 08:26"), "completed"),
        ("536366", "17850", utc("2010-12-01 08:28"), "completed"),
        ("C536379", "14527", utc("2010-12-01 09:41"), "cancelled"),
    ]
    assert rows(con, "SELECT quantity, unit_price FROM order_items WHERE order_id = 'C536379'") == [
        (1, D("27.50"))
    ]
    con.close()


def test_shopify_multiline_orders_and_discount_code(tmp_path: Path) -> None:
    src = write(tmp_path, "orders_export.csv", SHOPIFY_CSV)
    (rep,) = import_file(src, tmp_path / "s.duckdb", PRESETS["shopify"], SHOPIFY_OPTS)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert rows(con, "SELECT * FROM orders ORDER BY order_id") == [
        ("#1001", "ann@example.com", utc("2024-03-01 09:15"), "completed", None, "SPRING10",
         D("2.50"), "EUR"),
        ("#1002", "bob@example.com", utc("2024-03-02 17:00"), "returned", None, None, D("0"),
         "EUR"),
        ("#1003", "ann@example.com", utc("2024-03-05 08:30"), "cancelled", None, None, D("0"),
         "EUR"),
        ("#1004", "carl@example.com", utc("2024-03-06 07:00"), "cancelled", None, None, D("0"),
         "EUR"),
        ("#1005", "ann@example.com", utc("2024-03-07 19:00"), "completed", None, "WELCOME",
         D("5.00"), "EUR"),
    ]  # fmt: skip
    assert rows(con, "SELECT * FROM order_items ORDER BY order_id, line_no") == [
        ("#1001", 1, "MUG-B", 2, D("12.50"), D("0")),
        ("#1001", 2, "MUG-R", 1, D("14.00"), D("0")),
        ("#1002", 1, "Teapot", 1, D("30.00"), D("0")),
        ("#1003", 1, "MUG-B", 3, D("12.50"), D("0")),
        ("#1004", 1, "MUG-R", 1, D("14.00"), D("0")),
        ("#1005", 1, "Teapot", 1, D("30.00"), D("0")),
        ("#1005", 2, "MUG-B", 2, D("12.50"), D("0")),
    ]
    assert rows(
        con, "SELECT customer_id, signup_ts, country, name, email FROM customers ORDER BY 1"
    ) == [
        ("ann@example.com", utc("2024-03-01 09:15"), "DE", "Ann Lee", "ann@example.com"),
        ("bob@example.com", utc("2024-03-02 17:00"), "FR", "Bob Ray", "bob@example.com"),
        ("carl@example.com", utc("2024-03-06 07:00"), "DE", "Carl Mo", "carl@example.com"),
    ]
    assert rows(con, "SELECT * FROM products ORDER BY 1") == [
        ("MUG-B", "Blue Mug", None, D("12.50")),
        ("MUG-R", "Red Mug", None, D("14.00")),
        ("Teapot", "Teapot", None, D("30.00")),
    ]
    con.close()
    assert (rep.rows_read, rep.orders, rep.lines, rep.customers, rep.products) == (7, 5, 7, 3, 3)
    assert (rep.completed_orders, rep.cancelled_orders, rep.returned_orders) == (2, 2, 1)
    assert (rep.unknown_status_orders, rep.conflicting_orders, rep.bad_rows) == (1, 0, 0)
    (unknown,) = [f for f in rep.findings if f.kind == "unknown_status"]
    assert (unknown.row, unknown.column, unknown.value) == (7, "Financial Status", "mystery")


def test_custom_mapping_day_first_local_time_decimal_comma(tmp_path: Path) -> None:
    src = write(tmp_path, "export.csv", CUSTOM_CSV)
    mapping = load_mapping(write(tmp_path, "shop.toml", CUSTOM_TOML))
    (rep,) = import_file(src, tmp_path / "s.duckdb", mapping)
    assert rep.mapping == "shop.toml"
    assert rep.date_format == "%d.%m.%Y %H:%M"
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    # Europe/Berlin: UTC+1 in March, UTC+2 in July
    assert rows(con, "SELECT order_id, customer_id, order_ts, status FROM orders ORDER BY 1") == [
        ("A-1", "K1", utc("2024-03-05 13:30"), "completed"),
        ("A-2", "K2", utc("2024-03-06 08:00"), "cancelled"),
        ("A-3", "K1", utc("2024-07-07 21:30"), "returned"),
    ]
    assert rows(con, "SELECT * FROM order_items ORDER BY 1, 2") == [
        ("A-1", 1, "Stift", 2, D("1.50"), D("0")),
        ("A-1", 2, "Heft", 1, D("2.00"), D("0")),
        ("A-2", 1, "Stift", 1, D("1.50"), D("0")),
        ("A-3", 1, "Tasse", 4, D("3.25"), D("0")),
    ]
    assert rows(con, "SELECT * FROM products ORDER BY 1") == [
        ("Heft", "Heft", "Büro", D("2.00")),
        ("Stift", "Stift", "Büro", D("1.50")),
        ("Tasse", "Tasse", "Küche", D("3.25")),
    ]
    assert rows(con, "SELECT customer_id, country FROM customers ORDER BY 1") == [
        ("K1", "DE"),
        ("K2", "AT"),
    ]
    con.close()


def test_ambiguous_dates_fail_and_say_how_to_fix(tmp_path: Path) -> None:
    src = write(tmp_path, "amb.csv", AMBIGUOUS_CSV)
    with pytest.raises(InputError) as info:
        import_file(src, tmp_path / "s.duckdb", PRESETS["order-lines"])
    msg = str(info.value)
    assert msg.startswith("amb.csv, column 'InvoiceDate': ambiguous dates")
    assert "date_format" in msg
    assert not (tmp_path / "s.duckdb").exists()
    assert list(tmp_path.iterdir()) == [src]


def test_stated_date_format_resolves_ambiguity(tmp_path: Path) -> None:
    src = write(tmp_path, "amb.csv", AMBIGUOUS_CSV)
    mapping = PRESETS["order-lines"].model_copy(update={"date_format": "day-first"})
    import_file(src, tmp_path / "s.duckdb", mapping)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert rows(con, "SELECT order_ts FROM orders ORDER BY 1") == [
        (utc("2024-02-01 10:00"),),
        (utc("2024-04-03 10:00"),),
    ]
    con.close()


def test_excel_serial_dates(tmp_path: Path) -> None:
    text = AMBIGUOUS_CSV.replace("01/02/2024 10:00", "45352.5").replace("03/04/2024 10:00", "45353")
    (rep,) = import_file(
        write(tmp_path, "x.csv", text), tmp_path / "s.duckdb", PRESETS["order-lines"]
    )
    assert rep.date_format == "excel (detected)"
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert rows(con, "SELECT order_ts FROM orders ORDER BY 1") == [
        (utc("2024-03-01 12:00"),),  # serial 45292 is 2024-01-01
        (utc("2024-03-02 00:00"),),
    ]
    con.close()


def test_reimport_is_idempotent(tmp_path: Path) -> None:
    store, _ = import_uci(tmp_path)
    before = snapshot(store)
    src = tmp_path / "uci.csv"
    (rep,) = import_file(src, store, PRESETS["order-lines"], UCI_OPTS)
    after = snapshot(store)
    assert rep.run_id == 2
    for table in ("customers", "products", "orders", "order_items"):
        assert after[table] == before[table], table
    assert len(after["import_runs"]) == 2
    assert len(after["import_findings"]) == 2 * len(before["import_findings"])


def test_failing_import_leaves_store_unchanged(tmp_path: Path) -> None:
    store, _ = import_uci(tmp_path)
    before = snapshot(store)
    # too many bad rows: fails while cleaning
    with pytest.raises(
        InputError, match=r"uci.csv, row 10, column 'InvoiceDate'.*--max-bad-share 0.08"
    ):
        import_file(tmp_path / "uci.csv", store, PRESETS["order-lines"])
    assert snapshot(store) == before
    # fails in the middle of the write transaction, after the upserts
    shop = write(tmp_path, "orders_export.csv", SHOPIFY_CSV)
    with (
        patch("shoplens.ingest.load.write_report", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError, match="disk full"),
    ):
        import_file(shop, store, PRESETS["shopify"], SHOPIFY_OPTS)
    assert snapshot(store) == before
    con = open_store(store)
    temp = rows(con, "SELECT table_name FROM duckdb_tables() WHERE temporary")
    con.close()
    assert temp == []


def test_failing_first_import_creates_no_store(tmp_path: Path) -> None:
    src = write(tmp_path, "uci.csv", UCI_CSV)
    with pytest.raises(InputError):
        import_file(src, tmp_path / "new.duckdb", PRESETS["order-lines"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uci.csv"]


def test_import_into_simulated_store_upserts_and_keeps_other_columns(
    tmp_path: Path, make_store
) -> None:
    store = make_store(
        customers=[
            {"customer_id": "13085", "signup_ts": "2009-05-01 00:00", "country": "UK", "age": 40}
        ],
        products=[{"product_id": "85048", "name": "old name", "category": "Xmas",
                   "unit_price": 1}],
        orders=[{"order_id": "489434", "customer_id": "13085", "order_ts": "2010-01-01 00:00"},
                {"order_id": "X1", "customer_id": "13085", "order_ts": "2010-01-02 00:00"}],
        order_items=[{"order_id": "489434", "product_id": "85048", "quantity": 1,
                      "unit_price": 1},
                     {"order_id": "489434", "product_id": "85048", "quantity": 1,
                      "unit_price": 1, "line_no": 2},
                     {"order_id": "489434", "product_id": "85048", "quantity": 1,
                      "unit_price": 1, "line_no": 3},
                     {"order_id": "X1", "product_id": "85048", "quantity": 7,
                      "unit_price": 1, "line_no": 1}],
    )  # fmt: skip
    src = write(tmp_path, "uci.csv", UCI_CSV)
    # customer 13085's country differs (UK): merged only when asked
    opts = ImportOptions(max_bad_share=0.1, merge_customers=True)
    (rep,) = import_file(src, store, PRESETS["order-lines"], opts)
    assert (rep.merged_customers, rep.changed_customers) == (1, 1)
    con = duckdb.connect(str(store), read_only=True)
    assert rows(con, "SELECT * FROM customers WHERE customer_id = '13085'") == [
        ("13085", utc("2009-05-01 00:00"), "United Kingdom", None, 40, None, None, None, None)
    ]
    assert rows(con, "SELECT * FROM products WHERE product_id = '85048'") == [
        ("85048", "GLASS BALL", "Xmas", D("6.95"))
    ]
    assert rows(con, "SELECT order_ts FROM orders WHERE order_id = '489434'") == [
        (utc("2010-12-01 07:45"),)
    ]
    # the imported order's lines are replaced; other orders keep theirs
    assert rows(con, "SELECT order_id, line_no, quantity FROM order_items"
                " WHERE order_id IN ('489434', 'X1') ORDER BY 1, 2") == [
        ("489434", 1, 12), ("489434", 2, 12), ("X1", 1, 7)
    ]  # fmt: skip
    assert rows(con, "SELECT count(*) FROM orders") == [(9,)]
    con.close()


def test_reports_are_stored_and_read_back(uci_store: Path) -> None:
    con = open_store(uci_store, read_only=True)
    (rep,) = read_reports(con)
    con.close()
    assert rep.run_id == 1
    assert rep.source == "uci.csv"
    assert rep.mapping == "order-lines"
    assert rep.rows_read == 15
    assert rep.bad_share == pytest.approx(1 / 13)
    assert rep.started_at is not None
    assert rep.finished_at is not None
    assert rep.started_at <= rep.finished_at
    assert len(rep.findings) == 6
    assert {f.kind for f in rep.findings} == {
        "unparseable",
        "negative_price",
        "mixed_sign_line",
        "zero_price",
        "quantity_outlier",
        "future_date",
    }


def _write_format(tmp_path: Path, fmt: str) -> Path:
    """UCI_OLD_CSV as a real file of ``fmt`` with typed columns where the format has types."""
    src = write(tmp_path, "old.csv", UCI_OLD_CSV)
    if fmt == "csv":
        return src
    con = duckdb.connect()
    rel = con.read_csv(str(src), dtype={"CustomerID": "BIGINT", "InvoiceNo": "VARCHAR"})
    out = tmp_path / f"old.{fmt}"
    if fmt == "parquet":
        rel.write_parquet(str(out))
    elif fmt == "jsonl":
        con.execute(f"COPY (FROM rel) TO '{out}' (FORMAT json)")
    else:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Orders"
        sheet.append(rel.columns)
        for r in rel.fetchall():
            sheet.append(list(r))
        book.create_sheet("Notes").append(["nothing to see"])
        book.save(out)
    con.close()
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "xlsx"])
def test_every_format_gives_the_same_tables(tmp_path: Path, fmt: str) -> None:
    src = _write_format(tmp_path, fmt)
    opts = ImportOptions(sheet="Orders") if fmt == "xlsx" else None
    (rep,) = import_file(src, tmp_path / "s.duckdb", PRESETS["order-lines"], opts)
    assert (rep.rows_read, rep.orders, rep.lines, rep.bad_rows) == (4, 3, 4, 0)
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    assert rows(con, "SELECT * FROM order_items ORDER BY 1, 2") == [
        ("536365", 1, "85123A", 6, D("2.55"), D("0")),
        ("536365", 2, "71053", 6, D("3.39"), D("0")),
        ("536366", 1, "22633", 6, D("1.85"), D("0")),
        ("C536379", 1, "D", 1, D("27.50"), D("0")),
    ]
    assert rows(con, "SELECT order_id, customer_id, order_ts FROM orders ORDER BY 1")[0] == (
        "536365",
        "17850",
        utc("2010-12-01 08:26"),
    )
    con.close()


def _temp_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str]]:
    return rows(con, "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1")


def test_failed_cleaning_leaves_no_temp_tables_on_the_connection(
    tmp_path: Path, uci_store: Path
) -> None:
    # regression: the ambiguous-dates error left the __sl_<n>_rows table behind
    from shoplens.ingest import import_into
    from shoplens.ingest.readers import read_raw

    src = write(tmp_path, "amb.csv", AMBIGUOUS_CSV)
    con = open_store(uci_store)
    try:
        with pytest.raises(InputError, match="ambiguous dates"):
            import_into(con, read_raw(con, src), PRESETS["order-lines"])
        assert _temp_tables(con) == []
        # an error while building the findings: the staged tables go too
        with (
            patch("shoplens.ingest.clean.finish_staged", side_effect=RuntimeError("boom")),
            pytest.raises(RuntimeError, match="boom"),
        ):
            import_into(con, read_raw(con, tmp_path / "uci.csv"), PRESETS["order-lines"])
        assert _temp_tables(con) == []
    finally:
        con.close()


def _write_book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
              "CustomerID", "Country"]  # fmt: skip
    for title, data in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(header)
        for r in data:
            sheet.append(r)
    book.save(path)
    return path


def test_order_in_two_sheets_keeps_the_lines_of_both(tmp_path: Path) -> None:
    # regression: the second sheet's delete removed the lines the first sheet wrote
    def line(order: str, product: str, qty: int, price: float) -> list[object]:
        return [order, product, product.lower(), qty, "2024-03-01 10:00:00", price, "7", "DE"]

    book = _write_book(
        tmp_path / "book.xlsx",
        {
            "Jan": [line("o1", "A", 1, 1.5), line("o1", "B", 2, 2.5)],
            "Feb": [line("o1", "C", 3, 3.5), line("o2", "A", 4, 1.5)],
        },
    )
    store = tmp_path / "s.duckdb"
    reports = import_file(book, store, PRESETS["order-lines"])
    assert [(r.source, r.lines, r.orders) for r in reports] == [
        ("book.xlsx[Jan]", 2, 1),
        ("book.xlsx[Feb]", 2, 2),
    ]
    expected = [
        ("o1", 1, "A", 1),
        ("o1", 2, "B", 2),
        ("o1", 3, "C", 3),  # line 1 of sheet Feb, numbered on after sheet Jan's lines
        ("o2", 1, "A", 4),
    ]
    sql = "SELECT order_id, line_no, product_id, quantity FROM order_items ORDER BY 1, 2"
    con = duckdb.connect(str(store), read_only=True)
    assert rows(con, sql) == expected
    con.close()
    before = snapshot(store)
    import_file(book, store, PRESETS["order-lines"])  # re-import: the same lines
    after = snapshot(store)
    for table in ("customers", "products", "orders", "order_items"):
        assert after[table] == before[table], table


def test_stored_findings_are_limited_per_kind_exact_counts_kept(tmp_path: Path) -> None:
    src = write(
        tmp_path, "uci.csv", UCI_CSV + "489444,22350,CAT BOWL,1,12/23/2010 9:00,0,,France\n"
    )
    with patch("shoplens.ingest.clean.STORED_PER_KIND", 1):
        (rep,) = import_file(src, tmp_path / "s.duckdb", PRESETS["order-lines"], UCI_OPTS)
    assert rep.zero_price_lines == 2
    assert [(f.kind, f.row) for f in rep.findings if f.kind == "zero_price"] == [
        ("zero_price", 12),
        ("zero_price", 17),
    ]
    con = open_store(tmp_path / "s.duckdb", read_only=True)
    stored = rows(con, "SELECT kind, \"row\" FROM import_findings WHERE kind = 'zero_price'")
    (back,) = read_reports(con, examples=None)
    con.close()
    assert stored == [("zero_price", 12)]
    assert back.zero_price_lines == 2


def test_read_reports_of_several_runs(tmp_path: Path) -> None:
    store, _ = import_uci(tmp_path)
    shop = write(tmp_path, "orders_export.csv", SHOPIFY_CSV)
    (shop_rep,) = import_file(shop, store, PRESETS["shopify"], SHOPIFY_OPTS)
    con = open_store(store, read_only=True)
    first, second = read_reports(con, 2)
    everything = read_reports(con, 5, examples=None)
    one_each = read_reports(con, 2, examples=1)
    con.close()
    assert (first.run_id, second.run_id) == (1, 2)
    assert {f.source for f in first.findings} == {"uci.csv"}
    assert len(first.findings) == 6
    assert [(f.kind, f.row) for f in second.findings] == [
        (f.kind, f.row) for f in shop_rep.findings
    ]
    assert [r.run_id for r in everything] == [1, 2]
    assert [len(r.findings) for r in one_each] == [
        len({f.kind for f in first.findings}),
        len({f.kind for f in second.findings}),
    ]


def test_store_with_an_older_import_runs_table_reads_and_writes(tmp_path: Path) -> None:
    store, _ = import_uci(tmp_path)
    con = open_store(store)
    for c in ("empty_orders", "orphan_orders", "untranslated_categories"):
        con.execute(f"ALTER TABLE import_runs DROP COLUMN {c}")
    (old,) = read_reports(con)
    con.close()
    assert (old.rows_read, old.empty_orders) == (15, 0)
    (rep,) = import_file(tmp_path / "uci.csv", store, PRESETS["order-lines"], UCI_OPTS)
    assert rep.run_id == 2
    con = open_store(store, read_only=True)
    first, second = read_reports(con, 2)
    con.close()
    assert (first.empty_orders, second.empty_orders, second.rows_read) == (0, 0, 15)
