"""Propose a mapping for an unknown file from its header and sample values.

:func:`infer_mapping` first tries the presets (a preset fits when every column it
names for a required field is present); otherwise each canonical field gets the
source column with the best score: name similarity to the field's usual names
(exact match of a known synonym: 1, else a string-similarity ratio) plus a bonus when
the sample values have the expected shape (whole numbers for quantities, decimals for
money, dates for the timestamp). A column feeds at most one field; fields scoring
under :data:`MIN_SCORE` stay unmapped. The proposal is a starting point, printed as
TOML by ``shoplens import --infer FILE`` for the user to check and edit.

When a column looks like a status, its observed values (the :data:`MAX_STATUS_VALUES`
most frequent) are proposed in the ``[status]`` lists by their words
(:func:`classify_status`): ``cancelled``/``canceled``/``voided``... -> cancelled,
``refunded``/``returned``... -> returned, ``paid``/``complete``/``fulfilled``/
``shipped``/``delivered``... -> completed. A value recognised by none stays out of the
lists: the import refuses it (an ``unknown_status`` finding) until the user lists it.
"""

from __future__ import annotations

import difflib
import re

import duckdb

from shoplens.errors import InputError
from shoplens.ingest.clean import DATE_FAMILIES, date_expr, date_params, run_sql
from shoplens.ingest.mapping import PRESETS, REQUIRED, Columns, Mapping, StatusRules
from shoplens.ingest.raw import RawTable
from shoplens.ingest.read_staging import ident

MIN_SCORE = 0.75
SAMPLE = 200
MAX_STATUS_VALUES = 50

# words of a status value -> what the order is; the first list that matches wins
# (partial refunds and payments leave the sale standing)
STATUS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("completed", ("partially refunded", "partially returned", "partially paid",
                   "partially fulfilled", "partially shipped")),
    ("returned", ("refunded", "refund", "returned", "return", "chargeback", "charged back",
                  "retour", "retoure", "devuelto", "rembourse", "remboursee")),
    ("cancelled", ("cancelled", "canceled", "cancel", "cancellation", "void", "voided",
                   "unavailable", "declined", "failed", "rejected", "abandoned", "expired",
                   "storniert", "annule", "annulee", "cancelado", "anulado")),
    ("completed", ("paid", "complete", "completed", "fulfilled", "shipped", "delivered",
                   "authorized", "authorised", "pending", "processing", "invoiced", "approved",
                   "created", "closed", "success", "successful", "done", "ok", "confirmed",
                   "open", "sold", "settled", "captured", "dispatched", "received")),
)  # fmt: skip

SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order id",
        "order",
        "order number",
        "invoice",
        "invoice no",
        "order no",
        "transaction id",
        "receipt",
        "name",
    ),
    "order_ts": (
        "order date",
        "date",
        "order ts",
        "created at",
        "invoice date",
        "timestamp",
        "order time",
        "purchase date",
        "datetime",
        "time",
    ),
    "customer_id": (
        "customer id",
        "customer",
        "client id",
        "user id",
        "email",
        "buyer",
        "customer email",
        "member id",
    ),
    "customer_name": ("customer name", "billing name", "client name"),
    "product_id": (
        "product id",
        "sku",
        "stock code",
        "item id",
        "article",
        "product code",
        "ean",
        "item code",
    ),
    "product_name": (
        "product name",
        "description",
        "product",
        "item",
        "item name",
        "title",
        "article name",
    ),
    "category": ("category", "product category", "department", "product type"),
    "quantity": ("quantity", "qty", "units", "amount ordered", "count", "pieces"),
    "unit_price": ("unit price", "price", "item price", "price each", "unit cost"),
    "line_discount": ("line discount", "item discount"),
    "order_discount": ("discount", "discount amount", "order discount", "coupon amount"),
    "promo_code": ("promo code", "discount code", "coupon", "voucher", "promo", "coupon code"),
    "channel": ("channel", "source", "sales channel"),
    "country": ("country", "billing country", "shipping country", "country code"),
    "currency": ("currency", "currency code"),
    "status": ("status", "order status", "financial status", "state"),
}

_SHAPES: dict[str, str] = {
    "quantity": "whole",
    "unit_price": "number",
    "line_discount": "number",
    "order_discount": "number",
    "order_ts": "date",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.casefold()).strip()


def _name_score(column: str, field: str) -> float:
    n = _norm(column)
    syn = SYNONYMS[field]
    if n in syn or n.replace(" ", "") in {s.replace(" ", "") for s in syn}:
        return 1.0
    return max(difflib.SequenceMatcher(None, n, s).ratio() for s in syn) * 0.9


def _shapes(con: duckdb.DuckDBPyConnection, raw: RawTable) -> dict[str, set[str]]:
    """Source column -> shapes every sampled non-empty value has."""
    out: dict[str, set[str]] = {}
    for c in raw.columns:
        v = ident(c)
        dates = " OR ".join(f"{date_expr('x', f)} IS NOT NULL" for f in DATE_FAMILIES[:3])
        row = run_sql(
            con,
            f"SELECT count(x), count(*) FILTER (WHERE TRY_CAST(x AS DECIMAL(18, 4)) IS NOT NULL),"
            " count(*) FILTER (WHERE regexp_matches(x, '^-?\\d+$')),"
            f" count(*) FILTER (WHERE {dates})"
            f" FROM (SELECT trim({v}) AS x FROM {ident(raw.table)}"
            f" WHERE nullif(trim({v}), '') IS NOT NULL LIMIT {SAMPLE})",
            date_params("UTC", ""),
        ).fetchone()
        assert row is not None
        n, num, whole, date = row
        shapes: set[str] = set()
        if n:
            if num == n:
                shapes.add("number")
            if whole == n:
                shapes.add("whole")
            if date == n:
                shapes.add("date")
        out[c] = shapes
    return out


def infer_mapping(con: duckdb.DuckDBPyConnection, raw: RawTable) -> Mapping:
    """A proposed mapping for ``raw`` (a preset if one fits)."""
    for preset in PRESETS.values():
        try:
            preset.resolve(raw.columns, raw.source)
        except InputError:
            continue
        return preset
    shapes = _shapes(con, raw)
    scored: list[tuple[float, str, str]] = []
    for field in SYNONYMS:
        for c in raw.columns:
            score = _name_score(c, field)
            want = _SHAPES.get(field)
            if want is not None:
                score += 0.3 if want in shapes[c] else -0.5
            elif field in ("order_id", "customer_id", "product_id") and "date" in shapes[c]:
                score -= 0.5
            scored.append((score, field, c))
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for score, field, c in sorted(scored, key=lambda t: -t[0]):
        if score >= MIN_SCORE and field not in chosen and c not in used:
            chosen[field] = c
            used.add(c)
    status = chosen.pop("status", None)
    status_rules = StatusRules(column=status)
    if status is not None:
        status_rules = StatusRules.model_validate(
            {"column": status, **_status_lists(con, raw, status)}
        )
    missing = [f for f in REQUIRED if f not in chosen]
    if missing:
        raise InputError(
            f"cannot propose a mapping: no column looks like {', '.join(missing)}"
            f" (columns: {', '.join(raw.columns)}); write a mapping file",
            source=raw.source,
        )
    return Mapping(
        name=f"inferred from {raw.source}",
        columns=Columns(**chosen),
        status=status_rules,
    )


def classify_status(value: str) -> str | None:
    """completed, cancelled or returned for a status value by its words; None: unknown."""
    text = " " + _norm(value).replace("_", " ") + " "
    for status, words in STATUS_WORDS:
        if any(f" {w} " in text for w in words):
            return status
    return None


def _status_lists(
    con: duckdb.DuckDBPyConnection, raw: RawTable, column: str
) -> dict[str, tuple[str, ...]]:
    """The observed values of the status column, by :func:`classify_status`."""
    v = ident(column)
    values = con.execute(
        f"SELECT trim({v}) AS x FROM {ident(raw.table)} WHERE nullif(trim({v}), '') IS NOT NULL"
        f" GROUP BY x ORDER BY count(*) DESC, x LIMIT {MAX_STATUS_VALUES}"
    ).fetchall()
    lists: dict[str, list[str]] = {"completed": [], "cancelled": [], "returned": []}
    for (value,) in values:
        status = classify_status(str(value))
        if status is not None and str(value).casefold() not in (
            x.casefold() for x in lists[status]
        ):
            lists[status].append(str(value))
    return {k: tuple(sorted(vs, key=str.casefold)) for k, vs in lists.items()}


def mapping_toml(mapping: Mapping) -> str:
    """The mapping as a TOML document (loadable with ``--mapping``)."""
    lines = [
        f"# shoplens mapping: {mapping.name}",
        f"layout = {_toml(mapping.layout)}",
        f"date_format = {_toml(mapping.date_format)}  # or iso, us, day-first, excel, %d/%m/%Y",
    ]
    if mapping.timezone:
        lines.append(f"timezone = {_toml(mapping.timezone)}")
    else:
        lines.append('# timezone = "Europe/Paris"  # zone of timestamps without an offset')
    if mapping.currency:
        lines.append(f"currency = {_toml(mapping.currency)}")
    lines += [
        f"decimal_separator = {_toml(mapping.decimal_separator)}",
        f"customer_id_lowercase = {str(mapping.customer_id_lowercase).lower()}",
        f"max_bad_share = {mapping.max_bad_share}",
        "",
        "[columns]",
    ]
    for field, spec in mapping.columns.model_dump().items():
        if spec is not None:
            lines.append(f"{field} = {_toml(spec)}")
        else:
            lines.append(f'# {field} = ""')
    lines += [
        "",
        "# an order's status: a value in none of these lists refuses the import",
        '# (unknown = "refuse"), or set unknown = "completed" (or cancelled, returned)',
        "[status]",
    ]
    for key, value in mapping.status.model_dump().items():
        if value is None:
            lines.append(f'# {key} = ""')
        elif isinstance(value, list | tuple) and not value:
            lines.append(f"# {key} = []")
        else:
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)
