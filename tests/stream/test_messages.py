from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shoplens.schema import CUSTOMERS, EVENTS, ORDER_ITEMS, ORDERS
from shoplens.stream import messages as m

TS = datetime(2026, 1, 2, 10, 30, 0, 123456, tzinfo=UTC)


def _order() -> m.OrderRows:
    return m.OrderRows(
        order={
            "order_id": 1001,
            "customer_id": 42,
            "order_ts": TS,
            "status": "completed",
            "channel": "web",
            "promo_code": None,
            "discount": 10.0,
            "currency": "EUR",
        },
        items=(
            {"order_id": 1001, "line_no": 1, "product_id": 7, "quantity": 2,
             "unit_price": 19.99, "discount": 0.0},
            {"order_id": 1001, "line_no": 2, "product_id": 9, "quantity": 1,
             "unit_price": 5.5, "discount": 0.55},
        ),
        customer={"customer_id": 42, "signup_ts": TS, "country": "DE", "city": "Berlin",
                  "age": 31, "gender": "female", "acquisition_channel": "organic",
                  "name": "A B", "email": "a@b.de"},
    )  # fmt: skip


def test_order_round_trip_matches_schema():
    raw = m.encode(m.order_message(_order()))
    item = m.parse(raw, "order")
    assert set(item["order"]) == set(ORDERS.column_names)
    assert all(set(i) == set(ORDER_ITEMS.column_names) for i in item["items"])
    assert set(item["customer"]) == set(CUSTOMERS.column_names)
    assert item["order"]["order_id"] == "1001"
    assert item["order"]["order_ts"] == TS
    assert item["order"]["discount"] == Decimal("10.00")
    assert [i["unit_price"] for i in item["items"]] == [Decimal("19.99"), Decimal("5.50")]
    assert item["items"][1]["discount"] == Decimal("0.55")
    assert item["customer"]["country"] == "DE"
    assert item["customer"]["age"] == 31


def test_event_round_trip_matches_schema():
    row = {"event_id": 9, "session_id": 3, "customer_id": None, "event_ts": TS,
           "event_type": "add_to_cart", "product_id": 7, "order_id": None}  # fmt: skip
    item = m.parse(m.encode(m.event_message(row)), "event")
    assert set(item["event"]) == set(EVENTS.column_names)
    assert item["event"] == {**row, "event_id": "9", "session_id": "3", "product_id": "7"}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("order_id"), "missing field 'order_id'"),
        (lambda d: d.update(discount="-1.00"), "negative amount in 'discount'"),
        (
            lambda d: d["lines"][1].update(unit_price=-3.5),
            "negative amount in 'lines[1].unit_price'",
        ),
        (lambda d: d["lines"][0].pop("quantity"), "missing field 'lines[0].quantity'"),
        (lambda d: d["lines"][0].update(quantity=0), "'lines[0].quantity' must be >= 1"),
        (lambda d: d.update(status="lost"), "field 'status' is 'lost'"),
        (lambda d: d.update(schema_version=7), "unknown schema_version 7"),
        (lambda d: d.pop("schema_version"), "missing field 'schema_version'"),
        (lambda d: d.update(order_ts="yesterday"), "is not an ISO 8601 time"),
        (lambda d: d.update(order_ts="2026-01-01T10:00:00"), "has no time zone offset"),
        (lambda d: d.update(lines=[]), "'lines' must be a non-empty list"),
        (lambda d: d.update(discount="abc"), "is not a number"),
    ],
)
def test_invalid_orders_have_reasons(mutate, reason):
    msg = m.order_message(_order())
    mutate(msg)
    with pytest.raises(m.MessageError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        m.parse(m.encode(msg), "order")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (None, "empty message"),
        (b"\xff\xfe", "malformed JSON"),
    ],
)
def test_undecodable(raw, reason):
    with pytest.raises(m.MessageError, match=reason):
        m.parse(raw, "event")


def test_event_type_checked():
    row = {"event_id": 1, "session_id": 1, "event_ts": TS, "event_type": "purchase"}
    msg = m.event_message(row)
    assert m.parse(m.encode(msg), "event")["event"]["event_type"] == "purchase"
    msg["event_type"] = "teleport"
    with pytest.raises(m.MessageError, match="'event_type' is 'teleport'"):
        m.parse(m.encode(msg), "event")
