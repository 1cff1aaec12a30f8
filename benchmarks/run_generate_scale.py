"""Time `generate_into` at scale: wall time, order lines per second, peak RSS.

    .venv/bin/python benchmarks/run_generate_scale.py --customers 1000000 [--repeat 2]

Writes a temporary store (deleted afterwards) through ``store.write_new_store`` exactly
like ``shoplens generate`` does, and prints one line per run plus per-stage seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import peak_rss_mb
from benchmarks._simulator import GeneratedStore, generate_store
from shoplens.generate import SimulationParams, simulator


def run_once(params: SimulationParams, path: Path) -> tuple[GeneratedStore, list[str]]:
    """One timed generation into ``path``, plus one line per progress call."""
    stages: list[str] = []
    t_stage = [time.perf_counter()]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages.append(f"{stage} {done}/{total} +{now - t_stage[0]:.2f}s")
        t_stage[0] = now

    return generate_store(path, params, progress), stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--chunk-size", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-events", action="store_true", help="skip the clickstream")
    ap.add_argument("--event-days", type=int, default=30)
    ap.add_argument(
        "--sequential", action="store_true", help="generate and load in one thread (no overlap)"
    )
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.sequential:
        simulator._in_background = lambda items, depth=3: items
    params = SimulationParams(
        customers=args.customers,
        chunk_size=args.chunk_size,
        seed=args.seed,
        events=not args.no_events,
        event_days=args.event_days,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        for i in range(args.repeat):
            run, stages = run_once(params, path)
            summary, wall = run.summary, run.seconds
            lines = summary.rows.get("order_items", 0)
            size_mb = path.stat().st_size / 1e6
            print(
                f"run {i + 1}: events={params.events} customers={args.customers:,} "
                f"wall={wall:.2f}s "
                f"(generate+load {summary.seconds['generate']:.2f}s, "
                f"keys {summary.seconds['keys']:.2f}s, checkpoint/rename "
                f"{run.checkpoint_seconds:.2f}s) order_lines={lines:,} "
                f"({lines / wall / 1e6:.2f}M lines/s) file={size_mb:.0f}MB "
                # the process' peak so far: with --repeat, the largest run's
                f"peak_rss={peak_rss_mb():,.0f}MB cpu={run.cpu_seconds:.1f}s "
                f"loadavg={os.getloadavg()[0]:.1f}"
            )
            print("  rows:", dict(summary.rows))
            if args.verbose:
                for s in stages:
                    print("  ", s)


if __name__ == "__main__":
    main()
