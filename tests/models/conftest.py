"""A simulated shop trained once per session (and scored), shared by the model tests."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from shoplens.generate import SimulationParams, generate_into
from shoplens.models.persistence import load_models, save_training
from shoplens.models.scores import ScoreSettings, score_customers
from shoplens.models.training import TrainResult, train_models
from shoplens.store import open_store, write_new_store, write_result

SHOP = SimulationParams(customers=3000, days=730, seed=7)


@pytest.fixture(scope="session")
def sim_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "shop.duckdb"

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, SHOP)

    write_new_store(path, fill)
    return path


@pytest.fixture(scope="session")
def trained(sim_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainResult]:
    """A copy of the shop after train (library calls, the same as the CLI's)."""
    path = tmp_path_factory.mktemp("trained") / "shop.duckdb"
    shutil.copy(sim_shop, path)
    con = open_store(path)
    try:
        result = train_models(con, timezone="UTC", horizon_days=90, seed=0)
        save_training(
            con,
            trained_at=datetime.now(UTC),
            evaluation=result.evaluation,
            models=result.models,
            params={"seed": 0},
        )
    finally:
        con.close()
    return path, result


@pytest.fixture(scope="session")
def scored(trained: tuple[Path, TrainResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained shop with customer_scores written."""
    path = tmp_path_factory.mktemp("scored") / "shop.duckdb"
    shutil.copy(trained[0], path)
    con = open_store(path)
    try:
        table = score_customers(con, load_models(con), timezone="UTC", settings=ScoreSettings())
        write_result(con, "customer_scores", table, {"clv_horizon_days": 365})
    finally:
        con.close()
    return path


def copy_of(path: Path, tmp_path: Path) -> Path:
    dst = tmp_path / path.name
    shutil.copy(path, dst)
    return dst


def table_of(path: Path, sql: str, params: Any = None) -> pa.Table:
    con = open_store(path, read_only=True)
    try:
        return con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()
