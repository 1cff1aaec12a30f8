"""The ``olist`` preset: a small Olist-shaped directory, checked exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from shoplens.analytics import compute_kpis
from shoplens.errors import InputError
from shoplens.ingest import ImportOptions, QualityReport, import_olist, read_reports
from shoplens.store import open_store
from tests.ingest.import_files import rows, snapshot
from tests.test_cli import run

D = Decimal
# 1 orphan line of 37 usable rows (38 read, 1 duplicate) is above the default 1%
OPTS = ImportOptions(max_bad_share=0.05)

# Line numbers (the header is line 1) in comments.
OLIST = {
    "olist_orders_dataset.csv": """\
order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,\
order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date
o1,c1,delivered,2017-01-10 10:00:00,2017-01-10 10:15:00,2017-01-11 09:00:00,\
2017-01-15 14:00:00,2017-01-25 00:00:00
o2,c2,delivered,2017-03-05 09:30:00,2017-03-05 09:40:00,,,2017-03-20 00:00:00
o3,c3,canceled,2017-03-06 15:00:00,,,,2017-03-25 00:00:00
o4,c3,shipped,2017-04-01 20:00:00,2017-04-01 20:10:00,2017-04-03 10:00:00,,\
2017-04-20 00:00:00
o5,c4,delivered,2017-04-02 08:00:00,2017-04-02 08:05:00,,,2017-04-22 00:00:00
o6,c9,processing,2017-04-03 12:00:00,2017-04-03 12:30:00,,,2017-04-23 00:00:00
o7,c4,unavailable,2017-04-04 09:00:00,2017-04-04 09:10:00,,,2017-04-24 00:00:00
""",
    # o5's lines are out of order: line_no follows order_item_id; o99 is an orphan
    "olist_order_items_dataset.csv": """\
order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value
o1,1,P1,s1,2017-01-12 10:00:00,100.00,10.50
o1,2,P1,s1,2017-01-12 10:00:00,100.00,10.50
o1,3,P2,s2,2017-01-12 10:00:00,50.00,8.00
o2,1,P3,s2,2017-03-07 09:30:00,30.00,5.00
o3,1,P2,s2,2017-03-08 15:00:00,50.00,8.00
o4,1,P4,s1,2017-04-03 20:00:00,20.00,4.00
o5,2,P2,s2,2017-04-04 08:00:00,45.00,7.00
o5,1,P3,s2,2017-04-04 08:00:00,30.00,5.00
o6,1,P1,s1,2017-04-05 12:00:00,100.00,10.50
o99,1,P2,s2,2017-04-06 12:00:00,50.00,8.00
""",
    # U1 placed two orders under two Olist customer ids; c9 (order o6) is absent
    "olist_customers_dataset.csv": """\
customer_id,customer_unique_id,customer_zip_code_prefix,customer_city,customer_state
c1,U1,01001,sao paulo,SP
c2,U1,13010,campinas,SP
c3,U2,20010,rio de janeiro,RJ
c4,U3,80010,curitiba,PR
""",
    # pc_gamer has no translation (P3 sold, P5 not); P4 has no category
    "olist_products_dataset.csv": """\
product_id,product_category_name,product_name_lenght,product_weight_g
P1,beleza_saude,40,300
P2,informatica_acessorios,52,1200
P3,pc_gamer,33,900
P4,,20,150
P5,pc_gamer,31,800
""",
    # Kaggle's file starts with a BOM
    "product_category_name_translation.csv": """\ufeff\
product_category_name,product_category_name_english
beleza_saude,health_beauty
informatica_acessorios,computers_accessories
cama_mesa_banho,bed_bath_table
""",
    # line 4 duplicates line 3; o4's voucher (25) exceeds its gross (20); o7 is empty
    "olist_order_payments_dataset.csv": """\
order_id,payment_sequential,payment_type,payment_installments,payment_value
o1,1,credit_card,3,279.00
o2,1,boleto,1,35.00
o2,1,boleto,1,35.00
o3,1,credit_card,1,58.00
o4,1,voucher,1,25.00
o5,1,voucher,1,20.00
o5,2,credit_card,2,67.00
o6,1,credit_card,1,110.50
o7,1,voucher,1,9.99
""",
}


def write_olist(tmp_path: Path, skip: tuple[str, ...] = (), **changed: str) -> Path:
    folder = tmp_path / "olist"
    folder.mkdir()
    for name, text in OLIST.items():
        if name not in skip:
            (folder / name).write_text(changed.get(name.split(".")[0], text), encoding="utf-8")
    return folder


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def olist(tmp_path: Path) -> tuple[Path, QualityReport]:
    store = tmp_path / "shop.duckdb"
    (rep,) = import_olist(write_olist(tmp_path), store, OPTS)
    return store, rep


def test_canonical_tables(olist: tuple[Path, QualityReport]) -> None:
    store, _ = olist
    con = duckdb.connect(str(store), read_only=True)
    # America/Sao_Paulo: UTC-2 (summer time) until 2017-02-19, then UTC-3
    assert rows(con, "SELECT * FROM orders ORDER BY order_id") == [
        ("o1", "U1", utc("2017-01-10 12:00"), "completed", None, None, D("0"), "BRL"),
        ("o2", "U1", utc("2017-03-05 12:30"), "completed", None, None, D("0"), "BRL"),
        ("o3", "U2", utc("2017-03-06 18:00"), "cancelled", None, None, D("0"), "BRL"),
        ("o4", "U2", utc("2017-04-01 23:00"), "completed", None, "voucher", D("20.00"), "BRL"),
        ("o5", "U3", utc("2017-04-02 11:00"), "completed", None, "voucher", D("20.00"), "BRL"),
        ("o6", None, utc("2017-04-03 15:00"), "completed", None, None, D("0"), "BRL"),
    ]
    assert rows(con, "SELECT * FROM order_items ORDER BY order_id, line_no") == [
        ("o1", 1, "P1", 1, D("100.00"), D("0")),
        ("o1", 2, "P1", 1, D("100.00"), D("0")),
        ("o1", 3, "P2", 1, D("50.00"), D("0")),
        ("o2", 1, "P3", 1, D("30.00"), D("0")),
        ("o3", 1, "P2", 1, D("50.00"), D("0")),
        ("o4", 1, "P4", 1, D("20.00"), D("0")),
        ("o5", 1, "P3", 1, D("30.00"), D("0")),
        ("o5", 2, "P2", 1, D("45.00"), D("0")),
        ("o6", 1, "P1", 1, D("100.00"), D("0")),
    ]
    assert rows(con, "SELECT * FROM customers ORDER BY customer_id") == [
        ("U1", utc("2017-01-10 12:00"), "BR", "sao paulo", None, None, None, None, None),
        ("U2", utc("2017-03-06 18:00"), "BR", "rio de janeiro", None, None, None, None, None),
        ("U3", utc("2017-04-02 11:00"), "BR", "curitiba", None, None, None, None, None),
    ]
    assert rows(con, "SELECT * FROM products ORDER BY product_id") == [
        ("P1", "P1", "health_beauty", D("100.00")),
        ("P2", "P2", "computers_accessories", D("45.00")),  # the latest price
        ("P3", "P3", "pc_gamer", D("30.00")),
        ("P4", "P4", None, D("20.00")),
    ]
    con.close()


def test_quality_report(olist: tuple[Path, QualityReport]) -> None:
    _, rep = olist
    assert (rep.source, rep.mapping, rep.date_format, rep.run_id) == (
        "olist/",
        "olist",
        "iso (detected)",
        1,
    )
    assert rep.counts() == {
        "rows_read": 38,
        "empty_rows": 0,
        "duplicate_rows": 1,
        "overlap_rows": 0,
        "dates_parsed": 7,
        "bad_rows": 0,
        "missing_values": 0,
        "unparseable_values": 0,
        "invalid_values": 0,
        "out_of_range_values": 0,
        "negative_price_rows": 0,
        "mixed_sign_lines": 0,
        "orphan_lines": 1,
        "bad_share": 1 / 37,
        "lines": 9,
        "orders": 6,
        "customers": 3,
        "products": 4,
        "guest_orders": 1,
        "completed_orders": 5,
        "cancelled_orders": 1,
        "returned_orders": 0,
        "zero_price_lines": 0,
        "quantity_outliers": 0,
        "price_outliers": 0,
        "future_orders": 0,
        "conflicting_orders": 0,
        "unknown_status_orders": 0,
        "empty_orders": 1,
        "orphan_orders": 1,
        "untranslated_categories": 1,
        "other_currency_orders": 0,
        "converted_orders": 0,
        "merged_customers": 0,
        "changed_customers": 0,
    }
    found = {(f.kind, f.source, f.row, f.column, f.value) for f in rep.findings}
    assert found == {
        ("empty_order", "olist_orders_dataset.csv", 8, "order_id", "o7"),
        ("orphan_line", "olist_order_items_dataset.csv", 11, "order_id", "o99"),
        ("orphan_order", "olist_orders_dataset.csv", 7, "customer_id", "c9"),
        (
            "untranslated_category",
            "olist_products_dataset.csv",
            4,
            "product_category_name",
            "pc_gamer",
        ),
    }
    (untranslated,) = [f for f in rep.findings if f.kind == "untranslated_category"]
    assert "kept in Portuguese (2 products)" in untranslated.message


def test_reports_are_stored(olist: tuple[Path, QualityReport]) -> None:
    store, rep = olist
    con = open_store(store, read_only=True)
    (back,) = read_reports(con)
    con.close()
    assert back.counts() == rep.counts()
    assert {f.kind for f in back.findings} == {f.kind for f in rep.findings}


def test_kpis_equal_hand_computed(olist: tuple[Path, QualityReport]) -> None:
    store, _ = olist
    con = open_store(store, read_only=True, timezone="America/Sao_Paulo")
    (k,) = compute_kpis(con).to_pylist()
    con.close()
    # gross: o1 250 + o2 30 + o3 50 (cancelled) + o4 20 + o5 75 + o6 100; freight is not
    # revenue. Discounts: o4's voucher capped at 20, o5's 20.
    assert (k["orders"], k["completed_orders"], k["cancelled_orders"]) == (6, 5, 1)
    assert k["returned_orders"] == 0
    assert k["customers"] == 3  # U1 (2 orders), U2, U3; o6 is a guest order
    assert k["gross_revenue"] == pytest.approx(525.0)
    assert k["discounts"] == pytest.approx(40.0)
    assert k["cancelled_revenue"] == pytest.approx(50.0)
    assert k["net_revenue"] == pytest.approx(435.0)  # 250 + 30 + 0 + 55 + 100
    assert k["guest_revenue"] == pytest.approx(100.0)
    assert k["aov"] == pytest.approx(87.0)
    assert k["units_per_order"] == pytest.approx(8 / 5)
    assert k["promo_order_share"] == pytest.approx(2 / 6)
    assert k["cancellation_rate"] == pytest.approx(1 / 6)


def test_reimport_is_idempotent(tmp_path: Path, olist: tuple[Path, QualityReport]) -> None:
    store, first = olist
    before = snapshot(store)
    (rep,) = import_olist(tmp_path / "olist", store, OPTS)
    after = snapshot(store)
    assert rep.run_id == 2
    # every customer is merged (the same ids), none changed
    assert (rep.merged_customers, rep.changed_customers) == (first.customers, 0)
    assert {**rep.counts(), "merged_customers": 0} == first.counts()
    for table in ("customers", "products", "orders", "order_items"):
        assert after[table] == before[table], table
    assert len(after["import_runs"]) == 2


def test_timezone_option_overrides_sao_paulo(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    import_olist(write_olist(tmp_path), store, ImportOptions(timezone="UTC", max_bad_share=0.05))
    con = duckdb.connect(str(store), read_only=True)
    assert rows(con, "SELECT order_ts FROM orders WHERE order_id = 'o1'") == [
        (utc("2017-01-10 10:00"),)
    ]
    con.close()


def test_missing_files_name_the_directory_and_the_files(tmp_path: Path) -> None:
    folder = write_olist(
        tmp_path, skip=("olist_customers_dataset.csv", "product_category_name_translation.csv")
    )
    with pytest.raises(InputError) as info:
        import_olist(folder, tmp_path / "s.duckdb")
    assert str(info.value) == (
        f"{folder}: not a complete Olist dataset: missing olist_customers_dataset.csv,"
        " product_category_name_translation.csv"
    )
    assert not (tmp_path / "s.duckdb").exists()
    with pytest.raises(InputError, match="reads a directory"):
        import_olist(folder / "olist_orders_dataset.csv", tmp_path / "s.duckdb")


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    text = OLIST["olist_customers_dataset.csv"].replace("customer_unique_id", "unique_id")
    folder = write_olist(tmp_path, olist_customers_dataset=text)
    with pytest.raises(InputError, match=r"^olist_customers_dataset.csv: missing column"):
        import_olist(folder, tmp_path / "s.duckdb")


def test_failures_leave_the_store_unchanged(
    tmp_path: Path, olist: tuple[Path, QualityReport]
) -> None:
    store, _ = olist
    before = snapshot(store)
    # default max_bad_share 1%: the orphan line is too much
    with pytest.raises(InputError) as info:
        import_olist(tmp_path / "olist", store)
    assert str(info.value).startswith(
        "olist_order_items_dataset.csv, row 11, column 'order_id': 1 of 37 rows (2.7%)"
    )
    # an unparseable price: over the limit too
    other = tmp_path / "other"
    other.mkdir()
    bad_items = OLIST["olist_order_items_dataset.csv"].replace("00:00,20.00,", "00:00,2O.00,")
    folder = write_olist(other, olist_order_items_dataset=bad_items)
    with pytest.raises(InputError, match=r"row 7, column 'price': .* not a number"):
        import_olist(folder, store)
    assert snapshot(store) == before
    con = open_store(store)
    assert rows(con, "SELECT table_name FROM duckdb_tables() WHERE temporary") == []
    con.close()


def test_bad_values_are_counted_findings(tmp_path: Path) -> None:
    orders = OLIST["olist_orders_dataset.csv"].replace("2017-04-03 12:00:00", "yesterday", 1)
    items = OLIST["olist_order_items_dataset.csv"].replace("10:00:00,50.00", "10:00:00,-1.00")
    folder = write_olist(tmp_path, olist_orders_dataset=orders, olist_order_items_dataset=items)
    (rep,) = import_olist(folder, tmp_path / "s.duckdb", ImportOptions(max_bad_share=0.2))
    assert (rep.unparseable_values, rep.bad_rows, rep.dates_parsed) == (1, 1, 6)
    assert (rep.negative_price_rows, rep.orphan_lines, rep.orders, rep.lines) == (1, 2, 5, 7)
    found = {(f.kind, f.row, f.column, f.value) for f in rep.findings}
    assert ("unparseable", 7, "order_purchase_timestamp", "yesterday") in found
    assert ("negative_price", 4, "price", "-1.00") in found
    assert ("orphan_line", 10, "order_id", "o6") in found  # its order was dropped


def test_cli_import_olist_end_to_end(capsys, tmp_path: Path) -> None:
    folder = write_olist(tmp_path)
    store = str(tmp_path / "shop.duckdb")
    args = ["import", str(folder), "--preset", "olist", "--store", store]
    code, out, err = run(capsys, *args, "--max-bad-share", "0.05")
    assert (code, err) == (0, "")
    assert "imported 9 order lines from olist" in out
    assert "untranslated_category" in out
    code, out, _ = run(capsys, "kpis", "--store", store, "--json", "--no-save")
    assert code == 0
    (k,) = json.loads(out)["rows"]
    assert (k["orders"], k["net_revenue"], k["customers"]) == (6, 435.0, 3)
    code, out, _ = run(capsys, "quality", "--store", store, "--json")
    assert code == 0
    (imp,) = json.loads(out)["imports"]
    assert (imp["source"], imp["mapping"], imp["orphan_lines"]) == ("olist/", "olist", 1)
    # errors: one line, exit 1, nothing written
    before = snapshot(tmp_path / "shop.duckdb")
    code, _, err = run(capsys, *args)  # default max_bad_share
    assert code == 1
    assert err.startswith("error: olist_order_items_dataset.csv, row 11")
    (folder / "olist_orders_dataset.csv").unlink()
    code, _, err = run(capsys, *args)
    assert code == 1
    assert "missing olist_orders_dataset.csv" in err
    assert snapshot(tmp_path / "shop.duckdb") == before


def test_quotes_in_directory_and_file_names(tmp_path: Path) -> None:
    # regression: raw.source went into SQL string literals unescaped
    from dataclasses import replace
    from typing import Any
    from unittest.mock import patch

    from shoplens.ingest import readers
    from shoplens.ingest.raw import RawTable

    real = readers.read_raw

    def read_raw(con: duckdb.DuckDBPyConnection, path: Path, **kw: Any) -> list[RawTable]:
        # name each file by its directory too, as a reader naming full paths would
        return [replace(r, source=f"{path.parent.name}/{r.source}") for r in real(con, path, **kw)]

    parent = tmp_path / "it's"
    parent.mkdir()
    folder = write_olist(parent)
    folder = folder.rename(parent / "d'olist")
    store = parent / "s.duckdb"
    (rep,) = import_olist(folder, store, OPTS)
    assert (rep.source, rep.orders, rep.lines) == ("d'olist/", 6, 9)
    with patch.object(readers, "read_raw", read_raw):
        (rep,) = import_olist(folder, tmp_path / "t.duckdb", OPTS)
    assert (rep.orders, rep.lines, rep.empty_orders, rep.orphan_orders) == (6, 9, 1, 1)
    messages = {f.kind: f.message for f in rep.findings}
    assert messages["empty_order"].startswith("no line in d'olist/olist_order_items_dataset.csv")
    assert "not in d'olist/olist_customers_dataset.csv" in messages["orphan_order"]
    assert "in d'olist/product_category_name_translation.csv" in (messages["untranslated_category"])
    assert {f.source for f in rep.findings} >= {"d'olist/olist_orders_dataset.csv"}


def test_default_max_bad_share_is_the_mappings(tmp_path: Path) -> None:
    from shoplens.ingest import Mapping

    default = Mapping.model_fields["max_bad_share"].default
    # 1 orphan line of 37 rows: 2.7%, over the default
    with pytest.raises(InputError, match=rf"more than the allowed {default:.1%}"):
        import_olist(write_olist(tmp_path), tmp_path / "s.duckdb")


def test_a_partial_export_says_at_once_how_to_import_anyway(tmp_path: Path) -> None:
    # regression (#6): independent slices of each table, most lines without their order;
    # the error named the setting max_bad_share, not the option to go on
    items = OLIST["olist_order_items_dataset.csv"].splitlines()
    extra = [f"x{i},1,P2,s2,2017-04-06 12:00:00,50.00,8.00" for i in range(20)]
    folder = write_olist(tmp_path, olist_order_items_dataset="\n".join(items + extra) + "\n")
    with pytest.raises(InputError) as info:
        import_olist(folder, tmp_path / "s.duckdb")
    msg = str(info.value)
    assert "21 of 57 rows (36.8%) are unusable (lines whose order is not imported: 21)" in msg
    assert msg.endswith("to import the other rows anyway, rerun with --max-bad-share 0.37")
    assert "max_bad_share" not in msg
    (rep,) = import_olist(folder, tmp_path / "s.duckdb", ImportOptions(max_bad_share=0.37))
    assert (rep.orphan_lines, rep.lines) == (21, 9)
