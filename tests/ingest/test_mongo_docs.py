"""The MongoDB document mapping, both ways, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bson
import duckdb
import pyarrow as pa
import pytest
from bson import Decimal128, ObjectId
from bson.codec_options import CodecOptions, DatetimeConversion

from shoplens.errors import InputError
from shoplens.generate import SimulationParams, generate_into
from shoplens.ingest.mongo_docs import (
    DocumentReader,
    arrow_schema,
    documents_to_tables,
    order_documents,
    order_to_document,
    projection,
    row_to_document,
    table_documents,
)
from shoplens.schema import CANONICAL
from shoplens.store import open_store, write_new_store

# what pymongo's client in shoplens.ingest.mongo decodes with
CODEC: CodecOptions[dict[str, Any]] = CodecOptions(
    tz_aware=True, tzinfo=UTC, datetime_conversion=DatetimeConversion.DATETIME_AUTO
)

KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id"}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def through_bson(doc: dict[str, Any]) -> dict[str, Any]:
    """What a MongoDB server would give back for ``doc``."""
    return dict(bson.decode(bson.encode(doc), codec_options=CODEC))


# --- a small simulated shop in a store (shared with test_mongo*.py) ---------------------

SHOP = SimulationParams(customers=200, days=60, events=False, seed=5)


def make_generated_store(path: Path) -> Path:
    def fill(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, SHOP)

    write_new_store(path, fill)
    return path


def store_tables(path: Path) -> dict[str, pa.Table]:
    """The canonical tables of a store, sorted by key (ids text, money decimal)."""
    con = open_store(path, read_only=True)
    try:
        out = {}
        for name in ("customers", "products", "orders", "order_items"):
            key = ", ".join(CANONICAL[name].key)
            out[name] = con.sql(f"SELECT * FROM {name} ORDER BY {key}").to_arrow_table()
        return out
    finally:
        con.close()


def sort_rows(name: str, table: pa.Table) -> list[dict[str, Any]]:
    key = CANONICAL[name].key
    return sorted(table.to_pylist(), key=lambda r: tuple(r[k] for k in key))


def floor_ms(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timestamps truncated to the millisecond, as BSON stores them."""
    return [
        {
            k: v.replace(microsecond=v.microsecond // 1000 * 1000) if isinstance(v, datetime) else v
            for k, v in r.items()
        }
        for r in rows
    ]


@pytest.fixture(scope="module")
def shop_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pa.Table]:
    return store_tables(make_generated_store(tmp_path_factory.mktemp("mongo") / "shop.duckdb"))


# --- tables -> documents ------------------------------------------------------------


def test_customer_row_to_document_exact() -> None:
    row = {
        "customer_id": 7,
        "signup_ts": datetime(2025, 3, 1, 11, 30, 0, 123456, tzinfo=ZoneInfo("Europe/Paris")),
        "country": "FR",
        "city": None,
        "age": 34,
        "gender": "female",
        "acquisition_channel": None,
        "name": "Ana Lopez",
        "email": "ana@example.com",
    }
    doc = row_to_document("customers", row)
    assert doc == {
        "_id": "7",
        "signup_ts": utc(2025, 3, 1, 10, 30, 0, 123456),
        "country": "FR",
        "age": 34,
        "gender": "female",
        "name": "Ana Lopez",
        "email": "ana@example.com",
    }
    assert next(iter(doc)) == "_id"
    assert doc["signup_ts"].tzinfo is UTC


def test_product_money_is_decimal128_to_the_cent() -> None:
    doc = row_to_document(
        "products",
        {"product_id": "SKU-1", "name": "Mug", "category": None, "unit_price": 0.1 + 0.2},
    )
    assert doc == {"_id": "SKU-1", "name": "Mug", "unit_price": Decimal128("0.30")}
    doc = row_to_document(
        "products", {"product_id": 2, "name": "Pen", "unit_price": Decimal("17.99")}
    )
    assert doc["unit_price"] == Decimal128("17.99")
    assert isinstance(doc["unit_price"], Decimal128)


def test_order_document_embeds_sorted_lines_and_omits_guest_customer() -> None:
    row = {
        "order_id": "A-1",
        "customer_id": None,
        "order_ts": datetime(2025, 6, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),
        "status": "returned",
        "channel": "app",
        "promo_code": None,
        "discount": Decimal("5.00"),
        "currency": "EUR",
        "items": [
            {"line_no": 2, "product_id": 9, "quantity": 1, "unit_price": 3.5, "discount": 0},
            {
                "line_no": 1,
                "product_id": "8",
                "quantity": 2,
                "unit_price": Decimal("19.99"),
                "discount": Decimal("1.00"),
            },
        ],
    }
    assert order_to_document(row) == {
        "_id": "A-1",
        "order_ts": utc(2025, 5, 31, 22, 30),
        "status": "returned",
        "channel": "app",
        "discount": Decimal128("5.00"),
        "currency": "EUR",
        "items": [
            {
                "line_no": 1,
                "product_id": "8",
                "quantity": 2,
                "unit_price": Decimal128("19.99"),
                "discount": Decimal128("1.00"),
            },
            {
                "line_no": 2,
                "product_id": "9",
                "quantity": 1,
                "unit_price": Decimal128("3.50"),
                "discount": Decimal128("0.00"),
            },
        ],
    }


def test_order_documents_group_lines_from_tables() -> None:
    orders = pa.table(
        {
            "order_id": [1, 2],
            "customer_id": [10, None],
            "order_ts": pa.array([utc(2025, 1, 1), utc(2025, 1, 2)], pa.timestamp("us", "UTC")),
            "status": ["completed", "cancelled"],
            "channel": [None, "web"],
            "promo_code": ["SPRING", None],
            "discount": [0.0, 2.5],
            "currency": ["EUR", "EUR"],
        }
    )
    items = pa.table(
        {
            "order_id": [2, 1, 1, 99],
            "line_no": [1, 2, 1, 1],
            "product_id": [5, 6, 7, 8],
            "quantity": [1, 3, 2, 1],
            "unit_price": [1.0, 2.0, 3.0, 4.0],
            "discount": [0.0, 0.0, 0.5, 0.0],
        }
    )
    docs = order_documents(orders, items)
    assert [d["_id"] for d in docs] == ["1", "2"]
    assert docs[0]["customer_id"] == "10"
    assert docs[0]["promo_code"] == "SPRING"
    assert [(i["line_no"], i["product_id"]) for i in docs[0]["items"]] == [(1, "7"), (2, "6")]
    assert docs[0]["items"][0]["discount"] == Decimal128("0.50")
    assert "customer_id" not in docs[1]
    assert docs[1]["discount"] == Decimal128("2.50")
    assert [i["product_id"] for i in docs[1]["items"]] == ["5"]  # order 99: no order, no doc


def test_null_in_a_required_column_names_the_row() -> None:
    with pytest.raises(InputError, match=r"'customers', document _id='3', field 'country'"):
        row_to_document("customers", {"customer_id": 3, "signup_ts": utc(2025, 1, 1)})


# --- documents -> tables ------------------------------------------------------------


def test_money_types_read_exactly_to_the_cent() -> None:
    docs: list[dict[str, Any]] = [
        {"_id": "a", "name": "A", "unit_price": Decimal128("19.99")},
        {"_id": "b", "name": "B", "unit_price": 19.99},
        {"_id": "c", "name": "C", "unit_price": 20},
        {"_id": "d", "name": "D", "unit_price": " 21.5 "},
        {"_id": "e", "name": "E", "unit_price": Decimal128("1.005")},  # half-up
        {"_id": "f", "name": "F", "unit_price": 0.1 + 0.2},
        {"_id": "g", "name": "G", "unit_price": Decimal128("1E+3")},
        {"_id": "h", "name": "H", "unit_price": Decimal("0.004")},
    ]
    table = documents_to_tables("products", docs)["products"]
    assert table.schema.field("unit_price").type == pa.decimal128(18, 2)
    assert table.column("unit_price").to_pylist() == [
        Decimal(x) for x in ("19.99", "19.99", "20.00", "21.50", "1.01", "0.30", "1000.00", "0.00")
    ]


def test_time_zones_become_utc() -> None:
    base = {"_id": 1, "country": "FR"}
    docs: list[dict[str, Any]] = [
        {**base, "_id": 1, "signup_ts": datetime(2025, 3, 1, 10, 0)},  # naive: UTC
        {**base, "_id": 2, "signup_ts": datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))},
        {**base, "_id": 3, "signup_ts": "2025-03-01T10:00:00+01:00"},
        {**base, "_id": 4, "signup_ts": "2025-03-01T10:00:00.250Z"},
        {**base, "_id": 5, "signup_ts": "2025-03-01 10:00"},
    ]
    table = documents_to_tables("customers", docs)["customers"]
    assert table.schema.field("signup_ts").type == pa.timestamp("us", tz="UTC")
    assert table.column("signup_ts").to_pylist() == [
        utc(2025, 3, 1, 10),
        utc(2025, 3, 1, 1),
        utc(2025, 3, 1, 9),
        utc(2025, 3, 1, 10, 0, 0, 250000),
        utc(2025, 3, 1, 10),
    ]


def test_ids_become_text_and_the_key_field_wins_over_id() -> None:
    oid = ObjectId("65a1b2c3d4e5f60718293a4b")
    docs: list[dict[str, Any]] = [
        {"_id": oid, "country": "DE", "signup_ts": utc(2025, 1, 1)},
        {"_id": 17, "country": "DE", "signup_ts": utc(2025, 1, 1)},
        {"_id": 18.0, "country": "DE", "signup_ts": utc(2025, 1, 1)},
        {"_id": ObjectId(), "customer_id": "C-9", "country": "DE", "signup_ts": utc(2025, 1, 1)},
    ]
    table = documents_to_tables("customers", docs)["customers"]
    assert table.column("customer_id").to_pylist() == [
        "65a1b2c3d4e5f60718293a4b",
        "17",
        "18",
        "C-9",
    ]


def test_missing_optional_fields_defaults_and_extra_fields() -> None:
    doc = {
        "_id": ObjectId("65a1b2c3d4e5f60718293a4b"),
        "order_ts": utc(2025, 2, 3, 4, 5, 6),
        "status": "completed",
        "currency": "USD",
        "shipping": {"city": "Austin"},  # extra: ignored
        "items": [
            {"product_id": 4, "quantity": 2.0, "unit_price": "9.90", "gift": True},
            {"product_id": "5", "quantity": "1", "unit_price": Decimal128("0")},
        ],
    }
    out = documents_to_tables("orders", [doc])
    assert out["orders"].to_pylist() == [
        {
            "order_id": "65a1b2c3d4e5f60718293a4b",
            "customer_id": None,
            "order_ts": utc(2025, 2, 3, 4, 5, 6),
            "status": "completed",
            "channel": None,
            "promo_code": None,
            "discount": Decimal("0.00"),
            "currency": "USD",
        }
    ]
    assert out["order_items"].to_pylist() == [
        {
            "order_id": "65a1b2c3d4e5f60718293a4b",
            "line_no": 1,
            "product_id": "4",
            "quantity": 2,
            "unit_price": Decimal("9.90"),
            "discount": Decimal("0.00"),
        },
        {
            "order_id": "65a1b2c3d4e5f60718293a4b",
            "line_no": 2,
            "product_id": "5",
            "quantity": 1,
            "unit_price": Decimal("0.00"),
            "discount": Decimal("0.00"),
        },
    ]


def test_order_without_items_and_empty_collections() -> None:
    doc = {"_id": 1, "order_ts": utc(2025, 1, 1), "status": "cancelled", "currency": "EUR"}
    out = documents_to_tables("orders", [doc])
    assert out["orders"].num_rows == 1
    assert out["order_items"].num_rows == 0
    empty = documents_to_tables("customers", ())
    assert empty["customers"].schema == arrow_schema(CANONICAL["customers"])
    assert empty["customers"].num_rows == 0


def _order(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": "O-7",
        "customer_id": "C-1",
        "order_ts": utc(2025, 1, 1),
        "status": "completed",
        "discount": Decimal128("0"),
        "currency": "EUR",
        "items": [{"line_no": 1, "product_id": "P", "quantity": 1, "unit_price": 2.5}],
    }
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return doc


def _line(**changes: Any) -> list[dict[str, Any]]:
    line = {"line_no": 1, "product_id": "P", "quantity": 1, "unit_price": 2.5, **changes}
    return [{k: v for k, v in line.items() if v is not ...}]


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        (_order(order_ts=...), "order_ts", "missing (required)"),
        (_order(order_ts=None), "order_ts", "missing (required)"),
        (_order(order_ts=1735689600000), "order_ts", "expected a date, got 1735689600000"),
        (_order(order_ts="yesterday"), "order_ts", "expected a date, got the string 'yesterday'"),
        (_order(status="shipped"), "status", "expected one of completed, cancelled, returned"),
        (_order(currency=...), "currency", "missing (required)"),
        (_order(customer_id={"id": 1}), "customer_id", "expected an id"),
        (_order(customer_id=True), "customer_id", "expected an id"),
        (_order(discount=-1), "discount", "expected an amount >= 0, got -1.00"),
        (_order(discount="free"), "discount", "expected an amount of money, got 'free'"),
        (_order(discount=float("nan")), "discount", "expected an amount of money"),
        (_order(discount=Decimal128("1E+20")), "discount", "too large"),
        (_order(items="abc"), "items", "expected a list of lines, got 'abc'"),
        (_order(items={"0": {}}), "items", "expected a list of lines"),
        (_order(items=[3]), "items[0]", "expected a document, got 3"),
        (_order(items=_line(quantity="two")), "items[0].quantity", "expected an integer"),
        (_order(items=_line(quantity=1.5)), "items[0].quantity", "expected an integer, got 1.5"),
        (_order(items=_line(quantity=0)), "items[0].quantity", "from 1 to 2147483647, got 0"),
        (_order(items=_line(product_id=...)), "items[0].product_id", "missing (required)"),
        (_order(items=_line(unit_price=-0.5)), "items[0].unit_price", "amount >= 0"),
        (_order(items=_line() + _line()), "items[1].line_no", "duplicate line number 1"),
    ],
)
def test_bad_order_documents_name_collection_id_and_field(
    doc: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        documents_to_tables("orders", [doc])
    msg = str(info.value)
    assert msg.startswith(f"MongoDB collection 'orders', document _id='O-7', field {field!r}: ")
    assert fragment in msg
    assert "\n" not in msg
    assert info.value.column == field


@pytest.mark.parametrize(
    ("collection", "doc", "field", "fragment"),
    [
        ("customers", {"country": "FR", "signup_ts": utc(2025, 1, 1)}, "_id", "missing"),
        ("customers", {"_id": 1, "country": "FR", "signup_ts": utc(2025, 1, 1), "age": 200}, "age",
         "from 0 to 130, got 200"),
        ("customers", {"_id": 1, "country": "FR", "signup_ts": utc(2025, 1, 1), "age": "x"}, "age",
         "expected an integer"),
        ("customers", {"_id": 1, "country": 3.5, "signup_ts": utc(2025, 1, 1)}, "country",
         "expected a string, got 3.5"),
        ("customers", {"_id": 1, "country": "FR", "signup_ts": bson.DatetimeMS(2**62)},
         "signup_ts", "expected a date"),
        ("products", {"_id": 1, "unit_price": 1}, "name", "missing (required)"),
        ("products", {"_id": [1], "name": "x", "unit_price": 1}, "_id", "expected an id"),
        ("products", {"_id": "", "name": "x", "unit_price": 1}, "_id", "empty id"),
    ],
)  # fmt: skip
def test_bad_customer_and_product_documents(
    collection: str, doc: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        documents_to_tables(collection, [doc])
    msg = str(info.value)
    assert msg.startswith(f"MongoDB collection {collection!r}, document _id=")
    assert f"field {field!r}: " in msg
    assert fragment in msg


def test_objectid_is_shown_in_errors() -> None:
    oid = ObjectId("65a1b2c3d4e5f60718293a4b")
    with pytest.raises(InputError, match=r"_id=ObjectId\('65a1b2c3d4e5f60718293a4b'\), field"):
        documents_to_tables("orders", [_order(_id=oid, order_ts=...)])


def test_a_bad_document_adds_nothing() -> None:
    reader = DocumentReader("orders")
    reader.add(_order())
    bad = _order(_id="O-8", items=_line() + _line(line_no=2, quantity="x"))
    with pytest.raises(InputError, match="O-8"):
        reader.add(bad)
    reader.add(_order(_id="O-9"))
    out = reader.flush()
    assert out["orders"].column("order_id").to_pylist() == ["O-7", "O-9"]
    assert out["order_items"].column("order_id").to_pylist() == ["O-7", "O-9"]
    again = reader.flush()  # flushed: the reader starts over
    assert again["orders"].num_rows == 0


def test_projection_fetches_what_the_mapping_reads() -> None:
    assert projection("products") == {"product_id": 1, "name": 1, "category": 1, "unit_price": 1}
    assert "items" in projection("orders")


# --- round trips on a simulated shop ------------------------------------------------


def _to_documents(tables: dict[str, pa.Table]) -> dict[str, list[dict[str, Any]]]:
    return {
        "customers": table_documents("customers", tables["customers"]),
        "products": table_documents("products", tables["products"]),
        "orders": order_documents(tables["orders"], tables["order_items"]),
    }


def _to_tables(docs: dict[str, list[dict[str, Any]]]) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {}
    for collection, items in docs.items():
        out.update(documents_to_tables(collection, items))
    return out


def test_round_trip_is_exact(shop_tables: dict[str, pa.Table]) -> None:
    back = _to_tables(_to_documents(shop_tables))
    assert shop_tables["orders"].num_rows > 100
    assert shop_tables["orders"].column("customer_id").null_count == 0
    for name, original in shop_tables.items():
        assert back[name].schema.types == original.schema.types, name
        assert sort_rows(name, back[name]) == sort_rows(name, original), name


def test_round_trip_through_bson_keeps_money_exact_and_dates_to_the_ms(
    shop_tables: dict[str, pa.Table],
) -> None:
    docs = _to_documents(shop_tables)
    stored = {c: [through_bson(d) for d in items] for c, items in docs.items()}
    sample = stored["orders"][0]
    assert isinstance(sample["discount"], Decimal128)
    assert isinstance(sample["items"][0]["unit_price"], Decimal128)
    assert sample["order_ts"].tzinfo is not None
    back = _to_tables(stored)
    for name, original in shop_tables.items():
        assert sort_rows(name, back[name]) == floor_ms(sort_rows(name, original)), name


def test_guest_orders_round_trip() -> None:
    orders = pa.table(
        {
            "order_id": ["g1"],
            "customer_id": pa.array([None], pa.string()),
            "order_ts": pa.array([utc(2025, 1, 1, 12)], pa.timestamp("us", "UTC")),
            "status": ["completed"],
            "channel": pa.array([None], pa.string()),
            "promo_code": pa.array([None], pa.string()),
            "discount": pa.array([Decimal("0.00")], pa.decimal128(18, 2)),
            "currency": ["GBP"],
        }
    )
    items = pa.table(
        {
            "order_id": ["g1"],
            "line_no": pa.array([1], pa.int32()),
            "product_id": ["p"],
            "quantity": pa.array([3], pa.int32()),
            "unit_price": pa.array([Decimal("0.99")], pa.decimal128(18, 2)),
            "discount": pa.array([Decimal("0.10")], pa.decimal128(18, 2)),
        }
    )
    (doc,) = order_documents(orders, items)
    assert "customer_id" not in doc
    back = documents_to_tables("orders", [through_bson(doc)])
    assert back["orders"].to_pylist() == orders.to_pylist()
    assert back["order_items"].to_pylist() == items.to_pylist()
