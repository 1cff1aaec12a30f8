"""Column mappings: which source column feeds which canonical column, and how to read it.

A :class:`Mapping` is loaded from TOML (``--mapping file.toml``) or is one of the
built-in presets (:data:`PRESETS`). Layout ``order-lines``: one source row per order
line; order-level fields (customer, timestamp, status, promo, order discount, country,
channel, currency) may be repeated on every line (UCI) or only on the first line of an
order (Shopify): either way the order takes the first non-empty value in source order.

TOML shape::

    layout = "order-lines"
    date_format = "auto"          # or "iso", "us", "day-first", "excel", or a strftime
    timezone = "Europe/Paris"     # zone of timestamps without an offset (default: shop)
    currency = "EUR"              # when there is no currency column (default: store's)
    decimal_separator = "."       # "," for 12,50
    max_bad_share = 0.01

    [columns]                     # canonical name = source column (or a list of
    order_id = "Order"            # alternative spellings, the first present wins)
    order_ts = "Date"
    ...

Canonical names: order_id, order_ts, customer_id, customer_name, order_discount,
promo_code, channel, country, currency (order level); product_id, product_name,
category, quantity, unit_price, line_discount (line level). Required: order_id,
order_ts, quantity, unit_price and product_id or product_name (an empty product id
falls back to the product name).

    [status]
    column = "State"              # optional status column ...
    completed = ["paid"]          # ... and its values (case-insensitive)
    cancelled = ["cancelled"]
    returned = ["refunded"]
    unknown = "refuse"            # a value in no list: refuse the import (default), or
                                  # count it as "completed", "cancelled" or "returned"
    cancelled_if_present = "Cancelled at"  # non-empty cell: the order is cancelled
    order_id_prefix = "C"         # order ids with this prefix are cancellations
    negative_quantity = "return"  # or "bad": a negative quantity is a bad value

A column named by a string must exist in the source (else :class:`InputError` naming
the absent columns); a list is a set of alternatives, which may all be absent only for
an optional column.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shoplens.errors import InputError
from shoplens.store.db import check_timezone

ColumnSpec = str | list[str] | None
UnknownStatus = Literal["refuse", "completed", "cancelled", "returned"]

# the order-level canonical fields (besides order_id): one value per order
ORDER_FIELDS = (
    "order_ts",
    "customer_id",
    "customer_name",
    "order_discount",
    "promo_code",
    "channel",
    "country",
    "currency",
)
REQUIRED = ("order_id", "order_ts", "quantity", "unit_price")

NAMED_DATE_FORMATS = ("auto", "iso", "us", "day-first", "excel")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Columns(_Frozen):
    """Source column(s) for each canonical column; None: not in the source."""

    order_id: ColumnSpec = None
    order_ts: ColumnSpec = None
    customer_id: ColumnSpec = None
    customer_name: ColumnSpec = None
    order_discount: ColumnSpec = None
    promo_code: ColumnSpec = None
    channel: ColumnSpec = None
    country: ColumnSpec = None
    currency: ColumnSpec = None
    product_id: ColumnSpec = None
    product_name: ColumnSpec = None
    category: ColumnSpec = None
    quantity: ColumnSpec = None
    unit_price: ColumnSpec = None
    line_discount: ColumnSpec = None


class StatusRules(_Frozen):
    """How cancellations and returns are marked. Values compare case-insensitively."""

    column: ColumnSpec = None
    completed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    returned: tuple[str, ...] = ()
    unknown: UnknownStatus = "refuse"
    """A status value in none of the lists: an ``unknown_status`` finding, and the
    import is refused (``refuse``) or the order counts as the status named here."""
    cancelled_if_present: ColumnSpec = None
    order_id_prefix: str | None = None
    negative_quantity: Literal["return", "bad"] = "return"


class Mapping(_Frozen):
    name: str = "custom"
    layout: Literal["order-lines"] = "order-lines"
    columns: Columns
    status: StatusRules = StatusRules()
    date_format: str = "auto"
    timezone: str | None = None
    currency: str | None = None
    decimal_separator: Literal[".", ","] = "."
    customer_id_lowercase: bool = False
    max_bad_share: float = Field(default=0.01, ge=0, le=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @field_validator("date_format")
    @classmethod
    def _fmt(cls, v: str) -> str:
        if v not in NAMED_DATE_FORMATS and "%" not in v:
            raise ValueError(
                f"date_format {v!r} is neither one of {', '.join(NAMED_DATE_FORMATS)}"
                " nor a strftime pattern such as '%d/%m/%Y %H:%M'"
            )
        return v

    def resolve(self, columns: tuple[str, ...], source: str) -> dict[str, str]:
        """Canonical field -> source column present in ``columns``; raises if absent."""
        have = {c: c for c in columns}
        folded = {c.strip().casefold(): c for c in columns}
        absent: list[str] = []
        out: dict[str, str] = {}
        specs: dict[str, ColumnSpec] = dict(self.columns.model_dump())
        specs["status"] = self.status.column
        specs["cancelled_flag"] = self.status.cancelled_if_present
        for field, spec in specs.items():
            if spec is None:
                continue
            names = [spec] if isinstance(spec, str) else list(spec)
            hits = (have.get(n) or folded.get(n.strip().casefold()) for n in names)
            found = next((c for c in hits if c), None)
            if found is not None:
                out[field] = found
            elif isinstance(spec, str) or field in REQUIRED:
                absent.append(" or ".join(repr(n) for n in names))
        if absent:
            raise InputError(
                f"the mapping {self.name!r} names columns the source lacks: {', '.join(absent)}"
                f" (source columns: {', '.join(columns)})",
                source=source,
            )
        missing = [f for f in REQUIRED if f not in out]
        if "product_id" not in out and "product_name" not in out:
            missing.append("product_id or product_name")
        if missing:
            raise InputError(
                f"the mapping {self.name!r} has no source column for {', '.join(missing)}",
                source=source,
            )
        return out


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping TOML file; errors name the file and the offending key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("mapping file not found", source=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid TOML file: {exc}", source=str(path)) from None
    data.setdefault("name", path.name)
    return mapping_from_dict(data, source=str(path))


def mapping_from_dict(data: dict[str, object], *, source: str = "mapping") -> Mapping:
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "mapping"
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"invalid mapping key {where!r}: {msg}", source=source) from None


# --- presets ---------------------------------------------------------------------------

ORDER_LINES = Mapping(
    name="order-lines",
    columns=Columns(
        order_id=["Invoice", "InvoiceNo"],
        order_ts=["InvoiceDate"],
        customer_id=["Customer ID", "CustomerID"],
        product_id=["StockCode"],
        product_name=["Description"],
        quantity=["Quantity"],
        unit_price=["Price", "UnitPrice"],
        country=["Country"],
    ),
    # UCI: an invoice "C..." is a cancellation (a credit note, its quantities are
    # negative); a negative quantity on a normal invoice is a return.
    status=StatusRules(order_id_prefix="C", negative_quantity="return"),
)

SHOPIFY = Mapping(
    name="shopify",
    columns=Columns(
        order_id=["Name"],
        order_ts=["Created at"],
        customer_id=["Email"],
        customer_name=["Billing Name"],
        product_id=["Lineitem sku"],
        product_name=["Lineitem name"],
        quantity=["Lineitem quantity"],
        unit_price=["Lineitem price"],
        line_discount=["Lineitem discount"],
        order_discount=["Discount Amount"],
        promo_code=["Discount Code"],
        channel=["Source"],
        country=["Billing Country"],
        currency=["Currency"],
    ),
    status=StatusRules(
        column=["Financial Status"],
        completed=("paid", "authorized", "pending", "partially_paid", "partially_refunded"),
        cancelled=("voided",),
        returned=("refunded",),
        cancelled_if_present=["Cancelled at"],
        negative_quantity="bad",
    ),
    customer_id_lowercase=True,
)

PRESETS: dict[str, Mapping] = {m.name: m for m in (ORDER_LINES, SHOPIFY)}
