"""Customers an import shares with the store: say what is merged, refuse other shops.

Customers are upserted by id (:mod:`shoplens.ingest.load`). Importing into a store that
already holds other data merges every customer whose id is already there: a re-import
of the same shop's data is meant to, but a file of another shop whose ids happen to be
the same (UCI's customer ``12348`` and a simulated shop's ``12348``) would silently
take over the stored customers' country and signup date.

Before writing, :func:`customer_merges` compares the import's customers with the
store's, as they were before the import:

- ``merged_customers``: customers of the import whose id is already in the store;
- ``changed_customers``: of those, the ones the import changes (country, name, email
  or city replaced by another value, signup moved earlier); each a ``changed_customer``
  finding naming what changes;
- *conflicting*: of those, the ones whose country, name or email differ from the
  stored ones (both known). When more than half of the merged customers conflict, the
  import and the store look like two different shops: the import is refused, unless
  the user asks to merge (``--merge-customers``).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from shoplens.errors import InputError
from shoplens.ingest.quality import STORED_PER_KIND

_DIFFERS = "i.{c} IS NOT NULL AND s.{c} IS NOT NULL AND i.{c} <> s.{c}"


@dataclass(frozen=True)
class CustomerMerges:
    merged: int
    changed: int
    conflicting: int
    example: str | None
    """The first conflicting customer and what differs, for the refusal."""
    findings: pa.Table
    """``changed_customer`` findings (at most :data:`STORED_PER_KIND`)."""


def customer_merges(
    con: duckdb.DuckDBPyConnection, staged_customers: str, source: str
) -> CustomerMerges:
    """Compare the staged customers with the store's ``customers`` (see the module doc)."""
    described = con.execute(f"SELECT * FROM {staged_customers} LIMIT 0").description or []
    has_city = any(d[0] == "city" for d in described)
    country = (
        "i.country <> '(unknown)' AND s.country IS NOT NULL AND s.country <> '(unknown)'"
        " AND i.country <> s.country"
    )
    conflict = f"({country}) OR ({_DIFFERS.format(c='name')}) OR ({_DIFFERS.format(c='email')})"
    city = f"({_DIFFERS.format(c='city')})" if has_city else "false"
    parts = [
        f"CASE WHEN {country} THEN 'country ' || s.country || ' -> ' || i.country END",
        f"CASE WHEN {_DIFFERS.format(c='name')} THEN 'name ' || s.name || ' -> ' || i.name END",
        f"CASE WHEN {_DIFFERS.format(c='email')} THEN 'email ' || s.email || ' -> ' || i.email END",
        f"CASE WHEN {city} THEN 'city ' || s.city || ' -> ' || i.city END" if has_city else "NULL",
        "CASE WHEN i.signup_ts < s.signup_ts THEN 'signup ' || strftime(s.signup_ts, '%Y-%m-%d')"
        " || ' -> ' || strftime(i.signup_ts, '%Y-%m-%d') END",
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __sl_merges AS SELECT customer_id,"
        f" ({conflict}) AS conflict, concat_ws(', ', {', '.join(parts)}) AS what"
        f" FROM {staged_customers} AS i JOIN customers AS s USING (customer_id)"
    )
    try:
        ((merged, changed, conflicting, example),) = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE what <> ''),"
            " count(*) FILTER (WHERE conflict),"
            " arg_min('customer ' || customer_id || ': ' || what, customer_id)"
            " FILTER (WHERE conflict) FROM __sl_merges"
        ).fetchall()
        findings = con.sql(
            "SELECT 'changed_customer' AS kind, $source AS source, NULL::BIGINT AS \"row\","
            ' \'customer_id\' AS "column", customer_id AS "value",'
            " 'customer already in the store, merged: ' || what AS message"
            f" FROM __sl_merges WHERE what <> '' ORDER BY customer_id LIMIT {STORED_PER_KIND}",
            params={"source": source},
        ).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS __sl_merges")
    return CustomerMerges(int(merged), int(changed), int(conflicting), example, findings)


def refuse_other_shop(merges: CustomerMerges, source: str) -> None:
    """Raise when most merged customers conflict (see the module docstring)."""
    if merges.merged and merges.conflicting * 2 > merges.merged:
        raise InputError(
            f"{merges.conflicting:,} of the {merges.merged:,} customers of this import that"
            " are already in the store (same id) differ in country, name or email"
            f" (e.g. {merges.example}): the import and the store look like different shops;"
            " import into another store (--store), or merge them anyway with"
            " --merge-customers",
            source=source,
        )
