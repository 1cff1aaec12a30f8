"""Shared datasets for the engine tests: one small simulated shop, written three ways.

The same seed and parameters give the same shop as a DuckDB store, as Parquet written
by ``generate --format parquet`` and as Parquet exported from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from shoplens.engines.writer import export_store
from shoplens.generate import SimulationParams, generate_into, generate_parquet
from shoplens.store import open_store, write_new_store

# Small but every dimension populated: guests, promos, cancellations, returns, several
# categories, channels and countries, 13 months (a year boundary and both DST changes).
PARAMS = SimulationParams(customers=400, days=400, seed=11, events=False)


@dataclass(frozen=True)
class Shop:
    store: Path
    generated: Path
    exported: Path


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    root = tmp_path_factory.mktemp("shop")
    store = root / "shop.duckdb"

    def build(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, PARAMS)

    write_new_store(store, build)
    generate_parquet(root / "generated", PARAMS)
    con = open_store(store, read_only=True)
    try:
        export_store(con, root / "exported")
    finally:
        con.close()
    return Shop(store, root / "generated", root / "exported")
