"""What the store remembers about its shop: time zone and reporting currency.

``generate`` and ``import`` record them in ``shoplens_meta`` (one row per key) in the
same transaction (or new file) as the data they load. Every command then uses the
store's values unless told otherwise; the precedence is

    command-line option  >  the store's value  >  settings (SHOPLENS_*, shoplens.toml)  >  default

so a settings file shared by several stores (one per shop) does not silently re-cut one
shop's days in another shop's time zone. An import with an explicit ``--timezone``
records the new zone; analyses with ``--timezone`` use it for that run only (their saved
results record the zone they were computed in).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

META_TABLE = "shoplens_meta"


@dataclass(frozen=True)
class ShopMeta:
    timezone: str | None = None
    """The shop's IANA time zone, or None if the store does not record one (older stores)."""
    currency: str | None = None
    """The reporting currency (ISO code), or None."""


def read_meta(con: duckdb.DuckDBPyConnection) -> ShopMeta:
    """The shop's recorded time zone and currency (None where not recorded)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_schema = 'main' AND table_catalog = current_database() AND table_name = ?",
        [META_TABLE],
    ).fetchall()
    if not found[0][0]:
        return ShopMeta()
    values = dict(con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
    return ShopMeta(timezone=values.get("timezone"), currency=values.get("currency"))


def write_meta(
    con: duckdb.DuckDBPyConnection, *, timezone: str | None = None, currency: str | None = None
) -> None:
    """Record the shop's time zone and/or currency (within the caller's transaction)."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"
    )
    for key, value in (("timezone", timezone), ("currency", currency)):
        if value is not None:
            con.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", [key, value])


def session_timezone(con: duckdb.DuckDBPyConnection) -> str:
    """The time zone the connection's analyses run in (DuckDB's ``TimeZone``)."""
    rows = con.execute("SELECT current_setting('TimeZone')").fetchall()
    return str(rows[0][0]) if rows else "UTC"
