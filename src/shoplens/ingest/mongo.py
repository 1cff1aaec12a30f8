"""MongoDB: export a store's customers, products and orders, and import them back.

Public API:

- :func:`export_to_mongodb` (``shoplens export mongodb://host:27017/shop``): writes the
  ``customers``, ``products`` and ``orders`` collections (order lines embedded, see
  :mod:`shoplens.ingest.mongo_docs` for the document shape) in batches of
  ``ReplaceOne(upsert=True)`` by ``_id``: exporting twice gives the same collections.
  Documents are never deleted: an order removed from the store since an earlier export
  stays in MongoDB.
- :func:`import_from_mongodb`: the collections back as canonical Arrow tables.
- :func:`import_into_store` (``shoplens import mongodb://...``): a new store holding
  exactly what MongoDB holds, built next to the target and moved into place
  atomically (``store.write_new_store``): it *replaces* the store (``overwrite=True``,
  the CLI's ``--force``), never merges into it.

The database is the URI's path (``mongodb://host:27017/shop`` -> ``shop``).

Bulk reads use pymongo cursors with a projection and large batches, converted to Arrow
column-wise (:class:`~shoplens.ingest.mongo_docs.DocumentReader`). pymongoarrow would
do that conversion in C, but its current release pins pyarrow 25.0.x while shoplens
pins pyarrow 26.0.1; installing it would downgrade pyarrow for the whole project.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb
import pyarrow as pa
from bson.codec_options import DatetimeConversion
from pymongo import ASCENDING, IndexModel, MongoClient, ReplaceOne
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.uri_parser import parse_uri

from shoplens.errors import InputError, StoreError
from shoplens.ingest.mongo_docs import (
    COLLECTIONS,
    Doc,
    DocumentReader,
    order_to_document,
    projection,
    row_to_document,
)
from shoplens.schema import CANONICAL, ORDER_ITEMS
from shoplens.store.db import (
    check_new_store_path,
    create_tables,
    existing_tables,
    finalize_keys,
    load_table,
    write_new_store,
)

Progress = Callable[[str, int, int], None]
"""``on_progress(collection, done, total)``, as in ``shoplens.generate``."""

MongoDatabase = Database[Doc]

DEFAULT_TIMEOUT_MS = 5_000

INDEXES: dict[str, list[IndexModel]] = {
    "orders": [
        # a customer's orders in time order (also serves customer_id alone)
        IndexModel([("customer_id", ASCENDING), ("order_ts", ASCENDING)]),
        IndexModel([("order_ts", ASCENDING)]),
        IndexModel([("items.product_id", ASCENDING)]),  # orders containing a product
    ],
    "customers": [IndexModel([("signup_ts", ASCENDING)]), IndexModel([("email", ASCENDING)])],
    "products": [IndexModel([("category", ASCENDING)])],
}


# --- URIs and errors ----------------------------------------------------------------


@dataclass(frozen=True)
class MongoTarget:
    """A checked MongoDB URI: the database to use and how messages name the server."""

    uri: str
    database: str
    hosts: str
    options: dict[str, str]  # options given in the URI: lower-case name -> (last) value


def parse_mongodb_uri(uri: str) -> MongoTarget:
    """Check ``uri`` without connecting; :class:`InputError` if unusable.

    Requires a host and a database name in the path. ``mongodb+srv://`` URIs are only
    checked for their shape here (their hosts come from DNS when connecting).
    """
    shown = redact(uri)
    if not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise InputError(f"{shown}: not a MongoDB URI (expected mongodb://host:port/database)")
    parts = urlsplit(uri)
    netloc = parts.netloc.rpartition("@")[2]
    if not netloc or netloc.startswith(":") or ",," in netloc:
        raise InputError(f"{shown}: no host in the URI (expected mongodb://host:port/database)")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise InputError(
            f"{shown}: no database in the URI (add it as the path: mongodb://{netloc}/shop)"
        )
    if uri.startswith("mongodb://"):
        try:
            parsed = parse_uri(uri)
        except (InvalidURI, ConfigurationError, ValueError) as exc:
            raise InputError(f"{shown}: invalid MongoDB URI: {_one_line(exc)}") from None
        hosts = ",".join(f"{h}:{p}" for h, p in parsed["nodelist"])
    else:
        hosts = netloc
    if any(c in database for c in '/\\. "$') or len(database) > 63:
        raise InputError(f"{shown}: invalid database name {database!r}")
    options = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    return MongoTarget(uri=uri, database=database, hosts=hosts, options=options)


def redact(uri: str) -> str:
    """The URI without its password, for messages."""
    return re.sub(r"^(mongodb(?:\+srv)?://[^:/@]*):[^@/]*@", r"\1:***@", uri)


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())


def _server_message(exc: PyMongoError) -> str:
    text = str(exc)
    if isinstance(exc, ServerSelectionTimeoutError):
        # "host: [Errno 111] Connection refused (configured timeouts: ...), Timeout: 0.5s,
        # Topology Description: <...>": keep the first cause only
        text = text.split(", Timeout:")[0]
        text = re.sub(r" \(configured timeouts:[^)]*\)", "", text)
    if isinstance(exc, BulkWriteError):
        errors = exc.details.get("writeErrors") or [{}]
        first = errors[0]
        text = f"{first.get('errmsg', text)} (document {first.get('op', {}).get('_id')!r})"
    elif isinstance(exc, OperationFailure) and exc.details:
        text = str(exc.details.get("errmsg", text))
    return _one_line(text)


def _timeout_ms(target: MongoTarget, default: int) -> int:
    """The server selection timeout in force: the URI's when it sets a usable one."""
    value = target.options.get("serverselectiontimeoutms")
    if value is not None:
        try:
            return int(float(value))
        except (ValueError, OverflowError):  # e.g. "inf", "nan": pymongo rejects it itself
            pass
    return default


@contextlib.contextmanager
def _mongo_errors(target: MongoTarget, timeout_ms: int) -> Iterator[None]:
    """Turn pymongo's errors into one-line :class:`StoreError` messages."""
    try:
        yield
    except ServerSelectionTimeoutError as exc:
        raise StoreError(
            f"cannot reach MongoDB at {target.hosts} within {timeout_ms / 1000:g} s: "
            f"{_server_message(exc)}"
        ) from None
    except OperationFailure as exc:
        what = "authentication failed" if exc.code == 18 else "MongoDB refused the operation"
        raise StoreError(
            f"{what} on {target.hosts}/{target.database}: {_server_message(exc)}"
        ) from None
    except (InvalidURI, ConfigurationError) as exc:
        raise InputError(f"{redact(target.uri)}: {_one_line(exc)}") from None
    except PyMongoError as exc:
        raise StoreError(
            f"MongoDB error on {target.hosts}/{target.database}: {_server_message(exc)}"
        ) from None


@contextlib.contextmanager
def connect(
    uri: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS
) -> Iterator[tuple[MongoDatabase, MongoTarget]]:
    """The URI's database, checked reachable (``ping``); the client is closed on exit.

    Dates are decoded as aware UTC datetimes; dates outside Python's range are kept
    (as ``DatetimeMS``) so the mapping can name the document instead of the cursor
    failing. ``serverSelectionTimeoutMS``/``connectTimeoutMS`` default to
    ``timeout_ms`` unless the URI sets them.

    pymongo errors raised in the ``with`` block, on the server or the client side, also
    leave as one-line :class:`StoreError`/:class:`InputError` messages that quote the
    timeout in force (the URI's ``serverSelectionTimeoutMS`` when set).
    """
    target = parse_mongodb_uri(uri)
    kwargs: dict[str, Any] = {}
    if "connecttimeoutms" not in target.options:
        kwargs["connectTimeoutMS"] = timeout_ms
    if "serverselectiontimeoutms" not in target.options:
        kwargs["serverSelectionTimeoutMS"] = timeout_ms
    with _mongo_errors(target, _timeout_ms(target, timeout_ms)):
        client: MongoClient[Doc] = MongoClient(
            uri,
            tz_aware=True,
            tzinfo=UTC,
            datetime_conversion=DatetimeConversion.DATETIME_AUTO,
            appname="shoplens",
            **kwargs,
        )
        try:
            client.admin.command("ping")
            yield client[target.database], target
        finally:
            client.close()


# --- export ---------------------------------------------------------------------------


def _select(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The canonical columns that ``table`` has in this store, quoted."""
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ?",
            [table],
        ).fetchall()
    }
    return [f'"{c.name}"' for c in CANONICAL[table].columns if c.name in have]


def _export_sql(con: duckdb.DuckDBPyConnection, collection: str) -> str:
    cols = ", ".join(f"t.{c}" for c in _select(con, collection))
    if collection != "orders":
        return f'SELECT {cols} FROM "{collection}" t'
    fields = [c for c in _select(con, ORDER_ITEMS.name) if c != '"order_id"']
    struct = ", ".join(f"{c} := i.{c}" for c in fields)
    return (
        f"SELECT {cols}, l.items FROM orders t LEFT JOIN ("
        f"  SELECT i.order_id, list(struct_pack({struct}) ORDER BY i.line_no) AS items"
        f"  FROM order_items i GROUP BY i.order_id"
        f") l ON l.order_id = t.order_id"
    )


def export_tables(
    con: duckdb.DuckDBPyConnection,
    db: MongoDatabase,
    *,
    batch_size: int = 10_000,
    on_progress: Progress | None = None,
) -> dict[str, int]:
    """Write the store's tables into ``db`` (see :func:`export_to_mongodb`)."""
    have = existing_tables(con)
    missing = [t for t in ("orders", "order_items") if t not in have]
    if missing:
        raise StoreError(f"the store has no table {', '.join(map(repr, missing))} to export")
    counts: dict[str, int] = {}
    for collection in ("customers", "products", "orders"):
        if collection not in have:
            continue
        row = con.execute(f'SELECT count(*) FROM "{collection}"').fetchone()
        total = int(row[0]) if row else 0
        done = lines = 0
        coll = db[collection]
        reader = con.sql(_export_sql(con, collection)).to_arrow_reader(batch_size)
        for batch in reader:
            if collection == "orders":
                docs = [order_to_document(r) for r in batch.to_pylist()]
                lines += sum(len(d["items"]) for d in docs)
            else:
                docs = [row_to_document(collection, r) for r in batch.to_pylist()]
            if docs:
                coll.bulk_write(
                    [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False
                )
            done += len(docs)
            if on_progress is not None:
                on_progress(collection, done, total)
        coll.create_indexes(INDEXES[collection])
        counts[collection] = done
        if collection == "orders":
            counts["order_items"] = lines
    return counts


def export_to_mongodb(
    con: duckdb.DuckDBPyConnection,
    uri: str,
    *,
    batch_size: int = 10_000,
    on_progress: Progress | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> dict[str, int]:
    """Export the store behind ``con`` to the database named by ``uri``.

    Writes ``customers`` and ``products`` (when the store has them) and ``orders``
    (required, with ``order_items`` embedded; lines without an order are not
    exported), ``batch_size`` documents per ``bulk_write`` of upserts by ``_id``, then
    creates the indexes of :data:`INDEXES`. Returns documents written per collection
    plus ``order_items``: the lines embedded in the orders.

    Raises :class:`InputError` for a bad URI or a row that cannot be mapped, and
    :class:`StoreError` when the server is unreachable (after ``timeout_ms``), refuses
    the login or a write, or the store lacks orders.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    with connect(uri, timeout_ms=timeout_ms) as (db, _):
        return export_tables(con, db, batch_size=batch_size, on_progress=on_progress)


# --- import ---------------------------------------------------------------------------


def read_batches(
    db: MongoDatabase,
    *,
    batch_size: int = 50_000,
    on_progress: Progress | None = None,
) -> Iterator[tuple[str, pa.Table]]:
    """``(table name, Arrow table)`` chunks of at most ``batch_size`` documents each.

    Every collection present yields at least one (possibly empty) chunk per table;
    ``customers``/``products`` are optional, ``orders`` is required
    (:class:`InputError` if the database has none).
    """
    present = set(db.list_collection_names())
    if "orders" not in present:
        raise InputError(
            f"MongoDB database {db.name!r} has no 'orders' collection (nothing to import)"
        )
    for collection in COLLECTIONS:
        if collection not in present:
            continue
        coll = db[collection]
        total = coll.estimated_document_count()
        reader = DocumentReader(collection)
        done = 0
        yielded = False
        for doc in coll.find({}, projection(collection), batch_size=batch_size):
            reader.add(doc)
            if len(reader) >= batch_size:
                done += len(reader)
                yield from reader.flush().items()
                yielded = True
                if on_progress is not None:
                    on_progress(collection, done, total)
        if len(reader) or not yielded:
            done += len(reader)
            yield from reader.flush().items()
            if on_progress is not None:
                on_progress(collection, done, total)


def read_tables(
    db: MongoDatabase, *, batch_size: int = 50_000, on_progress: Progress | None = None
) -> dict[str, pa.Table]:
    """All collections of ``db`` as canonical tables (see :func:`read_batches`)."""
    parts: dict[str, list[pa.Table]] = {}
    for name, table in read_batches(db, batch_size=batch_size, on_progress=on_progress):
        parts.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def import_from_mongodb(
    uri: str,
    *,
    batch_size: int = 50_000,
    on_progress: Progress | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> dict[str, pa.Table]:
    """Read the database named by ``uri`` into canonical Arrow tables.

    Keys: ``orders`` and ``order_items`` always, ``customers`` and ``products`` when
    the database has those collections. Ids are text, timestamps UTC
    (``timestamp[us, UTC]``), money ``decimal128(18, 2)``. Raises :class:`InputError`
    naming the collection, ``_id`` and field for a bad document.
    """
    with connect(uri, timeout_ms=timeout_ms) as (db, _):
        return read_tables(db, batch_size=batch_size, on_progress=on_progress)


def load_batches(
    con: duckdb.DuckDBPyConnection, batches: Iterator[tuple[str, pa.Table]]
) -> dict[str, int]:
    """Create the tables and load the chunks into an empty store; rows per table."""
    created: list[str] = []
    rows: dict[str, int] = {}
    for name, table in batches:
        if name not in created:
            create_tables(con, [name])
            created.append(name)
        if table.num_rows:
            load_table(con, name, table)
        rows[name] = rows.get(name, 0) + table.num_rows
    # order_items is the one table whose key is not enforced by an index: its key
    # (order_id, line_no) is unique by construction here, since DocumentReader refuses a
    # line number repeated within an order and the orders' key is enforced; the GROUP BY
    # check could not fail.
    finalize_keys(con, created, verify_unenforced=False)
    _check_one_currency(con)
    return rows


def _check_one_currency(con: duckdb.DuckDBPyConnection) -> None:
    """A store holds one currency: refuse orders in several (money is never mixed)."""
    counts = con.execute(
        "SELECT currency, count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    if len(counts) > 1:
        listed = ", ".join(f"{c}: {n:,} orders" for c, n in counts)
        raise InputError(
            f"orders in {len(counts)} currencies ({listed}); a store holds one currency:"
            " convert the orders in MongoDB first, or export them to a file and import it"
            " with --currency or --fx-rates",
            source="collection 'orders'",
            column="currency",
        )


def import_into_store(
    path: str | Path,
    uri: str,
    *,
    overwrite: bool = False,
    batch_size: int = 50_000,
    on_progress: Progress | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> dict[str, int]:
    """Build the store at ``path`` from the MongoDB database named by ``uri``.

    Replace, not upsert: the new store holds exactly the collections' data (the
    ``orders`` and ``order_items`` tables, and ``customers``/``products`` when the
    database has them). Documents stream in batches into a temporary store that is
    moved over ``path`` only when everything is loaded and the keys are checked
    (:func:`shoplens.store.write_new_store`); on any error ``path`` is untouched. An
    existing store is replaced only with ``overwrite=True``; that and the target's
    directory are checked before connecting. Returns rows per table.
    """
    check_new_store_path(path, overwrite=overwrite)  # before waiting for a server
    rows: dict[str, int] = {}
    with connect(uri, timeout_ms=timeout_ms) as (db, _):

        def build(con: duckdb.DuckDBPyConnection) -> None:
            batches = read_batches(db, batch_size=batch_size, on_progress=on_progress)
            rows.update(load_batches(con, batches))  # always has orders and order_items

        write_new_store(path, build, overwrite=overwrite)
    return rows


__all__ = [
    "MongoTarget",
    "connect",
    "export_tables",
    "export_to_mongodb",
    "import_from_mongodb",
    "import_into_store",
    "parse_mongodb_uri",
    "read_batches",
    "read_tables",
    "redact",
]
