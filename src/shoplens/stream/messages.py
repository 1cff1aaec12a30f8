"""Stream messages <-> canonical rows: pure conversion and validation.

Two message kinds travel as JSON objects, keyed by customer id:

``shop.orders`` (one message per order, with its lines)::

    {"schema_version": 1, "message_id": "o-1001", "order_id": "1001",
     "customer_id": "42" | null, "order_ts": "2026-01-01T10:00:00.123456Z",
     "status": "completed", "channel": "web" | null, "promo_code": "LOYAL5" | null,
     "discount": "0.00", "currency": "EUR",
     "lines": [{"line_no": 1, "product_id": "7", "quantity": 2,
                "unit_price": "19.99", "discount": "0.00"}],
     "customer": {...} | absent}          # a new account: the canonical customer row

``shop.events`` (clickstream)::

    {"schema_version": 1, "message_id": "e-9", "event_id": "9", "session_id": "3",
     "customer_id": "42" | null, "event_ts": "...Z", "event_type": "page_view",
     "product_id": "7" | null, "order_id": null}

Money travels as a decimal string (a JSON number is accepted too), timestamps as
ISO 8601 with an offset. The rows produced carry exactly the columns of
:mod:`shoplens.schema`'s ``orders``, ``order_items``, ``customers`` and ``events``.
Every problem raises :class:`MessageError` with a one-line reason (it becomes the
dead-letter reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shoplens.schema import CUSTOMERS, EVENT_TYPES, EVENTS, ORDER_ITEMS, ORDER_STATUSES, ORDERS

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = (1,)
CENT = Decimal("0.01")

Row = dict[str, Any]


class MessageError(ValueError):
    """A message that cannot become canonical rows; ``str()`` is the reason."""


@dataclass(frozen=True)
class OrderRows:
    """One order message as canonical rows."""

    order: Row
    items: tuple[Row, ...]
    customer: Row | None = None


# --- encoding (producer side) ------------------------------------------------------


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _money(value: Any) -> str:
    return str(Decimal(str(value)).quantize(CENT))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def order_message(rows: OrderRows) -> Row:
    """The ``shop.orders`` message (a JSON-ready dict) of an order's canonical rows."""
    o = rows.order
    msg: Row = {
        "schema_version": SCHEMA_VERSION,
        "message_id": f"o-{o['order_id']}",
        "order_id": str(o["order_id"]),
        "customer_id": _opt_str(o["customer_id"]),
        "order_ts": _ts(o["order_ts"]),
        "status": o["status"],
        "channel": o.get("channel"),
        "promo_code": o.get("promo_code"),
        "discount": _money(o["discount"]),
        "currency": o["currency"],
        "lines": [
            {
                "line_no": int(i["line_no"]),
                "product_id": str(i["product_id"]),
                "quantity": int(i["quantity"]),
                "unit_price": _money(i["unit_price"]),
                "discount": _money(i["discount"]),
            }
            for i in rows.items
        ],
    }
    if rows.customer is not None:
        c = rows.customer
        msg["customer"] = {
            "customer_id": str(c["customer_id"]),
            "signup_ts": _ts(c["signup_ts"]),
            **{k: c.get(k) for k in CUSTOMERS.column_names[2:]},
        }
    return msg


def event_message(row: Row) -> Row:
    """The ``shop.events`` message of a canonical ``events`` row."""
    return {
        "schema_version": SCHEMA_VERSION,
        "message_id": f"e-{row['event_id']}",
        "event_id": str(row["event_id"]),
        "session_id": str(row["session_id"]),
        "customer_id": _opt_str(row.get("customer_id")),
        "event_ts": _ts(row["event_ts"]),
        "event_type": row["event_type"],
        "product_id": _opt_str(row.get("product_id")),
        "order_id": _opt_str(row.get("order_id")),
    }


def encode(message: Row) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


# --- decoding and validation (processor side) --------------------------------------


def decode(raw: bytes | str | None) -> Row:
    """Parse a message value into a dict, or raise :class:`MessageError`."""
    if raw is None:
        raise MessageError("empty message (no value)")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MessageError(f"expected a JSON object, got {type(value).__name__}")
    version = value.get("schema_version")
    if version is None:
        raise MessageError("missing field 'schema_version'")
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise MessageError(
            f"unknown schema_version {version!r} (this processor reads"
            f" {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    return value


def _get(msg: Row, field: str, where: str = "") -> Any:
    if field not in msg or msg[field] is None:
        raise MessageError(f"missing field '{where}{field}'")
    return msg[field]


def _str(msg: Row, field: str, where: str = "", *, optional: bool = False) -> str | None:
    if optional and msg.get(field) is None:
        return None
    value = _get(msg, field, where)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MessageError(f"field '{where}{field}' must be a string, got {value!r}")
    text = str(value)
    if not text:
        raise MessageError(f"field '{where}{field}' is empty")
    return text


def _timestamp(msg: Row, field: str, where: str = "") -> datetime:
    value = _get(msg, field, where)
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        raise MessageError(f"field '{where}{field}' is not an ISO 8601 time: {value!r}") from None
    if ts.tzinfo is None:
        raise MessageError(f"field '{where}{field}' has no time zone offset: {value!r}")
    return ts.astimezone(UTC)


def _amount(msg: Row, field: str, where: str = "") -> Decimal:
    value = _get(msg, field, where)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MessageError(f"field '{where}{field}' must be an amount, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MessageError(f"field '{where}{field}' is not a number: {value!r}") from None
    if not amount.is_finite():
        raise MessageError(f"field '{where}{field}' is not a finite number: {value!r}")
    if amount < 0:
        raise MessageError(f"negative amount in '{where}{field}': {value}")
    return amount.quantize(CENT)


def _int(msg: Row, field: str, where: str = "", *, minimum: int) -> int:
    value = _get(msg, field, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MessageError(f"field '{where}{field}' must be an integer, got {value!r}")
    if value < minimum:
        raise MessageError(f"field '{where}{field}' must be >= {minimum}, got {value}")
    return value


def _choice(msg: Row, field: str, allowed: tuple[str, ...]) -> str:
    value = _get(msg, field)
    if value not in allowed:
        raise MessageError(f"field '{field}' is {value!r}, expected one of {', '.join(allowed)}")
    return str(value)


def order_rows(msg: Row) -> OrderRows:
    """Canonical ``orders``/``order_items`` (and new ``customers``) rows of an order message."""
    order: Row = {
        "order_id": _str(msg, "order_id"),
        "customer_id": _str(msg, "customer_id", optional=True),
        "order_ts": _timestamp(msg, "order_ts"),
        "status": _choice(msg, "status", ORDER_STATUSES),
        "channel": _str(msg, "channel", optional=True),
        "promo_code": _str(msg, "promo_code", optional=True),
        "discount": _amount(msg, "discount"),
        "currency": _str(msg, "currency"),
    }
    lines = _get(msg, "lines")
    if not isinstance(lines, list) or not lines:
        raise MessageError("field 'lines' must be a non-empty list")
    items: list[Row] = []
    seen: set[int] = set()
    for n, line in enumerate(lines):
        where = f"lines[{n}]."
        if not isinstance(line, dict):
            raise MessageError(f"'lines[{n}]' must be an object")
        line_no = _int(line, "line_no", where, minimum=1)
        if line_no in seen:
            raise MessageError(f"duplicate line_no {line_no} in 'lines'")
        seen.add(line_no)
        items.append(
            {
                "order_id": order["order_id"],
                "line_no": line_no,
                "product_id": _str(line, "product_id", where),
                "quantity": _int(line, "quantity", where, minimum=1),
                "unit_price": _amount(line, "unit_price", where),
                "discount": _amount(line, "discount", where),
            }
        )
    customer = None
    if msg.get("customer") is not None:
        c = msg["customer"]
        if not isinstance(c, dict):
            raise MessageError("field 'customer' must be an object")
        age = c.get("age")
        if age is not None and (isinstance(age, bool) or not isinstance(age, int)):
            raise MessageError(f"field 'customer.age' must be an integer, got {age!r}")
        customer = {
            "customer_id": _str(c, "customer_id", "customer."),
            "signup_ts": _timestamp(c, "signup_ts", "customer."),
            "country": _str(c, "country", "customer."),
            "age": age,
            **{
                k: _str(c, k, "customer.", optional=True)
                for k in CUSTOMERS.column_names
                if k not in ("customer_id", "signup_ts", "country", "age")
            },
        }
        if customer["customer_id"] != order["customer_id"]:
            raise MessageError("field 'customer.customer_id' differs from 'customer_id'")
    return OrderRows(order, tuple(items), customer)


def event_row(msg: Row) -> Row:
    """The canonical ``events`` row of an event message."""
    return {
        "event_id": _str(msg, "event_id"),
        "session_id": _str(msg, "session_id"),
        "customer_id": _str(msg, "customer_id", optional=True),
        "event_ts": _timestamp(msg, "event_ts"),
        "event_type": _choice(msg, "event_type", EVENT_TYPES),
        "product_id": _str(msg, "product_id", optional=True),
        "order_id": _str(msg, "order_id", optional=True),
    }


def parse(raw: bytes | str | None, kind: str) -> Row:
    """Validate a raw ``kind`` ('order' or 'event') message into a sink item.

    Returns ``{"kind": ..., "order"/"items"/"customer" or "event": rows}``; every row
    value is JSON-free Python (Decimal, aware datetime). Raises :class:`MessageError`.
    """
    msg = decode(raw)
    if kind == "order":
        rows = order_rows(msg)
        return {
            "kind": "order",
            "order": rows.order,
            "items": rows.items,
            "customer": rows.customer,
        }
    if kind == "event":
        return {"kind": "event", "event": event_row(msg)}
    raise ValueError(f"unknown message kind {kind!r}")


# the column sets the rows above must have: checked by the tests against schema.py
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ORDERS.column_names,
    "order_items": ORDER_ITEMS.column_names,
    "customers": CUSTOMERS.column_names,
    "events": EVENTS.column_names,
}
