"""The canonical tables: names, columns, types, keys and the shared dimension rules.

Every source (simulator, importers, MongoDB, Kafka) lands in these tables and nothing
downstream knows where the data came from. Conventions:

- ids are VARCHAR (shops use their own codes); loaders may insert integers, DuckDB
  casts them on insert.
- timestamps are TIMESTAMPTZ, stored in UTC; a store connection sets DuckDB's
  ``TimeZone`` to the shop's time zone, so ``hour()``, ``date_trunc()`` and
  ``strftime()`` work in shop-local time.
- money is DECIMAL(18, 2), one reporting currency per store.
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "DECIMAL(18,2)"

ORDER_STATUSES = ("completed", "cancelled", "returned")
EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = False
    check: str | None = None

    def ddl(self) -> str:
        parts = [f'"{self.name}"', self.type]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.check:
            parts.append(f"CHECK ({self.check})")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    # Primary keys are enforced with a DuckDB index. On the very large tables
    # (order_items, events) building that index costs more than the whole load
    # (3 s for 10M lines), so there the key is checked with a GROUP BY after
    # loading instead (see store.finalize_keys).
    enforce_key: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def ddl(self) -> str:
        cols = ",\n  ".join(c.ddl() for c in self.columns)
        return f'CREATE TABLE "{self.name}" (\n  {cols}\n)'


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


CUSTOMERS = Table(
    "customers",
    (
        Column("customer_id", "VARCHAR"),
        Column("signup_ts", "TIMESTAMPTZ"),
        Column("country", "VARCHAR"),
        Column("city", "VARCHAR", nullable=True),
        Column("age", "SMALLINT", nullable=True, check="age IS NULL OR age BETWEEN 0 AND 130"),
        Column("gender", "VARCHAR", nullable=True),
        Column("acquisition_channel", "VARCHAR", nullable=True),
        Column("name", "VARCHAR", nullable=True),
        Column("email", "VARCHAR", nullable=True),
    ),
    key=("customer_id",),
)

PRODUCTS = Table(
    "products",
    (
        Column("product_id", "VARCHAR"),
        Column("name", "VARCHAR"),
        Column("category", "VARCHAR", nullable=True),
        Column("unit_price", MONEY, check="unit_price >= 0"),
    ),
    key=("product_id",),
)

ORDERS = Table(
    "orders",
    (
        Column("order_id", "VARCHAR"),
        # Nullable: guest orders (no customer account) are kept, and left out of
        # customer-level analyses.
        Column("customer_id", "VARCHAR", nullable=True),
        Column("order_ts", "TIMESTAMPTZ"),
        Column("status", "VARCHAR", check=_in("status", ORDER_STATUSES)),
        Column("channel", "VARCHAR", nullable=True),
        Column("promo_code", "VARCHAR", nullable=True),
        # Order-level discount, on top of the line discounts.
        Column("discount", MONEY, check="discount >= 0"),
        Column("currency", "VARCHAR"),
    ),
    key=("order_id",),
    required=True,
)

ORDER_ITEMS = Table(
    "order_items",
    (
        Column("order_id", "VARCHAR"),
        Column("line_no", "INTEGER"),
        Column("product_id", "VARCHAR"),
        Column("quantity", "INTEGER", check="quantity > 0"),
        Column("unit_price", MONEY, check="unit_price >= 0"),
        # Line discount in money for the whole line (not per unit).
        Column("discount", MONEY, check="discount >= 0"),
    ),
    key=("order_id", "line_no"),
    required=True,
    enforce_key=False,
)

EVENTS = Table(
    "events",
    (
        Column("event_id", "VARCHAR"),
        Column("session_id", "VARCHAR"),
        Column("customer_id", "VARCHAR", nullable=True),
        Column("event_ts", "TIMESTAMPTZ"),
        Column("event_type", "VARCHAR", check=_in("event_type", EVENT_TYPES)),
        Column("product_id", "VARCHAR", nullable=True),
        Column("order_id", "VARCHAR", nullable=True),
    ),
    key=("event_id",),
    enforce_key=False,
)

CANONICAL: dict[str, Table] = {
    t.name: t for t in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS, EVENTS)
}

# Ground truth written by the simulator only: what really happened, so models and
# analyses can be checked against it.
TRUTH_CUSTOMERS = Table(
    "truth_customers",
    (
        Column("customer_id", "VARCHAR"),
        Column("purchase_rate", "DOUBLE"),  # expected orders per year while alive
        Column("dropout_ts", "TIMESTAMPTZ", nullable=True),  # NULL: never drops out
        Column("alive_at_end", "BOOLEAN"),
        Column("spend_level", "DOUBLE"),  # multiplier on basket value
        Column("promo_sensitivity", "DOUBLE"),  # probability an order uses a promo
        Column("favourite_category", "VARCHAR"),
        Column("preferred_hour", "SMALLINT"),
    ),
    key=("customer_id",),
)

TRUTH: dict[str, Table] = {TRUTH_CUSTOMERS.name: TRUTH_CUSTOMERS}

# --- shared dimension rules -------------------------------------------------------

# Age groups used by the simulator (the 25-40 group is the largest) and by KPIs;
# ages outside every group (unknown, under 18) have no group (NULL).
AGE_GROUPS: tuple[tuple[int, int, str], ...] = (
    (18, 24, "18-24"),
    (25, 40, "25-40"),
    (41, 55, "41-55"),
    (56, 200, "56+"),
)


def age_group_sql(col: str = "age") -> str:
    """A SQL CASE expression mapping an age column to its age group label."""
    whens = " ".join(
        f"WHEN {col} BETWEEN {lo} AND {hi} THEN '{label}'" for lo, hi, label in AGE_GROUPS
    )
    return f"CASE {whens} ELSE NULL END"
