"""Benchmark: a scale run of the Parquet path, DuckDB out-of-core vs Spark local[2].

Steps, each in its own subprocess with the peak memory of its whole process tree
sampled by psutil (the Spark JVM included; ``ru_maxrss`` and ``/usr/bin/time`` miss it):

1. generate: ``shoplens generate --format parquet`` of about ``--lines`` order lines
   (chunks of customers written as they are simulated);
2. DuckDB: the analyses (KPIs total and by month, segments, cohorts) on the whole
   dataset through ``--source`` views, under ``--memory-limit`` (spilling to disk);
3. Spark local[2]: the same analyses, on the first chunks of customers that fit the
   ``--spark-budget`` (a consistent smaller shop: whole customers with all their
   orders), with DuckDB timed on that same subset so the ratio compares like with like.

Default: 300,000 lines (a couple of minutes). The issue's run is ``--lines 100000000``.

    .venv/bin/python benchmarks/bench_spark.py [--lines N] [--memory-limit 2GB]
        [--spark-budget 600] [--dir PATH] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from benchmarks._common import REPO, WORKER_TAG, fmt_int, print_table, write_json

LINES_PER_CUSTOMER = 7.0  # simulator default over 365 days (measured: 14,019 / 2,000)
CHUNKS = 10  # the dataset is written in this many chunks of customers


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(args: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run ``python bench_spark.py --worker ...``; wall time, peak tree RSS, its result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src")])
    t0 = time.perf_counter()
    popen = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    proc = psutil.Process(popen.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(proc))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, _ = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for child in proc.children(recursive=True):
            child.kill()
        popen.kill()
        popen.communicate()
        done.set()
        return {"timed_out": True, "seconds": time.perf_counter() - t0, "peak_mb": peak / 2**20}
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - t0
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith(WORKER_TAG):
            result = json.loads(line[len(WORKER_TAG) :])
    if popen.returncode != 0 or not result:
        sys.stdout.write(out)
        raise RuntimeError(f"worker {' '.join(args)} failed (exit {popen.returncode})")
    return {**result, "seconds": seconds, "peak_mb": peak / 2**20}


# --- workers ------------------------------------------------------------------------


def _analyse(engine: Any) -> dict[str, Any]:
    from shoplens import analytics

    timings: dict[str, float] = {}
    t = time.perf_counter()
    total = analytics.compute_kpis(engine)
    timings["kpis"] = time.perf_counter() - t
    t = time.perf_counter()
    analytics.compute_kpis(engine, by="month")
    timings["kpis by month"] = time.perf_counter() - t
    t = time.perf_counter()
    seg = analytics.assign_segments(engine)
    timings["segments"] = time.perf_counter() - t
    t = time.perf_counter()
    analytics.cohort_matrix(engine)
    timings["cohorts"] = time.perf_counter() - t
    row = total.to_pylist()[0]
    return {
        "timings": timings,
        "orders": row["orders"],
        "net_revenue": row["net_revenue"],
        "customers": seg.num_rows,
    }


def worker(ns: argparse.Namespace) -> dict[str, Any]:
    if ns.worker == "generate":
        from shoplens.generate import SimulationParams, generate_parquet

        customers = max(100, round(ns.lines / LINES_PER_CUSTOMER))
        params = SimulationParams(
            customers=customers, days=365, seed=ns.seed, events=False,
            chunk_size=max(1, -(-customers // CHUNKS)),
        )  # fmt: skip
        summary = generate_parquet(ns.dir, params, force=True)
        return {"rows": summary.rows, "customers": customers}
    from shoplens.engines import open_source

    t0 = time.perf_counter()
    engine = open_source(
        ns.dir, engine=ns.worker, memory_limit=ns.memory_limit, master="local[2]",
        driver_memory=ns.driver_memory,
    )  # fmt: skip
    start = time.perf_counter() - t0
    result = _analyse(engine)
    engine.close()
    return {**result, "start_seconds": start}


def subset(root: Path, chunks: int, target: Path) -> None:
    """A dataset of the first ``chunks`` chunks of customers (links to their files)."""
    shutil.rmtree(target, ignore_errors=True)
    for file in root.rglob("*.parquet"):  # part-<chunk>-<i>.parquet; products: chunk 0
        if int(file.name.split("-")[1]) < chunks:
            dest = target / file.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(file)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=300_000, help="order lines to generate")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit")
    ap.add_argument("--driver-memory", default="2g", help="Spark driver memory (local mode)")
    ap.add_argument("--spark-budget", type=float, default=600, help="seconds for Spark")
    ap.add_argument("--dir", type=Path, default=None, help="dataset folder (default: temp)")
    ap.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    ap.add_argument("--worker", choices=["generate", "duckdb", "spark"], help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.worker:
        print(WORKER_TAG + json.dumps(worker(ns), default=str), flush=True)
        return
    tmp = Path(tempfile.mkdtemp(prefix="shoplens-bench-spark-"))
    root = ns.dir or tmp / "shop"
    common = ["--memory-limit", ns.memory_limit, "--driver-memory", ns.driver_memory]
    try:
        gen = run_measured(["--worker", "generate", "--lines", str(ns.lines), "--seed",
                            str(ns.seed), "--dir", str(root)])  # fmt: skip
        lines = gen["rows"]["order_items"]
        print(f"generate: {fmt_int(lines)} order lines, {fmt_int(gen['customers'])} customers"
              f" in {gen['seconds']:.1f} s, peak {gen['peak_mb']:.0f} MB")  # fmt: skip
        duck = run_measured(["--worker", "duckdb", "--dir", str(root), *common])
        # Spark on as many chunks of customers as fit the budget: try all, then halve
        chunks, spark, part = CHUNKS, None, root
        while chunks >= 1:
            part = root if chunks == CHUNKS else tmp / f"subset{chunks}"
            if part != root:
                subset(root, chunks, part)
            spark = run_measured(
                ["--worker", "spark", "--dir", str(part), *common], timeout=ns.spark_budget
            )
            if not spark.get("timed_out"):
                break
            print(f"spark: {chunks}/{CHUNKS} of the data did not finish in {ns.spark_budget} s")
            chunks //= 2
        assert spark is not None
        duck_same = (
            duck
            if part == root
            else run_measured(["--worker", "duckdb", "--dir", str(part), *common])
        )
        share = f"{chunks}/{CHUNKS}"
        rows = [
            ["generate (Parquet)", f"all {fmt_int(lines)} lines", f"{gen['seconds']:.1f}",
             f"{gen['peak_mb']:.0f}", ""],
            ["DuckDB, memory_limit " + ns.memory_limit, "all", f"{duck['seconds']:.1f}",
             f"{duck['peak_mb']:.0f}", ""],
        ]  # fmt: skip
        if not spark.get("timed_out"):
            if part != root:
                rows.append(["DuckDB (same subset)", share, f"{duck_same['seconds']:.1f}",
                             f"{duck_same['peak_mb']:.0f}", ""])  # fmt: skip
            ratio = spark["seconds"] / duck_same["seconds"]
            rows.append(["Spark local[2]", share, f"{spark['seconds']:.1f}",
                         f"{spark['peak_mb']:.0f}", f"{ratio:.1f}x DuckDB's time"])  # fmt: skip
            agree = (spark["orders"], spark["net_revenue"]) == (
                duck_same["orders"],
                duck_same["net_revenue"],
            )
            print(f"same totals on both engines: {agree} (orders {fmt_int(spark['orders'])})")
        print_table(["step", "data", "seconds", "peak MB (process tree)", "ratio"], rows)
        for name, res in (("DuckDB", duck_same), ("Spark", spark)):
            if "timings" in res:
                parts = ", ".join(f"{k} {v:.1f} s" for k, v in res["timings"].items())
                print(f"{name}: start {res['start_seconds']:.1f} s; {parts}")
        payload = {"lines": lines, "generate": gen, "duckdb": duck}
        payload.update(duckdb_subset=duck_same, spark=spark, spark_share=share)
        write_json(ns.out, payload)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
