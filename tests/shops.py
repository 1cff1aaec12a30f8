"""Small simulated shops shared by the report, dashboard and notebook tests."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shoplens import analytics, generate
from shoplens.store import open_store, write_result
from tests.contract_tables import write_model_tables, write_stream_tables


def simulated_store(path: Path, customers: int = 600, days: int = 400, seed: int = 3) -> Path:
    """A seeded shop without clickstream, with ``customer_segments`` computed."""
    params = generate.SimulationParams(customers=customers, days=days, seed=seed, events=False)
    generate.generate_store(path, params)
    con = open_store(path)
    try:
        write_result(con, "customer_segments", analytics.assign_segments(con))
    finally:
        con.close()
    return path


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 customers over 400 days, segments computed, no model or live tables."""
    return simulated_store(tmp_path_factory.mktemp("shop") / "shop.duckdb")


@pytest.fixture(scope="session")
def scored_shop(shop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``shop`` plus the model and stream tables of CONTRACTS.md, written by hand."""
    path = tmp_path_factory.mktemp("scored") / "scored.duckdb"
    shutil.copy(shop, path)
    con = open_store(path)
    try:
        ids = [r[0] for r in con.execute("SELECT customer_id FROM customers ORDER BY 1").fetchall()]
        write_model_tables(con, ids)
        write_stream_tables(con, datetime(2025, 12, 31, 12, tzinfo=UTC))
    finally:
        con.close()
    return path
