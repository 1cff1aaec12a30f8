"""MongoDB export/import against a real server.

Run only when ``SHOPLENS_TEST_MONGODB_URI`` names a test database, e.g.
``mongodb://127.0.0.1:27017/shoplens_test`` (``docker run -d -p 27017:27017 mongo:7``).
The tests DROP that database before and after each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import Decimal128, ObjectId
from pymongo import MongoClient

from shoplens.analytics import compute_kpis
from shoplens.errors import InputError
from shoplens.ingest.mongo import (
    export_to_mongodb,
    import_from_mongodb,
    import_into_store,
    parse_mongodb_uri,
)
from shoplens.store import open_store
from tests.ingest.test_mongo_docs import floor_ms, make_generated_store, sort_rows, store_tables

URI = os.environ.get("SHOPLENS_TEST_MONGODB_URI", "")

pytestmark = pytest.mark.skipif(
    not URI, reason="set SHOPLENS_TEST_MONGODB_URI=mongodb://127.0.0.1:27017/shoplens_test"
)


@pytest.fixture
def database() -> Iterator[Any]:
    target = parse_mongodb_uri(URI)
    client: MongoClient[dict[str, Any]] = MongoClient(URI, serverSelectionTimeoutMS=5000)
    client.drop_database(target.database)
    try:
        yield client[target.database]
    finally:
        client.drop_database(target.database)
        client.close()


@pytest.fixture(scope="module")
def shop_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_generated_store(tmp_path_factory.mktemp("mongo") / "shop.duckdb")


def _export(path: Path, **kw: Any) -> dict[str, int]:
    con = open_store(path, read_only=True)
    try:
        return export_to_mongodb(con, URI, **kw)
    finally:
        con.close()


def _kpis(path: Path, by: str | None) -> list[dict[str, Any]]:
    con = open_store(path, read_only=True, timezone="Europe/Paris")
    try:
        rows: list[dict[str, Any]] = compute_kpis(con, by=by).to_pylist()
        return rows
    finally:
        con.close()


def test_export_is_idempotent_and_import_gives_the_same_kpis(
    database: Any, shop_path: Path, tmp_path: Path
) -> None:
    original = store_tables(shop_path)
    expected = {name: t.num_rows for name, t in original.items()}

    assert _export(shop_path, batch_size=100) == expected
    counts = {c: database[c].count_documents({}) for c in ("customers", "products", "orders")}
    assert _export(shop_path, batch_size=1000) == expected
    again = {c: database[c].count_documents({}) for c in ("customers", "products", "orders")}
    assert counts == again == {k: v for k, v in expected.items() if k != "order_items"}

    index_keys = [list(ix["key"].items()) for ix in database.orders.list_indexes()]
    assert [("customer_id", 1), ("order_ts", 1)] in index_keys
    assert [("order_ts", 1)] in index_keys

    doc = database.orders.find_one({"items.1": {"$exists": True}})
    assert isinstance(doc["_id"], str)
    assert isinstance(doc["discount"], Decimal128)
    assert isinstance(doc["items"][0]["unit_price"], Decimal128)
    # exact money in the server's own arithmetic
    total = next(
        database.orders.aggregate(
            [
                {"$unwind": "$items"},
                {"$group": {"_id": None, "n": {"$sum": "$items.quantity"}}},
            ]
        )
    )
    assert total["n"] == sum(original["order_items"].column("quantity").to_pylist())

    tables = import_from_mongodb(URI, batch_size=64)
    for name in original:
        assert sort_rows(name, tables[name]) == floor_ms(sort_rows(name, original[name])), name

    target = tmp_path / "from_mongo.duckdb"
    assert import_into_store(target, URI) == expected
    for by in (None, "month", "category", "country", "hour", "weekday"):
        assert _kpis(target, by) == _kpis(shop_path, by), by


def test_a_shops_own_documents(database: Any) -> None:
    oid = ObjectId()
    database.orders.insert_one(
        {
            "_id": oid,
            "order_ts": "2025-03-01T10:00:00+01:00",
            "status": "completed",
            "currency": "EUR",
            "total": 12.5,
            "items": [{"product_id": 7, "quantity": 2, "unit_price": 6.25}],
        }
    )
    tables = import_from_mongodb(URI)
    assert tables["orders"].column("order_id").to_pylist() == [str(oid)]
    assert tables["order_items"].column("unit_price").to_pylist()[0].as_tuple().exponent == -2
    assert set(tables) == {"orders", "order_items"}

    database.orders.insert_one({"_id": "x", "order_ts": None, "status": "completed"})
    with pytest.raises(InputError, match=r"_id='x', field 'order_ts': missing"):
        import_from_mongodb(URI)
