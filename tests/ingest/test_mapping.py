"""Mappings: TOML loading, presets, resolution against a header, and inference."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shoplens.errors import InputError
from shoplens.ingest import PRESETS, infer_mapping, load_mapping, mapping_toml
from shoplens.ingest.mapping import Columns, Mapping
from shoplens.ingest.readers import read_raw
from tests.ingest.import_files import CUSTOM_TOML, SHOPIFY_CSV, UCI_CSV, UCI_OLD_CSV, write

UCI_NEW = ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price",
           "Customer ID", "Country")  # fmt: skip
UCI_OLD = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID", "Country")  # fmt: skip


def test_order_lines_preset_resolves_both_spellings() -> None:
    m = PRESETS["order-lines"]
    new = m.resolve(UCI_NEW, "a.csv")
    old = m.resolve(UCI_OLD, "b.csv")
    assert (new["order_id"], new["unit_price"], new["customer_id"]) == (
        "Invoice",
        "Price",
        "Customer ID",
    )
    assert (old["order_id"], old["unit_price"], old["customer_id"]) == (
        "InvoiceNo",
        "UnitPrice",
        "CustomerID",
    )
    # header names match case- and space-insensitively
    assert m.resolve(tuple(c.upper() + " " for c in UCI_NEW), "c.csv")["quantity"] == "QUANTITY "


def test_preset_optional_columns_may_be_absent() -> None:
    cols = m = PRESETS["order-lines"].resolve(UCI_NEW[:6], "a.csv")
    assert "customer_id" not in m
    assert "country" not in cols


def test_required_column_absent_names_it_and_the_source() -> None:
    with pytest.raises(InputError) as info:
        PRESETS["order-lines"].resolve(("Invoice", "StockCode", "Quantity", "Price"), "x.csv")
    msg = str(info.value)
    assert msg.startswith("x.csv: the mapping 'order-lines' names columns the source lacks:")
    assert "'InvoiceDate'" in msg


def test_mapping_naming_absent_columns(tmp_path: Path) -> None:
    toml = CUSTOM_TOML.replace('country = "Land"', 'country = "Staat"').replace(
        'category = "Kategorie"', 'category = "Gruppe"'
    )
    m = load_mapping(write(tmp_path, "m.toml", toml))
    header = ("Bestellung", "Datum", "Kunde", "Artikel", "Kategorie", "Menge", "Preis",
              "Status", "Land")  # fmt: skip
    with pytest.raises(InputError, match=r"export.csv: .*lacks: 'Staat', 'Gruppe'"):
        m.resolve(header, "export.csv")


def test_load_mapping_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(tmp_path / "none.toml")
    with pytest.raises(InputError, match=r"m\.toml: not a valid TOML file"):
        load_mapping(write(tmp_path, "m.toml", "columns = [unclosed"))
    bad_key = CUSTOM_TOML.replace("[status]", "[status]\nnegative_quantity = 'maybe'")
    with pytest.raises(InputError, match=r"invalid mapping key 'status.negative_quantity'"):
        load_mapping(write(tmp_path, "m.toml", bad_key))
    bad_fmt = CUSTOM_TOML.replace('"%d.%m.%Y %H:%M"', '"dd.mm.yyyy"')
    with pytest.raises(InputError, match=r"invalid mapping key 'date_format'.*strftime"):
        load_mapping(write(tmp_path, "m.toml", bad_fmt))
    bad_tz = CUSTOM_TOML.replace("Europe/Berlin", "Mars/Olympus")
    with pytest.raises(InputError, match=r"'timezone'.*unknown time zone"):
        load_mapping(write(tmp_path, "m.toml", bad_tz))
    typo = CUSTOM_TOML.replace("[columns]", "[columns]\norder_idd = 'x'")
    with pytest.raises(InputError, match=r"columns.order_idd"):
        load_mapping(write(tmp_path, "m.toml", typo))


def test_mapping_without_product_column() -> None:
    m = Mapping(columns=Columns(order_id="o", order_ts="t", quantity="q", unit_price="p"))
    with pytest.raises(InputError, match="no source column for product_id or product_name"):
        m.resolve(("o", "t", "q", "p"), "f.csv")


def _infer(tmp_path: Path, name: str, text: str) -> Mapping:
    con = duckdb.connect()
    (raw,) = read_raw(con, write(tmp_path, name, text))
    try:
        return infer_mapping(con, raw)
    finally:
        con.close()


def test_infer_recognises_presets(tmp_path: Path) -> None:
    assert _infer(tmp_path, "a.csv", UCI_CSV).name == "order-lines"
    assert _infer(tmp_path, "b.csv", UCI_OLD_CSV).name == "order-lines"
    assert _infer(tmp_path, "c.csv", SHOPIFY_CSV).name == "shopify"


def test_infer_from_names_and_value_shapes(tmp_path: Path) -> None:
    text = (
        "order number,purchase date,customer email,item,qty,price each,coupon,note\n"
        "A1,2024-03-01 10:00,a@x.org,Mug,2,3.50,SPRING,hello\n"
        "A2,2024-03-02 11:00,b@x.org,Cup,1,2.00,,12\n"
    )
    m = _infer(tmp_path, "shop.csv", text)
    assert m.columns.model_dump(exclude_none=True) == {
        "order_id": "order number",
        "order_ts": "purchase date",
        "customer_id": "customer email",
        "product_name": "item",
        "quantity": "qty",
        "unit_price": "price each",
        "promo_code": "coupon",
    }
    # the proposal round-trips through TOML and imports the file
    loaded = load_mapping(write(tmp_path, "proposed.toml", mapping_toml(m)))
    assert loaded.columns == m.columns
    assert loaded.date_format == "auto"


def test_infer_fails_clearly_without_required_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no column looks like .*quantity"):
        _infer(tmp_path, "x.csv", "id,when,what\n1,2024-01-01,a\n")


def test_preset_toml_round_trip(tmp_path: Path) -> None:
    for preset in PRESETS.values():
        loaded = load_mapping(write(tmp_path, "p.toml", mapping_toml(preset)))
        assert loaded.columns == preset.columns
        assert loaded.status == preset.status
        assert loaded.customer_id_lowercase == preset.customer_id_lowercase
