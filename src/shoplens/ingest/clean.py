"""Cleaning: a staged source (:class:`RawTable`) + a :class:`Mapping` -> canonical tables.

Everything runs as DuckDB SQL over TEMP tables on the import's connection; the result
is four TEMP tables shaped like ``customers``, ``products``, ``orders`` and
``order_items`` plus a :class:`QualityReport`. Nothing touches the store's tables.

Steps, in order (each counted in the report):

1. *Empty rows* (every source cell empty or blank) are dropped.
2. *Exact duplicates* (every source cell equal to an earlier row's) are dropped; the
   first occurrence is kept. A line that an earlier source of the same import (another
   sheet of the workbook) has is a duplicate too (``overlap_rows``, see
   :mod:`shoplens.ingest.overlap`).
3. Values are parsed. Numbers: optional currency sign, ``.`` or ``,`` decimals as the
   mapping says, quantities must be whole. Dates: see :func:`choose_date_format`;
   timestamps without an offset are in the mapping's time zone, stored in UTC.
   Customer ids like ``13085.0`` (a float-formatted integer) become ``13085``.
   A value too large for the store (a quantity above :data:`QUANTITY_MAX`, a price,
   discount or line value ``quantity x unit_price`` of 10^16 or more: the store's money
   is DECIMAL(18, 2)) is ``out_of_range``; ``1e20`` is out of range, not "not a number".
   A row with a missing required value, an unparseable value or an invalid one
   (quantity 0; negative discount; negative quantity when the mapping says ``bad``)
   is dropped and counted (``bad_rows``); a negative unit price too
   (``negative_price_rows``), but it does not count towards ``max_bad_share``.
4. Lines are grouped into orders by order id. Order-level fields take the first
   non-empty value in source order (Shopify writes them on the first line only);
   different non-empty values within an order are a ``conflicting_order`` finding.
   An order without a timestamp on any line cannot be formed: its lines are orphans,
   dropped. Lines are numbered 1.. per order in source order, after dropping.
5. Status: an order id with the mapping's prefix (UCI ``C``) or a non-empty
   ``cancelled_if_present`` cell -> cancelled; else the status column's value lists;
   a value in none of them is an ``unknown_status`` finding and refuses the import
   unless the mapping's ``unknown`` (or ``--unknown-status``) names a status for it;
   else an order whose lines all have negative quantities -> returned; else completed.
   Quantities are stored as absolute values. A negative line in an order that also
   has positive lines (and is not cancelled) is dropped (``mixed_sign_line``).
6. Guests (no customer id) are kept with ``customer_id`` NULL. Customers are derived
   from the orders: signup = first order, country = country of the first order with
   one (``(unknown)`` if none). Products: the name, category and price of the latest
   line (price of the latest line with a positive price; 0 if all are free).
7. Flags that keep the rows: zero prices, outliers, future dates, unknown statuses.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.errors import InputError
from shoplens.ingest.currency import CurrencyPolicy, FxRates, check_code, check_currencies
from shoplens.ingest.mapping import ORDER_FIELDS, Mapping, UnknownStatus
from shoplens.ingest.overlap import KEY_COLUMN, SeenLines, line_key_sql
from shoplens.ingest.quality import (
    EXAMPLES_PER_KIND,
    STORED_PER_KIND,
    Finding,
    QualityReport,
)
from shoplens.ingest.raw import ROW_COLUMN, RawTable
from shoplens.ingest.read_staging import ident

US_FORMATS = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"]
DAY_FIRST_FORMATS = [f"%d{sep}%m{sep}%Y{t}" for sep in "/.-" for t in (" %H:%M:%S", " %H:%M", "")]
DATE_FAMILIES = ("iso", "us", "day-first", "excel")
OUTLIER_MADS = 10

_counter = itertools.count(1)
CLEAN_STEPS = 6
"""How many times :func:`clean_raw` calls ``on_step``."""


@dataclass(frozen=True)
class Staged:
    """The canonical tables of one source, as TEMP tables, and its quality report."""

    customers: str
    products: str
    orders: str
    order_items: str
    report: QualityReport
    findings: pa.Table
    """Findings to store (``import_findings`` columns without run_id)."""

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for t in (self.customers, self.products, self.orders, self.order_items):
            con.execute(f"DROP TABLE IF EXISTS {t}")


class TempTables:
    """The intermediate TEMP tables of one cleaning, named ``<tag>_<what>``.

    Every name handed out by :meth:`new` is dropped by :meth:`drop` (also when the
    table was never created): call it in a ``finally`` so that no error leaves a
    TEMP table behind on the import's connection.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, tag: str) -> None:
        self.con, self.tag = con, tag
        self.names: list[str] = []

    def new(self, what: str) -> str:
        name = f"{self.tag}_{what}"
        self.names.append(name)
        return name

    def drop(self) -> None:
        for t in reversed(self.names):
            self.con.execute(f"DROP TABLE IF EXISTS {t}")
        self.names.clear()


# --- value parsing (SQL expressions over a text value) ---------------------------------


# The store's limits: quantities are INTEGER, money DECIMAL(18, 2) (below 10^16 once
# rounded to cents); a line's value (quantity x unit price) must fit the money type too.
QUANTITY_MAX = 2_147_483_647
MONEY_LIMIT = "1e16"


def _number_text(v: str, decimal_separator: str) -> str:
    s = f"regexp_replace(trim({v}), '^[€$£¥]\\s*|\\s*[€$£¥]$', '')"
    if decimal_separator == ",":
        s = f"replace(replace({s}, '.', ''), ',', '.')"
    return s


def number_expr(v: str, decimal_separator: str) -> str:
    """SQL: the number in text ``v`` as DECIMAL(38, 4); NULL when not a number or too
    large even for that (see :func:`number_overflow_expr`)."""
    return f"TRY_CAST({_number_text(v, decimal_separator)} AS DECIMAL(38, 4))"


def number_overflow_expr(v: str, decimal_separator: str) -> str:
    """SQL: true when text ``v`` is a finite number too large for :func:`number_expr`
    (``1e40``): out of range, not "not a number"."""
    s = _number_text(v, decimal_separator)
    return (
        f"(TRY_CAST({s} AS DECIMAL(38, 4)) IS NULL"
        f" AND coalesce(isfinite(TRY_CAST({s} AS DOUBLE)), false))"
    )


def money_out_of_range(x: str) -> str:
    """SQL: true when DECIMAL ``x`` does not fit the store's money type once rounded."""
    return f"abs(round({x}, 2)) >= {MONEY_LIMIT}"


def date_expr(v: str, family: str) -> str:
    """SQL for a TIMESTAMPTZ parsed from text ``v`` (params ``$tz``, ``$fmt``)."""
    if family == "iso":
        return (
            f"CASE WHEN NOT regexp_matches({v}, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}') THEN NULL"
            f" WHEN regexp_matches({v}, '(Z|[+-]\\d{{2}}:?\\d{{2}})$') THEN TRY_CAST("
            f"regexp_replace({v}, '\\s*([+-]\\d{{2}}):?(\\d{{2}})$', '\\1:\\2') AS TIMESTAMPTZ)"
            f" ELSE timezone($tz, TRY_CAST({v} AS TIMESTAMP)) END"
        )
    if family == "us":
        return f"timezone($tz, try_strptime({v}, $us))"
    if family == "day-first":
        return f"timezone($tz, try_strptime({v}, $dayfirst))"
    if family == "excel":
        return (
            f"CASE WHEN regexp_matches({v}, '^\\d{{1,7}}(\\.\\d+)?$')"
            f" AND TRY_CAST({v} AS DOUBLE) BETWEEN 1 AND 2958465 THEN timezone($tz,"
            f" make_timestamp(CAST(round((CAST({v} AS DOUBLE) - 25569) * 86400000000)"
            " AS BIGINT))) END"
        )
    # an explicit strftime pattern
    if "%z" in family or "%Z" in family:
        return f"try_strptime({v}, $fmt)"
    return f"timezone($tz, try_strptime({v}, $fmt))"


def date_params(tz: str, fmt: str) -> dict[str, Any]:
    return {"tz": tz, "us": US_FORMATS, "dayfirst": DAY_FIRST_FORMATS, "fmt": fmt}


def choose_date_format(
    con: duckdb.DuckDBPyConnection, table: str, column: str, tz: str, source: str, label: str
) -> str:
    """The date family ("iso", "us", "day-first", "excel") parsing the values of ``column``.

    The family that parses every non-empty value wins; if none does, the one parsing
    most (its failures become unparseable values). Month-first and day-first both
    parsing the same, largest number of values is ambiguous: an :class:`InputError`.
    """
    v = ident(column)
    counts = ", ".join(
        f"count(*) FILTER (WHERE {date_expr(v, f)} IS NOT NULL)" for f in DATE_FAMILIES
    )
    # over the distinct values: far fewer than rows (lines of an order share a date)
    row = run_sql(
        con,
        f"SELECT count({v}), {counts} FROM (SELECT DISTINCT {v} FROM {table})",
        date_params(tz, ""),
    ).fetchone()
    assert row is not None
    total, *parsed = (int(x) for x in row)
    by_family = dict(zip(DATE_FAMILIES, parsed, strict=True))
    best = max(parsed)
    if total == 0 or best == 0:
        return "iso"  # nothing parses: every value is reported as unparseable
    if by_family["us"] == best and by_family["day-first"] == best:
        sample = con.execute(f"SELECT {v} FROM {table} WHERE {v} IS NOT NULL LIMIT 1").fetchone()
        example = sample[0] if sample else ""
        raise InputError(
            f"ambiguous dates: the values (e.g. {example!r}) read both as month/day and as"
            ' day/month; state the format in a mapping file, e.g. date_format = "%d/%m/%Y %H:%M"'
            ' (day first) or date_format = "us" (month first)',
            source=source,
            column=label,
        )
    return next(f for f in DATE_FAMILIES if by_family[f] == best)


# --- the pipeline ----------------------------------------------------------------------


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    cols: dict[str, str],
    table: str,
    seen: SeenLines | None = None,
) -> tuple[int, int, int]:
    """Steps 1-2: stage ``raw`` without empty rows and exact duplicates as TEMP ``table``.

    ``table`` has ``__row`` (the first occurrence's), ``__sl_n`` (how many equal rows the
    source has) and, for each ``field: column`` of ``cols``, ``v_<field>``: the column's
    trimmed text, NULL when empty. With ``seen`` (the lines of the import's earlier
    sources), lines an earlier source has are dropped too, and this source's lines are
    added to ``seen``. Returns (empty rows, duplicate rows, of which in an earlier source).
    """
    src = [ident(c) for c in raw.columns]
    all_empty = " AND ".join(f"coalesce(trim({c}), '') = ''" for c in src) or "true"
    row_col = ident(ROW_COLUMN)
    fields_sql = ", ".join(
        f"NULLIF(trim({ident(c)}), '') AS {ident('v_' + f)}" for f, c in cols.items()
    )
    key = f", {line_key_sql(raw, cols)} AS {ident(KEY_COLUMN)}" if seen is not None else ""
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT __row, __sl_n, {fields_sql}{key} FROM ("
        f" SELECT min({row_col}) AS __row, count(*) AS __sl_n, {', '.join(src)}"
        f" FROM {ident(raw.table)} WHERE NOT ({all_empty}) GROUP BY ALL)"
    )
    ((non_empty,),) = con.execute(f"SELECT coalesce(sum(__sl_n), 0) FROM {table}").fetchall()
    overlap = 0
    if seen is not None:
        overlap = seen.remove_seen(table)
        seen.add(table)
    kept = scalar_int(con, f"SELECT count(*) FROM {table}")
    return raw.rows - int(non_empty), int(non_empty) - kept, overlap


def clean_raw(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    mapping: Mapping,
    *,
    timezone: str = "UTC",
    currency: str = "EUR",
    max_bad_share: float | None = None,
    now: datetime | None = None,
    seen: SeenLines | None = None,
    keep_currency: str | None = None,
    fx: FxRates | None = None,
    unknown_status: UnknownStatus | None = None,
    on_step: Callable[[], None] | None = None,
) -> Staged:
    """Clean ``raw`` with ``mapping`` into staged canonical TEMP tables.

    ``timezone`` is the zone of timestamps without an offset (the mapping's own, if set,
    wins); ``currency`` is used when the mapping has neither a currency column nor a
    currency; ``keep_currency`` and ``fx`` say what to do with orders in several
    currencies (:mod:`shoplens.ingest.currency`; without them, several currencies are an
    error). ``unknown_status`` overrides the mapping's ``[status] unknown``.
    ``on_step`` is called after each of the :data:`CLEAN_STEPS` steps (progress).
    Raises :class:`InputError` when the mapping does not fit the source,
    dates are ambiguous, or more than ``max_bad_share`` (default: the mapping's) of
    the rows are unusable. ``seen``: the lines of the import's earlier sources (a line
    one of them has is a duplicate, see :mod:`shoplens.ingest.overlap`).
    """
    cols = mapping.resolve(raw.columns, raw.source)
    refuse_unsaved_formulas(raw, cols)
    if unknown_status is not None:
        status = mapping.status.model_copy(update={"unknown": unknown_status})
        mapping = mapping.model_copy(update={"status": status})
    tz = mapping.timezone or timezone
    policy = CurrencyPolicy(
        default=check_code(mapping.currency or keep_currency or currency),
        keep=None if keep_currency is None else check_code(keep_currency),
        fx=fx,
    )
    share_limit = mapping.max_bad_share if max_bad_share is None else max_bad_share
    tag = f"__sl_{next(_counter)}"
    staged = Staged(
        customers=f"{tag}_customers",
        products=f"{tag}_products",
        orders=f"{tag}_order_facts",
        order_items=f"{tag}_order_items",
        report=QualityReport(source=raw.source, mapping=mapping.name, rows_read=raw.rows),
        findings=pa.table({}),
    )
    if raw.rows == 0:
        raise InputError("no data rows (empty file or header only)", source=raw.source)
    temps = TempTables(con, tag)
    try:
        return _clean(
            con, raw, mapping, cols, tz, policy, share_limit, now, staged, temps, seen,
            on_step or (lambda: None),
        )  # fmt: skip
    except BaseException:
        staged.drop(con)
        raise
    finally:
        temps.drop()


def refuse_unsaved_formulas(raw: RawTable, cols: dict[str, str]) -> None:
    """Excel cells of a mapped column holding a formula without a saved value: an error
    (their value is unknown, not missing)."""
    hit = [(raw.unsaved_formulas[c], c) for c in cols.values() if c in raw.unsaved_formulas]
    if hit:
        (n, row), column = min(hit, key=lambda h: h[0][1])
        raise InputError(
            f"formula without a saved value: open and save the file in Excel ({n:,} such"
            " cells in this column)",
            source=raw.source,
            row=row,
            column=column,
        )


def _clean(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    mapping: Mapping,
    cols: dict[str, str],
    tz: str,
    policy: CurrencyPolicy,
    share_limit: float,
    now: datetime | None,
    staged: Staged,
    temps: TempTables,
    seen: SeenLines | None,
    step: Callable[[], None],
) -> Staged:
    """The body of :func:`clean_raw`: TEMP tables from ``temps``, dropped by the caller."""
    rep = staged.report
    t_rows, t_parsed = temps.new("rows"), temps.new("parsed")
    t_lines, t_orders = temps.new("lines"), temps.new("orders")

    # 1-2: empty rows and exact duplicates out; mapped fields as trimmed text (NULL: empty)
    rep.empty_rows, rep.duplicate_rows, rep.overlap_rows = stage_rows(con, raw, cols, t_rows, seen)

    step()
    # 3: dates and numbers
    fmt = mapping.date_format
    family = (
        choose_date_format(con, t_rows, "v_order_ts", tz, raw.source, cols["order_ts"])
        if fmt == "auto"
        else fmt
    )
    rep.date_format = family if fmt != "auto" else f"{family} (detected)"
    params = date_params(tz, family)
    has = cols.__contains__
    dec = mapping.decimal_separator

    def v(f: str) -> str:
        return ident("v_" + f) if has(f) else "NULL::VARCHAR"

    def num(f: str) -> str:
        return number_expr(v(f), dec) if has(f) else "NULL::DECIMAL(38, 4)"

    cust = v("customer_id")
    cust = f"regexp_replace({cust}, '^(\\d+)\\.0+$', '\\1')"
    if mapping.customer_id_lowercase:
        cust = f"lower({cust})"
    problems = _problems(mapping, has, dec)
    kind_sql = " ".join(f"WHEN {cond} THEN '{kind}:{field}'" for cond, kind, field in problems)
    run_sql(
        con,
        f"CREATE TEMP TABLE {t_parsed} AS SELECT *, CASE {kind_sql} END AS problem FROM ("
        f" SELECT *, {date_expr(v('order_ts'), family)} AS order_ts,"
        f" {num('quantity')} AS qd, {num('unit_price')} AS unit_price,"
        f" {num('line_discount')} AS line_discount, {num('order_discount')} AS order_discount,"
        f" {cust} AS customer_id, coalesce({v('product_id')}, {v('product_name')}) AS product_id"
        f" FROM {t_rows})",
        params,
    )
    con.execute(f"DROP TABLE {t_rows}")  # t_parsed has all of it
    rep.dates_parsed = scalar_int(con, f"SELECT count(order_ts) FROM {t_parsed}")

    step()
    # 4-5: orders
    prefix = mapping.status.order_id_prefix
    status_rules = mapping.status
    neg_return = status_rules.negative_quantity == "return"
    status_case = (
        "CASE WHEN $prefix IS NOT NULL AND starts_with(order_id, $prefix) THEN 'cancelled'"
        " WHEN cancelled_flag IS NOT NULL THEN 'cancelled'"
        " WHEN lower(status_raw) IN (SELECT unnest($cancelled)) THEN 'cancelled'"
        " WHEN lower(status_raw) IN (SELECT unnest($returned)) THEN 'returned'"
        " WHEN lower(status_raw) NOT IN (SELECT unnest($known)) THEN $unknown_as"
        f" WHEN all_neg AND {str(neg_return).lower()} THEN 'returned'"
        " ELSE 'completed' END"
    )
    run_sql(
        con,
        f"CREATE TEMP TABLE {t_orders} AS SELECT *, {status_case} AS status,"
        " upper(trim(coalesce(currency, $cur_default))) AS cur FROM ("
        " SELECT v_order_id AS order_id, min(__row) AS first_row,"
        + "".join(
            f" arg_min({e}, __row) FILTER (WHERE {e} IS NOT NULL) AS {f},"
            f" CAST(min({e}) IS DISTINCT FROM max({e}) AS INTEGER) + 1 AS n_{f},"
            for f, e in _order_exprs(v).items()
        )
        + " bool_and(qd < 0) AS all_neg, bool_or(qd < 0) AS any_neg"
        f" FROM {t_parsed} WHERE problem IS NULL GROUP BY v_order_id)",
        {
            "prefix": prefix,
            "cancelled": _folded(status_rules.cancelled),
            "returned": _folded(status_rules.returned),
            "known": _known_statuses(mapping),
            "unknown_as": _unknown_as(mapping),
            "cur_default": policy.default,
        },
    )
    check_currencies(con, t_orders, policy, raw.source, cols.get("currency"))
    step()
    # lines: drop orphans and mixed-sign negatives, number per order
    con.execute(
        f"CREATE TEMP TABLE {t_lines} AS SELECT p.*, o.status, o.order_ts AS o_ts,"
        f" {policy.rate_sql('o.cur')} AS rate,"
        " CASE WHEN o.order_ts IS NULL THEN 'orphan_line:order_ts'"
        f"      WHEN NOT ({policy.kept_sql('o.cur')}) THEN 'other_currency:currency'"
        "      WHEN p.qd < 0 AND o.status <> 'cancelled' AND NOT o.all_neg"
        "      THEN 'mixed_sign_line:quantity' END AS drop_reason"
        f" FROM {t_parsed} AS p JOIN {t_orders} AS o ON o.order_id = p.v_order_id"
        " WHERE p.problem IS NULL"
    )
    step()
    if policy.fx is not None:
        _check_converted(con, t_lines, raw.source, cols["unit_price"])
    con.execute(
        f"CREATE TEMP TABLE {staged.order_items} AS SELECT v_order_id AS order_id,"
        " CAST(row_number() OVER (PARTITION BY v_order_id ORDER BY __row) AS INTEGER) AS line_no,"
        " product_id, CAST(abs(qd) AS INTEGER) AS quantity,"
        " CAST(round(unit_price * rate, 2) AS DECIMAL(18, 2)) AS unit_price,"
        " CAST(round(coalesce(line_discount, 0) * rate, 2) AS DECIMAL(18, 2)) AS discount,"
        f" __row, o_ts AS order_ts, {v('product_name')} AS v_product_name,"
        f" {v('category')} AS v_category FROM {t_lines} WHERE drop_reason IS NULL"
    )
    step()
    stored_currency = "o.cur" if policy.fx is None else sql_string(policy.reporting)
    order_discount = f"round(coalesce(o.order_discount, 0) * {policy.rate_sql('o.cur')}, 2)"
    con.execute(
        f"CREATE TEMP TABLE {staged.orders} AS SELECT o.order_id, o.customer_id, o.order_ts,"
        " o.status, o.channel, o.promo_code,"
        f" CAST({order_discount} AS DECIMAL(18, 2)) AS discount,"
        f" {stored_currency} AS currency, o.first_row, o.country, o.customer_name,"
        " o.status_raw, o.cur AS source_currency"
        f" FROM {t_orders} AS o WHERE o.order_id IN (SELECT order_id FROM {staged.order_items})"
    )
    con.execute(
        f"CREATE TEMP TABLE {staged.customers} AS SELECT customer_id,"
        " min(order_ts) AS signup_ts,"
        " coalesce(arg_min(country, (order_ts, first_row)) FILTER (WHERE country IS NOT NULL),"
        " '(unknown)') AS country,"
        " arg_min(customer_name, (order_ts, first_row)) FILTER (WHERE customer_name IS NOT NULL)"
        " AS name,"
        " CASE WHEN contains(customer_id, '@') THEN customer_id END AS email"
        f" FROM {staged.orders} WHERE customer_id IS NOT NULL GROUP BY customer_id"
    )
    con.execute(
        f"CREATE TEMP TABLE {staged.products} AS SELECT product_id,"
        " arg_max(coalesce(v_product_name, product_id), (order_ts, __row)) AS name,"
        " arg_max(v_category, (order_ts, __row)) FILTER (WHERE v_category IS NOT NULL)"
        " AS category,"
        " CAST(coalesce(arg_max(unit_price, (order_ts, __row)) FILTER (WHERE unit_price > 0), 0)"
        " AS DECIMAL(18, 2)) AS unit_price"
        f" FROM {staged.order_items} GROUP BY product_id"
    )

    step()
    sql, params = _findings(cols, t_parsed, t_lines, t_orders, staged, mapping, now, policy)
    # the bad-value kinds in the order of the sorted findings: the first such finding
    return finish_staged(
        con,
        staged,
        sql,
        params,
        temps,
        max_bad_share=share_limit,
        prefer=("invalid_value", "missing_value", "orphan_line", "out_of_range", "unparseable"),
        refuse_unknown_status=mapping.status.unknown == "refuse",
    )


def run_sql(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute with only the named parameters ``sql`` uses (DuckDB rejects extra ones)."""
    if not params:
        return con.execute(sql)
    used = set(re.findall(r"\$([a-z_]+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


def scalar_int(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> int:
    row = run_sql(con, sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _folded(values: tuple[str, ...]) -> list[str]:
    return [x.casefold() for x in values] or [""]


def _known_statuses(mapping: Mapping) -> list[str]:
    s = mapping.status
    return _folded((*s.completed, *s.cancelled, *s.returned))


def _unknown_as(mapping: Mapping) -> str:
    """The status of an order whose status value is in no list (if not refused)."""
    u = mapping.status.unknown
    return "completed" if u == "refuse" else u


def _order_exprs(v: Any) -> dict[str, str]:
    """Order-level field -> SQL over the parsed lines (NULL when not mapped)."""
    exprs = {
        "order_ts": "order_ts",
        "customer_id": "customer_id",
        "customer_name": v("customer_name"),
        "status_raw": v("status"),
        "cancelled_flag": v("cancelled_flag"),
        "order_discount": "order_discount",
        "promo_code": v("promo_code"),
        "channel": v("channel"),
        "country": v("country"),
        "currency": v("currency"),
    }
    assert set(ORDER_FIELDS) <= set(exprs)
    return exprs


# fields whose differences between the lines of an order are a conflicting_order finding
CONFLICT_FIELDS = ("customer_id", "order_ts", "status_raw", "promo_code", "order_discount")


def _problems(mapping: Mapping, has: Any, dec: str) -> list[tuple[str, str, str]]:
    """(condition, kind, field) of a bad row, first match wins.

    Range checks come before the arithmetic that needs them (DuckDB evaluates a CASE
    lazily): a line's value is only computed for a quantity and a price in range.
    """
    out: list[tuple[str, str, str]] = [
        ("v_order_id IS NULL", "missing_value", "order_id"),
        ("product_id IS NULL", "missing_value", "product_id"),
        ("v_quantity IS NULL", "missing_value", "quantity"),
        ("v_unit_price IS NULL", "missing_value", "unit_price"),
        ("v_order_ts IS NOT NULL AND order_ts IS NULL", "unparseable", "order_ts"),
        (
            f"{number_overflow_expr('v_quantity', dec)} OR abs(qd) > {QUANTITY_MAX}",
            "out_of_range",
            "quantity",
        ),
        ("qd IS NULL OR qd <> trunc(qd)", "unparseable", "quantity"),
        (
            f"{number_overflow_expr('v_unit_price', dec)} OR {money_out_of_range('unit_price')}",
            "out_of_range",
            "unit_price",
        ),
        ("unit_price IS NULL", "unparseable", "unit_price"),
        (money_out_of_range("qd * round(unit_price, 2)"), "out_of_range", "line_value"),
        ("qd = 0", "invalid_value", "quantity"),
    ]
    if mapping.status.negative_quantity == "bad":
        out.append(("qd < 0", "invalid_value", "quantity"))
    out.append(("unit_price < 0", "negative_price", "unit_price"))
    for f in ("line_discount", "order_discount"):
        if has(f):
            big = f"{number_overflow_expr('v_' + f, dec)} OR {money_out_of_range(f)}"
            out.append((big, "out_of_range", f))
            out.append((f"v_{f} IS NOT NULL AND {f} IS NULL", "unparseable", f))
            out.append((f"{f} < 0", "invalid_value", f))
    return out


_MESSAGES = {
    ("missing_value", "order_id"): "no order id",
    ("missing_value", "product_id"): "no product id or name",
    ("missing_value", "quantity"): "no quantity",
    ("missing_value", "unit_price"): "no unit price",
    ("unparseable", "order_ts"): "not a date in the format {fmt}",
    ("unparseable", "quantity"): "quantity is not a whole number",
    ("unparseable", "unit_price"): "unit price is not a number",
    ("unparseable", "line_discount"): "line discount is not a number",
    ("unparseable", "order_discount"): "order discount is not a number",
    ("out_of_range", "quantity"): f"quantity out of range (above {QUANTITY_MAX:,})",
    ("out_of_range", "unit_price"): "unit price out of range (the store holds money below 10^16)",
    ("out_of_range", "line_value"): (
        "quantity x unit price out of range (the store holds money below 10^16)"
    ),
    ("out_of_range", "line_discount"): "line discount out of range (money below 10^16)",
    ("out_of_range", "order_discount"): "order discount out of range (money below 10^16)",
    ("invalid_value", "quantity"): "quantity must not be 0 (or negative, for this mapping)",
    ("invalid_value", "line_discount"): "negative line discount",
    ("invalid_value", "order_discount"): "negative order discount",
    ("negative_price", "unit_price"): "negative unit price: dropped (not a sale)",
    ("orphan_line", "order_ts"): "no line of the order has a timestamp: order cannot be formed",
    ("mixed_sign_line", "quantity"): "negative quantity in an order with positive lines: dropped",
}


def _findings(
    cols: dict[str, str],
    t_parsed: str,
    t_lines: str,
    t_orders: str,
    staged: Staged,
    mapping: Mapping,
    now: datetime | None,
    policy: CurrencyPolicy,
) -> tuple[str, dict[str, Any]]:
    """Every finding of the source: a query (kind, source, row, column, ...) and its params."""
    fmt = staged.report.date_format.removesuffix(" (detected)")
    msg_cases = " ".join(
        f"WHEN '{k}:{f}' THEN '{m.format(fmt=fmt).replace(chr(39), chr(39) * 2)}'"
        for (k, f), m in _MESSAGES.items()
    )
    product_col = cols.get("product_id", cols.get("product_name", ""))
    col_cases = (
        " ".join(f"WHEN {sql_string(f)} THEN {sql_string(c)}" for f, c in cols.items())
        + f" WHEN 'product_id' THEN {sql_string(product_col)}"
        + f" WHEN 'line_value' THEN {sql_string(cols['unit_price'])}"
    )
    val_cases = (
        " ".join(f"WHEN {sql_string(f)} THEN {ident('v_' + f)}" for f in cols)
        + " WHEN 'line_value' THEN v_quantity || ' x ' || v_unit_price"
    )

    def row_findings(table: str, col: str, where: str = "true") -> str:
        return (
            f"SELECT split_part({col}, ':', 1) AS kind, __row AS \"row\","
            f" CASE split_part({col}, ':', 2) {col_cases} END AS \"column\","
            f" CAST(CASE split_part({col}, ':', 2) {val_cases} END AS VARCHAR) AS \"value\","
            f" CASE {col} {msg_cases} END AS message"
            f" FROM {table} WHERE {col} IS NOT NULL AND {where}"
        )

    conflict = " OR ".join(f"n_{f} > 1" for f in CONFLICT_FIELDS)
    conflict_col = (
        "CASE "
        + " ".join(
            f"WHEN n_{f} > 1 THEN {sql_string(_order_col(cols, f))}" for f in CONFLICT_FIELDS
        )
        + " END"
    )
    unknown_msg = "status value in none of the mapping lists" + (
        "" if mapping.status.unknown == "refuse" else f": counted as {mapping.status.unknown}"
    )
    qty_col, price_col = sql_string(cols["quantity"]), sql_string(cols["unit_price"])
    cur_col = sql_string(cols["currency"]) if "currency" in cols else "NULL::VARCHAR"
    items = staged.order_items
    sql = f"""
    {row_findings(t_parsed, "problem")}
    UNION ALL {row_findings(t_lines, "drop_reason", "drop_reason <> 'other_currency:currency'")}
    UNION ALL
    SELECT 'other_currency', first_row, {cur_col}, cur,
           'order in ' || cur || ', not ' || $reporting || ' (--currency): not imported'
    FROM {t_orders} WHERE order_ts IS NOT NULL AND NOT ({policy.kept_sql("cur")})
    UNION ALL
    SELECT 'converted_currency', first_row, {cur_col}, source_currency,
           'converted from ' || source_currency || ' to ' || $reporting || ' at '
           || CAST(CAST({policy.rate_sql("source_currency")} AS DOUBLE) AS VARCHAR)
           || ' (--fx-rates)'
    FROM {staged.orders} WHERE $converting AND source_currency <> $reporting
    UNION ALL
    SELECT 'conflicting_order', first_row, {conflict_col},
           order_id, 'order ' || order_id || ' has different values of ' || {conflict_col}
           || ' on its lines; the first line wins'
    FROM {t_orders} WHERE order_ts IS NOT NULL AND ({conflict})
    UNION ALL
    SELECT 'unknown_status', first_row, {sql_string(cols.get("status", ""))}, status_raw,
           {sql_string(unknown_msg)}
    FROM {staged.orders}
    WHERE status_raw IS NOT NULL AND lower(status_raw) NOT IN (SELECT unnest($known))
    UNION ALL
    SELECT 'zero_price', __row, {price_col}, CAST(unit_price AS VARCHAR), 'unit price 0 (kept)'
    FROM {items} WHERE unit_price = 0
    UNION ALL
    SELECT 'quantity_outlier', __row, {qty_col}, CAST(quantity AS VARCHAR),
           'quantity above ' || CAST(round(tq, 2) AS VARCHAR) || ' (median + {OUTLIER_MADS} MAD):'
           || ' flagged, kept'
    FROM {items}, ({outlier_threshold(items, "quantity")}) AS mq(tq) WHERE quantity > tq
    UNION ALL
    SELECT 'price_outlier', __row, {price_col}, CAST(unit_price AS VARCHAR),
           'unit price above ' || CAST(round(tp, 2) AS VARCHAR)
           || ' (median + {OUTLIER_MADS} MAD): flagged, kept'
    FROM {items}, ({outlier_threshold(items, "unit_price")}) AS mp(tp) WHERE unit_price > tp
    UNION ALL
    SELECT 'future_date', first_row, {sql_string(cols["order_ts"])}, CAST(order_ts AS VARCHAR),
           'order date after the import: kept'
    FROM {staged.orders} WHERE order_ts > $now
    """
    used = {
        "source": staged.report.source,
        "known": _known_statuses(mapping),
        "now": now or datetime.now(UTC),
        "reporting": policy.reporting,
        "converting": policy.fx is not None,
    }
    query = f'SELECT kind, $source AS source, "row", "column", "value", message FROM ({sql})'
    return query, {k: v for k, v in used.items() if f"${k}" in query}


def _check_converted(con: duckdb.DuckDBPyConnection, lines: str, source: str, column: str) -> None:
    """Refuse a conversion that takes a line beyond the store's money range."""
    converted = "round(unit_price * rate, 2)"
    bad = con.execute(
        f"SELECT __row, v_unit_price FROM {lines} WHERE drop_reason IS NULL AND rate <> 1 AND"
        f" CASE WHEN {money_out_of_range('unit_price * rate')} THEN true"
        f" ELSE {money_out_of_range(f'abs(qd) * {converted}')}"
        f" OR {money_out_of_range('coalesce(line_discount, 0) * rate')} END"
        " ORDER BY __row LIMIT 1"
    ).fetchone()
    if bad is not None:
        raise InputError(
            f"converted with --fx-rates, the price {bad[1]} is out of range"
            " (the store holds money below 10^16)",
            source=source,
            row=int(bad[0]),
            column=column,
        )


def outlier_threshold(table: str, column: str) -> str:
    """A one-row query: the outlier threshold of ``column``, median + 10 x max(MAD, median).

    No row when ``table`` is empty.
    """
    c = ident(column)
    mad = median_sql(table, f"abs({c} - m)")
    return (
        f"SELECT m + {OUTLIER_MADS} * greatest({mad}, m)"
        f" FROM (SELECT CAST({median_sql(table, c)} AS DOUBLE) AS m) WHERE m IS NOT NULL"
    )


def median_sql(table: str, expr: str) -> str:
    """A scalar subquery: the exact median of ``expr`` over ``table`` (the mean of the two
    middle values, as DuckDB's ``median``), NULL when there is no value.

    Computed from the counts of the distinct values, so its memory is bounded by the
    number of distinct values: DuckDB's ``median`` keeps every value in memory and
    cannot spill (it ran out of a 1 GB limit at 20M lines).
    """
    return (
        "(SELECT (min(x) FILTER (WHERE cum > lo) + min(x) FILTER (WHERE cum > hi)) / 2"
        " FROM (SELECT x, sum(n) OVER (ORDER BY x) AS cum,"
        " floor((sum(n) OVER () - 1) / 2) AS lo, ceil((sum(n) OVER () - 1) / 2) AS hi"
        f" FROM (SELECT {expr} AS x, count(*) AS n FROM {table} WHERE {expr} IS NOT NULL"
        " GROUP BY 1)))"
    )


def _order_col(cols: dict[str, str], f: str) -> str:
    return cols.get("status" if f == "status_raw" else f, f)


def sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _refuse_unknown_status(con: duckdb.DuckDBPyConnection, found: str, rep: QualityReport) -> None:
    values = con.execute(
        f'SELECT "value", count(*), min("row"), any_value("column") FROM {found}'
        " WHERE kind = 'unknown_status' GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    listed = ", ".join(f"{v!r} ({n:,})" for v, n, _, _ in values[:10])
    more = f" and {len(values) - 10} more" if len(values) > 10 else ""
    first_row = min(int(r) for _, _, r, _ in values)
    raise InputError(
        f"{rep.unknown_status_orders:,} orders have a status value the mapping does not know:"
        f" {listed}{more}; say how to count them: list them under [status] completed,"
        " cancelled or returned in a mapping file ('shoplens import --infer' proposes one),"
        " or --unknown-status completed|cancelled|returned",
        source=rep.source,
        row=first_row,
        column=values[0][3],
    )


# the bad-share kinds, how the refusal names them
_BAD_KINDS = {
    "missing_value": ("missing_values", "missing values"),
    "unparseable": ("unparseable_values", "not a number or date"),
    "out_of_range": ("out_of_range_values", "out of range"),
    "invalid_value": ("invalid_values", "invalid values"),
    "orphan_line": ("orphan_lines", "lines whose order is not imported"),
}


def _refuse_bad_share(
    rep: QualityReport, usable: int, max_bad_share: float, prefer: tuple[str, ...]
) -> None:
    """Raise the error of too many unusable rows: how many of which kind, the first of
    the most common kind, and the ``--max-bad-share`` that imports the rest anyway."""
    counts = {k: getattr(rep, attr) for k, (attr, _) in _BAD_KINDS.items()}
    if rep.lines:
        parts = "; ".join(f"{_BAD_KINDS[k][1]}: {n:,}" for k, n in counts.items() if n)
        above = math.ceil(rep.bad_share * 100) / 100
        what = (
            f"{rep.bad_rows + rep.orphan_lines:,} of {usable:,} rows ({rep.bad_share:.1%}) are"
            f" unusable ({parts}), more than the allowed {max_bad_share:.1%}"
        )
        hint = f"; to import the other rows anyway, rerun with --max-bad-share {above:g}"
    else:
        what, hint = "no usable order lines", ""
    # the first finding of the most common kind (ties: in ``prefer`` order)
    ranked = sorted(
        {f.kind for f in rep.findings if f.kind in prefer},
        key=lambda k: (-counts.get(k, 0), prefer.index(k)),
    )
    first = next((f for f in rep.findings if ranked and f.kind == ranked[0]), None)
    if first is None:
        first = rep.findings[0] if rep.findings else None
    if first is None:
        raise InputError(what + hint, source=rep.source)
    raise InputError(
        f"{what}; first: {first.message} (value {first.value!r}){hint}",
        source=first.source,
        row=first.row,
        column=first.column,
    )


def finish_staged(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    findings_sql: str,
    params: dict[str, Any],
    temps: TempTables,
    *,
    max_bad_share: float,
    prefer: tuple[str, ...] = (
        "missing_value",
        "unparseable",
        "out_of_range",
        "invalid_value",
        "orphan_line",
    ),
    refuse_unknown_status: bool = False,
) -> Staged:
    """Count, check and finish built staged tables: the end of every cleaning.

    ``findings_sql`` (with ``params``) gives every finding as (kind, source, row,
    column, value, message); they are kept in a TEMP table of ``temps``. Sets the
    report's finding counts, order/line/customer/product counts, ``bad_share`` and
    examples (:data:`EXAMPLES_PER_KIND` per kind); returns ``staged`` with at most
    :data:`STORED_PER_KIND` findings per kind to store. Raises :class:`InputError` when
    the bad share is above ``max_bad_share`` or no line is left, naming the first
    finding of the first ``prefer`` kind found (else the first finding); the caller
    drops the staged tables then.
    """
    rep = staged.report
    t_found = temps.new("findings")
    run_sql(
        con,
        f'CREATE TEMP TABLE {t_found} AS SELECT kind, source, "row", "column", "value",'
        f' message FROM ({findings_sql}) AS f(kind, source, "row", "column", "value",'
        " message)",
        params,
    )
    rep.set_finding_counts(
        {
            str(k): int(n)
            for k, n in con.execute(
                f"SELECT kind, count(*) FROM {t_found} GROUP BY kind"
            ).fetchall()
        }
    )
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE customer_id IS NULL),"
        " count(*) FILTER (WHERE status = 'completed'),"
        " count(*) FILTER (WHERE status = 'cancelled'),"
        f" count(*) FILTER (WHERE status = 'returned') FROM {staged.orders}"
    ).fetchone()
    assert row is not None
    (
        rep.orders,
        rep.guest_orders,
        rep.completed_orders,
        rep.cancelled_orders,
        rep.returned_orders,
    ) = (int(x) for x in row)
    rep.lines = scalar_int(con, f"SELECT count(*) FROM {staged.order_items}")
    rep.customers = scalar_int(con, f"SELECT count(*) FROM {staged.customers}")
    rep.products = scalar_int(con, f"SELECT count(*) FROM {staged.products}")
    usable = rep.rows_read - rep.empty_rows - rep.duplicate_rows
    rep.bad_share = (rep.bad_rows + rep.orphan_lines) / usable if usable else 0.0

    def first_per_kind(n: int) -> str:
        return (
            f"SELECT * FROM {t_found} QUALIFY row_number() OVER (PARTITION BY kind"
            f' ORDER BY source, "row") <= {int(n)} ORDER BY kind, source, "row"'
        )

    rep.findings = [Finding(*r) for r in con.execute(first_per_kind(EXAMPLES_PER_KIND)).fetchall()]
    if rep.bad_share > max_bad_share or rep.lines == 0:
        _refuse_bad_share(rep, usable, max_bad_share, prefer)
    if refuse_unknown_status and rep.unknown_status_orders:
        _refuse_unknown_status(con, t_found, rep)
    stored = con.sql(first_per_kind(STORED_PER_KIND)).to_arrow_table()
    return Staged(staged.customers, staged.products, staged.orders, staged.order_items, rep, stored)
