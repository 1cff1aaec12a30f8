"""The train and score steps with their writes: one definition for the CLI and notebooks.

:func:`train_and_save` and :func:`score_and_save` work on an open store connection (the
CLI adds options, progress and printing around them); :func:`train_store` and
:func:`score_store` open a store path for a notebook or a script. Every step runs in the
connection's time zone (``SET TimeZone``: the option, else the store's recorded zone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shoplens.analytics.segments import SegmentRules
from shoplens.models.persistence import load_models, save_training
from shoplens.models.scores import ScoreSettings, score_customers
from shoplens.models.training import Step, TrainResult, train_models
from shoplens.store import open_store, session_timezone, write_result


def train_and_save(
    con: duckdb.DuckDBPyConnection,
    *,
    cutoff: date | None = None,
    horizon_days: int = 90,
    seed: int = 0,
    label: str = "horizon",
    inactive_days: int = 90,
    refit: bool = True,
    on_step: Step | None = None,
) -> TrainResult:
    """Train and evaluate every model, then save models and evaluation (one transaction)."""
    result = train_models(
        con,
        timezone=session_timezone(con),
        cutoff=cutoff,
        horizon_days=horizon_days,
        seed=seed,
        label=label,
        inactive_days=inactive_days,
        refit=refit,
        on_step=on_step,
    )
    if on_step is not None:
        on_step("saving")
    save_training(
        con,
        trained_at=datetime.now(UTC),
        evaluation=result.evaluation,
        models=result.models,
        params={
            "cutoff": result.evaluation["cutoff"],
            "horizon_days": horizon_days,
            "seed": seed,
            "label": label,
        },
    )
    return result


def score_and_save(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: ScoreSettings | None = None,
    rules: SegmentRules | None = None,
    on_step: Step | None = None,
) -> pa.Table:
    """Score every customer with the saved models and write ``customer_scores``."""
    opts = settings or ScoreSettings()
    timezone = session_timezone(con)
    if on_step is not None:
        on_step("loading models")
    models = load_models(con)
    if on_step is not None:
        on_step("scoring")
    table = score_customers(con, models, timezone=timezone, settings=opts, rules=rules)
    if on_step is not None:
        on_step("saving")
    write_result(
        con,
        "customer_scores",
        table,
        {
            "as_of": table.column("as_of")[0].as_py() if table.num_rows else None,
            "clv_horizon_days": opts.clv_horizon_days,
            "annual_discount_rate": opts.annual_discount_rate,
            "timezone": timezone,
            "model_trained_at": models["churn"][1].get("trained_at"),
        },
    )
    return table


def train_store(
    path: str | Path,
    *,
    timezone: str | None = None,
    cutoff: date | None = None,
    horizon_days: int = 90,
    seed: int = 0,
) -> dict[str, Any]:
    """Train, evaluate and save every model in the store; return the evaluation document.

    ``timezone``: the shop's zone (default: the one the store records).
    """
    con = open_store(path, timezone=timezone)
    try:
        return train_and_save(con, cutoff=cutoff, horizon_days=horizon_days, seed=seed).evaluation
    finally:
        con.close()


def score_store(
    path: str | Path, *, timezone: str | None = None, settings: ScoreSettings | None = None
) -> pa.Table:
    """Score every customer with the saved models, write ``customer_scores``, return it."""
    con = open_store(path, timezone=timezone)
    try:
        return score_and_save(con, settings=settings)
    finally:
        con.close()
