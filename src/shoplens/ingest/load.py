"""Atomic, idempotent import of a file into a store.

Everything is read, cleaned and validated into TEMP tables first; then one transaction
writes the store: missing canonical tables are created (with their keys), customers,
products and orders are upserted by key (``INSERT ... ON CONFLICT DO UPDATE``, one
statement per table), the lines of the imported orders are replaced (one delete,
then insert), and the quality report is written. Any error rolls the transaction back, so
the store is exactly as before. A store that does not exist yet is built in a
temporary file and moved into place (:func:`shoplens.store.write_new_store`).

Upsert rules (re-importing the same file gives the same tables):

- orders: every column from the import;
- customers: ``signup_ts`` the earlier of the stored and imported first order,
  ``country`` the imported one unless it is ``(unknown)``, ``name``/``email`` (and
  ``city``, when the staged table has one: Olist) the imported ones when present;
  other columns (age, gender, ...) are kept;
- products: name and price from the import, category when the import has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from shoplens.errors import InputError, StoreError
from shoplens.ingest.clean import CLEAN_STEPS, Staged, clean_raw
from shoplens.ingest.currency import FxRates, check_store_currency
from shoplens.ingest.mapping import Mapping, UnknownStatus
from shoplens.ingest.merge import customer_merges, refuse_other_shop
from shoplens.ingest.overlap import SeenLines
from shoplens.ingest.quality import EXAMPLES_PER_KIND, Finding, QualityReport, write_report
from shoplens.ingest.raw import RawTable
from shoplens.ingest.read_staging import ident
from shoplens.ingest.spill import DEFAULT_MEMORY_LIMIT, bounded_memory
from shoplens.store.db import (
    create_tables,
    drop_cached_tables,
    existing_tables,
    finalize_keys,
    note_committed,
    open_store,
    write_new_store,
)
from shoplens.store.meta import write_meta

IMPORTED_TABLES = ("customers", "products", "orders", "order_items")


@dataclass(frozen=True)
class ImportOptions:
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    timezone: str | None = None
    """Zone of source timestamps without an offset; overrides the mapping's."""
    currency: str = "EUR"
    """Currency when the mapping has neither a currency column nor a currency."""
    keep_currency: str | None = None
    """``--currency``: the import's currency; orders in others are left out (or converted
    with ``fx_rates``). See :mod:`shoplens.ingest.currency`."""
    fx_rates: FxRates | None = None
    """``--fx-rates``: convert orders in other currencies to the reporting currency."""
    unknown_status: UnknownStatus | None = None
    """``--unknown-status``: overrides the mapping's ``[status] unknown``."""
    memory_limit: str | None = DEFAULT_MEMORY_LIMIT
    """What DuckDB may hold in memory; the rest spills to disk (:mod:`shoplens.ingest.spill`).
    None: DuckDB's default (80% of the machine's memory)."""
    merge_customers: bool = False
    """``--merge-customers``: merge customers whose id is in the store even when most
    of them differ in country, name or email (see :mod:`shoplens.ingest.merge`)."""
    max_bad_share: float | None = None
    """Overrides the mapping's ``max_bad_share``."""
    shop_timezone: str = "UTC"
    """The store's time zone: the default zone of source timestamps; recorded in the store."""


Progress = Callable[[str, int, int], None]
"""``on_progress(stage, done, total)``: the stages are ``reading``, ``cleaning``, ``writing``."""


def import_file(
    path: str | Path,
    store: str | Path,
    mapping: Mapping,
    options: ImportOptions | None = None,
    *,
    on_progress: Progress | None = None,
) -> list[QualityReport]:
    """Import ``path`` into ``store`` (created if missing); one report per source table."""
    from shoplens.ingest.readers import read_raw

    path, store = Path(path), Path(store)
    opts = options or ImportOptions()
    if not path.exists():
        raise InputError("file not found", source=str(path))

    progress = on_progress or _no_progress

    def work(con: duckdb.DuckDBPyConnection) -> list[QualityReport]:
        progress("reading", 0, 1)
        raws = read_raw(
            con, path, sheet=opts.sheet, encoding=opts.encoding, delimiter=opts.delimiter
        )
        progress("reading", 1, 1)
        return import_into(con, raws, mapping, opts, on_progress=progress)

    return run_import(store, opts, work)


def run_import(
    store: str | Path,
    options: ImportOptions,
    work: Callable[[duckdb.DuckDBPyConnection], list[QualityReport]],
) -> list[QualityReport]:
    """Run ``work`` (stage, clean, :func:`write_staged`) on ``store``; the frame of every import.

    An existing store is opened in the shop's time zone; a missing one is built in a
    temporary file and moved into place only if ``work`` succeeds.
    """
    store = Path(store)
    if store.exists():
        con = open_store(store, timezone=options.shop_timezone)
        try:
            with bounded_memory(con, options.memory_limit):
                return work(con)
        finally:
            con.close()
    reports: list[QualityReport] = []

    def build(con: duckdb.DuckDBPyConnection) -> None:
        with bounded_memory(con, options.memory_limit):
            reports.extend(work(con))

    write_new_store(store, build)
    return reports


def import_into(
    con: duckdb.DuckDBPyConnection,
    raws: list[RawTable],
    mapping: Mapping,
    options: ImportOptions | None = None,
    *,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> list[QualityReport]:
    """Clean every staged source, then write them all to the store in one transaction."""
    opts = options or ImportOptions()
    progress = on_progress or _no_progress
    total, done = len(raws) * CLEAN_STEPS, 0

    def step() -> None:
        nonlocal done
        done += 1
        progress("cleaning", done, total)

    started = datetime.now(UTC)
    staged: list[Staged] = []
    # lines of several sources (sheets) that are exact copies of each other count once
    seen = SeenLines(con) if len(raws) > 1 else None
    try:
        for raw in raws:
            staged.append(
                clean_raw(
                    con,
                    raw,
                    mapping,
                    timezone=opts.timezone or opts.shop_timezone,
                    currency=opts.currency,
                    max_bad_share=opts.max_bad_share,
                    now=now,
                    seen=seen,
                    keep_currency=opts.keep_currency,
                    fx=opts.fx_rates,
                    unknown_status=opts.unknown_status,
                    on_step=step,
                )
            )
            # cleaned: its text is not needed any more (frees memory, or spill space)
            con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(raw.table)}")
        progress("writing", 0, 1)
        write_staged(con, staged, started, shop=opts, merge_customers=opts.merge_customers)
        progress("writing", 1, 1)
    finally:
        if seen is not None:
            seen.drop()
        for s in staged:
            s.drop(con)
        for raw in raws:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(raw.table)}")
    return [s.report for s in staged]


def _imported_currency(con: duckdb.DuckDBPyConnection, staged: list[Staged]) -> str | None:
    """The one currency of the import's orders (None when it has none or several)."""
    if not staged:
        return None
    union = " UNION ALL ".join(f"SELECT currency FROM {s.orders}" for s in staged)
    rows = con.execute(
        f"SELECT DISTINCT currency FROM ({union}) WHERE currency IS NOT NULL LIMIT 2"
    ).fetchall()
    return str(rows[0][0]) if len(rows) == 1 else None


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def write_staged(
    con: duckdb.DuckDBPyConnection,
    staged: list[Staged],
    started: datetime,
    *,
    shop: ImportOptions | None = None,
    merge_customers: bool = False,
) -> None:
    """Write staged canonical tables and their reports to the store in one transaction.

    ``shop``: the shop's time zone and currency are recorded (``shoplens_meta``) in the
    same transaction.

    Refused (nothing written) when the import's orders are in another currency than the
    store's (:func:`~shoplens.ingest.currency.check_store_currency`), or when most of the
    customers it shares with the store differ from the stored ones, unless
    ``merge_customers`` (:mod:`shoplens.ingest.merge`); the reports count the merged and
    changed customers.

    The stored lines of every order of the import are deleted first, once: an order in
    several staged sources (sheets of one workbook) keeps the lines of all of them, its
    order-level fields are those of the last source. Its lines are numbered on across
    the sources in their order (the second sheet's line 1 of an order with 2 lines in
    the first sheet is stored as line 3), so ``(order_id, line_no)`` stays unique; each
    report counts the lines of its own source.
    """
    drop_cached_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        _create_missing(con)
        check_store_currency(con, [s.orders for s in staged])
        merges = [customer_merges(con, s.customers, s.report.source) for s in staged]
        if not merge_customers:
            for s, m in zip(staged, merges, strict=True):
                refuse_other_shop(m, s.report.source)
        if shop is not None:
            write_meta(
                con,
                timezone=shop.shop_timezone,
                currency=_imported_currency(con, staged) or shop.keep_currency or shop.currency,
            )
        if staged:
            orders = " UNION ".join(f"SELECT order_id FROM {s.orders}" for s in staged)
            con.execute(f"DELETE FROM order_items WHERE order_id IN ({orders})")
        for s, m in zip(staged, merges, strict=True):
            _upsert(con, s)
            s.report.started_at = started
            s.report.finished_at = datetime.now(UTC)
            s.report.merged_customers, s.report.changed_customers = m.merged, m.changed
            s.report.findings += [Finding(**r) for r in m.findings.to_pylist()[:EXAMPLES_PER_KIND]]
            findings = s.findings
            if m.findings.num_rows:
                extra = m.findings.select(["kind", "source", "row", "column", "value", "message"])
                findings = (
                    pa.concat_tables([s.findings, extra.cast(s.findings.schema)])
                    if s.findings.num_columns
                    else extra
                )
            write_report(con, s.report, findings)
        con.execute("COMMIT")
        note_committed()
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _create_missing(con: duckdb.DuckDBPyConnection) -> None:
    have = existing_tables(con)
    missing = [name for name in IMPORTED_TABLES if name not in have]
    create_tables(con, missing)
    finalize_keys(con, missing)  # empty tables: declares the keys the upserts need


def _upsert(con: duckdb.DuckDBPyConnection, s: Staged) -> None:
    described = con.execute(f"SELECT * FROM {s.customers} LIMIT 0").description or []
    staged_cols = {d[0] for d in described}
    # a staged ``city`` (Olist) is written too; other sources keep the stored city
    city = ", city" if "city" in staged_cols else ""
    set_city = ", city = coalesce(excluded.city, city)" if city else ""
    try:
        con.execute(
            f"INSERT INTO customers (customer_id, signup_ts, country, name, email{city})"
            f" SELECT customer_id, signup_ts, country, name, email{city} FROM {s.customers}"
            " ON CONFLICT (customer_id) DO UPDATE SET"
            " signup_ts = least(signup_ts, excluded.signup_ts),"
            " country = CASE WHEN excluded.country = '(unknown)' THEN country"
            " ELSE excluded.country END,"
            f" name = coalesce(excluded.name, name), email = coalesce(excluded.email, email)"
            f"{set_city}"
        )
        con.execute(
            "INSERT INTO products (product_id, name, category, unit_price)"
            f" SELECT product_id, name, category, unit_price FROM {s.products}"
            " ON CONFLICT (product_id) DO UPDATE SET name = excluded.name,"
            " category = coalesce(excluded.category, category), unit_price = excluded.unit_price"
        )
        con.execute(
            "INSERT INTO orders (order_id, customer_id, order_ts, status, channel, promo_code,"
            " discount, currency) SELECT order_id, customer_id, order_ts, status, channel,"
            f" promo_code, discount, currency FROM {s.orders}"
            " ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id,"
            " order_ts = excluded.order_ts, status = excluded.status,"
            " channel = excluded.channel, promo_code = excluded.promo_code,"
            " discount = excluded.discount, currency = excluded.currency"
        )
        # the order's stored lines are from earlier sources of this import (deleted before)
        con.execute(
            "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price,"
            " discount) SELECT i.order_id, i.line_no + coalesce(w.n, 0), i.product_id,"
            f" i.quantity, i.unit_price, i.discount FROM {s.order_items} AS i LEFT JOIN ("
            " SELECT order_id, max(line_no) AS n FROM order_items"
            f" WHERE order_id IN (SELECT order_id FROM {s.orders}) GROUP BY order_id"
            ") AS w USING (order_id)"
        )
    except duckdb.BinderException as exc:
        if "ON CONFLICT" in str(exc) or "constraint" in str(exc).lower():
            raise StoreError(
                f"the store's canonical tables have no primary keys, needed to upsert: {exc}"
            ) from None
        raise
    except duckdb.ConstraintException as exc:
        raise InputError(
            f"the cleaned data violates a store constraint: {exc}", source=s.report.source
        ) from None
