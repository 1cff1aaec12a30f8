"""Parameters of the shop simulator, with validation and the run summary."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

import pytz

from shoplens.errors import InvalidParameterError
from shoplens.generate.calendar import HISTORY_DAYS
from shoplens.generate.catalog import CATEGORIES
from shoplens.store.db import check_timezone

# Memory grows about 1.5 GB per million customers (per-customer state is kept until
# order ids are numbered in time order), so larger shops would not fit in memory.
MAX_CUSTOMERS = 10_000_000
MAX_DAYS = 7300
MAX_STRENGTH = 10.0
MIN_PRODUCTS = len(CATEGORIES)  # at least one product per category
MAX_PRODUCTS = 1_000_000

# A realistic European mix for a shop shipping EU-wide (ISO 3166-1 alpha-2 codes).
DEFAULT_COUNTRY_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "DE": 0.22,
        "FR": 0.16,
        "GB": 0.12,
        "IT": 0.10,
        "ES": 0.09,
        "NL": 0.07,
        "PL": 0.06,
        "BE": 0.04,
        "AT": 0.03,
        "SE": 0.03,
        "CH": 0.02,
        "DK": 0.02,
        "PT": 0.02,
        "IE": 0.01,
        "CZ": 0.01,
    }
)

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
# ISO 3166-1 alpha-2 codes, from the tz database's iso3166.tab (shipped with pytz), plus
# XK (Kosovo), user-assigned but used by the EU and most shops.
COUNTRY_CODES: frozenset[str] = frozenset(pytz.country_names) | {"XK"}
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def _bad(name: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(f"invalid {name}: {why}")


def _check_number(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(name, f"expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(name, f"{value!r} is outside [{lo:g}, {hi:g}]")
    return v


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, f"expected an integer, got {value!r}")
    if not lo <= value <= hi:
        raise _bad(name, f"{value} is outside [{lo:,}, {hi:,}]")
    return value


def parse_country_weights(text: str) -> dict[str, float]:
    """'DE=0.5,FR=0.3,XK=0.2' -> {'DE': 0.5, ...} (for command-line options).

    Codes and weights are checked by :class:`SimulationParams`; this only parses.
    """
    out: dict[str, float] = {}
    for part in text.split(","):
        code, sep, weight = part.strip().partition("=")
        if not sep or not code.strip():
            raise _bad("country_weights", f"expected CODE=WEIGHT pairs like 'DE=0.5', got {part!r}")
        try:
            out[code.strip().upper()] = float(weight)
        except ValueError:
            raise _bad(
                "country_weights", f"weight {weight!r} of {code!r} is not a number"
            ) from None
    return out


@dataclass(frozen=True)
class SimulationParams:
    """Everything that shapes a simulated shop; same params + seed -> same tables.

    Strengths are multipliers of the default behaviour: 0 switches the effect off,
    1 is the default shop, up to 10 exaggerates it.
    """

    customers: int = 20_000
    """Number of customers (accounts), including some that signed up before the period."""
    days: int = 730
    """Length of the period in days, ending on ``end_date`` (inclusive)."""
    seed: int = 7
    end_date: date = date(2025, 12, 31)
    """Last day of the period, in the shop's time zone."""
    products: int = 1000
    """Number of products in the catalog."""
    country_weights: Mapping[str, float] | None = field(
        default_factory=lambda: DEFAULT_COUNTRY_WEIGHTS
    )
    """Relative weight of each customer country (ISO-2 code); normalised to sum 1.
    ``None`` means :data:`DEFAULT_COUNTRY_WEIGHTS`."""
    seasonality: float = 1.0
    """Strength of month, weekday and Black-Friday patterns (0 = flat calendar)."""
    churn: float = 1.0
    """Strength of customer dropout (0 = nobody drops out)."""
    promo_intensity: float = 1.0
    """Strength of promo usage and campaign days (0 = no promos, no campaigns)."""
    cancel_rate: float = 0.03
    """Share of orders cancelled."""
    return_rate: float = 0.05
    """Share of orders returned."""
    currency: str = "EUR"
    timezone: str = "UTC"
    """The shop's IANA time zone: hour and weekday patterns are local, timestamps UTC."""
    events: bool = True
    """Also simulate the clickstream (``events`` table) from the orders."""
    event_days: int | None = 30
    """Keep the clickstream of the last ``event_days`` days only (None: whole period).

    Sessions are many (about 30 events per order), so shops keep a limited history."""
    chunk_size: int = 200_000
    """Customers per load chunk (memory bound); results do not depend on it."""

    def __post_init__(self) -> None:
        if self.country_weights is None:
            object.__setattr__(self, "country_weights", DEFAULT_COUNTRY_WEIGHTS)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` naming the first bad parameter."""
        _check_int("customers", self.customers, 1, MAX_CUSTOMERS)
        _check_int("days", self.days, 1, MAX_DAYS)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("products", self.products, MIN_PRODUCTS, MAX_PRODUCTS)
        if not isinstance(self.events, bool):
            raise _bad("events", f"expected True or False, got {self.events!r}")
        if self.event_days is not None:
            _check_int("event_days", self.event_days, 1, MAX_DAYS)
        _check_int("chunk_size", self.chunk_size, 1, MAX_CUSTOMERS)
        # a datetime is a date too, but not a (local) day: reject it, do not truncate
        if not isinstance(self.end_date, date) or isinstance(self.end_date, datetime):
            raise _bad("end_date", f"expected a date, got {self.end_date!r}")
        # the simulated history before the period must start after the epoch
        if self.end_date - timedelta(days=self.days + HISTORY_DAYS) < date(1971, 1, 1) or (
            self.end_date > date(2200, 1, 1)
        ):
            raise _bad("end_date", f"{self.end_date} is out of the supported range")
        for name in ("seasonality", "churn", "promo_intensity"):
            _check_number(name, getattr(self, name), 0.0, MAX_STRENGTH)
        cancel = _check_number("cancel_rate", self.cancel_rate, 0.0, 1.0)
        ret = _check_number("return_rate", self.return_rate, 0.0, 1.0)
        if cancel + ret > 1.0:
            raise _bad("cancel_rate", "cancel_rate + return_rate must not exceed 1")
        if not isinstance(self.currency, str) or not _CURRENCY_RE.match(self.currency):
            raise _bad("currency", f"{self.currency!r} is not a 3-letter ISO code like 'EUR'")
        if not isinstance(self.timezone, str):
            raise _bad("timezone", f"expected a string, got {self.timezone!r}")
        check_timezone(self.timezone)
        self.normalized_country_weights()

    def normalized_country_weights(self) -> dict[str, float]:
        """Country code -> probability (positive weights only, summing to 1)."""
        weights = self.country_weights
        if not isinstance(weights, Mapping) or not weights:
            raise _bad("country_weights", "expected a non-empty mapping of country -> weight")
        out: dict[str, float] = {}
        for code, w in weights.items():
            if not isinstance(code, str) or not _COUNTRY_RE.match(code.upper()):
                raise _bad("country_weights", f"country {code!r} is not a 2-letter ISO code")
            if code.upper() not in COUNTRY_CODES:
                raise _bad(
                    "country_weights", f"{code!r} is not an ISO 3166 country code (e.g. DE, FR)"
                )
            v = _check_number(f"country_weights[{code}]", w, 0.0, math.inf)
            if v > 0:
                out[code.upper()] = out.get(code.upper(), 0.0) + v
        total = sum(out.values())
        if total <= 0:
            raise _bad("country_weights", "weights must have a positive sum")
        return {k: v / total for k, v in out.items()}

    @property
    def start_date(self) -> date:
        """First day of the period (local)."""
        return self.end_date - timedelta(days=self.days - 1)


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_into` wrote: rows per table and seconds per stage."""

    rows: Mapping[str, int]
    seconds: Mapping[str, float]

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())
