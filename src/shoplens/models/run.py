"""One call per step for notebooks and scripts: train (and save) the models, score a store.

The same steps as ``shoplens train`` and ``shoplens score``, on a store path, with the
default settings; the CLI adds progress, options and printing around the same calls.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from shoplens.models.persistence import load_models, save_training
from shoplens.models.scores import ScoreSettings, score_customers
from shoplens.models.training import train_models
from shoplens.store import open_store, write_result


def train_store(
    path: str | Path,
    *,
    timezone: str = "UTC",
    cutoff: date | None = None,
    horizon_days: int = 90,
    seed: int = 0,
) -> dict[str, Any]:
    """Train, evaluate and save every model in the store; return the evaluation document."""
    con = open_store(path, timezone=timezone)
    try:
        result = train_models(
            con, timezone=timezone, cutoff=cutoff, horizon_days=horizon_days, seed=seed
        )
        save_training(
            con,
            trained_at=datetime.now(UTC),
            evaluation=result.evaluation,
            models=result.models,
            params={
                "cutoff": result.evaluation["cutoff"],
                "horizon_days": horizon_days,
                "seed": seed,
                "label": "horizon",
            },
        )
        return result.evaluation
    finally:
        con.close()


def score_store(
    path: str | Path, *, timezone: str = "UTC", settings: ScoreSettings | None = None
) -> pa.Table:
    """Score every customer with the saved models, write ``customer_scores``, return it."""
    opts = settings or ScoreSettings()
    con = open_store(path, timezone=timezone)
    try:
        models = load_models(con)
        table = score_customers(con, models, timezone=timezone, settings=opts)
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
    finally:
        con.close()
