"""Benchmark: shoplens analytics (SQL on DuckDB) vs the same with pandas groupby.

Steps, identical on both sides:

0. shared facts: the per-order and per-(order, category) facts every analysis reads
   (shoplens: ``analytics.facts.ensure_order_facts``/``ensure_line_facts``, TEMP tables
   built once per connection; pandas: the same frames, built once and cached);
1. KPIs: total, by month, by category (``compute_kpis`` x 3);
2. RFM + segments: per-customer RFM scores, named RFM segment and behavioural segment
   (``assign_segments``), then both segment summaries;
3. cohorts: the monthly acquisition cohort retention matrix (``cohort_matrix``).

Ours runs on the store connection (read-only). The pandas baseline
(``benchmarks/baselines/pandas_analytics.py``) starts from DataFrames already in
memory: they are loaded from the store once, *outside* the timing (the load time is
printed separately). Each side runs in its own subprocess (its own peak RSS); both
write their outputs to Parquet and this script checks they agree (net revenue to the
cent, counts exactly, RFM scores per customer, segment counts, cohort matrix) before
printing the speed ratio.

Default data: the store bench_generate.py writes at 1M customers (~10M order lines),
generated first if missing. Targets: ours >= 10x faster than pandas, <= 10 s total.

    .venv/bin/python benchmarks/bench_analytics.py [--store PATH] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from benchmarks._common import (
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
from benchmarks.bench_generate import FULL_CUSTOMERS, QUICK_CUSTOMERS, default_store

SCRIPT = Path(__file__).resolve()
GENERATE_SCRIPT = SCRIPT.parent / "bench_generate.py"
STEPS = ("shared facts", "kpis", "rfm+segments", "cohorts")
TARGET_RATIO = 10.0
TARGET_SECONDS = 10.0

# outputs written by each side, compared by the parent
OUTPUTS = (
    "kpis_total",
    "kpis_month",
    "kpis_category",
    "segments",
    "summary_rfm",
    "summary_behaviour",
    "cohorts",
)


# --- workers -----------------------------------------------------------------------------


def _timed(steps: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; record its wall seconds and (as ``cpu:<name>``) its process CPU seconds."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    steps[name] = time.perf_counter() - t0
    steps[f"cpu:{name}"] = time.process_time() - c0
    return result


def _totals(steps: dict[str, float]) -> dict[str, float]:
    return {
        "seconds": sum(steps[s] for s in STEPS),
        "cpu_seconds": sum(steps[f"cpu:{s}"] for s in STEPS),
    }


def worker_ours(store: Path, tz: str, out_dir: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from shoplens.analytics import assign_segments, cohort_matrix, compute_kpis, segment_summary
    from shoplens.analytics.facts import ensure_line_facts, ensure_order_facts
    from shoplens.store import open_store

    con = open_store(store, read_only=True, timezone=tz)
    steps: dict[str, float] = {}
    _timed(steps, "shared facts", lambda: (ensure_order_facts(con), ensure_line_facts(con)))
    kpis = _timed(
        steps,
        "kpis",
        lambda: (
            compute_kpis(con),
            compute_kpis(con, by="month"),
            compute_kpis(con, by="category"),
        ),
    )

    def segs() -> tuple[Any, Any, Any]:
        a = assign_segments(con)
        return a, segment_summary(a, "rfm"), segment_summary(a, "behaviour")

    seg = _timed(steps, "rfm+segments", segs)
    coh = _timed(steps, "cohorts", lambda: cohort_matrix(con))
    con.close()
    for name, table in zip(OUTPUTS, (*kpis, *seg, coh), strict=True):
        pq.write_table(table, out_dir / f"ours_{name}.parquet")
    return {"side": "ours", "steps": steps, **_totals(steps)}


def worker_baseline(store: Path, tz: str, out_dir: Path) -> dict[str, Any]:
    from benchmarks.baselines import pandas_analytics as pa_
    from shoplens.store import open_store

    con = open_store(store, read_only=True, timezone=tz)
    t0 = time.perf_counter()
    fr = pa_.load_frames(con, tz=tz)
    load_seconds = time.perf_counter() - t0
    con.close()
    steps: dict[str, float] = {}
    _timed(steps, "shared facts", lambda: (pa_.order_facts(fr), pa_.line_facts(fr)))
    kpis = _timed(
        steps,
        "kpis",
        lambda: (pa_.kpis(fr), pa_.kpis(fr, by="month"), pa_.kpis(fr, by="category")),
    )

    def segs() -> tuple[Any, Any, Any]:
        a = pa_.segments(fr)
        return a, pa_.segment_summary(a, "rfm"), pa_.segment_summary(a, "behaviour")

    seg = _timed(steps, "rfm+segments", segs)
    coh = _timed(steps, "cohorts", lambda: pa_.cohort_matrix(fr))
    rows = {"orders": len(fr.orders), "order_lines": len(fr.order_items)}
    for name, df in zip(OUTPUTS, (*kpis, *seg, coh), strict=True):
        df.to_parquet(out_dir / f"base_{name}.parquet", index=False)
    return {
        "side": "baseline",
        "steps": steps,
        **_totals(steps),
        "load_seconds": load_seconds,
        **rows,
    }


# --- result agreement --------------------------------------------------------------------


def _compare(
    name: str,
    ours: pd.DataFrame,
    base: pd.DataFrame,
    key: list[str],
    exact: list[str],
    close: dict[str, float],
    rel: list[str] | None = None,
) -> Check:
    """Join on ``key``; ``exact`` columns equal, ``close`` within an absolute tolerance,
    ``rel`` within 1e-9 relative (NaN == NaN)."""
    if len(ours) != len(base):
        return Check(name, len(ours), f"row counts differ: ours {len(ours)} vs {len(base)}", False)
    if key:
        m = ours.merge(base, on=key, how="outer", suffixes=("_o", "_b"), indicator=True)
        unmatched = int((m["_merge"] != "both").sum())
    else:
        m = ours.add_suffix("_o").join(base.add_suffix("_b"))
        unmatched = 0
    problems: list[str] = []
    if unmatched:
        problems.append(f"{unmatched} keys on one side only")
    for col in exact:
        diff = int((m[f"{col}_o"].astype(str) != m[f"{col}_b"].astype(str)).sum())
        if diff:
            problems.append(f"{col}: {diff} differ")
    worst: list[str] = []
    for col, tol in close.items():
        d = (m[f"{col}_o"].astype("float64") - m[f"{col}_b"].astype("float64")).abs()
        both_nan = m[f"{col}_o"].isna() & m[f"{col}_b"].isna()
        d = d.where(~both_nan, 0.0)
        mx = float(d.max()) if len(d) else 0.0
        if np.isnan(mx) or mx > tol:
            problems.append(f"{col}: max diff {mx:g} > {tol:g}")
        else:
            worst.append(f"{col} max diff {mx:.2g}")
    for col in rel or []:
        a = m[f"{col}_o"].astype("float64")
        b = m[f"{col}_b"].astype("float64")
        bad = ~(np.isclose(a, b, rtol=1e-9, atol=1e-12) | (a.isna() & b.isna()))
        if bad.any():
            problems.append(f"{col}: {int(bad.sum())} differ")
    ok = not problems
    n_cols = len(exact) + len(close) + len(rel or [])
    detail = "; ".join(problems) if problems else f"{n_cols} columns agree"
    if ok and worst:
        money = [w for w in worst if w.startswith(("net_revenue", "revenue"))]
        if money:
            detail += f" ({money[0]})"
    return Check(name, len(ours), detail, ok)


def compare(out_dir: Path) -> list[Check]:
    from benchmarks.baselines import pandas_analytics as pa_

    def load(side: str, name: str) -> pd.DataFrame:
        return pd.read_parquet(out_dir / f"{side}_{name}.parquet")

    counts = ["orders", "completed_orders", "cancelled_orders", "returned_orders", "customers"]
    money = [
        "gross_revenue",
        "discounts",
        "cancelled_revenue",
        "returned_revenue",
        "net_revenue",
        "new_customer_revenue",
        "returning_customer_revenue",
        "guest_revenue",
    ]
    rates = [c for c in pa_.KPI_COLUMNS if c not in counts and c not in money and c != "aov"]
    checks = []
    for name, key, money_tol in (
        ("kpis_total", [], 1e-6),
        ("kpis_month", ["month"], 1e-6),
        # category: an order discount is shared pro rata in double precision (kpis.py)
        ("kpis_category", ["category"], 0.01),
    ):
        checks.append(
            _compare(
                name,
                load("ours", name),
                load("base", name),
                key,
                counts,
                {**dict.fromkeys(money, money_tol), "aov": 0.01},
                rates,
            )
        )
    checks.append(
        _compare(
            "rfm + segments per customer",
            load("ours", "segments"),
            load("base", "segments"),
            ["customer_id"],
            [
                "recency_days",
                "frequency",
                "r_score",
                "f_score",
                "m_score",
                "rfm_score",
                "rfm_segment",
                "promo_orders",
                "spend_rank",
                "behaviour_segment",
            ],
            # DuckDB's epoch() is double seconds since 1970: ~1e-7 s resolution
            {"monetary": 1e-6, "avg_gap_days": 1e-6},
            ["promo_order_share"],
        )
    )
    for kind in ("rfm", "behaviour"):
        name = f"summary_{kind}"
        checks.append(
            _compare(
                f"segment summary ({kind})",
                load("ours", name),
                load("base", name),
                ["segment"],
                ["customers"],
                {"revenue": 1e-6, "avg_monetary": 0.01},
                ["share", "revenue_share", "avg_recency_days", "avg_frequency"],
            )
        )
    checks.append(
        _compare(
            "cohort matrix",
            load("ours", "cohorts"),
            load("base", "cohorts"),
            ["cohort", "months_since"],
            ["cohort_size", "active_customers"],
            {"revenue": 1e-6},
            ["value"],
        )
    )
    return checks


def headline(out_dir: Path) -> list[list[str]]:
    """A few headline numbers from both sides, side by side."""
    o = pd.read_parquet(out_dir / "ours_kpis_total.parquet").iloc[0]
    b = pd.read_parquet(out_dir / "base_kpis_total.parquet").iloc[0]
    oc = pd.read_parquet(out_dir / "ours_cohorts.parquet")
    bc = pd.read_parquet(out_dir / "base_cohorts.parquet")
    os_ = pd.read_parquet(out_dir / "ours_summary_rfm.parquet")
    bs = pd.read_parquet(out_dir / "base_summary_rfm.parquet")
    rows = [
        ["orders", fmt_int(o["orders"]), fmt_int(b["orders"])],
        ["net_revenue", f"{o['net_revenue']:,.2f}", f"{b['net_revenue']:,.2f}"],
        ["gross_revenue", f"{o['gross_revenue']:,.2f}", f"{b['gross_revenue']:,.2f}"],
        ["customers (completed order)", fmt_int(o["customers"]), fmt_int(b["customers"])],
        [
            "repeat_purchase_rate",
            f"{o['repeat_purchase_rate']:.6f}",
            f"{b['repeat_purchase_rate']:.6f}",
        ],
        [
            "cohorts / sum of cohort sizes",
            f"{oc['cohort'].nunique()} / {fmt_int(oc[oc.months_since == 0].cohort_size.sum())}",
            f"{bc['cohort'].nunique()} / {fmt_int(bc[bc.months_since == 0].cohort_size.sum())}",
        ],
    ]
    for _, r in os_.iterrows():
        other = bs[bs["segment"] == r["segment"]]["customers"]
        rows.append([f"segment {r['segment']}", fmt_int(r["customers"]), fmt_int(other.iloc[0])])
    return rows


def check_definitions() -> list[str]:
    """Differences between the baseline's copied definitions and shoplens' (should be none)."""
    from benchmarks.baselines import pandas_analytics as pa_
    from shoplens.analytics import KPI_DEFINITIONS, SegmentRules
    from shoplens.analytics.segments import BEHAVIOUR_SEGMENTS, RFM_SEGMENTS

    issues = []
    if tuple(KPI_DEFINITIONS) != pa_.KPI_COLUMNS:
        issues.append(f"KPI columns differ: {list(KPI_DEFINITIONS)} vs {list(pa_.KPI_COLUMNS)}")
    if tuple(RFM_SEGMENTS) != pa_.RFM_SEGMENTS:
        issues.append("RFM segment grid differs")
    if tuple(BEHAVIOUR_SEGMENTS) != pa_.BEHAVIOUR_SEGMENTS:
        issues.append("behavioural segment names differ")
    if SegmentRules().model_dump() != pa_.RULES:
        issues.append(f"segment rules differ: {SegmentRules().model_dump()} vs {pa_.RULES}")
    return issues


# --- driver ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = base_parser(__doc__, quick_help="smoke run on 100k customers")
    ap.add_argument("--store", type=Path, default=None, help="store to analyse")
    ap.add_argument(
        "--customers", type=int, default=None, help="size to generate if the store is missing"
    )
    ap.add_argument("--timezone", default="UTC", help="the shop's time zone")
    ap.add_argument("--regenerate", action="store_true", help="regenerate the store first")
    ap.add_argument("--results-dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.customers is None:
        args.customers = QUICK_CUSTOMERS if args.quick else FULL_CUSTOMERS
    if args.store is None:
        args.store = default_store(args.customers, args.seed)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if run_as_worker(
        args.worker,
        {
            "ours": lambda: worker_ours(args.store, args.timezone, args.results_dir),
            "baseline": lambda: worker_baseline(args.store, args.timezone, args.results_dir),
        },
    ):
        return 0

    if args.regenerate or not args.store.exists():
        print(f"generating {args.customers:,} customers into {args.store} ...", flush=True)
        gen = run_worker(
            GENERATE_SCRIPT,
            [
                *("--worker", "ours", "--customers", str(args.customers)),
                *("--seed", str(args.seed), "--store", str(args.store)),
            ],
        )
        print(f"  done in {gen['seconds']:.1f} s ({fmt_int(gen['order_lines'])} order lines)")

    issues = check_definitions()
    for issue in issues:
        print(f"WARNING: baseline definitions out of date: {issue}")

    with tempfile.TemporaryDirectory() as tmp:
        common = ["--store", str(args.store), "--timezone", args.timezone, "--results-dir", tmp]
        print(f"ours: shoplens.analytics on {args.store} ...", flush=True)
        ours = run_worker(SCRIPT, ["--worker", "ours", *common])
        print("baseline: pandas groupby on DataFrames in memory ...", flush=True)
        base = run_worker(SCRIPT, ["--worker", "baseline", *common])
        checks = compare(Path(tmp))
        heads = headline(Path(tmp))

    print()
    print(
        f"data: {fmt_int(base['orders'])} orders, {fmt_int(base['order_lines'])} order lines;"
        f" pandas load from the store (not timed below): {base['load_seconds']:.1f} s"
    )
    print()
    rows = []
    for step in STEPS:
        o, b = ours["steps"][step], base["steps"][step]
        oc, bc = ours["steps"][f"cpu:{step}"], base["steps"][f"cpu:{step}"]
        rows.append([step, f"{o:.2f}", f"{b:.2f}", f"{b / o:.1f}x", f"{oc:.2f}", f"{bc:.2f}"])
    ratio = base["seconds"] / ours["seconds"]
    o_cpu, b_cpu = ours["cpu_seconds"], base["cpu_seconds"]
    rows.append(
        [
            "total",
            f"{ours['seconds']:.2f}",
            f"{base['seconds']:.2f}",
            f"{ratio:.1f}x",
            f"{o_cpu:.2f}",
            f"{b_cpu:.2f}",
        ]
    )
    rows.append(
        ["peak RSS MB", f"{ours['peak_rss_mb']:.0f}", f"{base['peak_rss_mb']:.0f}"] + [""] * 3
    )
    print_table(
        ["step (wall s)", "ours (DuckDB)", "pandas", "pandas / ours", "ours CPU s", "pandas CPU s"],
        rows,
    )
    print(
        f"(DuckDB may use all {os.cpu_count()} cores, pandas uses one: CPU seconds are printed"
        " because these machines are shared; the targets use wall time)"
    )
    print()
    print_table(["headline", "ours", "pandas"], heads)
    print()
    all_ok = print_checks(checks) and not issues
    print()
    print(f"results agree: {'yes' if all_ok else 'NO (see above)'}")
    print(
        f"speed ratio (pandas / ours): {ratio:.1f}x  [target >= {TARGET_RATIO:.0f}x:"
        f" {verdict(ratio >= TARGET_RATIO)}]"
    )
    print(
        f"our total: {ours['seconds']:.2f} s  [target <= {TARGET_SECONDS:.0f} s:"
        f" {verdict(ours['seconds'] <= TARGET_SECONDS)}]"
    )
    write_json(
        args.out,
        {
            "benchmark": "analytics",
            "store": str(args.store),
            "ours": ours,
            "baseline": base,
            "ratio": ratio,
            "checks": [c.__dict__ for c in checks],
            "definition_issues": issues,
            "results_agree": all_ok,
        },
    )
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
