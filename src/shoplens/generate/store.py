"""Simulate a shop straight into a new store file (the one-liner for notebooks and tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from shoplens.generate.params import GenerationSummary, SimulationParams
from shoplens.generate.simulator import generate_into
from shoplens.store.db import write_new_store


def generate_store(
    path: str | Path, params: SimulationParams | None = None, *, overwrite: bool = False
) -> GenerationSummary:
    """Write a new store at ``path`` simulated with ``params`` (default: the demo shop).

    Atomic like ``shoplens generate``: on any error ``path`` is left as it was.
    """
    summary: list[GenerationSummary] = []

    def build(con: duckdb.DuckDBPyConnection) -> None:
        summary.append(generate_into(con, params or SimulationParams()))

    write_new_store(path, build, overwrite=overwrite)
    return summary[0]
