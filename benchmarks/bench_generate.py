"""Benchmark: shoplens' simulator vs a Faker-per-row tutorial generator.

Both sides run in the same invocation, each in its own subprocess (so each peak RSS is
its own ``ru_maxrss``):

- ours: ``write_new_store(path, lambda con: generate_into(con, params))`` at
  ``--customers`` (default 1,000,000 customers, the simulator's default 730 days), i.e.
  a real DuckDB file with keys checked and checkpointed;
- baseline (``benchmarks/baselines/faker_loop.py``): Faker called per row in a Python
  loop building dicts, ``pd.DataFrame(rows)``, ``to_csv``, at ``--baseline-customers``
  (it is far too slow for the full size) with the same lines per customer as ours.

The comparison is throughput (order lines per second); targets: ours >= 100x the
baseline, ours < 20 s and <= 4 GB peak RSS at 1M customers (~10M lines).

    .venv/bin/python benchmarks/bench_generate.py [--customers N] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
QUICK_CUSTOMERS = 100_000
TARGET_RATIO = 100.0
TARGET_SECONDS = 20.0  # at 1M customers
TARGET_RSS_MB = 4096.0


def default_store(customers: int, seed: int) -> Path:
    """Where the generated store is kept (bench_analytics reuses it)."""
    return DATA_DIR / f"shop-{customers}-seed{seed}.duckdb"


# --- workers (run in their own process) ----------------------------------------------


def worker_ours(customers: int, seed: int, store: Path) -> dict[str, Any]:
    from benchmarks._simulator import generate_store
    from shoplens.generate import SimulationParams

    run = generate_store(store, SimulationParams(customers=customers, seed=seed))
    rows = run.summary.rows
    return {
        "side": "ours",
        "store": str(store),
        "seconds": run.seconds,
        "cpu_seconds": run.cpu_seconds,
        "customers": rows.get("customers", 0),
        "products": rows.get("products", 0),
        "orders": rows.get("orders", 0),
        "order_lines": rows.get("order_items", 0),
        "events": rows.get("events", 0),
        "all_rows": sum(rows.values()),
        "bytes": store.stat().st_size,
        "stage_seconds": {**run.summary.seconds, "checkpoint+rename": run.checkpoint_seconds},
    }


def worker_baseline(customers: int, lines_per_customer: float, seed: int) -> dict[str, Any]:
    from benchmarks.baselines import faker_loop

    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = time.process_time(), time.perf_counter()
        cust, lines = faker_loop.generate(customers, lines_per_customer, seed)
        t1 = time.perf_counter()
        faker_loop.write(cust, lines, tmp)
        t2, c2 = time.perf_counter(), time.process_time()  # not the stat()s nor the cleanup
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    return {
        "side": "baseline",
        "customers": len(cust),
        "order_lines": len(lines),
        "seconds": t2 - t0,
        "cpu_seconds": c2 - c0,
        "generate_seconds": t1 - t0,
        "write_seconds": t2 - t1,
        "bytes": size,
    }


# --- driver ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = base_parser(__doc__, quick_help="smoke run: 100k customers, baseline 2,000")
    ap.add_argument("--customers", type=int, default=None, help="our size (default 1,000,000)")
    ap.add_argument(
        "--baseline-customers", type=int, default=None, help="baseline size (default 10,000)"
    )
    ap.add_argument("--store", type=Path, default=None, help="where to write our store")
    ap.add_argument("--lines-per-customer", type=float, default=10.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.customers is None:
        args.customers = QUICK_CUSTOMERS if args.quick else FULL_CUSTOMERS
    if args.baseline_customers is None:
        args.baseline_customers = 2_000 if args.quick else 10_000
    if args.store is None:
        args.store = default_store(args.customers, args.seed)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if run_as_worker(
        args.worker,
        {
            "ours": lambda: worker_ours(args.customers, args.seed, args.store),
            "baseline": lambda: worker_baseline(
                args.baseline_customers, args.lines_per_customer, args.seed
            ),
        },
    ):
        return 0

    common = ["--seed", str(args.seed)]
    print(f"ours: simulating {args.customers:,} customers into {args.store} ...", flush=True)
    ours = run_worker(
        SCRIPT,
        [
            "--worker",
            "ours",
            "--customers",
            str(args.customers),
            "--store",
            str(args.store),
            *common,
        ],
    )
    lpc = ours["order_lines"] / max(ours["customers"], 1)
    print(
        f"baseline: Faker loop, {args.baseline_customers:,} customers x {lpc:.2f} lines"
        " -> DataFrame -> to_csv ...",
        flush=True,
    )
    base = run_worker(
        SCRIPT,
        [
            "--worker",
            "baseline",
            "--baseline-customers",
            str(args.baseline_customers),
            "--lines-per-customer",
            f"{lpc:.6f}",
            *common,
        ],
    )

    for r in (ours, base):
        r["lines_per_s"] = r["order_lines"] / r["seconds"]
    ratio = ours["lines_per_s"] / base["lines_per_s"]
    base_extrapolated = ours["order_lines"] / base["lines_per_s"]

    print()
    print_table(
        [
            "side",
            "customers",
            "order lines",
            "events",
            "seconds",
            "CPU s",
            "lines/s",
            "peak RSS MB",
        ],
        [
            [
                "ours (simulator -> DuckDB file)",
                fmt_int(ours["customers"]),
                fmt_int(ours["order_lines"]),
                fmt_int(ours["events"]),
                f"{ours['seconds']:.2f}",
                f"{ours['cpu_seconds']:.2f}",
                fmt_int(ours["lines_per_s"]),
                f"{ours['peak_rss_mb']:.0f}",
            ],
            [
                "baseline (Faker loop -> to_csv)",
                fmt_int(base["customers"]),
                fmt_int(base["order_lines"]),
                "-",
                f"{base['seconds']:.2f}",
                f"{base['cpu_seconds']:.2f}",
                fmt_int(base["lines_per_s"]),
                f"{base['peak_rss_mb']:.0f}",
            ],
        ],
    )
    print()
    print(
        f"ours also wrote {fmt_int(ours['orders'])} orders, {fmt_int(ours['products'])} products,"
        f" {fmt_int(ours['events'])} events; store file {ours['bytes'] / 2**20:,.0f} MB"
    )
    base_rows = base["customers"] + base["order_lines"]
    print(
        f"all rows written (every table, incl. events and ground truth): ours"
        f" {fmt_int(ours['all_rows'])} ({fmt_int(ours['all_rows'] / ours['seconds'])}/s),"
        f" baseline {fmt_int(base_rows)} ({fmt_int(base_rows / base['seconds'])}/s)"
    )
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in ours["stage_seconds"].items())
    print(f"ours by stage: {stages}")
    print(
        f"baseline split: generate {base['generate_seconds']:.2f} s, to_csv"
        f" {base['write_seconds']:.2f} s; at its rate ours' {fmt_int(ours['order_lines'])}"
        f" lines would take {base_extrapolated / 60:,.1f} min"
    )
    print()
    full = args.customers >= FULL_CUSTOMERS
    print(
        f"throughput ratio (ours / baseline lines/s): {ratio:,.0f}x"
        f"  [target >= {TARGET_RATIO:.0f}x: {verdict(ratio >= TARGET_RATIO)}]"
    )
    cpu_ratio = (ours["order_lines"] / ours["cpu_seconds"]) / (
        base["order_lines"] / base["cpu_seconds"]
    )
    print(f"  (per CPU second, less sensitive to other load on the machine: {cpu_ratio:,.0f}x)")
    time_note = (
        f"[target < {TARGET_SECONDS:.0f} s at 1M customers: "
        f"{verdict(ours['seconds'] < TARGET_SECONDS)}]"
        if full
        else "[20 s target applies at 1M customers]"
    )
    print(f"our total time: {ours['seconds']:.2f} s  {time_note}")
    print(
        f"our peak RSS: {ours['peak_rss_mb']:,.0f} MB"
        f"  [target <= {TARGET_RSS_MB:.0f} MB: {verdict(ours['peak_rss_mb'] <= TARGET_RSS_MB)}]"
    )
    write_json(
        args.out,
        {
            "benchmark": "generate",
            "ours": ours,
            "baseline": base,
            "ratio_lines_per_s": ratio,
            "ratio_lines_per_cpu_s": cpu_ratio,
            "baseline_extrapolated_seconds": base_extrapolated,
            "ratio_all_rows_per_s": (ours["all_rows"] / ours["seconds"])
            / (base_rows / base["seconds"]),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
