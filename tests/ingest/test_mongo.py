"""MongoDB export/import without a server: URIs, errors, and the batching against an
in-memory stand-in that stores documents as BSON, as a server does.

The same flows against a real server are in test_mongo_server.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import bson
import duckdb
import pytest
from bson import Decimal128
from pymongo import IndexModel, ReplaceOne
from pymongo.errors import ServerSelectionTimeoutError

from shoplens.analytics import compute_kpis
from shoplens.errors import InputError, StoreError
from shoplens.ingest import mongo
from shoplens.ingest.mongo import (
    MongoTarget,
    export_tables,
    export_to_mongodb,
    import_from_mongodb,
    import_into_store,
    parse_mongodb_uri,
    read_batches,
    read_tables,
    redact,
)
from shoplens.store import open_store
from tests.ingest.test_mongo_docs import (
    CODEC,
    floor_ms,
    make_generated_store,
    sort_rows,
    store_tables,
)

# --- URIs ---------------------------------------------------------------------------


def test_database_comes_from_the_uri_path() -> None:
    t = parse_mongodb_uri("mongodb://127.0.0.1:27017/shop")
    assert (t.database, t.hosts) == ("shop", "127.0.0.1:27017")
    t = parse_mongodb_uri("mongodb://u:p@h1,h2:27018/shop_eu?authSource=admin&replicaSet=rs0")
    assert (t.database, t.hosts) == ("shop_eu", "h1:27017,h2:27018")
    assert t.options == {"authsource": "admin", "replicaset": "rs0"}
    t = parse_mongodb_uri("mongodb+srv://u:p@cluster0.example.net/shop")
    assert (t.database, t.hosts) == ("shop", "cluster0.example.net")


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("mongodb://127.0.0.1:27017", "no database in the URI"),
        ("mongodb://127.0.0.1:27017/", "no database in the URI"),
        ("mongodb:///shop", "no host"),
        ("mongodb+srv:///shop", "no host"),
        ("postgres://127.0.0.1/shop", "not a MongoDB URI"),
        ("shop.duckdb", "not a MongoDB URI"),
        ("mongodb://127.0.0.1:notaport/shop", "invalid MongoDB URI"),
        ("mongodb://127.0.0.1/sh.op", "invalid database name"),
    ],
)
def test_bad_uris(uri: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as info:
        parse_mongodb_uri(uri)
    assert "\n" not in str(info.value)


def test_passwords_are_not_shown() -> None:
    assert redact("mongodb://ana:s3cret@127.0.0.1/shop") == "mongodb://ana:***@127.0.0.1/shop"
    with pytest.raises(InputError) as info:
        parse_mongodb_uri("mongodb://ana:s3cret@127.0.0.1:27017")
    assert "s3cret" not in str(info.value)
    assert "ana:***@" in str(info.value)


# --- an unreachable server: one-line errors, nothing written -----------------------

UNREACHABLE = "mongodb://127.0.0.1:1/shop"  # loopback, nothing listens on port 1


@pytest.fixture(scope="module")
def shop_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_generated_store(tmp_path_factory.mktemp("mongo") / "shop.duckdb")


def _assert_unreachable(exc: StoreError, started: float) -> None:
    msg = str(exc)
    assert msg.startswith("cannot reach MongoDB at 127.0.0.1:1 within 0.5 s: ")
    assert "Connection refused" in msg or "timed out" in msg
    assert "\n" not in msg
    assert "Topology" not in msg
    assert time.monotonic() - started < 5


def test_export_to_unreachable_server(shop_path: Path) -> None:
    con = open_store(shop_path, read_only=True)
    started = time.monotonic()
    try:
        with pytest.raises(StoreError) as info:
            export_to_mongodb(con, UNREACHABLE, timeout_ms=500)
    finally:
        con.close()
    _assert_unreachable(info.value, started)


def test_import_from_unreachable_server(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        import_from_mongodb(UNREACHABLE, timeout_ms=500)
    _assert_unreachable(info.value, started)
    target = tmp_path / "new.duckdb"
    with pytest.raises(StoreError):
        import_into_store(target, UNREACHABLE, timeout_ms=500)
    assert list(tmp_path.iterdir()) == []


# --- a stand-in for a MongoDB database ----------------------------------------------


class FakeCollection:
    """Documents kept as BSON bytes by _id; just what shoplens.ingest.mongo calls."""

    def __init__(self) -> None:
        self.docs: dict[Any, bytes] = {}
        self.indexes: list[dict[str, Any]] = []
        self.bulk_calls: list[int] = []
        self.find_args: list[tuple[Any, ...]] = []

    def bulk_write(self, requests: list[ReplaceOne[Any]], ordered: bool = True) -> None:
        self.bulk_calls.append(len(requests))
        for op in requests:  # ReplaceOne keeps its arguments in private attributes
            assert op._upsert is True
            assert set(op._filter) == {"_id"}
            assert op._doc["_id"] == op._filter["_id"]
            self.docs[op._filter["_id"]] = bson.encode(op._doc)

    def create_indexes(self, models: list[IndexModel]) -> list[str]:
        for m in models:
            if m.document not in self.indexes:
                self.indexes.append(m.document)
        return [m.document["name"] for m in models]

    def estimated_document_count(self) -> int:
        return len(self.docs)

    def find(
        self, filter: dict[str, Any], projection: dict[str, int], batch_size: int = 0
    ) -> Iterator[dict[str, Any]]:
        self.find_args.append((filter, projection, batch_size))
        for raw in self.docs.values():
            doc = bson.decode(raw, codec_options=CODEC)
            yield {k: v for k, v in doc.items() if k == "_id" or k in projection}

    def insert(self, doc: dict[str, Any]) -> None:
        self.docs[doc["_id"]] = bson.encode(doc)


class FakeDatabase:
    def __init__(self, name: str = "shop") -> None:
        self.name = name
        self.collections: dict[str, FakeCollection] = {}

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collections.setdefault(name, FakeCollection())

    def list_collection_names(self) -> list[str]:
        return list(self.collections)


def _db(fake: FakeDatabase) -> mongo.MongoDatabase:
    return cast(mongo.MongoDatabase, fake)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> FakeDatabase:
    """``mongo.connect`` answers with one FakeDatabase, whatever the (checked) URI."""
    fake = FakeDatabase()

    @contextlib.contextmanager
    def connect(uri: str, *, timeout_ms: int = 5000) -> Iterator[tuple[Any, MongoTarget]]:
        yield fake, parse_mongodb_uri(uri)

    monkeypatch.setattr(mongo, "connect", connect)
    return fake


URI = "mongodb://127.0.0.1:27017/shop"


def _kpis(path: Path, by: str | None = None) -> list[dict[str, Any]]:
    con = open_store(path, read_only=True, timezone="Europe/Paris")
    try:
        rows: list[dict[str, Any]] = compute_kpis(con, by=by).to_pylist()
        return rows
    finally:
        con.close()


def test_export_writes_documents_in_batches_and_is_idempotent(
    shop_path: Path, fake_server: FakeDatabase
) -> None:
    original = store_tables(shop_path)
    con = open_store(shop_path, read_only=True)
    progress: list[tuple[str, int, int]] = []
    try:
        counts = export_to_mongodb(
            con, URI, batch_size=100, on_progress=lambda *a: progress.append(a)
        )
        again = export_to_mongodb(con, URI, batch_size=100)
    finally:
        con.close()
    expected = {name: t.num_rows for name, t in original.items()}
    assert counts == expected
    assert again == expected
    orders = fake_server["orders"]
    assert len(orders.docs) == expected["orders"]
    assert len(fake_server["customers"].docs) == expected["customers"]
    assert len(fake_server["products"].docs) == expected["products"]
    # batches of 100 documents, twice
    n = expected["orders"]
    assert orders.bulk_calls == ([100] * (n // 100) + ([n % 100] if n % 100 else [])) * 2
    assert progress[-1] == ("orders", n, n)
    assert [p for p in progress if p[0] == "products"][-1] == ("products", 1000, 1000)
    index_keys = [list(ix["key"].items()) for ix in orders.indexes]
    assert [("customer_id", 1), ("order_ts", 1)] in index_keys
    assert [("order_ts", 1)] in index_keys
    assert len(orders.indexes) == 3  # created twice, kept once

    # the stored shape of one order, as the server returns it
    first = original["orders"].slice(0, 1).to_pylist()[0]
    doc = bson.decode(orders.docs[first["order_id"]], codec_options=CODEC)
    assert doc["_id"] == first["order_id"]
    assert doc["customer_id"] == first["customer_id"]
    assert doc["order_ts"] == floor_ms([first])[0]["order_ts"]
    assert isinstance(doc["discount"], Decimal128)
    assert doc["discount"].to_decimal() == first["discount"]
    lines = [r for r in original["order_items"].to_pylist() if r["order_id"] == first["order_id"]]
    assert [i["line_no"] for i in doc["items"]] == [r["line_no"] for r in lines]
    assert [i["unit_price"] for i in doc["items"]] == [Decimal128(r["unit_price"]) for r in lines]


def test_export_then_import_gives_the_same_tables_and_kpis(
    shop_path: Path, fake_server: FakeDatabase, tmp_path: Path
) -> None:
    con = open_store(shop_path, read_only=True)
    try:
        export_to_mongodb(con, URI)
    finally:
        con.close()
    tables = import_from_mongodb(URI, batch_size=70)
    original = store_tables(shop_path)
    assert set(tables) == {"customers", "products", "orders", "order_items"}
    for name in original:
        assert sort_rows(name, tables[name]) == floor_ms(sort_rows(name, original[name])), name
    assert fake_server["orders"].find_args[-1][2] == 70

    target = tmp_path / "from_mongo.duckdb"
    progress: list[tuple[str, int, int]] = []
    rows = import_into_store(target, URI, batch_size=70, on_progress=lambda *a: progress.append(a))
    assert rows == {name: t.num_rows for name, t in original.items()}
    assert ("orders", rows["orders"], rows["orders"]) in progress
    for by in (None, "month", "category", "country", "hour"):
        assert _kpis(target, by) == _kpis(shop_path, by), by
    assert store_tables(target)["orders"].num_rows == rows["orders"]


def test_import_into_store_replaces_only_when_asked(
    shop_path: Path, fake_server: FakeDatabase, tmp_path: Path
) -> None:
    fake_server["orders"].insert(
        {
            "_id": "only",
            "order_ts": datetime(2025, 1, 1),
            "status": "completed",
            "currency": "EUR",
            "items": [{"product_id": "p", "quantity": 2, "unit_price": Decimal128("4.20")}],
        }
    )
    target = tmp_path / "shop.duckdb"
    target.write_bytes(shop_path.read_bytes())
    before = target.read_bytes()
    with pytest.raises(StoreError, match="already exists"):
        import_into_store(target, URI)
    assert target.read_bytes() == before
    rows = import_into_store(target, URI, overwrite=True)
    assert rows == {"orders": 1, "order_items": 1}
    con = open_store(target, read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert tables == {"orders", "order_items"}  # replaced: only what MongoDB holds
        assert con.execute("SELECT sum(quantity * unit_price) FROM order_items").fetchone() == (
            Decimal("8.40"),
        )
    finally:
        con.close()


def test_a_bad_document_leaves_the_store_unchanged(
    shop_path: Path, fake_server: FakeDatabase, tmp_path: Path
) -> None:
    con = open_store(shop_path, read_only=True)
    try:
        export_to_mongodb(con, URI)
    finally:
        con.close()
    fake_server["orders"].insert(
        {"_id": "bad", "order_ts": "soon", "status": "completed", "currency": "EUR", "items": []}
    )
    target = tmp_path / "shop.duckdb"
    target.write_bytes(shop_path.read_bytes())
    before = target.read_bytes()
    with pytest.raises(InputError, match=r"'orders', document _id='bad', field 'order_ts'"):
        import_into_store(target, URI, overwrite=True, batch_size=50)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.duckdb"]  # no temp file left


def test_duplicate_keys_from_key_fields_are_refused(
    fake_server: FakeDatabase, tmp_path: Path
) -> None:
    for oid in ("a", "b"):  # two documents claiming the same order_id
        fake_server["orders"].insert(
            {
                "_id": oid,
                "order_id": "A-1",
                "order_ts": datetime(2025, 1, 1),
                "status": "completed",
                "currency": "EUR",
            }
        )
    with pytest.raises(StoreError, match="duplicate key in table 'orders'"):
        import_into_store(tmp_path / "x.duckdb", URI)
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_orders(fake_server: FakeDatabase) -> None:
    fake_server["customers"]  # the collection exists, empty
    with pytest.raises(InputError, match="database 'shop' has no 'orders' collection"):
        import_from_mongodb(URI)


def test_empty_collections_give_empty_tables() -> None:
    fake = FakeDatabase()
    fake["orders"]
    fake["products"]
    tables = read_tables(_db(fake))
    assert {n: t.num_rows for n, t in tables.items()} == {
        "products": 0,
        "orders": 0,
        "order_items": 0,
    }
    chunks = list(read_batches(_db(fake)))
    assert [name for name, _ in chunks] == ["products", "orders", "order_items"]


def test_export_needs_orders(tmp_path: Path) -> None:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE customers (customer_id VARCHAR)")
        with pytest.raises(StoreError, match="no table 'orders', 'order_items' to export"):
            export_tables(con, _db(FakeDatabase()))
    finally:
        con.close()


def test_timeout_set_in_the_uri_wins() -> None:
    with pytest.raises(StoreError, match=r"within 0.2 s: "):
        import_from_mongodb(UNREACHABLE + "?serverSelectionTimeoutMS=200", timeout_ms=10_000)


class _LostServer:
    """A client that answers ``ping``, then loses the server: every database call times out."""

    def __init__(self, uri: str, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.admin = self
        self.closed = False
        _LostServer.last = self

    last: _LostServer

    def command(self, name: str) -> dict[str, Any]:
        assert name == "ping"
        return {"ok": 1}

    def __getitem__(self, name: str) -> _LostServer:
        return self

    def _lost(self, *args: Any, **kwargs: Any) -> None:
        raise ServerSelectionTimeoutError(
            "127.0.0.1:27017: timed out (configured timeouts: socketTimeoutMS: 20000.0ms),"
            " Timeout: 0.3s, Topology Description: <TopologyDescription ...>"
        )

    list_collection_names = bulk_write = _lost

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("uri_timeout", [None, "300"])
def test_errors_after_connecting_quote_the_timeout_in_force(
    monkeypatch: pytest.MonkeyPatch, shop_path: Path, tmp_path: Path, uri_timeout: str | None
) -> None:
    monkeypatch.setattr(mongo, "MongoClient", _LostServer)
    uri = URI if uri_timeout is None else f"{URI}?serverSelectionTimeoutMS={uri_timeout}"
    shown = "5 s" if uri_timeout is None else "0.3 s"
    expected = f"cannot reach MongoDB at 127.0.0.1:27017 within {shown}: 127.0.0.1:27017: timed out"
    con = open_store(shop_path, read_only=True)
    try:
        with pytest.raises(StoreError) as info:
            export_to_mongodb(con, uri, timeout_ms=5_000)
    finally:
        con.close()
    messages = [str(info.value)]
    with pytest.raises(StoreError) as info:
        import_from_mongodb(uri, timeout_ms=5_000)
    messages.append(str(info.value))
    with pytest.raises(StoreError) as info:
        import_into_store(tmp_path / "new.duckdb", uri, timeout_ms=5_000)
    messages.append(str(info.value))
    assert messages == [expected] * 3
    assert _LostServer.last.closed
    assert list(tmp_path.iterdir()) == []
    if uri_timeout is None:
        assert _LostServer.last.kwargs["serverSelectionTimeoutMS"] == 5_000
    else:  # the URI's value is pymongo's to apply
        assert "serverSelectionTimeoutMS" not in _LostServer.last.kwargs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 700),
        ("?serverSelectionTimeoutMS=250", 250),
        ("?SERVERSELECTIONTIMEOUTMS=1.5e3", 1500),
        ("?serverSelectionTimeoutMS=inf", 700),  # pymongo refuses it when connecting
        ("?serverSelectionTimeoutMS=nan", 700),
        ("?serverSelectionTimeoutMS=1e400", 700),
        ("?serverSelectionTimeoutMS=soon", 700),
    ],
)
def test_timeout_in_force(query: str, expected: int) -> None:
    # mongodb+srv URIs are not parsed by pymongo before connecting: any value gets here
    target = parse_mongodb_uri("mongodb+srv://cluster0.example.net/shop" + query)
    assert mongo._timeout_ms(target, 700) == expected


def test_import_into_an_existing_store_fails_before_connecting(
    monkeypatch: pytest.MonkeyPatch, shop_path: Path, tmp_path: Path
) -> None:
    def no_connect(uri: str, *, timeout_ms: int = 5000) -> Any:
        raise AssertionError("connected")

    monkeypatch.setattr(mongo, "connect", no_connect)
    with pytest.raises(StoreError, match=r"already exists \(use --force"):
        import_into_store(shop_path, URI)
    with pytest.raises(StoreError, match="is a directory"):
        import_into_store(tmp_path, URI, overwrite=True)
    with pytest.raises(StoreError, match="does not exist"):
        import_into_store(tmp_path / "missing" / "shop.duckdb", URI)


@pytest.mark.parametrize(
    ("query", "fragment"), [("ssl=maybe", "tls must be"), ("authMechanism=NOPE", "authmechanism")]
)
def test_bad_uri_options_are_input_errors(query: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as info:
        import_from_mongodb(f"{UNREACHABLE}?{query}", timeout_ms=500)
    assert "\n" not in str(info.value)


def test_orders_in_several_currencies_are_refused(
    fake_server: FakeDatabase, tmp_path: Path
) -> None:
    # regression (#6): EUR and USD orders were added up in one store without a word
    for oid, cur in (("A-1", "EUR"), ("A-2", "USD"), ("A-3", "EUR")):
        fake_server["orders"].insert(
            {"_id": oid, "order_ts": datetime(2025, 1, 1), "status": "completed", "currency": cur}
        )
    with pytest.raises(InputError, match=r"orders in 2 currencies \(EUR: 2 orders, USD: 1"):
        import_into_store(tmp_path / "x.duckdb", URI)
    assert list(tmp_path.iterdir()) == []
