"""Imports must not lose data nor give wrong totals (issue #6, the import items)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from shoplens.analytics import compute_kpis
from shoplens.errors import InputError
from shoplens.ingest import PRESETS, ImportOptions, import_file, load_fx_rates
from shoplens.store import open_store
from tests.ingest.import_files import rows

D = Decimal
UCI = PRESETS["order-lines"]
UCI_HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
              "Customer ID", "Country"]  # fmt: skip


def write_book(
    path: Path, sheets: dict[str, list[list[object]]], header: list[str] = UCI_HEADER
) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, data in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(header)
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


# --- 3. values that do not fit the store's money type -----------------------------------

HUGE_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
1,A,ITEM A,2,2024-01-05 10:00:00,1.50,7,DE
2,B,ITEM B,2000000,2024-01-06 10:00:00,9999999999.99,7,DE
3,C,ITEM C,1,2024-01-07 10:00:00,1e20,8,DE
4,D,ITEM D,3000000000,2024-01-08 10:00:00,1.00,8,DE
5,E,ITEM E,1,2024-01-09 10:00:00,1e40,8,DE
6,F,ITEM F,1,2024-01-10 10:00:00,abc,8,DE
"""


def test_values_too_large_for_the_store_are_out_of_range(tmp_path: Path) -> None:
    src = tmp_path / "huge.csv"
    src.write_text(HUGE_CSV)
    with pytest.raises(InputError) as err:
        import_file(src, tmp_path / "s.duckdb", UCI)
    msg = str(err.value)
    assert "huge.csv, row 3, column 'Price'" in msg
    assert "out of range" in msg
    assert not (tmp_path / "s.duckdb").exists()
    (rep,) = import_file(src, tmp_path / "s.duckdb", UCI, ImportOptions(max_bad_share=0.9))
    assert (rep.out_of_range_values, rep.unparseable_values, rep.bad_rows) == (4, 1, 5)
    found = {(f.row, f.column, f.value, f.message) for f in rep.findings if f.kind != "zero_price"}
    money = "(the store holds money below 10^16)"
    assert found == {
        (3, "Price", "2000000 x 9999999999.99", f"quantity x unit price out of range {money}"),
        (4, "Price", "1e20", f"unit price out of range {money}"),
        (5, "Quantity", "3000000000", "quantity out of range (above 2,147,483,647)"),
        (6, "Price", "1e40", f"unit price out of range {money}"),
        (7, "Price", "abc", "unit price is not a number"),
    }
    assert rep.lines == 1


BIG_ORDERS_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
1,A,ITEM A,1000000,2024-01-05 10:00:00,9999999999.99,7,DE
1,B,ITEM B,1000000,2024-01-05 10:00:00,9999999999.99,7,DE
2,A,ITEM A,999999,2024-02-05 10:00:00,9999999999.99,7,DE
3,A,ITEM A,1,2024-02-06 10:00:00,2.50,8,DE
"""


def test_analyses_do_not_overflow_on_what_an_import_let_in(tmp_path: Path) -> None:
    from shoplens.analytics import assign_segments, cohort_matrix, rfm_table, segment_summary

    src = tmp_path / "big.csv"
    src.write_text(BIG_ORDERS_CSV)
    store = tmp_path / "s.duckdb"
    (rep,) = import_file(src, store, UCI)
    assert (rep.lines, rep.bad_rows) == (4, 0)
    con = open_store(store, read_only=True)
    try:
        (k,) = compute_kpis(con).to_pylist()
        # 2 x 9,999,999,999,990,000 + 9,999,989,999,990,000.01 + 2.50: beyond DECIMAL(18, 2)
        assert k["gross_revenue"] == pytest.approx(29_999_989_999_970_002.51, rel=1e-15)
        assert compute_kpis(con, by="month").num_rows == 2
        rfm = {r["customer_id"]: r["monetary"] for r in rfm_table(con).to_pylist()}
        assert rfm["7"] == pytest.approx(29_999_989_999_970_000.01, rel=1e-15)
        summary = segment_summary(assign_segments(con))
        assert sum(summary.column("revenue").to_pylist()) == pytest.approx(
            k["net_revenue"], rel=1e-12
        )
        cohorts = cohort_matrix(con, metric="revenue").to_pylist()
        assert cohorts[0]["revenue"] == pytest.approx(19_999_999_999_980_000.0, rel=1e-15)
    finally:
        con.close()


# --- 4. several currencies ----------------------------------------------------------

MIXED_SHOPIFY_CSV = """\
Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,\
Lineitem sku,Discount Amount,Billing Country,Currency
#1,ann@example.com,paid,2024-03-01 10:00:00 +0100,2,Mug,12.50,MUG,1.00,DE,EUR
#1,,,,1,Pot,30.00,POT,,,
#2,bob@example.com,paid,2024-03-02 10:00:00 +0100,1,Mug,15.00,MUG,0.00,US,USD
#3,cy@example.com,paid,2024-03-03 10:00:00 +0100,3,Pot,33.33,POT,2.00,US,USD
#4,di@example.com,refunded,2024-03-04 10:00:00 +0100,1,Mug,12.50,MUG,0.00,FR,EUR
"""


def _net_by_currency(store: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return rows(
            con,
            "SELECT o.order_id, o.currency, i.unit_price, o.discount FROM orders o"
            " JOIN order_items i USING (order_id) ORDER BY 1, i.line_no",
        )
    finally:
        con.close()


def test_orders_in_several_currencies_are_refused_unless_told(tmp_path: Path) -> None:
    src = tmp_path / "shopify.csv"
    src.write_text(MIXED_SHOPIFY_CSV)
    shopify = PRESETS["shopify"]
    with pytest.raises(InputError) as err:
        import_file(src, tmp_path / "a.duckdb", shopify)
    msg = str(err.value)
    assert "orders in 2 currencies (EUR: 2 orders, USD: 2 orders)" in msg
    assert "--currency EUR" in msg
    assert "--fx-rates" in msg
    assert not (tmp_path / "a.duckdb").exists()

    # --currency EUR: the USD orders are left out and counted
    (rep,) = import_file(src, tmp_path / "a.duckdb", shopify, ImportOptions(keep_currency="eur"))
    assert (rep.orders, rep.other_currency_orders, rep.bad_rows, rep.lines) == (2, 2, 0, 3)
    assert {(f.kind, f.row, f.value) for f in rep.findings if f.kind == "other_currency"} == {
        ("other_currency", 4, "USD"),
        ("other_currency", 5, "USD"),
    }
    assert {r[1] for r in _net_by_currency(tmp_path / "a.duckdb")} == {"EUR"}

    # --fx-rates: USD converted at 0.9 to the reporting currency EUR
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate_to_reporting\nUSD,0.9\n")
    opts = ImportOptions(fx_rates=load_fx_rates(rates), keep_currency="EUR")
    (rep,) = import_file(src, tmp_path / "b.duckdb", shopify, opts)
    assert (rep.orders, rep.converted_orders, rep.other_currency_orders) == (4, 2, 0)
    assert _net_by_currency(tmp_path / "b.duckdb") == [
        ("#1", "EUR", D("12.50"), D("1.00")),
        ("#1", "EUR", D("30.00"), D("1.00")),
        ("#2", "EUR", D("13.50"), D("0.00")),
        ("#3", "EUR", D("30.00"), D("1.80")),  # 33.33 x 0.9 = 29.997
        ("#4", "EUR", D("12.50"), D("0.00")),
    ]
    # a currency the table lacks is named
    rates.write_text("currency,rate_to_reporting\nGBP,1.1\n")
    opts = ImportOptions(fx_rates=load_fx_rates(rates))
    with pytest.raises(InputError, match=r"row 4, column 'Currency'.*USD has no rate in rates"):
        import_file(src, tmp_path / "c.duckdb", shopify, opts)


def test_an_import_in_another_currency_than_the_store_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "shopify.csv"
    src.write_text(MIXED_SHOPIFY_CSV)
    store = tmp_path / "s.duckdb"
    import_file(src, store, PRESETS["shopify"], ImportOptions(keep_currency="USD"))
    before = _net_by_currency(store)
    with pytest.raises(InputError, match="the store holds orders in USD and this import's"):
        import_file(src, store, PRESETS["shopify"], ImportOptions(keep_currency="EUR"))
    assert _net_by_currency(store) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("currency,rate\nUSD,1\n", "row 1: expected the header line currency,rate_to_reporting"),
        ("currency,rate_to_reporting\nUS,1\n", "row 2, column 'currency': currency 'US' is not"),
        ("currency,rate_to_reporting\nUSD,-1\n", "row 2, column 'rate_to_reporting': rate '-1'"),
        ("currency,rate_to_reporting\nUSD,1\nusd,2\n", "row 3: currency USD is listed twice"),
    ],
)
def test_bad_conversion_tables(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)):
        load_fx_rates(path)


# --- 5. status values -------------------------------------------------------------------

STATUS_CSV = """\
order_number,order_date,customer,sku,qty,price,order_status
1,2024-03-01 10:00,c1,A,1,10.00,Completed
2,2024-03-02 10:00,c1,A,1,20.00,Cancelled
3,2024-03-03 10:00,c2,A,1,40.00,refunded
4,2024-03-04 10:00,c2,A,1,80.00,Shipped
5,2024-03-05 10:00,c3,A,1,160.00,on-hold
"""


def test_infer_proposes_the_observed_status_values(tmp_path: Path) -> None:
    import tomllib

    from shoplens.ingest import infer_mapping, mapping_toml
    from shoplens.ingest.mapping import mapping_from_dict
    from shoplens.ingest.readers import read_raw

    src = tmp_path / "orders.csv"
    src.write_text(STATUS_CSV)
    con = duckdb.connect()
    (raw,) = read_raw(con, src)
    proposed = infer_mapping(con, raw)
    con.close()
    assert proposed.status.column == "order_status"
    assert (proposed.status.completed, proposed.status.cancelled, proposed.status.returned) == (
        ("Completed", "Shipped"),
        ("Cancelled",),
        ("refunded",),
    )
    mapping = mapping_from_dict(tomllib.loads(mapping_toml(proposed)))
    assert mapping.status == proposed.status
    # "on-hold" is in no list: a finding and a refusal naming it and the option
    with pytest.raises(InputError) as err:
        import_file(src, tmp_path / "s.duckdb", mapping)
    assert "orders.csv, row 6, column 'order_status': 1 orders have a status value" in str(
        err.value
    )
    assert "'on-hold' (1)" in str(err.value)
    assert "--unknown-status completed|cancelled|returned" in str(err.value)
    opts = ImportOptions(unknown_status="cancelled")
    (rep,) = import_file(src, tmp_path / "s.duckdb", mapping, opts)
    assert (rep.completed_orders, rep.cancelled_orders, rep.returned_orders) == (2, 2, 1)
    assert rep.unknown_status_orders == 1
    con = open_store(tmp_path / "s.duckdb", read_only=True)
    (k,) = compute_kpis(con).to_pylist()
    con.close()
    assert k["net_revenue"] == pytest.approx(90.00)  # 10 + 80: not 310


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("paid", "completed"),
        ("FULFILLED", "completed"),
        ("delivered", "completed"),
        ("partially_refunded", "completed"),
        ("Refunded", "returned"),
        ("returned", "returned"),
        ("canceled", "cancelled"),
        ("Cancelled by customer", "cancelled"),
        ("voided", "cancelled"),
        ("on-hold", None),
        ("mystery", None),
    ],
)
def test_classify_status(value: str, status: str | None) -> None:
    from shoplens.ingest.infer import classify_status

    assert classify_status(value) == status


# --- 6. customers already in the store ---------------------------------------------------

UCI_CUSTOMERS_CSV = """\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,12348.0,Finland
536366,22633,WARMER,6,2010-12-01 08:28:00,1.85,12349.0,Italy
536367,22633,WARMER,2,2010-12-01 09:00:00,1.85,12350.0,Norway
"""


def test_customers_of_another_shop_are_not_merged_silently(make_store, tmp_path: Path) -> None:
    # a simulated shop whose customer ids 12348 and 12349 are also UCI customer ids
    store = make_store(
        customers=[
            {"customer_id": "12348", "signup_ts": "2024-03-01 10:00", "country": "DE"},
            {"customer_id": "12349", "signup_ts": "2024-04-01 10:00", "country": "FR"},
        ],
        orders=[{"order_id": "o1", "customer_id": "12348", "order_ts": "2024-03-01 10:00"}],
        order_items=[{"order_id": "o1", "product_id": "p", "quantity": 1, "unit_price": 5}],
    )
    src = tmp_path / "uci.csv"
    src.write_text(UCI_CUSTOMERS_CSV)
    with pytest.raises(InputError) as err:
        import_file(src, store, UCI)
    msg = str(err.value)
    assert "2 of the 2 customers of this import that are already in the store" in msg
    assert "customer 12348: country DE -> Finland, signup 2024-03-01 -> 2010-12-01" in msg
    assert "--merge-customers" in msg
    con = open_store(store, read_only=True)
    assert rows(con, "SELECT count(*) FROM orders") == [(1,)]
    con.close()

    (rep,) = import_file(src, store, UCI, ImportOptions(merge_customers=True))
    assert (rep.customers, rep.merged_customers, rep.changed_customers) == (3, 2, 2)
    changed = [f for f in rep.findings if f.kind == "changed_customer"]
    assert [(f.value, f.message) for f in changed] == [
        ("12348", "customer already in the store, merged: country DE -> Finland,"
                  " signup 2024-03-01 -> 2010-12-01"),
        ("12349", "customer already in the store, merged: country FR -> Italy,"
                  " signup 2024-04-01 -> 2010-12-01"),
    ]  # fmt: skip
    # the same file again: every customer merged, none changed, no refusal
    (again,) = import_file(src, store, UCI)
    assert (again.merged_customers, again.changed_customers) == (3, 0)


# --- 15. messages: unsaved formulas, no DuckDB type names --------------------------------


def test_excel_formula_without_saved_value_is_named_as_such(tmp_path: Path) -> None:
    line = uci_line("1", "A", 2, "2024-01-05 10:00:00", 1.5, "7")
    formula = uci_line("2", "B", 1, "2024-01-06 10:00:00", 0, "7")
    formula[5] = "=F2*2"  # openpyxl saves the formula, no value: as a program would
    book = write_book(tmp_path / "book.xlsx", {"Orders": [line, formula]})
    with pytest.raises(InputError) as err:
        import_file(book, tmp_path / "s.duckdb", UCI)
    assert str(err.value) == (
        "book.xlsx[Orders], row 3, column 'Price': formula without a saved value:"
        " open and save the file in Excel (1 such cells in this column)"
    )
    # a formula in a column the mapping does not read is no concern
    book = write_book(
        tmp_path / "other.xlsx", {"Orders": [[*line, "=1+1"]]}, [*UCI_HEADER, "Check"]
    )
    (rep,) = import_file(book, tmp_path / "s.duckdb", UCI)
    assert rep.lines == 1


@pytest.mark.parametrize(
    ("line", "kind"),
    [("18446744073709551615", "number"), ("-1.5", "number"), ('"x"', "string"),
     ("true", "boolean"), ("null", "null")],
)  # fmt: skip
def test_json_messages_use_json_words(tmp_path: Path, line: str, kind: str) -> None:
    from shoplens.ingest.readers import read_raw

    src = tmp_path / "o.jsonl"
    src.write_text('{"a": 1}\n' + line + "\n")
    con = duckdb.connect()
    with pytest.raises(InputError) as err:
        read_raw(con, src)
    con.close()
    assert f"row 2: a JSON {kind} where an object was expected" in str(err.value)


# --- 17. progress -------------------------------------------------------------------------


def test_import_reports_progress_by_stage(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    book = online_retail_ii_book(tmp_path)
    import_file(book, tmp_path / "s.duckdb", UCI, on_progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls]
    assert stages[:2] == ["reading", "reading"]
    assert stages[-2:] == ["writing", "writing"]
    cleaning = [c for c in calls if c[0] == "cleaning"]
    # two sheets, every cleaning step ticks: done runs 1..total
    assert [c[1] for c in cleaning] == list(range(1, cleaning[0][2] + 1))
    assert cleaning[-1][1] == cleaning[-1][2] > 2


def test_import_command_draws_a_progress_bar_on_a_terminal(capsys, tmp_path: Path) -> None:
    import io
    from unittest.mock import patch

    from rich.console import Console

    from shoplens.cli import core
    from tests.test_cli import run

    src = tmp_path / "big.csv"
    src.write_text(BIG_ORDERS_CSV)
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    with patch.object(core, "err", terminal):
        code, out, _ = run(capsys, "import", str(src), "--preset", "order-lines",
                           "--store", str(tmp_path / "s.duckdb"))  # fmt: skip
    assert code == 0
    assert "imported 4 order lines" in out
    assert "cleaning" in screen.getvalue()
    assert "writing" in screen.getvalue()


# --- scale: bounded memory ----------------------------------------------------------------


def test_import_runs_within_a_memory_limit_and_cleans_its_spill_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from shoplens.errors import InvalidParameterError
    from shoplens.ingest.spill import bounded_memory

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    con.execute("SET memory_limit = '500MB'")
    with bounded_memory(con, "64MB"):
        ((limit, spill),) = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()
        assert limit == "61.0 MiB"
        assert Path(spill).parent == tmp_path / "tmp"
        assert Path(spill).is_dir()
    # restored (through DuckDB's rounded display of it)
    ((restored,),) = con.execute("SELECT current_setting('memory_limit')").fetchall()
    assert restored.startswith("476.")
    con.close()
    assert list((tmp_path / "tmp").iterdir()) == []  # the spill directory is gone

    src = tmp_path / "big.csv"
    src.write_text(BIG_ORDERS_CSV)
    (rep,) = import_file(src, tmp_path / "s.duckdb", UCI, ImportOptions(memory_limit="64MB"))
    assert rep.lines == 4
    assert list((tmp_path / "tmp").iterdir()) == []
    with pytest.raises(InvalidParameterError, match="'lots' is not a size"):
        import_file(src, tmp_path / "t.duckdb", UCI, ImportOptions(memory_limit="lots"))


def test_import_command_options_for_currencies_statuses_and_customers(
    capsys, tmp_path: Path
) -> None:
    from tests.test_cli import run

    src = tmp_path / "shopify.csv"
    src.write_text(MIXED_SHOPIFY_CSV)
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate_to_reporting\nUSD,0.9\n")
    store = str(tmp_path / "s.duckdb")
    base = ["import", str(src), "--preset", "shopify", "--store", store]
    code, _, err = run(capsys, *base)
    assert code == 1
    assert "--currency EUR" in err
    code, _, err = run(capsys, *base, "--unknown-status", "paid")
    assert code != 0
    assert "--unknown-status must be one of completed, cancelled, returned" in err
    code, out, _ = run(capsys, *base, "--currency", "EUR", "--fx-rates", str(rates), "--json")
    assert code == 0
    (imp,) = json.loads(out)["imports"]
    assert (imp["orders"], imp["converted_orders"]) == (4, 2)
    code, out, _ = run(capsys, *base, "--currency", "EUR", "--fx-rates", str(rates),
                       "--merge-customers", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["imports"][0]["merged_customers"] == 4
