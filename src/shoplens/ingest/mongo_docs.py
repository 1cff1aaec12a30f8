"""Canonical tables <-> MongoDB documents: the pure mapping (no server, no I/O).

The document shape is what a shop's MongoDB holds; the field names are the canonical
column names (:mod:`shoplens.schema`):

``customers``  ``{_id: customer_id, signup_ts, country, city, age, gender,
acquisition_channel, name, email}``

``products``   ``{_id: product_id, name, category, unit_price}``

``orders``     ``{_id: order_id, customer_id, order_ts, status, channel, promo_code,
discount, currency, items: [{line_no, product_id, quantity, unit_price, discount}]}``
with the order lines embedded, sorted by ``line_no``.

Writing (tables -> documents):

- ids are the store's text ids (``"17"``, not ``17``): the store's ids are VARCHAR and a
  shop's codes are not always numbers, so one type everywhere.
- timestamps are BSON datetimes in UTC. BSON datetimes have millisecond precision:
  the server truncates the store's microseconds (never across a day, hour or second
  boundary, so every analysis gives the same result).
- money is ``bson.Decimal128`` (exact decimal, e.g. ``Decimal128("17.99")``), not a
  double: a double cannot hold 0.10 exactly, sums drift, and a shop's finance team
  reconciles to the cent. Aggregations in MongoDB (``$sum``) stay exact too.
- NULL (optional) fields are left out of the document, as MongoDB documents usually
  do; a guest order has no ``customer_id`` field.

Reading (documents -> tables) is lenient where shops' documents differ and strict
where a value cannot be trusted:

- the id is the canonical key field when the document has one (``{_id: ObjectId(..),
  order_id: "A-1001"}``), else ``_id``; ids may be strings, integers (integral doubles
  too) or ObjectIds and become text.
- dates may be BSON datetimes (naive ones are UTC, as pymongo returns them), aware
  datetimes in any zone, or ISO 8601 strings; they become UTC.
- money may be Decimal128, integers, doubles (read through their shortest repr, so
  ``17.99`` is ``17.99``) or numeric strings; it is rounded half-up to the cent.
- missing optional fields are NULL; a missing order or line ``discount`` is 0; a
  missing ``items`` is an order without lines; a missing ``line_no`` is the position
  in ``items`` (1-based); extra fields are ignored.
- anything else (a missing required field, a non-numeric quantity, ``items`` not a
  list, an unknown status, negative money ...) raises :class:`InputError` naming the
  collection, the document ``_id`` and the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from bson import Decimal128, ObjectId

from shoplens.errors import InputError
from shoplens.schema import CUSTOMERS, ORDER_ITEMS, ORDER_STATUSES, ORDERS, PRODUCTS, Column, Table

Doc = dict[str, Any]

TS_TYPE = pa.timestamp("us", tz="UTC")
MONEY_TYPE = pa.decimal128(18, 2)
CENT = Decimal("0.01")
_MONEY_LIMIT = Decimal(10) ** 16  # DECIMAL(18, 2)

COLLECTIONS: dict[str, Table] = {"customers": CUSTOMERS, "products": PRODUCTS, "orders": ORDERS}
"""Collection name -> the canonical table its documents hold (orders embed order_items)."""

_INT_RANGES: dict[str, tuple[int, int]] = {
    "age": (0, 130),
    "quantity": (1, 2**31 - 1),
    "line_no": (-(2**31), 2**31 - 1),
}


class FieldError(ValueError):
    """A value that cannot be converted; wrapped into an :class:`InputError`."""


def document_error(collection: str, doc_id: object, field: str | None, message: str) -> InputError:
    """The user error for a bad document: names the collection, ``_id`` and field."""
    where = f"MongoDB collection {collection!r}, document _id={doc_id!r}"
    if field is not None:
        where += f", field {field!r}"
    err = InputError(f"{where}: {message}")
    err.source = f"mongodb:{collection}"
    err.column = field
    return err


# --- value conversions (shared by both directions) -------------------------------------


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_id(value: object) -> str:
    """An id as text: strings as they are, integers, integral doubles, ObjectIds."""
    if isinstance(value, str):
        if not value:
            raise FieldError("empty id")
        return value
    if isinstance(value, bool):
        raise FieldError(f"expected an id (string, integer or ObjectId), got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, float | Decimal | Decimal128):
        dec = _decimal(value)
        if dec is not None and dec.is_finite() and dec == dec.to_integral_value():
            return str(int(dec))
    raise FieldError(f"expected an id (string, integer or ObjectId), got {_describe(value)}")


def to_text(value: object) -> str:
    """A text field: strings, or integers (a numeric promo code); nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise FieldError(f"expected a string, got {_describe(value)}")


def to_utc(value: object) -> datetime:
    """A timestamp as an aware UTC datetime (naive values are UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise FieldError(f"expected a date, got the string {_describe(value)}") from None
    if not isinstance(value, datetime):
        # bson.DatetimeMS (a date outside Python's range) lands here too
        raise FieldError(f"expected a date, got {_describe(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# bson's Decimal128 <-> Decimal conversions are pure Python and dominate the mapping's
# time; prices and discounts repeat a lot, so both directions are memoized (bounded).
_CACHE_LIMIT = 100_000
_to_d128: dict[Decimal, Decimal128] = {}
_from_d128: dict[bytes, Decimal] = {}


def decimal128(cents: Decimal) -> Decimal128:
    """``Decimal128`` of an amount already rounded to the cent (memoized)."""
    out = _to_d128.get(cents)
    if out is None:
        if len(_to_d128) >= _CACHE_LIMIT:
            _to_d128.clear()
        out = _to_d128[cents] = Decimal128(cents)
    return out


def _from_decimal128(value: Decimal128) -> Decimal:
    out = _from_d128.get(value.bid)
    if out is None:
        if len(_from_d128) >= _CACHE_LIMIT:
            _from_d128.clear()
        out = _from_d128[value.bid] = value.to_decimal()
    return out


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Decimal128):
        return _from_decimal128(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def to_money(value: object) -> Decimal:
    """Money as a Decimal rounded half-up to the cent; must be >= 0 and fit DECIMAL(18,2)."""
    dec = _decimal(value)
    if dec is None or not dec.is_finite():
        raise FieldError(f"expected an amount of money, got {_describe(value)}")
    cents = dec.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents < 0:
        raise FieldError(f"expected an amount >= 0, got {cents}")
    if cents >= _MONEY_LIMIT:
        raise FieldError(f"amount {cents} is too large (at most 16 digits before the point)")
    return cents


def to_int(value: object, field: str) -> int:
    """An integer (integral doubles and numeric strings too) within the field's range."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float | Decimal | Decimal128 | str):
        dec = _decimal(value)
        if dec is not None and dec.is_finite() and dec == dec.to_integral_value():
            number = int(dec)
    if number is None:
        raise FieldError(f"expected an integer, got {_describe(value)}")
    lo, hi = _INT_RANGES[field]
    if not lo <= number <= hi:
        raise FieldError(f"expected an integer from {lo} to {hi}, got {number}")
    return number


def to_status(value: object) -> str:
    text = to_text(value)
    if text not in ORDER_STATUSES:
        raise FieldError(f"expected one of {', '.join(ORDER_STATUSES)}, got {text!r}")
    return text


def _converter(col: Column) -> Callable[[object], Any]:
    if col.name == "status":
        return to_status
    if col.name.endswith("_id"):
        return to_id
    if col.type == "TIMESTAMPTZ":
        return to_utc
    if col.type.startswith("DECIMAL"):
        return to_money
    if col.type in ("SMALLINT", "INTEGER"):
        name = col.name
        return lambda v: to_int(v, name)
    return to_text


_COLUMN_CONVERTERS: dict[str, tuple[tuple[Column, Callable[[object], Any]], ...]] = {}


def _converters(table: Table) -> tuple[tuple[Column, Callable[[object], Any]], ...]:
    """(column, converter) for every column of ``table``, computed once."""
    out = _COLUMN_CONVERTERS.get(table.name)
    if out is None:
        out = _COLUMN_CONVERTERS[table.name] = tuple((c, _converter(c)) for c in table.columns)
    return out


def _arrow_type(col: Column) -> pa.DataType:
    if col.type == "TIMESTAMPTZ":
        return TS_TYPE
    if col.type.startswith("DECIMAL"):
        return MONEY_TYPE
    if col.type == "SMALLINT":
        return pa.int16()
    if col.type == "INTEGER":
        return pa.int32()
    return pa.string()


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a canonical table as read back from MongoDB."""
    return pa.schema([pa.field(c.name, _arrow_type(c), c.nullable) for c in table.columns])


# --- tables -> documents ---------------------------------------------------------------


def _to_bson(convert: Callable[[object], Any], value: object) -> object:
    """A canonical value as stored in MongoDB (ids text, money Decimal128, UTC dates)."""
    out = convert(value)
    return decimal128(out) if isinstance(out, Decimal) else out


def _fields(
    table: Table, row: Mapping[str, Any], collection: str, doc_id: object, skip: str
) -> Doc:
    doc: Doc = {}
    for col, convert in _converters(table):
        if col.name == skip:
            continue
        value = row.get(col.name)
        if value is None:
            if not col.nullable:
                raise document_error(collection, doc_id, col.name, "is NULL (required)")
            continue
        try:
            doc[col.name] = _to_bson(convert, value)
        except FieldError as exc:
            raise document_error(collection, doc_id, col.name, str(exc)) from None
    return doc


def row_to_document(collection: str, row: Mapping[str, Any]) -> Doc:
    """One canonical row (``customers`` or ``products``) -> its document."""
    table = COLLECTIONS[collection]
    key = table.key[0]
    raw_id = row.get(key)
    try:
        doc_id = to_id(raw_id)
    except FieldError as exc:
        raise document_error(collection, raw_id, key, str(exc)) from None
    return {"_id": doc_id, **_fields(table, row, collection, doc_id, key)}


def order_to_document(row: Mapping[str, Any]) -> Doc:
    """One ``orders`` row plus ``items`` (its lines as dicts, or None) -> an order document."""
    doc = row_to_document("orders", row)
    items = []
    for line in row.get("items") or ():
        items.append(_fields(ORDER_ITEMS, line, "orders", doc["_id"], "order_id"))
    items.sort(key=lambda item: item["line_no"])
    doc["items"] = items
    return doc


def table_documents(collection: str, table: pa.Table | pa.RecordBatch) -> list[Doc]:
    """A ``customers`` or ``products`` table (or batch) -> documents."""
    return [row_to_document(collection, row) for row in table.to_pylist()]


def order_documents(orders: pa.Table, order_items: pa.Table) -> list[Doc]:
    """``orders`` and ``order_items`` tables -> order documents with their lines embedded.

    Lines whose order is not in ``orders`` are left out (an order document holds them).
    """
    lines: dict[str, list[dict[str, Any]]] = {}
    for line in order_items.to_pylist():
        lines.setdefault(to_id(line["order_id"]), []).append(line)
    docs = []
    for row in orders.to_pylist():
        row["items"] = lines.get(to_id(row["order_id"]), [])
        docs.append(order_to_document(row))
    return docs


# --- documents -> tables ---------------------------------------------------------------


class _Columns:
    """Column-wise lists for one canonical table, turned into Arrow in one go."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.schema = arrow_schema(table)
        self.values: dict[str, list[Any]] = {c.name: [] for c in table.columns}

    def __len__(self) -> int:
        return len(self.values[self.table.columns[0].name])

    def to_arrow(self) -> pa.Table:
        arrays = [pa.array(self.values[f.name], f.type) for f in self.schema]
        self.values = {c.name: [] for c in self.table.columns}
        return pa.Table.from_arrays(arrays, schema=self.schema)


_DEFAULTS: dict[str, object] = {"discount": Decimal("0.00")}


def _read_fields(
    out: _Columns,
    source: Mapping[str, Any],
    fixed: Mapping[str, object],
    collection: str,
    doc_id: object,
    prefix: str = "",
) -> None:
    """Convert every field of ``source`` first, then append (a bad doc adds nothing)."""
    row: dict[str, object] = {}
    for col, convert in _converters(out.table):
        if col.name in fixed:
            row[col.name] = fixed[col.name]
            continue
        value = source.get(col.name)
        if value is None:
            if col.name in _DEFAULTS:
                value = _DEFAULTS[col.name]
            elif not col.nullable:
                raise document_error(collection, doc_id, prefix + col.name, "missing (required)")
            else:
                row[col.name] = None
                continue
        try:
            row[col.name] = convert(value)
        except FieldError as exc:
            raise document_error(collection, doc_id, prefix + col.name, str(exc)) from None
    for name, value in row.items():
        out.values[name].append(value)


def _doc_key(collection: str, doc: Mapping[str, Any]) -> tuple[str, object]:
    """(id text, id as shown in messages): the canonical key field, else ``_id``."""
    if not isinstance(doc, Mapping):
        raise document_error(collection, None, None, f"not a document: {_describe(doc)}")
    key = COLLECTIONS[collection].key[0]
    shown = doc.get("_id")
    field = key if doc.get(key) is not None else "_id"
    raw = doc.get(field)
    if raw is None:
        raise document_error(collection, shown, "_id", "missing (required)")
    try:
        return to_id(raw), shown
    except FieldError as exc:
        raise document_error(collection, shown, field, str(exc)) from None


class DocumentReader:
    """Documents of one collection -> canonical Arrow tables, in batches.

    ``add(doc)`` converts and buffers a document (raising :class:`InputError` for a bad
    one, which leaves the buffer unchanged); ``flush()`` returns the buffered rows as
    Arrow tables: ``{table name: table}`` (``orders`` gives ``orders`` and
    ``order_items``).
    """

    def __init__(self, collection: str) -> None:
        if collection not in COLLECTIONS:
            raise ValueError(f"unknown collection {collection!r}")
        self.collection = collection
        self.table = COLLECTIONS[collection]
        self._rows = _Columns(self.table)
        self._items = _Columns(ORDER_ITEMS) if collection == "orders" else None

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, doc: Mapping[str, Any]) -> None:
        doc_id, shown = _doc_key(self.collection, doc)
        if self._items is None:
            _read_fields(self._rows, doc, {self.table.key[0]: doc_id}, self.collection, shown)
            return
        lines = self._order_lines(doc, doc_id, shown)  # validate before appending
        _read_fields(self._rows, doc, {"order_id": doc_id}, self.collection, shown)
        for name, values in lines.items():
            self._items.values[name].extend(values)

    def _order_lines(
        self, doc: Mapping[str, Any], doc_id: str, shown: object
    ) -> dict[str, list[Any]]:
        items = doc.get("items")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise document_error(
                "orders", shown, "items", f"expected a list of lines, got {_describe(items)}"
            )
        staged = _Columns(ORDER_ITEMS)
        seen: set[int] = set()
        for pos, item in enumerate(items):
            prefix = f"items[{pos}]."
            if not isinstance(item, Mapping):
                raise document_error(
                    "orders", shown, f"items[{pos}]", f"expected a document, got {_describe(item)}"
                )
            fixed: dict[str, object] = {"order_id": doc_id}
            if item.get("line_no") is None:
                fixed["line_no"] = pos + 1
            _read_fields(staged, item, fixed, "orders", shown, prefix)
            line_no = staged.values["line_no"][-1]
            if line_no in seen:
                raise document_error(
                    "orders", shown, prefix + "line_no", f"duplicate line number {line_no}"
                )
            seen.add(line_no)
        return staged.values

    def flush(self) -> dict[str, pa.Table]:
        out = {self.table.name: self._rows.to_arrow()}
        if self._items is not None:
            out[ORDER_ITEMS.name] = self._items.to_arrow()
        return out


def documents_to_tables(collection: str, docs: Iterable[Mapping[str, Any]]) -> dict[str, pa.Table]:
    """All documents of a collection -> its canonical table(s) (see :class:`DocumentReader`)."""
    reader = DocumentReader(collection)
    for doc in docs:
        reader.add(doc)
    return reader.flush()


def projection(collection: str) -> dict[str, int]:
    """The fields to fetch from a collection (everything the mapping reads)."""
    fields: Sequence[str] = [c.name for c in COLLECTIONS[collection].columns]
    if collection == "orders":
        fields = [*fields, "items"]
    return {name: 1 for name in fields}
