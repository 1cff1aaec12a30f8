"""The ``olist`` preset: the Brazilian Olist e-commerce dataset, a directory of CSV files.

``shoplens import olist/ --preset olist`` reads these files (each also accepted as
``.csv.gz``; all six are required, a missing one is an :class:`InputError` naming the
directory and the absent files):

=========================================== =============================================
file                                        columns used
=========================================== =============================================
``olist_orders_dataset.csv``                order_id, customer_id, order_status,
                                            order_purchase_timestamp
``olist_order_items_dataset.csv``           order_id, order_item_id, product_id, price
``olist_customers_dataset.csv``             customer_id, customer_unique_id, customer_city
``olist_products_dataset.csv``              product_id, product_category_name
``product_category_name_translation.csv``   product_category_name,
                                            product_category_name_english
``olist_order_payments_dataset.csv``        order_id, payment_type, payment_value
=========================================== =============================================

Every file is staged with :func:`~shoplens.ingest.readers.read_raw` and cleaned in SQL
with the pieces of :mod:`shoplens.ingest.clean` (empty and duplicate rows, date
detection and parsing, numbers, findings with file, row and column); the result is one
:class:`~shoplens.ingest.clean.Staged` written by the same atomic, idempotent upsert
transaction as every import (:func:`~shoplens.ingest.load.write_staged`).

Rules:

- **Customers.** Olist's ``customer_id`` is one per order; the real customer is
  ``customer_unique_id``, which becomes the canonical ``customer_id``. Country ``BR``;
  ``city`` is ``customer_city`` of the customer's first order; signup is the first
  order. An order whose ``customer_id`` is empty is a guest order; one whose
  ``customer_id`` is not in the customers file is kept as a guest order too and is an
  ``orphan_order`` finding. A customers row without ``customer_id`` or
  ``customer_unique_id`` is a ``missing_value`` (dropped).
- **Status.** ``canceled`` and ``unavailable`` -> ``cancelled``; ``delivered``,
  ``shipped``, ``invoiced``, ``processing``, ``approved`` and ``created`` ->
  ``completed`` (placed and not cancelled: the sale stands); any other value is an
  ``unknown_status`` finding and refuses the import unless ``--unknown-status`` says
  how to count it. Olist has no return status, so no
  order is ``returned``.
- **Lines.** Each ``order_items`` row is one unit: quantity 1, ``unit_price = price``;
  ``line_no`` numbers the lines of an order by ``order_item_id`` (equal to it in the
  real data). ``freight_value`` is shipping paid to the carrier, not merchandise
  revenue: it is not imported. A row without order id, product id or price is a
  ``missing_value``, an unparseable price ``unparseable``, one of 10^16 or more
  ``out_of_range``, a negative one
  ``negative_price`` (all dropped); a zero price is ``zero_price`` and a price above
  median + 10 MAD ``price_outlier`` (kept). A line whose order is not among the
  imported orders (absent from the orders file, or dropped there) is an
  ``orphan_line`` (dropped).
- **Orders.** The timestamp is ``order_purchase_timestamp``, in ``America/Sao_Paulo``
  local time unless ``--timezone`` says otherwise; stored in UTC. A row without order
  id or timestamp is a ``missing_value``, an unparseable timestamp ``unparseable``
  (dropped). Rows repeating an order id with other values: the first row wins
  (``conflicting_order``). An order without any line (Olist has some, mostly
  ``unavailable``) is not imported: an ``empty_order`` finding; it does not count
  towards the bad share. Currency ``BRL``.
- **Promos.** A ``voucher`` payment marks a promo: ``promo_code = 'voucher'``, and the
  sum of the order's voucher payments is its order-level ``discount``, capped at the
  order's gross (sum of its prices: a voucher may also have paid freight, which is
  not revenue). Voucher rows without a value, with an unparseable or a negative one
  are ``missing_value``/``unparseable``/``invalid_value`` findings (ignored); other
  payment rows are not read beyond their type. Vouchers of orders not imported are
  ignored.
- **Products.** Only products sold in the imported lines are imported (a product
  needs a price). Olist products have no name: ``name`` is the product id. The
  category is translated to English with the translation file; a category without a
  translation is kept in Portuguese and is an ``untranslated_category`` finding, one
  per distinct category (row: its first products row; the message counts the
  products). Products absent from the products file have no category. In the
  customers, products and translation files a repeated key takes its first row.

The report (:class:`QualityReport`, source ``<directory>/``, mapping ``olist``) sums
``rows_read``, ``empty_rows``, ``duplicate_rows`` and the bad-value counts over the six
files; ``dates_parsed`` counts purchase timestamps; ``bad_share`` is (bad rows + orphan
lines) over the rows of all files left after empty and duplicate rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from shoplens.errors import InputError
from shoplens.ingest.clean import (
    OUTLIER_MADS,
    Staged,
    TempTables,
    choose_date_format,
    date_expr,
    date_params,
    finish_staged,
    money_out_of_range,
    number_expr,
    number_overflow_expr,
    outlier_threshold,
    run_sql,
    scalar_int,
    sql_string,
    stage_rows,
)
from shoplens.ingest.load import ImportOptions, Progress, run_import, write_staged
from shoplens.ingest.mapping import Mapping
from shoplens.ingest.quality import QualityReport
from shoplens.ingest.raw import RawTable
from shoplens.ingest.read_staging import ident
from shoplens.store.db import check_timezone

__all__ = [
    "CANCELLED_STATUSES",
    "COMPLETED_STATUSES",
    "OLIST_CURRENCY",
    "OLIST_FILES",
    "OLIST_TIMEZONE",
    "PRESET",
    "import_olist",
    "import_olist_into",
]

PRESET = "olist"
OLIST_TIMEZONE = "America/Sao_Paulo"
OLIST_CURRENCY = "BRL"
CANCELLED_STATUSES = ("canceled", "unavailable")
COMPLETED_STATUSES = ("delivered", "shipped", "invoiced", "processing", "approved", "created")
VOUCHER = "voucher"

# role -> (file name, columns used: canonical name in the SQL below = source column)
OLIST_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": (
        "olist_orders_dataset.csv",
        ("order_id", "customer_id", "order_status", "order_purchase_timestamp"),
    ),
    "items": (
        "olist_order_items_dataset.csv",
        ("order_id", "order_item_id", "product_id", "price"),
    ),
    "customers": (
        "olist_customers_dataset.csv",
        ("customer_id", "customer_unique_id", "customer_city"),
    ),
    "products": ("olist_products_dataset.csv", ("product_id", "product_category_name")),
    "translation": (
        "product_category_name_translation.csv",
        ("product_category_name", "product_category_name_english"),
    ),
    "payments": (
        "olist_order_payments_dataset.csv",
        ("order_id", "payment_type", "payment_value"),
    ),
}

_DEFAULT_MAX_BAD_SHARE: float = Mapping.model_fields["max_bad_share"].default

_MESSAGES = {
    "missing_value": "no {column}",
    "unparseable": "{column} is not a {what}",
    "invalid_value": "negative {column}",
    "out_of_range": "{column} out of range (the store holds money below 10^16)",
    "negative_price": "negative price: dropped (not a sale)",
}


def import_olist(
    directory: str | Path,
    store: str | Path,
    options: ImportOptions | None = None,
    *,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> list[QualityReport]:
    """Import an Olist directory into ``store`` (created if missing); one report.

    ``options.timezone`` overrides the Olist time zone (America/Sao_Paulo);
    ``encoding``, ``delimiter`` and ``max_bad_share`` apply as for a file; the currency
    is always BRL.
    """
    directory = Path(directory)
    opts = options or ImportOptions()
    files = locate_files(directory)
    return run_import(
        store,
        opts,
        lambda con: import_olist_into(con, files, opts, now=now, on_progress=on_progress),
    )


def locate_files(directory: Path) -> dict[str, Path]:
    """Role -> path of each Olist file in ``directory``; raises naming what is missing."""
    if not directory.exists():
        raise InputError("directory not found", source=str(directory))
    if not directory.is_dir():
        raise InputError(
            "the olist preset reads a directory holding the Olist CSV files"
            f" ({', '.join(name for name, _ in OLIST_FILES.values())})",
            source=str(directory),
        )
    found: dict[str, Path] = {}
    missing: list[str] = []
    for role, (name, _) in OLIST_FILES.items():
        path = next((p for p in (directory / name, directory / f"{name}.gz") if p.is_file()), None)
        if path is None:
            missing.append(name)
        else:
            found[role] = path
    if missing:
        raise InputError(
            f"not a complete Olist dataset: missing {', '.join(missing)}", source=str(directory)
        )
    return found


def import_olist_into(
    con: duckdb.DuckDBPyConnection,
    files: dict[str, Path],
    options: ImportOptions | None = None,
    *,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> list[QualityReport]:
    """Stage, clean and write the Olist ``files`` (from :func:`locate_files`) on ``con``."""
    from shoplens.ingest.readers import read_raw

    opts = options or ImportOptions()
    if opts.sheet is not None:
        raise InputError("a sheet does not apply to the Olist CSV files")
    if opts.fx_rates is not None or opts.keep_currency not in (None, OLIST_CURRENCY):
        raise InputError(
            f"Olist orders are all in {OLIST_CURRENCY}: --currency and --fx-rates do not apply"
        )
    started = datetime.now(UTC)
    raws: list[RawTable] = []
    staged: Staged | None = None
    try:
        by_role: dict[str, RawTable] = {}
        progress = on_progress or (lambda stage, done, total: None)
        for i, (role, path) in enumerate(files.items()):
            progress("reading", i, len(files))
            (raw,) = read_raw(
                con, path, encoding=opts.encoding, delimiter=opts.delimiter, name=f"olist_{role}"
            )
            raws.append(raw)
            by_role[role] = raw
        progress("reading", len(files), len(files))
        directory = next(iter(files.values())).parent
        progress("cleaning", 0, 1)
        staged = _Cleaner(con, by_role, directory, opts, now).run()
        progress("cleaning", 1, 1)
        progress("writing", 0, 1)
        write_staged(con, [staged], started, shop=opts, merge_customers=opts.merge_customers)
        progress("writing", 1, 1)
        return [staged.report]
    finally:
        if staged is not None:
            staged.drop(con)
        for raw in raws:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(raw.table)}")


def _columns(raw: RawTable, wanted: tuple[str, ...]) -> dict[str, str]:
    folded = {c.strip().casefold(): c for c in raw.columns}
    absent = [w for w in wanted if w not in folded]
    if absent:
        raise InputError(
            f"missing column(s) {', '.join(absent)} (columns: {', '.join(raw.columns)})",
            source=raw.source,
        )
    return {w: folded[w] for w in wanted}


class _Cleaner:
    """The cleaning of one Olist directory: TEMP tables named ``<tag>_<what>``."""

    _count = 0

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        raws: dict[str, RawTable],
        directory: Path,
        opts: ImportOptions,
        now: datetime | None,
    ) -> None:
        _Cleaner._count += 1
        self.con, self.raws, self.opts = con, raws, opts
        self.now = now or datetime.now(UTC)
        self.tz = check_timezone(opts.timezone or OLIST_TIMEZONE)
        self.tag = f"__sl_olist_{_Cleaner._count}"
        self.temps = TempTables(con, self.tag)
        self.cols = {r: _columns(raws[r], OLIST_FILES[r][1]) for r in OLIST_FILES}
        name = directory.name or str(directory)
        self.report = QualityReport(source=f"{name}/", mapping=PRESET)

    def t(self, what: str) -> str:
        return self.temps.new(what)

    def src(self, role: str) -> str:
        return sql_string(self.raws[role].source)

    def col(self, role: str, field: str) -> str:
        return sql_string(self.cols[role][field])

    def run(self) -> Staged:
        con, rep = self.con, self.report
        staged = Staged(
            customers=f"{self.tag}_customers",
            products=f"{self.tag}_products",
            orders=f"{self.tag}_order_facts",
            order_items=f"{self.tag}_order_items",
            report=rep,
            findings=pa.table({}),
        )
        try:
            selects = self._clean(self._stage(), staged)
            union = " UNION ALL ".join(f"({q})" for q in selects)
            limit = self.opts.max_bad_share
            return finish_staged(
                con,
                staged,
                union,
                {"now": self.now},
                self.temps,
                max_bad_share=_DEFAULT_MAX_BAD_SHARE if limit is None else limit,
                refuse_unknown_status=self.opts.unknown_status is None,
            )
        except BaseException:
            staged.drop(con)
            raise
        finally:
            self.temps.drop()

    def _stage(self) -> dict[str, str]:
        """Steps 1-2 of every file; role -> its staged rows table."""
        rep = self.report
        rows: dict[str, str] = {}
        for role, raw in self.raws.items():
            if raw.rows == 0:
                raise InputError("no data rows (empty file or header only)", source=raw.source)
            rows[role] = self.t(f"rows_{role}")
            empty, dups, _ = stage_rows(self.con, raw, self.cols[role], rows[role])
            rep.rows_read += raw.rows
            rep.empty_rows += empty
            rep.duplicate_rows += dups
        return rows

    # --- the SQL ----------------------------------------------------------------------

    def _clean(self, rows: dict[str, str], s: Staged) -> list[str]:
        """Build the staged tables; returns the findings' SELECTs."""
        con = self.con
        ts_col = self.cols["orders"]["order_purchase_timestamp"]
        family = choose_date_format(
            con,
            rows["orders"],
            "v_order_purchase_timestamp",
            self.tz,
            self.raws["orders"].source,
            ts_col,
        )
        self.report.date_format = f"{family} (detected)"
        dparams = date_params(self.tz, family)
        t_orders, t_items, t_cust = self.t("orders"), self.t("items"), self.t("cust")
        t_order, t_lines, t_vouchers = self.t("order"), self.t("lines"), self.t("vouchers")
        t_prod, t_tr = self.t("prod"), self.t("tr")

        run_sql(
            con,
            f"CREATE TEMP TABLE {t_orders} AS SELECT *, CASE"
            " WHEN v_order_id IS NULL THEN 'missing_value:order_id'"
            " WHEN v_order_purchase_timestamp IS NULL"
            " THEN 'missing_value:order_purchase_timestamp'"
            " WHEN order_ts IS NULL THEN 'unparseable:order_purchase_timestamp' END AS problem"
            f" FROM (SELECT *, {date_expr('v_order_purchase_timestamp', family)} AS order_ts"
            f" FROM {rows['orders']})",
            dparams,
        )
        self.report.dates_parsed = scalar_int(con, f"SELECT count(order_ts) FROM {t_orders}")
        con.execute(
            f"CREATE TEMP TABLE {t_cust} AS SELECT *, CASE"
            " WHEN v_customer_id IS NULL THEN 'missing_value:customer_id'"
            " WHEN v_customer_unique_id IS NULL THEN 'missing_value:customer_unique_id'"
            f" END AS problem FROM {rows['customers']}"
        )
        # one order per order id (first row wins), its real customer and status
        run_sql(
            con,
            f"CREATE TEMP TABLE {t_order} AS WITH o AS ("
            " SELECT v_order_id AS order_id, min(__row) AS first_row, count(*) AS n,"
            " arg_min(v_customer_id, __row) AS olist_customer,"
            " arg_min(v_order_status, __row) AS status_raw,"
            " arg_min(order_ts, __row) AS order_ts"
            f" FROM {t_orders} WHERE problem IS NULL GROUP BY v_order_id"
            "), c AS ("
            " SELECT v_customer_id AS olist_customer,"
            " arg_min(v_customer_unique_id, __row) AS customer_id,"
            " arg_min(v_customer_city, __row) AS city"
            f" FROM {t_cust} WHERE problem IS NULL GROUP BY v_customer_id"
            ") SELECT o.*, c.customer_id, c.city,"
            " o.olist_customer IS NOT NULL AND c.olist_customer IS NULL AS orphan,"
            " CASE WHEN lower(status_raw) IN (SELECT unnest($cancelled)) THEN 'cancelled'"
            " WHEN status_raw IS NULL OR lower(status_raw) NOT IN (SELECT unnest($known))"
            " THEN $unknown_as ELSE 'completed' END AS status,"
            " status_raw IS NULL OR lower(status_raw) NOT IN (SELECT unnest($known))"
            " AS unknown_status"
            " FROM o LEFT JOIN c USING (olist_customer)",
            {
                "cancelled": list(CANCELLED_STATUSES),
                "known": [*CANCELLED_STATUSES, *COMPLETED_STATUSES],
                "unknown_as": self.opts.unknown_status or "completed",
            },
        )
        con.execute(
            f"CREATE TEMP TABLE {t_items} AS SELECT *, CASE"
            " WHEN v_order_id IS NULL THEN 'missing_value:order_id'"
            " WHEN v_product_id IS NULL THEN 'missing_value:product_id'"
            " WHEN v_price IS NULL THEN 'missing_value:price'"
            f" WHEN {number_overflow_expr('v_price', '.')} OR {money_out_of_range('price')}"
            " THEN 'out_of_range:price'"
            " WHEN price IS NULL THEN 'unparseable:price'"
            " WHEN price < 0 THEN 'negative_price:price'"
            f" WHEN v_order_id NOT IN (SELECT order_id FROM {t_order})"
            " THEN 'orphan_line:order_id' END AS problem"
            f" FROM (SELECT *, {number_expr('v_price', '.')} AS price,"
            f" TRY_CAST(v_order_item_id AS BIGINT) AS item_no FROM {rows['items']})"
        )
        con.execute(
            f"CREATE TEMP TABLE {t_lines} AS SELECT i.v_order_id AS order_id,"
            " CAST(row_number() OVER (PARTITION BY i.v_order_id"
            " ORDER BY i.item_no NULLS LAST, i.__row) AS INTEGER) AS line_no,"
            " i.v_product_id AS product_id, 1 AS quantity,"
            " CAST(i.price AS DECIMAL(18, 2)) AS unit_price, i.__row, o.order_ts"
            f" FROM {t_items} AS i JOIN {t_order} AS o ON o.order_id = i.v_order_id"
            " WHERE i.problem IS NULL"
        )
        con.execute(
            f"CREATE TEMP TABLE {s.order_items} AS SELECT order_id, line_no, product_id,"
            " quantity, unit_price, CAST(0 AS DECIMAL(18, 2)) AS discount"
            f" FROM {t_lines}"
        )
        # vouchers: promo code and order discount (capped at the order's gross)
        run_sql(
            con,
            f"CREATE TEMP TABLE {t_vouchers} AS SELECT *, CASE"
            " WHEN v_order_id IS NULL THEN 'missing_value:order_id'"
            " WHEN v_payment_value IS NULL THEN 'missing_value:payment_value'"
            f" WHEN {number_overflow_expr('v_payment_value', '.')}"
            f" OR {money_out_of_range('value')} THEN 'out_of_range:payment_value'"
            " WHEN value IS NULL THEN 'unparseable:payment_value'"
            " WHEN value < 0 THEN 'invalid_value:payment_value' END AS problem"
            f" FROM (SELECT *, {number_expr('v_payment_value', '.')} AS value"
            f" FROM {rows['payments']} WHERE lower(v_payment_type) = $voucher)",
            {"voucher": VOUCHER},
        )
        run_sql(
            con,
            f"CREATE TEMP TABLE {s.orders} AS WITH g AS ("
            f" SELECT order_id, sum(unit_price) AS gross FROM {t_lines} GROUP BY order_id"
            "), v AS ("
            " SELECT v_order_id AS order_id, sum(value) AS vouchers"
            f" FROM {t_vouchers} WHERE problem IS NULL GROUP BY v_order_id"
            ") SELECT o.order_id, o.customer_id, o.order_ts, o.status,"
            " NULL::VARCHAR AS channel,"
            " CASE WHEN v.order_id IS NOT NULL THEN $voucher END AS promo_code,"
            " CAST(least(coalesce(v.vouchers, 0), g.gross) AS DECIMAL(18, 2)) AS discount,"
            " $currency AS currency, o.first_row, o.city"
            f" FROM {t_order} AS o JOIN g USING (order_id) LEFT JOIN v USING (order_id)",
            {"voucher": VOUCHER, "currency": OLIST_CURRENCY},
        )
        con.execute(
            f"CREATE TEMP TABLE {s.customers} AS SELECT customer_id,"
            " min(order_ts) AS signup_ts, 'BR' AS country, NULL::VARCHAR AS name,"
            " NULL::VARCHAR AS email,"
            " arg_min(city, (order_ts, first_row)) FILTER (WHERE city IS NOT NULL) AS city"
            f" FROM {s.orders} WHERE customer_id IS NOT NULL GROUP BY customer_id"
        )
        # products: first row per id; categories translated (case-insensitively)
        con.execute(
            f"CREATE TEMP TABLE {t_tr} AS SELECT lower(v_product_category_name) AS pt,"
            " arg_min(v_product_category_name_english, __row) AS en"
            f" FROM {rows['translation']} WHERE v_product_category_name IS NOT NULL"
            " AND v_product_category_name_english IS NOT NULL GROUP BY 1"
        )
        con.execute(
            f"CREATE TEMP TABLE {t_prod} AS SELECT p.*, t.en FROM ("
            " SELECT v_product_id AS product_id, min(__row) AS first_row,"
            " arg_min(v_product_category_name, __row) AS pt"
            f" FROM {rows['products']} WHERE v_product_id IS NOT NULL GROUP BY 1"
            f") AS p LEFT JOIN {t_tr} AS t ON t.pt = lower(p.pt)"
        )
        con.execute(
            f"CREATE TEMP TABLE {s.products} AS SELECT l.product_id, l.product_id AS name,"
            " any_value(coalesce(p.en, p.pt)) AS category,"
            " CAST(coalesce(arg_max(l.unit_price, (l.order_ts, l.__row))"
            " FILTER (WHERE l.unit_price > 0), 0) AS DECIMAL(18, 2)) AS unit_price"
            f" FROM {t_lines} AS l LEFT JOIN {t_prod} AS p USING (product_id)"
            " GROUP BY l.product_id"
        )
        return [
            self._row_findings("orders", t_orders, "timestamp"),
            self._row_findings("customers", t_cust, "value"),
            self._row_findings("items", t_items, "number"),
            self._row_findings("payments", t_vouchers, "number"),
            f"SELECT 'orphan_line', {self.src('items')}, __row, {self.col('items', 'order_id')},"
            " v_order_id, 'order ' || v_order_id || ' is not among the imported orders:"
            " line dropped'"
            f" FROM {t_items} WHERE problem = 'orphan_line:order_id'",
            f"SELECT 'conflicting_order', {self.src('orders')}, first_row,"
            f" {self.col('orders', 'order_id')}, order_id,"
            " 'order ' || order_id || ' is on ' || n || ' rows with different values;"
            " the first row wins'"
            f" FROM {t_order} WHERE n > 1",
            f"SELECT 'orphan_order', {self.src('orders')}, first_row,"
            f" {self.col('orders', 'customer_id')}, olist_customer,"
            " 'customer_id not in ' || "
            f"{self.src('customers')} || ': kept as a guest order'"
            f" FROM {t_order} WHERE orphan AND order_id IN (SELECT order_id FROM {s.orders})",
            f"SELECT 'empty_order', {self.src('orders')}, first_row,"
            f" {self.col('orders', 'order_id')}, order_id,"
            f" 'no line in ' || {self.src('items')} || ': order not imported (status '"
            " || coalesce(status_raw, '') || ')'"
            f" FROM {t_order} WHERE order_id NOT IN (SELECT order_id FROM {s.orders})",
            f"SELECT 'unknown_status', {self.src('orders')}, first_row,"
            f" {self.col('orders', 'order_status')}, status_raw,"
            f" {sql_string(self._unknown_message())}"
            f" FROM {t_order} WHERE unknown_status"
            f" AND order_id IN (SELECT order_id FROM {s.orders})",
            f"SELECT 'untranslated_category', {self.src('products')}, min(first_row),"
            f" {self.col('products', 'product_category_name')}, pt,"
            f" 'no English name in ' || {self.src('translation')}"
            " || ': kept in Portuguese (' || count(*) || ' products)'"
            f" FROM {t_prod} WHERE pt IS NOT NULL AND en IS NULL GROUP BY pt",
            f"SELECT 'zero_price', {self.src('items')}, __row, {self.col('items', 'price')},"
            f" CAST(unit_price AS VARCHAR), 'price 0 (kept)' FROM {t_lines} WHERE unit_price = 0",
            f"SELECT 'price_outlier', {self.src('items')}, __row, {self.col('items', 'price')},"
            " CAST(unit_price AS VARCHAR), 'price above ' || CAST(round(tp, 2) AS VARCHAR)"
            f" || ' (median + {OUTLIER_MADS} MAD): flagged, kept'"
            f" FROM {t_lines}, ({outlier_threshold(t_lines, 'unit_price')}) AS mp(tp)"
            " WHERE unit_price > tp",
            f"SELECT 'future_date', {self.src('orders')}, first_row, {sql_string(ts_col)},"
            " CAST(order_ts AS VARCHAR), 'order date after the import: kept'"
            f" FROM {s.orders} WHERE order_ts > $now",
        ]

    def _unknown_message(self) -> str:
        unknown = self.opts.unknown_status
        return "status value not known for Olist" + (f": counted as {unknown}" if unknown else "")

    def _row_findings(self, role: str, table: str, what: str) -> str:
        """Findings of the rows of ``table`` with a ``problem`` (except orphans)."""
        cols = self.cols[role]
        col_case = " ".join(f"WHEN {sql_string(f)} THEN {sql_string(c)}" for f, c in cols.items())
        val_case = " ".join(f"WHEN {sql_string(f)} THEN {ident('v_' + f)}" for f in cols)
        msg_case = " ".join(
            f"WHEN {sql_string(k)} THEN "
            + sql_string(m.replace("{what}", what)).replace(
                "{column}", "' || split_part(problem, ':', 2) || '"
            )
            for k, m in _MESSAGES.items()
        )
        return (
            f"SELECT split_part(problem, ':', 1), {self.src(role)}, __row,"
            f" CASE split_part(problem, ':', 2) {col_case} END,"
            f" CAST(CASE split_part(problem, ':', 2) {val_case} END AS VARCHAR),"
            f" CASE split_part(problem, ':', 1) {msg_case} END"
            f" FROM {table} WHERE problem IS NOT NULL AND problem <> 'orphan_line:order_id'"
        )
