"""Our side of the generation: build a store file with shoplens' simulator, timed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb

from shoplens.generate import SimulationParams, generate_into
from shoplens.store import open_store, write_new_store
from shoplens.store.db import existing_tables


def generate_store(path: Path, customers: int, seed: int) -> dict[str, Any]:
    """Simulate ``customers`` customers (default days) into a new store at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    params = SimulationParams(customers=customers, seed=seed)
    c0, t0 = time.process_time(), time.perf_counter()
    stages: dict[str, float] = {}

    def build(con: duckdb.DuckDBPyConnection) -> None:
        summary = generate_into(con, params)
        stages.update(summary.seconds)
        stages["checkpoint_from"] = time.perf_counter()

    write_new_store(path, build, overwrite=True)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    stages["checkpoint+rename"] = time.perf_counter() - stages.pop("checkpoint_from")
    con = open_store(path, read_only=True)
    try:
        have = existing_tables(con)
        counts = {
            t: (con.execute(f'SELECT count(*) FROM "{t}"').fetchone() or (0,))[0]
            if t in have
            else 0
            for t in ("customers", "products", "orders", "order_items", "events", "truth_customers")
        }
    finally:
        con.close()
    return {
        "side": "ours",
        "store": str(path),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "customers": counts["customers"],
        "products": counts["products"],
        "orders": counts["orders"],
        "order_lines": counts["order_items"],
        "events": counts["events"],
        "all_rows": sum(counts.values()),
        "bytes": path.stat().st_size,
        "stage_seconds": stages,
    }
