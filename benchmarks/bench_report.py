"""Report generation and dashboard first view on a large store, against pandas.

Report: ``shoplens.report.write_report`` (every table in DuckDB, one HTML file) against
the pandas baseline computing part of the report's tables (KPIs total, by month and by
category; RFM segments; cohorts; ours also does country, hour, weekday, age group,
channel and draws the HTML) from DataFrames loaded from the store (the load is timed
too: a pandas report has to do it).

Dashboard: the overview page's data for its default view (the last 90 days vs the 90
before, by month, country and category) on a fresh read-only connection with cold
caches, against pandas loading orders, lines, customers and products and aggregating
the same numbers. Then, unless ``--no-browser``: ``shoplens dashboard`` started on a
free loopback port and driven by headless Chromium: seconds from the server answering
``/_stcore/health`` to the first KPI tile drawn (the target is 2 s), and after a filter.

Each side runs in its own process (peak RSS is its own); the ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    DATA_DIR,
    base_parser,
    fmt_int,
    print_table,
    run_as_worker,
    run_worker,
    verdict,
    write_json,
)

SCRIPT = Path(__file__).resolve()
FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 50_000
FIRST_VIEW_TARGET_S = 2.0


def default_store(customers: int, seed: int) -> Path:
    return DATA_DIR / f"report-{customers}-seed{seed}.duckdb"


def _period(store: Path) -> tuple[date, date]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        ((last,),) = con.execute("SELECT CAST(max(order_ts) AS DATE) FROM orders").fetchall()
    finally:
        con.close()
    return last - timedelta(days=89), last


# --- workers -----------------------------------------------------------------------------


def worker_report_ours(store: Path) -> dict[str, Any]:
    from shoplens.report import build_report, collect

    t0 = time.perf_counter()
    c0 = time.process_time()
    data = collect(store)
    t1 = time.perf_counter()
    html, sections = build_report(data)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "report.html").write_text(html, encoding="utf-8")
    t2 = time.perf_counter()
    return {
        "side": "ours",
        "seconds": t2 - t0,
        "collect_seconds": t1 - t0,
        "render_seconds": t2 - t1,
        "cpu_seconds": time.process_time() - c0,
        "html_mb": round(len(html.encode()) / 1e6, 2),
        "charts": sum(1 for s in sections for b in s.blocks if type(b).__name__ == "Chart"),
        "net_revenue": data.kpis["net_revenue"],
    }


def worker_report_baseline(store: Path) -> dict[str, Any]:
    import duckdb

    from benchmarks.baselines import pandas_analytics as pda

    t0 = time.perf_counter()
    c0 = time.process_time()
    con = duckdb.connect(str(store), read_only=True)
    try:
        frames = pda.load_frames(con)
    finally:
        con.close()
    t1 = time.perf_counter()
    total = pda.kpis(frames)
    for by in ("month", "category"):  # the baseline's breakdowns (ours has 7)
        pda.kpis(frames, by=by)
    assigned = pda.segments(frames)
    pda.segment_summary(assigned, "rfm")
    pda.cohort_matrix(frames)
    t2 = time.perf_counter()
    return {
        "side": "baseline",
        "seconds": t2 - t0,
        "load_seconds": t1 - t0,
        "compute_seconds": t2 - t1,
        "cpu_seconds": time.process_time() - c0,
        "net_revenue_all_time": float(total["net_revenue"].iloc[0]),
    }


def worker_overview_ours(store: Path) -> dict[str, Any]:
    from shoplens.analytics.explore import Filters, compare_periods, slice_kpis
    from shoplens.dashboard.store_access import with_store

    start, end = _period(store)
    f = Filters(start, end)
    t0 = time.perf_counter()

    def run(con: Any) -> dict[str, Any]:
        return {
            "compare": compare_periods(con, f),
            "month": slice_kpis(con, f, by="month"),
            "country": slice_kpis(con, f, by="country"),
            "category": slice_kpis(con, f, by="category"),
        }

    res = with_store(str(store), "UTC", run)
    seconds = time.perf_counter() - t0
    return {
        "side": "ours",
        "seconds": seconds,
        "net_revenue": res["compare"].column("net_revenue")[0].as_py(),
    }


def worker_overview_baseline(store: Path) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    start, end = _period(store)
    t0 = time.perf_counter()
    con = duckdb.connect(str(store), read_only=True)
    try:

        def read(sql: str) -> pd.DataFrame:
            df: pd.DataFrame = con.sql(sql).to_arrow_table().to_pandas()
            return df

        orders = read(
            "SELECT order_id, customer_id, order_ts, status, discount::DOUBLE AS discount"
            " FROM orders"
        )
        items = read(
            "SELECT order_id, product_id, quantity, unit_price::DOUBLE AS unit_price,"
            " discount::DOUBLE AS discount FROM order_items"
        )
        customers = read("SELECT customer_id, country FROM customers")
        products = read("SELECT product_id, category FROM products")
    finally:
        con.close()
    items["net"] = items["quantity"] * items["unit_price"] - items["discount"]
    per_order = items.groupby("order_id", as_index=False)["net"].sum()
    o = orders.merge(per_order, on="order_id", how="left").fillna({"net": 0.0})
    o["net"] -= o["discount"]
    o["day"] = o["order_ts"].dt.tz_convert("UTC").dt.date
    prev = start - timedelta(days=(end - start).days + 1)
    cur = o[(o["day"] >= start) & (o["day"] <= end) & (o["status"] == "completed")]
    before = o[(o["day"] >= prev) & (o["day"] < start) & (o["status"] == "completed")]
    revenue = round(float(cur["net"].sum()), 2)
    float(before["net"].sum())
    cur.groupby(cur["order_ts"].dt.strftime("%Y-%m"))["net"].sum()
    cur.merge(customers, on="customer_id", how="left").groupby("country")["net"].sum()
    lines = items.merge(products, on="product_id", how="left")
    lines[lines["order_id"].isin(cur["order_id"])].groupby("category")["net"].sum()
    return {"side": "baseline", "seconds": time.perf_counter() - t0, "net_revenue": revenue}


# --- the dashboard in a browser ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_first_view(store: Path) -> dict[str, Any]:
    """Start ``shoplens dashboard``; seconds from healthy to the first tile, and a filter."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    exe = Path(sys.executable).parent / "shoplens"
    proc = subprocess.Popen(
        [str(exe), "dashboard", "--store", str(store), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        t_start = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                time.sleep(0.1)
            if time.perf_counter() - t_start > 120:
                raise TimeoutError("dashboard did not start")
        startup = time.perf_counter() - t_start
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1366, "height": 900})
            t0 = time.perf_counter()
            page.goto(url)
            page.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=120_000)
            first = time.perf_counter() - t0
            tile = page.locator('[data-testid="stMetricValue"]').first
            before = tile.inner_text()
            page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
            page.get_by_role("option", name="DE", exact=True).click()  # simulated countries
            page.keyboard.press("Escape")
            t1 = time.perf_counter()
            page.wait_for_function(
                "t => document.querySelector('[data-testid=\"stMetricValue\"]').innerText !== t",
                arg=before,
                timeout=120_000,
            )
            after_filter = time.perf_counter() - t1
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"server_start_s": startup, "first_view_s": first, "filter_s": after_filter}


# --- driver ----------------------------------------------------------------------------------


def ensure_store(store: Path, customers: int, seed: int) -> None:
    """Generate the store if missing, and compute its segments (the dashboard's filter)."""
    from shoplens import analytics, generate
    from shoplens.store import open_store, write_result

    if not store.exists():
        print(f"generating {customers:,} customers into {store} ...", flush=True)
        store.parent.mkdir(parents=True, exist_ok=True)
        params = generate.SimulationParams(customers=customers, seed=seed, events=False)
        generate.generate_store(store, params)
    con = open_store(store)
    try:
        have = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "customer_segments" not in have:
            print("computing segments ...", flush=True)
            write_result(con, "customer_segments", analytics.assign_segments(con))
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = base_parser(__doc__, quick_help=f"smoke run on {QUICK_CUSTOMERS:,} customers")
    ap.add_argument("--customers", type=int, default=None, help="store size (customers)")
    ap.add_argument("--store", type=Path, default=None, help="store to use (else generated)")
    ap.add_argument("--part", choices=["report", "overview"], help=argparse.SUPPRESS)
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium first view")
    args = ap.parse_args(argv)
    if args.customers is None:
        args.customers = QUICK_CUSTOMERS if args.quick else FULL_CUSTOMERS
    store = args.store or default_store(args.customers, args.seed)
    workers = {
        ("report", "ours"): lambda: worker_report_ours(store),
        ("report", "baseline"): lambda: worker_report_baseline(store),
        ("overview", "ours"): lambda: worker_overview_ours(store),
        ("overview", "baseline"): lambda: worker_overview_baseline(store),
    }
    if args.worker is not None and run_as_worker(
        args.worker, {args.worker: workers[(args.part, args.worker)]}
    ):
        return 0
    ensure_store(store, args.customers, args.seed)
    common = ["--store", str(store), "--seed", str(args.seed)]
    results: dict[str, Any] = {}
    for part in ("report", "overview"):
        for side in ("ours", "baseline"):
            print(f"{part}: {side} ...", flush=True)
            results[f"{part}_{side}"] = run_worker(
                SCRIPT, ["--worker", side, "--part", part, *common]
            )
    browser = None
    if not args.no_browser and os.path.exists("/usr/bin/chromium"):
        print("dashboard in Chromium ...", flush=True)
        browser = browser_first_view(store)
    ro, rb = results["report_ours"], results["report_baseline"]
    oo, ob = results["overview_ours"], results["overview_baseline"]
    print()
    print(f"store: {store} ({store.stat().st_size / 1e9:.2f} GB)")
    print_table(
        ["step (wall s)", "ours", "pandas", "pandas / ours", "ours RSS MB", "pandas RSS MB"],
        [
            [
                "report (all tables + HTML)",
                f"{ro['seconds']:.2f}",
                f"{rb['seconds']:.2f}",
                f"{rb['seconds'] / ro['seconds']:.1f}x",
                f"{ro['peak_rss_mb']:.0f}",
                f"{rb['peak_rss_mb']:.0f}",
            ],
            [
                "  of which tables",
                f"{ro['collect_seconds']:.2f}",
                f"{rb['load_seconds']:.2f} load + {rb['compute_seconds']:.2f}",
                "",
                "",
                "",
            ],
            [
                "dashboard overview data (cold)",
                f"{oo['seconds']:.2f}",
                f"{ob['seconds']:.2f}",
                f"{ob['seconds'] / oo['seconds']:.1f}x",
                f"{oo['peak_rss_mb']:.0f}",
                f"{ob['peak_rss_mb']:.0f}",
            ],
        ],
    )
    agree = abs(oo["net_revenue"] - ob["net_revenue"]) < 0.01
    print(
        f"overview net revenue agrees: {'yes' if agree else 'NO'}"
        f" ({oo['net_revenue']:,.2f} vs {ob['net_revenue']:,.2f});"
        f" report: {ro['charts']} charts, {ro['html_mb']} MB HTML"
    )
    if browser is not None:
        ok = browser["first_view_s"] <= FIRST_VIEW_TARGET_S
        print(
            f"dashboard: server up in {browser['server_start_s']:.1f} s; first view"
            f" {browser['first_view_s']:.2f} s [target <= {FIRST_VIEW_TARGET_S:.0f} s:"
            f" {verdict(ok)}]; after a filter change {browser['filter_s']:.2f} s"
        )
    print(f"({fmt_int(os.cpu_count() or 0)} cores, shared: compare the ratio, not the seconds)")
    write_json(
        args.out, {"benchmark": "report", "store": str(store), **results, "browser": browser}
    )
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
