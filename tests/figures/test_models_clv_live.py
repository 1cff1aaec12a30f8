"""Figure builders of the model evaluation (issue #7 document), CLV and live tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from shoplens.figures import (
    calibration,
    churn_scores,
    clv_by_segment,
    clv_calibration,
    clv_histogram,
    confusion_matrix,
    importance,
    live_revenue,
    next_category_scores,
    roc_curves,
)

CHURN: dict[str, Any] = {
    "chosen": "hist_gradient_boosting",
    "model": {
        "roc_auc": 0.81,
        "pr_auc": 0.7,
        "brier": 0.15,
        "top_decile_lift": 2.5,
        "threshold": 0.42,
        "confusion_matrix": [[50, 10], [5, 35]],
        "roc_curve": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.2, "tpr": 0.7}, {"fpr": 1, "tpr": 1}],
    },
    "baselines": {
        "hiatus": {"roc_auc": 0.75, "pr_auc": 0.6, "days": 60},
        "p_alive": {"roc_auc": 0.74, "pr_auc": 0.58},
    },
    "oracle": {"roc_auc": 0.86, "pr_auc": 0.8},
    "importance": [
        {"feature": "recency_days", "importance": 0.12, "std": 0.01},
        {"feature": "hour_20", "importance": 0.001, "std": 0.0005},
        {"feature": "frequency", "importance": 0.05, "std": 0.004},
    ],
    "calibration_curve": [
        {"predicted": 0.1, "observed": 0.12},
        {"predicted": 0.5, "observed": 0.45},
    ],
}


def test_churn_scores_groups_model_baselines_oracle() -> None:
    fig = churn_scores(CHURN)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    auc = fig.data[0]
    assert list(auc.x) == [
        "Model (hist gradient boosting)",
        "Hiatus rule",
        "1 − P(alive)",
        "Oracle (true rates)",
    ]
    assert list(auc.y) == [0.81, 0.75, 0.74, 0.86]
    assert fig.layout.yaxis.title.text == "Score"


def test_roc_curves_only_where_points_exist() -> None:
    fig = roc_curves(CHURN)
    assert [t.type for t in fig.data] == ["scatter", "scatter"]
    assert list(fig.data[0].x) == [0.0, 0.2, 1]
    assert fig.data[0].name == "Model (hist gradient boosting) (AUC 0.810)"
    assert fig.data[1].name == "Random"
    no_points = roc_curves({"model": {"roc_auc": 0.8}})
    assert len(no_points.data) == 0
    assert "no ROC points" in no_points.layout.annotations[0].text


def test_calibration_accepts_sklearn_names() -> None:
    fig = calibration({"calibration_curve": [{"prob_pred": 0.2, "prob_true": 0.25}]})
    assert list(fig.data[1].x) == [0.2]
    assert list(fig.data[1].y) == [0.25]
    assert fig.layout.xaxis.title.text == "Predicted churn probability"
    assert list(calibration(CHURN).data[1].y) == [0.12, 0.45]


def test_confusion_matrix_cells_and_threshold() -> None:
    fig = confusion_matrix(CHURN)
    (heat,) = fig.data
    assert heat.type == "heatmap"
    assert [list(r) for r in heat.z] == [[50, 10], [5, 35]]
    assert heat.text[1][1] == "35<br>35%"
    assert "threshold 0.42" in fig.layout.title.text
    keyed = confusion_matrix({"model": {"confusion_matrix": {"tn": 1, "fp": 2, "fn": 3, "tp": 4}}})
    assert [list(r) for r in keyed.data[0].z] == [[1, 2], [3, 4]]


def test_importance_sorted_top_first() -> None:
    fig = importance(CHURN["importance"], top=2)
    (bar,) = fig.data
    assert list(bar.y) == ["frequency", "recency_days"]  # biggest drawn last (top)
    assert list(bar.x) == [0.05, 0.12]
    assert list(bar.error_x.array) == [0.004, 0.01]
    assert fig.layout.yaxis.title.text == "Feature"


def test_next_category_scores_in_percent() -> None:
    pref = {
        "model": {"top1": 0.41, "top3": 0.7},
        "baselines": {"most_frequent": {"top1": 0.33, "top3": 0.6}},
        "oracle": None,
    }
    fig = next_category_scores(pref)
    assert list(fig.data[0].x) == ["Model", "Most frequent past category"]
    assert list(fig.data[0].y) == [0.41, 0.33]
    assert fig.layout.yaxis.tickformat == ".0%"


def test_clv_figures() -> None:
    bins = pa.table({"bin_start": [0.0, 10.0], "bin_end": [10.0, 20.0], "customers": [7, 3]})
    fig = clv_histogram(bins)
    assert list(fig.data[0].x) == [5.0, 15.0]
    assert list(fig.data[0].y) == [7, 3]
    assert list(fig.data[0].width) == [10.0, 10.0]
    seg = pa.table(
        {"segment": ["VIP", "Lost"], "historic_clv": [500.0, 50.0], "predicted_clv": [300.0, 1.0]}
    )
    stacked = clv_by_segment(seg)
    assert stacked.layout.barmode == "stack"
    assert list(stacked.data[1].x) == [1.0, 300.0]
    cal = clv_calibration(
        {"calibration": [{"frequency": 0, "customers": 9, "predicted": 0.2, "actual": 0.25}]}
    )
    assert list(cal.data[0].y) == [0.2]
    assert list(cal.data[1].y) == [0.25]


def test_live_revenue_keeps_dimension_all_in_time_order() -> None:
    t0, t1 = datetime(2025, 1, 1, 10, tzinfo=UTC), datetime(2025, 1, 1, 10, 1, tzinfo=UTC)
    windows = pa.table(
        {
            "window_start": [t1, t0, t0],
            "dimension": ["all", "all", "country"],
            "revenue": [20.0, 10.0, 99.0],
            "orders": [2, 1, 9],
        }
    )
    fig = live_revenue(windows)
    assert [t.type for t in fig.data] == ["bar", "scatter"]
    assert list(fig.data[0].y) == [10.0, 20.0]
    assert list(fig.data[1].y) == [1, 2]
