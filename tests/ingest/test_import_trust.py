"""Imports must not lose data nor give wrong totals (issue #6, the import items)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from shoplens.analytics import compute_kpis
from shoplens.ingest import PRESETS, import_file
from shoplens.store import open_store
from tests.ingest.import_files import rows

D = Decimal
UCI = PRESETS["order-lines"]
UCI_HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
              "Customer ID", "Country"]  # fmt: skip


def write_book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, data in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(UCI_HEADER)
        for r in data:
            sheet.append(r)
    book.save(path)
    return path


def uci_line(invoice: str, code: str, qty: int, ts: str, price: float, cust: str) -> list[object]:
    return [invoice, code, f"ITEM {code}", qty, ts, price, cust, "United Kingdom"]


# --- 2. overlapping sheets ------------------------------------------------------------


def online_retail_ii_book(tmp_path: Path) -> Path:
    """Like UCI "Online Retail II": two yearly sheets sharing the first days of Dec 2010."""
    overlap = [
        uci_line("538000", "85048", 6, "2010-12-01 08:26:00", 2.55, "17850"),
        uci_line("538000", "71053", 6, "2010-12-01 08:26:00", 3.39, "17850"),
        uci_line("538001", "22633", 2, "2010-12-02 09:00:00", 1.85, "13047"),
        uci_line("538001", "22633", 2, "2010-12-02 09:00:00", 1.85, "13047"),  # in-sheet copy
        uci_line("C538002", "22633", -1, "2010-12-03 10:00:00", 1.85, "13047"),
    ]
    first = [
        uci_line("489434", "85048", 12, "2009-12-01 07:45:00", 6.95, "13085"),
        *overlap,
        # an order spread over both sheets: distinct lines, all kept
        uci_line("538003", "A1", 1, "2010-12-09 12:00:00", 10.00, "13085"),
    ]
    second = [
        *overlap,
        uci_line("538003", "B2", 2, "2010-12-09 12:00:00", 5.00, "13085"),
        uci_line("540000", "85048", 3, "2011-01-04 10:00:00", 2.55, "17850"),
    ]
    return write_book(tmp_path / "online_retail_II.xlsx", {"Year 2009-2010": first,
                                                            "Year 2010-2011": second})  # fmt: skip


def test_lines_in_two_overlapping_sheets_count_once(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    first, second = import_file(online_retail_ii_book(tmp_path), store, UCI)
    assert (first.rows_read, first.duplicate_rows, first.overlap_rows) == (7, 1, 0)
    # the second sheet: 5 rows of the overlap (4 distinct lines + the in-sheet copy)
    assert (second.rows_read, second.duplicate_rows, second.overlap_rows) == (7, 5, 5)
    assert (second.lines, second.orders) == (2, 2)
    con = open_store(store, read_only=True)
    assert rows(con, "SELECT order_id, line_no, product_id FROM order_items"
                     " WHERE order_id = '538003' ORDER BY 2") == [
        ("538003", 1, "A1"), ("538003", 2, "B2")
    ]  # fmt: skip
    (k,) = compute_kpis(con).to_pylist()
    con.close()
    # 83.40 + 15.30 + 20.34 + 3.70 + (cancelled 1.85) + 10.00 + 10.00 + 7.65
    assert D(str(k["gross_revenue"])) == D("152.24")
    assert D(str(k["net_revenue"])) == D("150.39")
    assert k["orders"] == 6
