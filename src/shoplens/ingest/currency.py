"""One currency per store: what an import does with orders in several currencies.

A store reports in one currency (DESIGN.md); money of different currencies must never
be added up. An import whose orders are in more than one currency (a Shopify export
with EUR and USD orders) is refused unless the user says how to handle them:

- ``--currency X`` (:attr:`CurrencyPolicy.keep`): the import's currency is X. Orders
  without a currency are in X; orders in another currency are left out, each an
  ``other_currency`` finding (``other_currency_orders``; not in the bad share);
- ``--fx-rates FILE`` (:attr:`CurrencyPolicy.rates`, read by :func:`load_fx_rates`):
  a CSV ``currency,rate_to_reporting`` (``USD,0.92``: one USD is 0.92 of the
  reporting currency). Every order in another currency is converted: its prices and
  discounts times the rate, rounded to the cent, its currency the reporting one; each
  a ``converted_currency`` finding (``converted_orders``). The reporting currency is
  ``--currency`` if given, else the store's. A currency of the import missing from the
  file is an error naming it.

Across imports the same rule holds (:func:`check_store_currency`): an import whose
orders are in another currency than the orders already in the store is refused.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from shoplens.errors import InputError
from shoplens.store.db import existing_tables

_CODE = re.compile(r"^[A-Z]{3}$")
MAX_RATE = Decimal(1_000_000)


@dataclass(frozen=True)
class FxRates:
    """A conversion table: currency -> how much one unit is in the reporting currency."""

    source: str
    rates: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class CurrencyPolicy:
    """How one import treats currencies (see the module docstring)."""

    default: str
    """Currency of orders that name none (the mapping's, ``--currency``, the store's)."""
    keep: str | None = None
    """``--currency``: the import's (reporting) currency."""
    fx: FxRates | None = None
    """``--fx-rates``: convert other currencies to the reporting currency."""

    @property
    def reporting(self) -> str:
        return self.keep or self.default

    def rate_sql(self, cur: str) -> str:
        """SQL over the order currency column ``cur``: its rate (1 when not converted)."""
        if self.fx is None:
            return "CAST(1 AS DECIMAL(18, 8))"
        whens = " ".join(
            f"WHEN '{c}' THEN CAST('{r}' AS DECIMAL(18, 8))" for c, r in self.fx.rates.items()
        )
        return (
            f"CASE WHEN {cur} = '{self.reporting}' THEN CAST(1 AS DECIMAL(18, 8))"
            f" ELSE CASE {cur} {whens} END END"
        )

    def kept_sql(self, cur: str) -> str:
        """SQL: true when an order in currency ``cur`` is imported."""
        if self.keep is None or self.fx is not None:
            return "true"
        return f"{cur} = '{self.keep}'"


def check_code(code: str, what: str = "currency") -> str:
    """``code`` as an upper-case ISO 4217 code, else an :class:`InputError`."""
    c = code.strip().upper()
    if not _CODE.match(c):
        raise InputError(f"{what} {code!r} is not a 3-letter ISO 4217 code such as EUR or USD")
    return c


def load_fx_rates(path: str | Path) -> FxRates:
    """Read a ``currency,rate_to_reporting`` CSV (a header line, then one line per currency)."""
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("conversion table not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the conversion table: {exc}", source=source) from None
    records = [r for r in csv.reader(text.splitlines()) if any(x.strip() for x in r)]
    if not records or [x.strip().casefold() for x in records[0]] != [
        "currency",
        "rate_to_reporting",
    ]:
        raise InputError(
            "expected the header line currency,rate_to_reporting", source=source, row=1
        )
    rates: dict[str, Decimal] = {}
    for line, rec in enumerate(records[1:], start=2):
        if len(rec) != 2:
            raise InputError(
                "expected two fields: currency,rate_to_reporting", source=source, row=line
            )
        try:
            code = check_code(rec[0])
        except InputError as exc:
            raise InputError(str(exc), source=source, row=line, column="currency") from None
        try:
            rate = Decimal(rec[1].strip())
        except InvalidOperation:
            rate = Decimal("NaN")
        if not rate.is_finite() or not 0 < rate <= MAX_RATE:
            raise InputError(
                f"rate {rec[1].strip()!r} is not a number above 0 and at most {MAX_RATE:,}",
                source=source,
                row=line,
                column="rate_to_reporting",
            )
        if code in rates:
            raise InputError(f"currency {code} is listed twice", source=source, row=line)
        rates[code] = rate
    if not rates:
        raise InputError("no rates (only a header line)", source=source)
    return FxRates(source=source, rates=rates)


def check_currencies(
    con: duckdb.DuckDBPyConnection,
    orders: str,
    policy: CurrencyPolicy,
    source: str,
    column: str | None,
) -> None:
    """Refuse mixed currencies (no policy) or currencies the conversion table lacks.

    ``orders`` has one row per order with its currency ``cur`` and ``first_row``; only
    orders that have a timestamp (can be formed) count.
    """
    counts = con.execute(
        f"SELECT cur, count(*), min(first_row) FROM {orders} WHERE order_ts IS NOT NULL"
        " GROUP BY cur ORDER BY count(*) DESC, cur"
    ).fetchall()
    if policy.fx is not None:
        missing = [
            (c, r) for c, _, r in counts if c != policy.reporting and c not in policy.fx.rates
        ]
        if missing:
            cur, row = missing[0]
            raise InputError(
                f"currency {cur} has no rate in {policy.fx.source} (rates to"
                f" {policy.reporting}: {', '.join(policy.fx.rates)}); add a line {cur},RATE",
                source=source,
                row=row,
                column=column,
            )
        return
    if len(counts) <= 1 or policy.keep is not None:
        return
    listed = ", ".join(f"{c}: {n:,} orders" for c, n, _ in counts)
    first = counts[0][0]
    raise InputError(
        f"orders in {len(counts)} currencies ({listed}); a store holds one currency:"
        f" import one of them with --currency {first} (the others are left out and"
        " counted) or convert them with --fx-rates FILE (a CSV currency,rate_to_reporting)",
        source=source,
        column=column,
    )


def check_store_currency(con: duckdb.DuckDBPyConnection, staged_orders: list[str]) -> None:
    """Refuse an import whose orders are in another currency than the store's orders.

    ``staged_orders`` are the import's staged orders tables; stored orders that the
    import replaces do not count.
    """
    if not staged_orders or "orders" not in existing_tables(con):
        return
    union = " UNION ALL ".join(f"SELECT order_id, currency FROM {t}" for t in staged_orders)
    imported = sorted(
        str(c) for (c,) in con.execute(f"SELECT DISTINCT currency FROM ({union})").fetchall()
    )
    stored = sorted(
        str(c)
        for (c,) in con.execute(
            "SELECT DISTINCT currency FROM orders WHERE order_id NOT IN"
            f" (SELECT order_id FROM ({union})) AND currency IS NOT NULL LIMIT 5"
        ).fetchall()
    )
    if stored and set(stored) != set(imported):
        raise InputError(
            f"the store holds orders in {', '.join(stored)} and this import's orders are in"
            f" {', '.join(imported)}; a store holds one currency: convert them with"
            f" --fx-rates FILE --currency {stored[0]}, or import into another store (--store)"
        )
