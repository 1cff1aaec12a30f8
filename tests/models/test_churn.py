"""Churn: metrics and baselines with exact numbers, and the model vs baselines and oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shoplens.models.evaluation import (
    binary_metrics,
    hiatus_rule,
    oracle_probability,
    top_decile_lift,
    youden_threshold,
)
from shoplens.models.split import split_indices
from shoplens.models.training import TrainResult, train_models
from shoplens.store import open_store


def test_binary_metrics_exact() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.6, 0.3, 0.95])
    m = binary_metrics(y, p, threshold=0.5)
    # 6 positives x 4 negatives = 24 pairs; 20 ranked right, none tied
    assert m["roc_auc"] == pytest.approx(20 / 24, abs=1e-4)
    assert m["brier"] == pytest.approx(float(np.mean((p - y) ** 2)), abs=1e-4)
    assert m["confusion_matrix"] == {"tn": 3, "fp": 1, "fn": 2, "tp": 4}
    # top decile = the single highest score (0.95, churned): 1 / 0.6
    assert top_decile_lift(y, p) == pytest.approx(1 / 0.6)
    assert youden_threshold(y, p) == pytest.approx(0.7)


def test_hiatus_rule_is_tuned_on_the_training_window() -> None:
    train_recency = np.array([5, 10, 20, 40, 60, 80, 100, 120], dtype=float)
    train_y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    recency = np.array([30, 50, 70, 90])
    y = np.array([0, 1, 1, 0])
    m = hiatus_rule(train_recency, train_y, recency, y)
    assert m["days"] == 40  # churned = no order for more than 40 days separates perfectly
    assert m["confusion_matrix"] == {"tn": 1, "fp": 1, "fn": 0, "tp": 2}
    assert m["recency_roc_auc"] == pytest.approx(0.5)


def test_oracle_probability() -> None:
    p = oracle_probability(
        np.array([3.65, 3.65, 7.3, 1.0]),
        np.array([np.inf, 10.0, -1.0, 200.0]),
        horizon_days=100.0,
    )
    # alive all horizon: exp(-0.01*100); alive 10 days: exp(-0.1); gone: 1
    assert p == pytest.approx([np.exp(-1.0), np.exp(-0.1), 1.0, np.exp(-100 / 365)])


def test_split_indices_stratified_and_disjoint() -> None:
    y = np.array([0] * 60 + [1] * 40)
    parts = split_indices(y, (0.6, 0.2, 0.2), seed=1)
    assert [len(p) for p in parts] == [60, 20, 20]
    assert len(np.unique(np.concatenate(parts))) == 100
    assert [int(y[p].sum()) for p in parts] == [24, 8, 8]


def test_evaluation_document_shape(trained: tuple[Path, TrainResult]) -> None:
    ev = trained[1].evaluation
    assert {"shoplens", "version", "cutoff", "horizon_days", "clv", "churn", "preference"} <= set(
        ev
    )
    assert (ev["shoplens"], ev["version"], ev["horizon_days"]) == ("evaluate", 1, 90)
    assert ev["cutoff"] == "2025-10-03"  # the day after the last order minus 90 days
    churn = ev["churn"]
    assert churn["chosen"] in {"hist_gradient_boosting", "random_forest"}
    assert set(churn["baselines"]) == {"hiatus", "p_alive", "bgnbd_p_zero"}
    metrics = {"roc_auc", "pr_auc", "brier", "top_decile_lift", "threshold", "confusion_matrix"}
    for scorer in [churn["model"], churn["oracle"], *churn["baselines"].values()]:
        assert metrics <= set(scorer)
        cm = scorer["confusion_matrix"]
        assert sum(cm.values()) == churn["customers"]["holdout"]
    assert churn["baselines"]["hiatus"]["days"] > 0
    assert {"feature", "importance", "std"} == set(churn["importance"][0])
    assert churn["importance"][0]["feature"].startswith("bgnbd_")
    curve = churn["calibration_curve"]
    assert len(curve) == 10
    # calibrated: the observed churn rate follows the predicted probability
    assert max(abs(c["predicted"] - c["observed"]) for c in curve) < 0.12
    clv = ev["clv"]
    assert clv["time_unit"] == "day"
    assert set(clv["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert set(clv["gamma_gamma"]["params"]) == {"p", "q", "gamma"}
    assert clv["calibration"][0]["frequency"] == 0
    pref = ev["preference"]
    assert set(pref["baselines"]) == {"most_frequent", "most_popular"}
    assert 0 < pref["model"]["top1"] <= pref["model"]["top3"] <= 1


def test_model_beats_the_rules_and_stays_below_the_oracle(
    trained: tuple[Path, TrainResult],
) -> None:
    """The issue's margins, on a 3,000-customer shop (20,000: see the README).

    The simulator draws purchases exactly as BG/NBD assumes, so BG/NBD's P(no purchase)
    is near the best ranking the history allows: the model is held to within 0.005 of
    it here (sampling noise of ~2,600 holdout customers), and measured at 20,000.
    """
    churn = trained[1].evaluation["churn"]
    auc = churn["model"]["roc_auc"]
    base = {k: v["roc_auc"] for k, v in churn["baselines"].items()}
    assert auc >= base["hiatus"] + 0.02
    assert auc >= base["p_alive"] + 0.02
    assert auc >= base["bgnbd_p_zero"] - 0.005
    assert auc < churn["oracle"]["roc_auc"]
    assert churn["model"]["brier"] < churn["baselines"]["hiatus"]["brier"]


def test_inactive_days_label_leaks(sim_shop: Path) -> None:
    """The older rule labels from the features' own data: a near-perfect, useless score."""
    con = open_store(sim_shop, read_only=True)
    try:
        res = train_models(
            con,
            timezone="UTC",
            label="inactive-days",
            inactive_days=60,
            refit=False,
            next_category=False,
            max_rows=1500,
        )
    finally:
        con.close()
    churn = res.evaluation["churn"]
    assert churn["label"] == "inactive-days (60)"
    assert churn["model"]["roc_auc"] > 0.99
    assert res.models == {}
