"""``train``: fit every model before the cutoff, evaluate on the holdout, refit for scoring.

Steps (see :mod:`shoplens.models.split` for the windows):

1. features and BG/NBD outputs at ``cutoff - horizon`` with labels from the training
   window; RandomForest and HistGradientBoosting fitted, calibrated and compared on
   parts of that window (:func:`shoplens.models.churn.select_churn_model`);
2. features and BG/NBD (refitted on the data before the cutoff) at the cutoff; the
   chosen model, the baselines and, on simulated stores, the oracle scored on the
   holdout labels;
3. the next-category model evaluated the same way, when the store has categories;
4. unless ``refit=False``: the chosen churn configuration refitted on the latest
   labelled window (features at the cutoff, holdout labels), BG/NBD, Gamma-Gamma and the
   next-category classifier refitted on all data, for ``score``.

Nothing is written here: :func:`train_models` returns the evaluation document and the
fitted models; the caller stores them in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from shoplens.analytics.features import FeatureSet, customer_features, detect_feature_set
from shoplens.errors import ModelError
from shoplens.models import btyd
from shoplens.models.churn import (
    DEFAULT_MAX_ROWS,
    ChurnFit,
    churn_probability,
    fit_churn_model,
    select_churn_model,
)
from shoplens.models.evaluation import (
    calibration_points,
    evaluate_scores,
    hiatus_rule,
    oracle_probability,
    youden_threshold,
)
from shoplens.models.split import Windows, churn_labels, make_windows
from shoplens.store.db import existing_tables

Step = Callable[[str], None]
IMPORTANCE_ROWS = 5_000


@dataclass
class TrainResult:
    windows: Windows
    evaluation: dict[str, Any]
    models: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def feature_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    at: datetime,
    feature_set: FeatureSet,
    bgnbd: Any,
    summary: pd.DataFrame,
    horizon_days: int,
) -> pd.DataFrame:
    """Customer features at ``at`` joined with the BG/NBD outputs; indexed by customer_id."""
    feats = customer_features(con, cutoff=at, feature_set=feature_set).to_pandas()
    feats = feats.set_index("customer_id")
    extra = btyd.btyd_features(bgnbd, summary, horizon_days)
    frame: pd.DataFrame = feats.join(extra, how="left")
    for col in feature_set.categorical:
        frame[col] = frame[col].astype(object)
    return frame


def model_columns(feature_set: FeatureSet) -> tuple[list[str], list[str]]:
    return [*feature_set.numeric, *btyd.BTYD_FEATURES], list(feature_set.categorical)


def _oracle(
    con: duckdb.DuckDBPyConnection, ids: pd.Index, at: datetime, horizon_days: int
) -> np.ndarray | None:
    if "truth_customers" not in existing_tables(con):
        return None
    truth = (
        con.execute(
            "SELECT customer_id, purchase_rate,"
            " coalesce(epoch(dropout_ts - ?) / 86400.0, 'inf'::DOUBLE) AS dropout_days"
            " FROM truth_customers",
            [at],
        )
        .df()
        .set_index("customer_id")
        .reindex(ids)
    )
    if truth["purchase_rate"].isna().any():
        return None
    return oracle_probability(
        truth["purchase_rate"].to_numpy(np.float64),
        truth["dropout_days"].to_numpy(np.float64),
        float(horizon_days),
    )


def _newcomer_rate(con: duckdb.DuckDBPyConnection, w: Windows) -> float:
    """Share of account holders without a completed order before the cutoff who did not
    buy in the holdout (the churn probability given to customers with no history)."""
    if "customers" not in existing_tables(con):
        return 1.0
    ((n, stayed_away),) = con.execute(
        "WITH new AS (SELECT customer_id FROM customers WHERE signup_ts < $c"
        " AND customer_id NOT IN (SELECT customer_id FROM orders WHERE status = 'completed'"
        " AND customer_id IS NOT NULL AND order_ts < $c))"
        " SELECT count(*), count(*) FILTER (WHERE customer_id NOT IN ("
        " SELECT customer_id FROM orders WHERE status = 'completed'"
        " AND customer_id IS NOT NULL AND order_ts >= $c AND order_ts < $e)) FROM new",
        {"c": w.cutoff, "e": w.holdout_end},
    ).fetchall()
    return round(stayed_away / n, 4) if n else 1.0


def _importance(est: Any, X: pd.DataFrame, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    if len(np.unique(y)) < 2:
        return []
    rng = np.random.default_rng(seed)
    idx = np.arange(len(y))
    if len(idx) > IMPORTANCE_ROWS:
        idx = np.sort(rng.choice(idx, IMPORTANCE_ROWS, replace=False))
    res = permutation_importance(
        est, X.iloc[idx], y[idx], scoring="roc_auc", n_repeats=3, random_state=seed
    )
    rows = [
        {"feature": c, "importance": round(float(m), 5), "std": round(float(s), 5)}
        for c, m, s in zip(X.columns, res.importances_mean, res.importances_std, strict=True)
    ]
    return sorted(rows, key=lambda r: -r["importance"])


def _next_category(
    con: duckdb.DuckDBPyConnection,
    w: Windows,
    timezone: str,
    seed: int,
    refit: bool,
    result: TrainResult,
    step: Step,
) -> dict[str, Any] | None:
    try:
        from shoplens.models import next_category as nc
    except ImportError:
        result.skipped.append("next-category model: not available in this build")
        return None
    step("next category")
    truth = "truth_customers" in existing_tables(con)
    try:
        evaluation: dict[str, Any] = nc.evaluate_next_category(
            con,
            cutoff=w.cutoff,
            horizon_days=w.horizon_days,
            timezone=timezone,
            seed=seed,
            truth=truth,
        )
    except ModelError as exc:
        result.skipped.append(f"next-category model: {exc}")
        return None
    if refit:
        from shoplens.analytics.category_history import store_categories

        categories = store_categories(con)
        X = nc.feature_frame(
            nc.category_history(con, as_of=w.cutoff, timezone=timezone, categories=categories)
        )
        labels = nc.next_category_labels(
            con, cutoff=w.cutoff, horizon_days=w.horizon_days, timezone=timezone
        )
        y = pd.Series(
            labels.column("category").to_pylist(),
            index=labels.column("customer_id").to_pylist(),
            dtype=object,
        )
        common = X.index.intersection(y.index, sort=False)
        clf = nc.NextCategoryClassifier(model=evaluation["chosen"], random_state=seed)
        clf.fit(X.loc[common], y.loc[common].to_numpy(dtype=object))
        result.models["next_category"] = (
            clf,
            {
                "kind": evaluation["chosen"],
                "trained_on": str(w.cutoff.date()),
                "customers": len(common),
                "categories": categories,
                "features": [str(c) for c in X.columns],
            },
        )
    return evaluation


def train_models(
    con: duckdb.DuckDBPyConnection,
    *,
    timezone: str,
    cutoff: date | None = None,
    horizon_days: int = 90,
    seed: int = 0,
    label: str = "horizon",
    inactive_days: int = 90,
    refit: bool = True,
    max_rows: int = DEFAULT_MAX_ROWS,
    next_category: bool = True,
    on_step: Step | None = None,
) -> TrainResult:
    """Train, evaluate and (unless ``refit=False``) refit every model; see the module doc."""

    def step(text: str) -> None:
        if on_step is not None:
            on_step(text)

    w = make_windows(con, cutoff=cutoff, horizon_days=horizon_days, timezone=timezone)
    result = TrainResult(windows=w, evaluation={})
    h = horizon_days

    def labels(frame: pd.DataFrame, at: datetime) -> np.ndarray:
        import pyarrow as pa

        tbl = pa.table(
            {"customer_id": list(frame.index), "recency_days": frame["recency_days"].to_numpy()}
        )
        return churn_labels(
            con, tbl, at=at, horizon_days=h, label=label, inactive_days=inactive_days
        )

    step("features (training window)")
    fs = detect_feature_set(con, cutoff=w.train_cutoff)
    numeric, categorical = model_columns(fs)
    columns = numeric + categorical
    fit_tr = btyd.fit_btyd(con, as_of=w.train_cutoff, timezone=timezone)
    X_tr = feature_frame(
        con,
        at=w.train_cutoff,
        feature_set=fs,
        bgnbd=fit_tr.bgnbd,
        summary=fit_tr.summary,
        horizon_days=h,
    )
    y_tr = labels(X_tr, w.train_cutoff)
    chosen, sel_idx = select_churn_model(
        X_tr[columns],
        y_tr,
        numeric=numeric,
        categorical=categorical,
        seed=seed,
        max_rows=max_rows,
        on_step=step,
    )

    step("features (holdout)")
    fit_ho = btyd.fit_btyd(con, as_of=w.cutoff, timezone=timezone)
    X_ho = feature_frame(
        con, at=w.cutoff, feature_set=fs, bgnbd=fit_ho.bgnbd, summary=fit_ho.summary, horizon_days=h
    )
    y_ho = labels(X_ho, w.cutoff)

    step("evaluating churn")
    p_sel = churn_probability(chosen.estimator, X_tr[columns].iloc[sel_idx])
    p_ho = churn_probability(chosen.estimator, X_ho[columns])
    model_metrics = evaluate_scores(y_tr[sel_idx], p_sel, y_ho, p_ho)
    baselines: dict[str, Any] = {
        "hiatus": hiatus_rule(
            X_tr["recency_days"].to_numpy(), y_tr, X_ho["recency_days"].to_numpy(), y_ho
        ),
        "p_alive": evaluate_scores(
            y_tr,
            1.0 - X_tr["bgnbd_p_alive"].to_numpy(),
            y_ho,
            1.0 - X_ho["bgnbd_p_alive"].to_numpy(),
        ),
        "bgnbd_p_zero": evaluate_scores(
            y_tr, X_tr["bgnbd_p_zero"].to_numpy(), y_ho, X_ho["bgnbd_p_zero"].to_numpy()
        ),
    }
    oracle: dict[str, Any] | None = None
    o_tr = _oracle(con, X_tr.index, w.train_cutoff, h)
    o_ho = _oracle(con, X_ho.index, w.cutoff, h)
    if o_tr is not None and o_ho is not None and label == "horizon":
        oracle = evaluate_scores(y_tr, o_tr, y_ho, o_ho)
    step("permutation importance")
    churn_eval: dict[str, Any] = {
        "chosen": chosen.kind,
        "label": label if label == "horizon" else f"inactive-days ({inactive_days})",
        "customers": {
            "training": len(y_tr),
            "holdout": len(y_ho),
            "holdout_churn_rate": round(float(np.mean(y_ho)), 4),
        },
        "selection": {"roc_auc": chosen.selection_auc, "rows_fitted": chosen.rows},
        "model": model_metrics,
        "baselines": baselines,
        "oracle": oracle,
        "importance": _importance(chosen.estimator, X_ho[columns], y_ho, seed),
        "calibration_curve": calibration_points(y_ho, p_ho),
    }

    clv_eval: dict[str, Any] = {
        "time_unit": "day",
        "bgnbd": btyd.model_report(fit_ho.bgnbd, ("r", "alpha", "a", "b")),
        "gamma_gamma": (
            btyd.model_report(fit_ho.gamma_gamma, ("p", "q", "gamma"))
            if fit_ho.gamma_gamma is not None
            else None
        ),
        "zero_value_days": fit_ho.zero_value_days,
        "calibration": btyd.calibration(con, fit_ho, w, timezone),
    }
    if fit_ho.gamma_gamma_skipped:
        result.skipped.append(f"Gamma-Gamma (spend) model: {fit_ho.gamma_gamma_skipped}")
    if fit_ho.zero_value_days:
        result.skipped.append(
            f"{fit_ho.zero_value_days} repeat purchase days of zero or negative value"
            " left out of the Gamma-Gamma fit"
        )

    preference = None
    if next_category:
        preference = _next_category(con, w, timezone, seed, refit, result, step)
    else:
        result.skipped.append("next-category model: not requested")

    if refit:
        step("refitting for scoring")
        final = fit_churn_model(
            chosen.kind,
            X_ho[columns],
            y_ho,
            numeric=numeric,
            categorical=categorical,
            seed=seed,
            max_rows=max_rows,
        )
        fit_all = btyd.fit_btyd(con, as_of=w.data_end, timezone=timezone)
        _add_models(
            result,
            final,
            fit_all,
            fs,
            w,
            y_ho,
            p_sel,
            y_tr[sel_idx],
            seed,
            label,
            numeric,
            categorical,
            churn_eval,
            _newcomer_rate(con, w),
        )
    result.evaluation = {
        "shoplens": "evaluate",
        "version": 1,
        "cutoff": str(w.cutoff.date()),
        "horizon_days": h,
        "clv": clv_eval,
        "churn": churn_eval,
        "preference": preference,
        "skipped": list(result.skipped),
    }
    return result


def _add_models(
    result: TrainResult,
    final: ChurnFit,
    fit_all: btyd.BTYDFit,
    fs: FeatureSet,
    w: Windows,
    y_ho: np.ndarray,
    p_sel: np.ndarray,
    y_sel: np.ndarray,
    seed: int,
    label: str,
    numeric: list[str],
    categorical: list[str],
    churn_eval: dict[str, Any],
    newcomer_rate: float,
) -> None:
    result.models["churn"] = (
        final.estimator,
        {
            "kind": final.kind,
            "label": label,
            "horizon_days": w.horizon_days,
            "newcomer_churn_rate": newcomer_rate,
            "trained_on": {
                "features_at": str(w.cutoff.date()),
                "labels_until": str(w.holdout_end.date()),
            },
            "rows": final.rows,
            "numeric": numeric,
            "categorical": categorical,
            "events": fs.events,
            "demographics": list(fs.demographics),
            "threshold": youden_threshold(y_sel, p_sel),
            "holdout": churn_eval["model"],
            "churn_rate": round(float(np.mean(y_ho)), 4),
            "seed": seed,
        },
    )
    result.models["bgnbd"] = (
        fit_all.bgnbd,
        {
            "as_of": str(w.data_end.date()),
            "time_unit": "day",
            **btyd.model_report(fit_all.bgnbd, ("r", "alpha", "a", "b")),
        },
    )
    if fit_all.gamma_gamma is not None:
        result.models["gamma_gamma"] = (
            fit_all.gamma_gamma,
            {
                "as_of": str(w.data_end.date()),
                **btyd.model_report(fit_all.gamma_gamma, ("p", "q", "gamma")),
            },
        )
