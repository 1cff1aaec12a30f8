"""Benchmark: ``shoplens import`` of a 1M-line CSV vs a pandas read_csv + cleaning notebook.

The input is a UCI "Online Retail II" style CSV (columns Invoice, StockCode,
Description, Quantity, InvoiceDate, Price, Customer ID, Country) made by
:func:`generate_csv` with DuckDB ``COPY``: US dates as in the UCI file
(``12/1/2010 8:26``, month first, no zero padding), customer ids written as floats
(``17850.0``) and blank for guests (~20% of invoices), ~2% cancellation invoices
(``C...``, negative quantities), ~0.5% return invoices (every quantity negative),
~0.3% sales with one negative line (dropped), ~1% exact duplicate rows, ten fully
empty rows, ~3 unparseable dates per 100k rows, a few "Adjust bad debt" invoices
with negative prices, ~0.1% zero prices and rare bulk quantities. It is kept in
``benchmarks/.data/online-retail-<lines>-seed<seed>.csv`` and reused.

- ours: ``import_file(csv, store, PRESETS["order-lines"], ImportOptions())`` into a new
  store file (read + clean + atomic load + quality report), timed as a whole;
- baseline (``benchmarks/baselines/pandas_import.py``): ``pd.read_csv``, cleaning,
  groupby into the four tables, written to a DuckDB file, timed as a whole.

Each side runs in its own subprocess (its own peak RSS). Then both stored results are
compared: counts, every order (customer, status, timestamp), every line (product,
quantity, price), every customer and product, and net revenue (quantity x price of
completed orders) to the cent; the quality counts are printed side by side. Exit 1 if
anything differs. Targets: ours <= 15 s for 1M lines (wall), ratio printed; peak RSS
under 2 GB at any size (imports run in bounded memory: ``--memory-limit``, default
the import's, see ``shoplens.ingest.spill``).

At sizes where pandas would need more memory than the machine can spare (its frames
grow with the file: ~0.75 GB per million lines), ``--no-baseline`` runs ours alone.

    .venv/bin/python benchmarks/bench_import.py [--lines N] [--quick] [--out FILE]
        [--memory-limit 1GB] [--no-baseline]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    DATA_DIR,
    Check,
    base_parser,
    fmt_int,
    print_checks,
    print_table,
    run_as_worker,
    run_worker,
    verdict,
    write_json,
)

SCRIPT = Path(__file__).resolve()
FULL_LINES = 1_000_000
QUICK_LINES = 100_000
TARGET_SECONDS = 15.0  # at 1M lines
TARGET_RSS_MB = 2048.0  # at any size

# --- the input -----------------------------------------------------------------------

_ADJECTIVES = [
    "WHITE HANGING", "REGENCY", "VINTAGE", "JUMBO", "SET OF 3", "PACK OF 12", "RETRO",
    "HEART OF", "PARTY", "LUNCH", "ANTIQUE", "FRENCH", "CHRISTMAS", "ROSE", "SPOTTY",
    "GLASS", "WOODEN", "PAPER", "ENAMEL", "SWEETHEART",
]  # fmt: skip
_COLOURS = [
    "RED", "PINK", "BLUE", "GREEN", "IVORY", "CREAM", "SILVER", "GOLD", "BLACK", "PAISLEY",
    "POLKADOT", "RETROSPOT", "FLORAL", "STRIPE",
]  # fmt: skip
_NOUNS = [
    "T-LIGHT HOLDER", "CAKESTAND", "LUNCH BAG", "BAKING SET", "TEACUP AND SAUCER",
    "HOT WATER BOTTLE", "ALARM CLOCK", "NAPKINS", "BUNTING", "DOORMAT", "PHOTO FRAME",
    "CANDLE", "STORAGE TIN", "JAM JAR", "MUG", "CHARLOTTE BAG", "PURSE", "WALL ART",
]  # fmt: skip
_COUNTRIES = [
    "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland",
    "Portugal", "Australia", "Norway", "Italy", "Channel Islands", "Finland", "Cyprus",
    "Sweden", "Denmark", "Japan", "Poland", "USA", "Austria",
]  # fmt: skip
_BAD_DATES = ["31/12/2010 8:26", "unknown", "13/45/2010 25:61"]
EMPTY_ROWS = 10


def default_csv(lines: int, seed: int) -> Path:
    return DATA_DIR / f"online-retail-{lines}-seed{seed}.csv"


def generate_csv(path: Path, lines: int, seed: int = 42) -> None:
    """Write the UCI-style CSV of exactly ``lines`` data rows (deterministic in ``seed``)."""
    import duckdb

    n_inv = lines // 12 + 20  # more invoices than needed (~19.5 lines each): cut at `lines`
    params = {
        "seed": seed,
        "n_inv": n_inv,
        "lines": lines,
        "n_cust": max(20, lines // 170),
        "n_prod": max(50, min(4_000, lines // 50)),
        "empty_every": max(1, lines // (EMPTY_ROWS * 25)),
        "empty_rows": EMPTY_ROWS,
        "adj": _ADJECTIVES,
        "col": _COLOURS,
        "noun": _NOUNS,
        "countries": _COUNTRIES,
        "bad_dates": _BAD_DATES,
    }
    # h(x, tag) = uniform-ish integer from a hash of (x, seed, tag): the same file for the
    # same seed whatever the number of threads
    sql = """
    WITH inv AS (
        SELECT j, u(hash(j, $seed, 'kind')) % 10000 AS hk,
               u(hash(j, $seed, 'size')) % 1000 AS hs,
               u(hash(j, $seed, 'guest')) % 100 < 20 AS guest,
               12346 + u(hash(j, $seed, 'cust')) % $n_cust AS cust,
               TIMESTAMP '2009-12-01 07:45'
                 + to_minutes(CAST(j * 1062000 // $n_inv AS BIGINT)) AS ts
        FROM range($n_inv) AS t(j)
    ), inv2 AS (
        SELECT *,
               CASE WHEN hk < 200 THEN 'cancel' WHEN hk < 250 THEN 'return'
                    WHEN hk < 256 THEN 'adjust' WHEN hk < 286 THEN 'mixed'
                    ELSE 'sale' END AS kind
        FROM inv
    ), inv3 AS (
        SELECT *,
               CASE kind WHEN 'cancel' THEN 1 + hs % 3 WHEN 'return' THEN 1 + hs % 2
                         WHEN 'adjust' THEN 1 ELSE 1 + hs % 39 END AS size
        FROM inv2
    ), line AS (
        SELECT inv3.*, unnest(range(size)) AS k FROM inv3
    ), line2 AS (
        SELECT *,
               CAST(floor($n_prod * pow((u(hash(j, k, $seed, 'p')) % 1000000) / 1e6, 2))
                    AS INTEGER) AS p,
               u(hash(j, k, $seed, 'q')) % 10000 AS hq,
               u(hash(j, k, $seed, 'x')) % 100000 AS hx
        FROM line
    ), rows AS (
        SELECT j, k, 0 AS copy,
               CASE kind WHEN 'cancel' THEN 'C' WHEN 'adjust' THEN 'A' ELSE '' END
                 || CAST(536365 + j AS VARCHAR) AS "Invoice",
               CASE WHEN kind = 'adjust' THEN 'B'
                    ELSE CAST(20000 + p AS VARCHAR) || CASE WHEN p % 9 = 0 THEN 'A' ELSE '' END
               END AS "StockCode",
               CASE WHEN kind = 'adjust' THEN 'Adjust bad debt'
                    WHEN hx % 1000 < 2 THEN NULL
                    ELSE $adj[1 + u(hash(p, 'a')) % len($adj)] || ' '
                      || $col[1 + u(hash(p, 'c')) % len($col)] || ' '
                      || $noun[1 + u(hash(p, 'n')) % len($noun)]
               END AS "Description",
               CAST((CASE WHEN kind = 'adjust' THEN 1
                          WHEN hq < 5 THEN 480 + hq * 500
                          ELSE 1 + hq % 24 END)
                    * (CASE WHEN kind IN ('cancel', 'return') OR (kind = 'mixed' AND k = 1)
                            THEN -1 ELSE 1 END) AS INTEGER) AS "Quantity",
               CASE WHEN hx < 3 THEN $bad_dates[1 + hx]
                    ELSE strftime(ts, '%-m/%-d/%Y %-H:%M') END AS "InvoiceDate",
               CAST(CASE WHEN kind = 'adjust' THEN -(1000 + u(hash(j, 'adj')) % 1000000) / 100
                         WHEN hq % 1000 = 7 THEN 0
                         ELSE 0.29 + (u(hash(p, $seed, 'price')) % 1500) / 100
                    END AS DECIMAL(10, 2)) AS "Price",
               CASE WHEN guest OR kind = 'adjust' THEN NULL
                    ELSE CAST(cust AS VARCHAR) || '.0' END AS "Customer ID",
               CASE WHEN guest OR kind = 'adjust'
                    THEN CASE WHEN u(hash(j, 'gc')) % 100 < 80 THEN 'United Kingdom'
                              ELSE $countries[1 + u(hash(j, 'gc2')) % len($countries)] END
                    WHEN u(hash(cust, 'cc')) % 100 < 90 THEN 'United Kingdom'
                    ELSE $countries[1 + u(hash(cust, 'cc2')) % len($countries)] END AS "Country",
               u(hash(j, k, $seed, 'dup')) % 100 = 0 AS dup
        FROM line2
    ), everything AS (
        SELECT * EXCLUDE (dup) FROM rows
        UNION ALL SELECT j, k, 1, * EXCLUDE (j, k, copy, dup) FROM rows WHERE dup
        UNION ALL
        SELECT m * $empty_every, 1000, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM range(1, $empty_rows + 1) AS e(m)
    )
    SELECT * EXCLUDE (j, k, copy) FROM everything ORDER BY j, k, copy LIMIT $lines
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("CREATE TEMP MACRO u(h) AS CAST(h >> 2 AS BIGINT)")  # hash: UBIGINT
        con.execute(f"CREATE TEMP TABLE retail AS {sql}", params)
        con.execute(f"COPY retail TO '{tmp}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    os.replace(tmp, path)


# --- workers (each in its own process) -------------------------------------------------


def worker_ours(csv: Path, store: Path, memory_limit: str | None) -> dict[str, Any]:
    # import_file imports the readers on first use: import them here, untimed, as the
    # baseline's pandas is imported before its clock starts
    import shoplens.ingest.readers  # noqa: F401
    from shoplens.ingest import PRESETS, ImportOptions, import_file

    opts = ImportOptions() if memory_limit is None else ImportOptions(memory_limit=memory_limit)
    c0, t0 = time.process_time(), time.perf_counter()
    (report,) = import_file(csv, store, PRESETS["order-lines"], opts)
    seconds = time.perf_counter() - t0
    return {
        "side": "ours",
        "seconds": seconds,
        "cpu_seconds": time.process_time() - c0,
        "counts": report.counts(),
        "date_format": report.date_format,
    }


def worker_baseline(csv: Path, store: Path) -> dict[str, Any]:
    from benchmarks.baselines import pandas_import as pi

    c0, t0 = time.process_time(), time.perf_counter()
    result = pi.clean(csv)
    t1 = time.perf_counter()
    pi.write(result.frames, store)
    seconds = time.perf_counter() - t0
    return {
        "side": "baseline",
        "seconds": seconds,
        "cpu_seconds": time.process_time() - c0,
        "clean_seconds": t1 - t0,
        "write_seconds": seconds - (t1 - t0),
        "counts": result.counts,
    }


def warm(path: Path, chunk: int = 1 << 24) -> None:
    """Read ``path`` once so that neither side pays the cold read from disk (ours runs
    first: it would otherwise be the one to pay it)."""
    with path.open("rb") as f:
        while f.read(chunk):
            pass


# --- agreement of the stored tables ----------------------------------------------------


# per table: key, then (column, SQL comparing o.col and b.col) pairs
_TABLE_CHECKS: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "orders": (
        ["order_id"],
        [
            ("customer_id", "o.customer_id IS NOT DISTINCT FROM b.customer_id"),
            ("status", "o.status = b.status"),
            ("order_ts", "CAST(o.order_ts AS TIMESTAMP) = CAST(b.order_ts AS TIMESTAMP)"),
        ],
    ),
    "order_items": (
        ["order_id", "line_no"],
        [
            ("product_id", "o.product_id = b.product_id"),
            ("quantity", "o.quantity = b.quantity"),
            ("unit_price", "abs(CAST(o.unit_price AS DOUBLE) - b.unit_price) < 0.005"),
        ],
    ),
    "customers": (
        ["customer_id"],
        [
            ("signup_ts", "CAST(o.signup_ts AS TIMESTAMP) = CAST(b.signup_ts AS TIMESTAMP)"),
            ("country", "o.country = b.country"),
        ],
    ),
    "products": (
        ["product_id"],
        [
            ("name", "o.name = b.name"),
            ("unit_price", "abs(CAST(o.unit_price AS DOUBLE) - b.unit_price) < 0.005"),
        ],
    ),
}


def _table_check(con: Any, table: str) -> Check:
    key, cols = _TABLE_CHECKS[table]
    using = ", ".join(key)
    diffs = ", ".join(
        f"count(*) FILTER (WHERE o_in AND b_in AND NOT coalesce({cond}, false))" for _, cond in cols
    )
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE o_in), count(*) FILTER (WHERE b_in),"
        f" count(*) FILTER (WHERE o_in IS DISTINCT FROM b_in), {diffs}"
        f" FROM (SELECT *, true AS o_in FROM o.{table}) AS o"
        f" FULL JOIN (SELECT *, true AS b_in FROM b.{table}) AS b USING ({using})"
    ).fetchone()
    n_o, n_b, one_side, *col_diffs = (int(x or 0) for x in row)
    problems = [f"rows: ours {n_o:,} vs pandas {n_b:,}"] if n_o != n_b else []
    if one_side:
        problems.append(f"{one_side:,} keys on one side only")
    problems += [f"{c}: {d:,} differ" for (c, _), d in zip(cols, col_diffs, strict=True) if d]
    compared = ", ".join(c for c, _ in cols)
    detail = "; ".join(problems) or f"every row, by {'+'.join(key)}: {compared}"
    return Check(table, n_o, detail, not problems)


def _net_revenue(con: Any, side: str) -> float:
    row = con.execute(
        f"SELECT sum(i.quantity * i.unit_price) FROM {side}.order_items AS i"
        f" JOIN {side}.orders AS r USING (order_id) WHERE r.status = 'completed'"
    ).fetchone()
    return float(row[0])


def compare(ours_store: Path, base_store: Path) -> tuple[list[Check], dict[str, float]]:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{ours_store}' AS o (READ_ONLY)")
        con.execute(f"ATTACH '{base_store}' AS b (READ_ONLY)")
        checks = [_table_check(con, t) for t in ("orders", "order_items", "customers", "products")]
        rev = {"ours": _net_revenue(con, "o"), "baseline": _net_revenue(con, "b")}
    finally:
        con.close()
    diff = abs(rev["ours"] - rev["baseline"])
    checks.append(
        Check(
            "net revenue (completed)",
            1,
            f"ours {rev['ours']:,.2f} vs pandas {rev['baseline']:,.2f} (diff {diff:.2g})",
            diff < 0.01,
        )
    )
    return checks, rev


# quality count: (ours report field, baseline count name); None: not counted on that side
QUALITY_ROWS: list[tuple[str, str | None, str | None]] = [
    ("rows read", "rows_read", "rows_read"),
    ("empty rows dropped", "empty_rows", "empty_rows"),
    ("exact duplicates dropped", "duplicate_rows", "duplicate_rows"),
    ("dates parsed", "dates_parsed", "dates_parsed"),
    ("unparseable dates dropped", "unparseable_values", "unparseable_dates"),
    ("bad rows (all reasons)", "bad_rows", None),
    ("negative prices dropped", "negative_price_rows", "negative_price_rows"),
    ("mixed-sign lines dropped", "mixed_sign_lines", "mixed_sign_lines"),
    ("lines", "lines", "lines"),
    ("orders", "orders", "orders"),
    ("  completed", "completed_orders", "completed_orders"),
    ("  cancelled (C invoices)", "cancelled_orders", "cancelled_orders"),
    ("  returned (all negative)", "returned_orders", "returned_orders"),
    ("  guest orders", "guest_orders", "guest_orders"),
    ("customers", "customers", "customers"),
    ("products", "products", "products"),
    ("zero prices (kept)", "zero_price_lines", None),
    ("quantity outliers (kept)", "quantity_outliers", None),
    ("price outliers (kept)", "price_outliers", None),
]


def quality_rows(ours: dict[str, Any], base: dict[str, Any]) -> tuple[list[list[str]], bool]:
    rows, ok = [], True
    for label, o_key, b_key in QUALITY_ROWS:
        o = ours.get(o_key) if o_key else None
        b = base.get(b_key) if b_key else None
        same = "" if o is None or b is None else ("=" if o == b else "DIFFERS")
        ok = ok and same != "DIFFERS"
        rows.append(
            [label, "-" if o is None else fmt_int(o), "-" if b is None else fmt_int(b), same]
        )
    return rows, ok


# --- driver ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = base_parser(__doc__, quick_help="smoke run on 100,000 lines")
    ap.add_argument("--lines", type=int, default=None, help="CSV data rows (default 1,000,000)")
    ap.add_argument("--csv", type=Path, default=None, help="input CSV (generated if missing)")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the CSV first")
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    ap.add_argument(
        "--memory-limit", default=None, help="DuckDB memory limit of our import (e.g. 1GB)"
    )
    ap.add_argument(
        "--no-baseline", action="store_true", help="run ours only (large files: pandas OOM)"
    )
    args = ap.parse_args(argv)
    if args.lines is None:
        args.lines = QUICK_LINES if args.quick else FULL_LINES
    if args.csv is None:
        args.csv = default_csv(args.lines, args.seed)
    return args


def _report_ours_only(
    args: argparse.Namespace, ours: dict[str, Any], store_mb: float, size_mb: float
) -> int:
    print()
    print(f"input: {args.csv} ({fmt_int(args.lines)} lines, {size_mb:,.0f} MB)")
    print_table(
        ["side", "wall s", "CPU s", "peak RSS MB", "store MB", "lines"],
        [
            [
                "ours (import_file -> DuckDB store)",
                f"{ours['seconds']:.2f}",
                f"{ours['cpu_seconds']:.2f}",
                f"{ours['peak_rss_mb']:.0f}",
                f"{store_mb:.0f}",
                fmt_int(ours["counts"]["lines"]),
            ]
        ],
    )
    print("(pandas baseline not run: --no-baseline)")
    print(
        f"our peak RSS: {ours['peak_rss_mb']:.0f} MB  [target < {TARGET_RSS_MB:.0f} MB:"
        f" {verdict(ours['peak_rss_mb'] < TARGET_RSS_MB)}]"
    )
    write_json(args.out, {"benchmark": "import", "lines": args.lines, "ours": ours})
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if run_as_worker(
        args.worker,
        {
            "ours": lambda: worker_ours(args.csv, args.store, args.memory_limit),
            "baseline": lambda: worker_baseline(args.csv, args.store),
        },
    ):
        return 0

    if args.regenerate or not args.csv.exists():
        print(f"generating {args.lines:,} lines into {args.csv} ...", flush=True)
        t0 = time.perf_counter()
        generate_csv(args.csv, args.lines, args.seed)
        print(f"  done in {time.perf_counter() - t0:.1f} s")
    size_mb = args.csv.stat().st_size / 2**20
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # the stores are written next to the data

    warm(args.csv)
    with tempfile.TemporaryDirectory(dir=DATA_DIR) as tmp:
        ours_store, base_store = Path(tmp) / "ours.duckdb", Path(tmp) / "pandas.duckdb"
        print(f"ours: shoplens import --preset order-lines {args.csv.name} ...", flush=True)
        limit = ["--memory-limit", args.memory_limit] if args.memory_limit else []
        ours = run_worker(
            SCRIPT,
            ["--worker", "ours", "--csv", str(args.csv), "--store", str(ours_store), *limit],
        )
        if args.no_baseline:
            return _report_ours_only(args, ours, ours_store.stat().st_size / 2**20, size_mb)
        print("baseline: pandas read_csv + cleaning + groupby -> DuckDB file ...", flush=True)
        base = run_worker(
            SCRIPT, ["--worker", "baseline", "--csv", str(args.csv), "--store", str(base_store)]
        )
        checks, revenue = compare(ours_store, base_store)
        store_mb = {
            "ours": ours_store.stat().st_size / 2**20,
            "baseline": base_store.stat().st_size / 2**20,
        }

    ratio = base["seconds"] / ours["seconds"]
    print()
    print(
        f"input: {args.csv} ({fmt_int(args.lines)} lines, {size_mb:,.0f} MB); dates US"
        f" month-first; ours detected: {ours['date_format']}"
    )
    print()
    print_table(
        ["side", "wall s", "CPU s", "peak RSS MB", "store MB"],
        [
            [
                "ours (import_file -> DuckDB store)",
                f"{ours['seconds']:.2f}",
                f"{ours['cpu_seconds']:.2f}",
                f"{ours['peak_rss_mb']:.0f}",
                f"{store_mb['ours']:.0f}",
            ],
            [
                "pandas (read_csv + clean + groupby -> DuckDB)",
                f"{base['seconds']:.2f}",
                f"{base['cpu_seconds']:.2f}",
                f"{base['peak_rss_mb']:.0f}",
                f"{store_mb['baseline']:.0f}",
            ],
        ],
    )
    print(
        f"(pandas: read + clean {base['clean_seconds']:.2f} s, write {base['write_seconds']:.2f} s;"
        f" DuckDB may use all {os.cpu_count()} cores, pandas mostly one: CPU seconds are"
        " printed because these machines are shared; the target uses wall time)"
    )
    print()
    q_rows, q_ok = quality_rows(ours["counts"], base["counts"])
    print_table(["quality count", "ours (report)", "pandas", ""], q_rows)
    print()
    all_ok = print_checks(checks) and q_ok
    print()
    print(f"results agree: {'yes' if all_ok else 'NO (see above)'}")
    print(f"speed ratio (pandas / ours, wall): {ratio:.1f}x")
    target_note = "" if args.lines == FULL_LINES else f" (target is for {FULL_LINES:,} lines)"
    print(
        f"our peak RSS: {ours['peak_rss_mb']:.0f} MB, pandas {base['peak_rss_mb']:.0f} MB"
        f"  [target < {TARGET_RSS_MB:.0f} MB: {verdict(ours['peak_rss_mb'] < TARGET_RSS_MB)}]"
    )
    print(
        f"our import: {ours['seconds']:.2f} s  [target <= {TARGET_SECONDS:.0f} s:"
        f" {verdict(ours['seconds'] <= TARGET_SECONDS)}]{target_note}"
    )
    write_json(
        args.out,
        {
            "benchmark": "import",
            "csv": str(args.csv),
            "lines": args.lines,
            "ours": ours,
            "baseline": base,
            "ratio": ratio,
            "net_revenue": revenue,
            "store_mb": store_mb,
            "checks": [c.__dict__ for c in checks],
            "results_agree": all_ok,
        },
    )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
