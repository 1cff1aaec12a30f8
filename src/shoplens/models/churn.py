"""Churn classifiers: RandomForest and HistGradientBoosting, calibrated, chosen honestly.

:func:`make_churn_pipeline` builds an sklearn ``Pipeline`` (categorical demographics
ordinal-encoded, numbers passed through; both forests accept missing values, so
"no second order yet" stays NaN rather than a made-up number).

:func:`select_churn_model` fits both candidates on one part of the training window,
calibrates each on a second part, and keeps the one with the better ROC-AUC on a third
part.

Calibration = stacking with BG/NBD
    The calibrator (:class:`ChurnClassifier`) is a logistic regression on two inputs,
    fitted on the held-out calibration split (``cv=5`` would cost five fits): the logit
    of the forest's probability and the logit of BG/NBD's P(no purchase in the
    horizon). On a shop whose customers behave as BG/NBD assumes (the simulator does),
    that probability is already close to the best ranking the history allows, and a
    forest approximates a smooth score with steps; the blend keeps what each does
    best and its output is a calibrated probability (Platt scaling is the
    one-input case). Without the ``bgnbd_p_zero`` column it is plain Platt scaling.

The holdout is never looked at here: the caller reports the chosen model on it.
:func:`fit_churn_model` refits one configuration (fit + calibration split) on a given
window.

Training rows are capped (``max_rows``, a uniform stratified sample) so that a
million-customer shop trains in minutes; the cap is reported with the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.validation import check_is_fitted

from shoplens.errors import ModelError
from shoplens.models.split import split_indices

KINDS = ("hist_gradient_boosting", "random_forest")
MIN_CUSTOMERS = 200  # per class below which no classifier is trained
DEFAULT_MAX_ROWS = 150_000


def make_churn_pipeline(
    kind: str, numeric: list[str], categorical: list[str], *, seed: int = 0
) -> Pipeline:
    """An unfitted pipeline: encode the categorical columns, then the classifier ``kind``."""
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    encoded_missing_value=-2,
                    min_frequency=20,
                ),
                categorical,
            )
        ]
        if categorical
        else [],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    model: Any
    if kind == "hist_gradient_boosting":
        model = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=300,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=seed,
        )
    elif kind == "random_forest":
        model = RandomForestClassifier(
            n_estimators=100,
            min_samples_leaf=25,
            max_features=0.4,
            max_samples=0.5,
            n_jobs=-1,
            random_state=seed,
        )
    else:
        raise ValueError(f"unknown churn model {kind!r}")
    return Pipeline([("encode", encode), ("model", model)])


BLEND_COLUMN = "bgnbd_p_zero"


def _logit(p: np.ndarray) -> np.ndarray:
    return np.asarray(logit(np.clip(p, 1e-6, 1 - 1e-6)), dtype=np.float64)


class ChurnClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A fitted forest pipeline, calibrated by stacking with BG/NBD (module docstring).

    Parameters
    ----------
    pipeline : Pipeline
        A **fitted** :func:`make_churn_pipeline`; ``fit`` fits only the calibrator.
    blend_column : str or None, default="bgnbd_p_zero"
        The column of ``X`` blended in (skipped when absent from ``X``).

    Attributes
    ----------
    calibrator_ : LogisticRegression
        On [logit(forest probability), logit(X[blend_column])].
    uses_blend_ : bool
        Whether the blend column was used.
    classes_ : ndarray
        [0, 1]; 1 = churned.
    """

    def __init__(self, pipeline: Pipeline, *, blend_column: str | None = BLEND_COLUMN) -> None:
        self.pipeline = pipeline
        self.blend_column = blend_column

    def _inputs(self, X: pd.DataFrame, blend: bool) -> np.ndarray:
        forest = self.pipeline.predict_proba(X)[:, list(self.pipeline.classes_).index(1)]
        cols = [_logit(forest)]
        if blend:
            cols.append(_logit(X[self.blend_column].fillna(0.5).to_numpy(np.float64)))
        return np.column_stack(cols)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ChurnClassifier:
        self.uses_blend_ = self.blend_column is not None and self.blend_column in X.columns
        self.calibrator_ = LogisticRegression(C=100.0).fit(self._inputs(X, self.uses_blend_), y)
        self.classes_ = self.calibrator_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        out: np.ndarray = self.calibrator_.predict_proba(self._inputs(X, self.uses_blend_))
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


@dataclass
class ChurnFit:
    """A calibrated classifier, its kind and what it was trained on."""

    kind: str
    estimator: ChurnClassifier
    rows: int
    selection_auc: dict[str, float] = field(default_factory=dict)


def _check(y: np.ndarray) -> None:
    churned = int(y.sum())
    active = len(y) - churned
    if min(churned, active) < MIN_CUSTOMERS // 4 or len(y) < MIN_CUSTOMERS:
        raise ModelError(
            f"too few customers to train a churn model: {len(y)} customers,"
            f" {active} bought again and {churned} did not in the training window"
            f" (need {MIN_CUSTOMERS} customers, {MIN_CUSTOMERS // 4} of each)"
        )


def _cap(idx: np.ndarray, y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    if len(idx) <= max_rows:
        return idx
    keep = split_indices(y[idx], (max_rows, len(idx) - max_rows), seed)[0]
    return np.asarray(idx[keep])


def _fit_calibrated(
    kind: str,
    X: pd.DataFrame,
    y: np.ndarray,
    fit_idx: np.ndarray,
    cal_idx: np.ndarray,
    numeric: list[str],
    categorical: list[str],
    seed: int,
) -> ChurnClassifier:
    pipe = make_churn_pipeline(kind, numeric, categorical, seed=seed)
    pipe.fit(X.iloc[fit_idx], y[fit_idx])
    return ChurnClassifier(pipe).fit(X.iloc[cal_idx], y[cal_idx])


def fit_churn_model(
    kind: str,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    numeric: list[str],
    categorical: list[str],
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ChurnFit:
    """Fit ``kind`` on 75% of the rows and calibrate it on the other 25%."""
    _check(y)
    fit_idx, cal_idx = split_indices(y, (0.75, 0.25), seed)
    fit_idx = _cap(fit_idx, y, max_rows, seed)
    cal_idx = _cap(cal_idx, y, max_rows // 3, seed)
    est = _fit_calibrated(kind, X, y, fit_idx, cal_idx, numeric, categorical, seed)
    return ChurnFit(kind=kind, estimator=est, rows=len(fit_idx) + len(cal_idx))


def select_churn_model(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    numeric: list[str],
    categorical: list[str],
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
    on_step: Any = None,
) -> tuple[ChurnFit, np.ndarray]:
    """Fit both kinds (60% fit, 20% calibration), keep the better on the last 20%.

    Returns the chosen fit (``selection_auc`` holds both candidates' ROC-AUC on the
    selection part) and the indices of the selection part (for tuning thresholds).
    """
    _check(y)
    fit_idx, cal_idx, sel_idx = split_indices(y, (0.6, 0.2, 0.2), seed)
    fit_idx = _cap(fit_idx, y, max_rows, seed)
    cal_idx = _cap(cal_idx, y, max_rows // 3, seed)
    sel_idx = _cap(sel_idx, y, max_rows // 3, seed)
    fits: dict[str, ChurnClassifier] = {}
    aucs: dict[str, float] = {}
    for kind in KINDS:
        if on_step is not None:
            on_step(f"fitting {kind.replace('_', ' ')}")
        est = _fit_calibrated(kind, X, y, fit_idx, cal_idx, numeric, categorical, seed)
        fits[kind] = est
        aucs[kind] = round(
            float(roc_auc_score(y[sel_idx], est.predict_proba(X.iloc[sel_idx])[:, 1])), 4
        )
    chosen = max(KINDS, key=lambda k: (aucs[k], k == KINDS[0]))
    fit = ChurnFit(
        kind=chosen,
        estimator=fits[chosen],
        rows=len(fit_idx) + len(cal_idx),
        selection_auc=aucs,
    )
    return fit, sel_idx


def churn_probability(estimator: Any, X: pd.DataFrame) -> np.ndarray:
    """P(churn) per row (the positive class is 1 = churned)."""
    classes = list(estimator.classes_)
    return np.asarray(estimator.predict_proba(X)[:, classes.index(1)], dtype=np.float64)
