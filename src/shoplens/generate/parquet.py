"""The simulator into a partitioned Parquet dataset (``generate --format parquet``).

Chunks of customers are written as they are simulated, so the output can be far
larger than memory; the layout is the one ``shoplens export parquet`` writes
(:mod:`shoplens.engines.writer`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from shoplens.engines.writer import DatasetWriter
from shoplens.generate.params import GenerationSummary, SimulationParams
from shoplens.generate.simulator import Progress, generate_tables

__all__ = ["CHUNK", "generate_parquet"]

CHUNK = 50_000
"""Customers per written chunk (one random-number block of the simulator)."""


def generate_parquet(
    out: str | Path,
    params: SimulationParams,
    on_progress: Progress | None = None,
    *,
    force: bool = False,
) -> GenerationSummary:
    """Simulate a shop into the dataset folder ``out`` (atomic: all or nothing).

    Chunks hold at most :data:`CHUNK` customers (results do not depend on it). What
    still grows with ``customers`` is the simulator's first phase: every customer's
    order times, kept until the orders are numbered in time order (tens of bytes per
    order); everything else is written and released chunk by chunk.
    """
    params = dataclasses.replace(params, chunk_size=min(params.chunk_size, CHUNK))
    t0 = time.perf_counter()
    with DatasetWriter(out, force=force) as writer:
        for name, table in generate_tables(params, on_progress):
            writer.write(name, table)
        rows = dict(writer.rows)
    return GenerationSummary(rows=rows, seconds={"generate": time.perf_counter() - t0})
