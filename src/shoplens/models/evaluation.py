"""Holdout metrics of churn scores, the same for the model, the baselines and the oracle.

Every scorer gives a churn probability per customer. Its metrics on the holdout:
ROC-AUC, PR-AUC (average precision), Brier score, lift in the top decile (churn rate
among the 10% highest scores / overall churn rate) and the confusion matrix at a
threshold. The threshold is chosen on the **training window**, never on the holdout:
the one maximising Youden's J (true-positive rate minus false-positive rate), i.e.
the best balance of catching churners and sparing active customers.

The hiatus rule ("churned = no order in the last X days") is tuned the same way: X
maximises Youden's J on the training window; its probability is the churn rate of the
training customers on each side of X, so that its Brier score means something.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
    roc_curve,
)


def youden_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The score threshold maximising TPR - FPR (predict churn when score >= it)."""
    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thr = roc_curve(y, p)
    k = int(np.argmax(tpr - fpr))
    return float(min(thr[k], 1.0))


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    n = max(1, int(np.ceil(0.1 * len(y))))
    order = np.argsort(-p, kind="stable")
    base = float(np.mean(y))
    return float(np.mean(y[order[:n]]) / base) if base > 0 else float("nan")


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, Brier, top-decile lift and the confusion matrix at ``threshold``.

    ``confusion_matrix``: {"tn", "fp", "fn", "tp"}, positive = churned.
    """
    y = np.asarray(y, dtype=np.int8)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    both = len(np.unique(y)) == 2
    tn, fp, fn, tp = confusion_matrix(y, p >= threshold, labels=[0, 1]).ravel()
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(y, p)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, p, labels=[0, 1])), 4),
        "top_decile_lift": round(top_decile_lift(y, p), 4),
        "threshold": round(float(threshold), 4),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def evaluate_scores(
    train_y: np.ndarray, train_p: np.ndarray, y: np.ndarray, p: np.ndarray
) -> dict[str, Any]:
    """Metrics of probabilities ``p`` on the holdout, threshold tuned on the training window."""
    return binary_metrics(y, p, youden_threshold(train_y, train_p))


def hiatus_rule(
    train_recency: np.ndarray, train_y: np.ndarray, recency: np.ndarray, y: np.ndarray
) -> dict[str, Any]:
    """The hiatus baseline: X tuned on the training window, metrics on the holdout.

    Besides the rule's own metrics, ``recency_roc_auc`` is the ROC-AUC of the days since
    the last order used as a continuous score (the rule at every X at once).
    """
    candidates = np.unique(np.round(train_recency))
    if len(candidates) > 400:
        candidates = np.unique(np.quantile(np.round(train_recency), np.linspace(0, 1, 401)))
    best_x, best_j = float(candidates[0]), -np.inf
    pos, neg = max(1, int(train_y.sum())), max(1, int((1 - train_y).sum()))
    for x in candidates:
        flag = train_recency > x
        j = (flag & (train_y == 1)).sum() / pos - (flag & (train_y == 0)).sum() / neg
        if j > best_j:
            best_x, best_j = float(x), float(j)
    flag_tr = train_recency > best_x
    p_hi = float(train_y[flag_tr].mean()) if flag_tr.any() else 1.0
    p_lo = float(train_y[~flag_tr].mean()) if (~flag_tr).any() else 0.0
    p = np.where(recency > best_x, p_hi, p_lo)
    out = binary_metrics(y, p, (p_hi + p_lo) / 2 if p_hi > p_lo else p_hi)
    out["days"] = int(best_x)
    both = len(np.unique(y)) == 2
    out["recency_roc_auc"] = round(float(roc_auc_score(y, recency)), 4) if both else None
    return out


def calibration_points(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Observed churn rate vs mean predicted probability, in ``bins`` quantile bins."""
    if len(np.unique(y)) < 2:
        return []
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    counts = np.histogram(p, bins=np.unique(edges))[0]
    rows = []
    for k, (pr, ob) in enumerate(zip(predicted, observed, strict=True)):
        rows.append(
            {
                "predicted": round(float(pr), 4),
                "observed": round(float(ob), 4),
                "customers": int(counts[k]) if k < len(counts) else None,
            }
        )
    return rows


def oracle_probability(
    rate_per_year: np.ndarray,
    dropout_days: np.ndarray,
    horizon_days: float,
) -> np.ndarray:
    """P(no order in the horizon) from the true rate and dropout (simulated stores only).

    While alive a customer orders as a Poisson process of ``rate_per_year``;
    ``dropout_days`` is the dropout time in days after the cutoff (negative: already
    gone; +inf: never drops out). P = exp(-rate * alive_days / 365) with alive_days =
    min(dropout, horizon) for customers alive at the cutoff, 1 for the others.
    """
    alive = np.clip(dropout_days, 0.0, horizon_days)
    p = np.exp(-rate_per_year * alive / 365.0)
    return np.where(dropout_days <= 0, 1.0, p)
