"""Next category: which category will a customer's next purchase be?

Features
    :func:`~shoplens.analytics.category_history.category_history`: per customer, the
    share of their past orders and of their net spend per category, their last and
    most frequent category, order counts and recency, the hour-of-day and weekday
    profile of their **past** orders, and demographics when the store has them. The
    time of the purchase being predicted is not a feature: it is not known when the
    prediction is made. (The older analysis reported ``hour_of_day`` as a key
    predictor; here the question is answered by the permutation importance of the
    hour-of-day profile.) The model also derives ``affinity[<category>]`` and
    ``score[<category>]`` from the line shares and a demographic prior (see
    :func:`_learn_priors`).

Label
    The category of the customer's first completed purchase in the horizon after a
    cutoff (:func:`~shoplens.analytics.category_history.next_category_labels`; an order
    with several categories counts as the one with the largest net value, ties by name).

Model
    :class:`NextCategoryClassifier`: a scikit-learn classifier over those features that
    wraps HistGradientBoosting (default) or RandomForest; categorical columns
    (last/top category, gender, country) are ordinal-encoded from the training data.

Evaluation (rolling origin, :func:`evaluate_next_category`)
    Train on features at ``cutoff - horizon`` with labels from the horizon that follows
    (it ends at the cutoff, so nothing after the cutoff is used), choose between the two
    model kinds on a validation split of those customers, refit the chosen one, and
    evaluate on features at ``cutoff`` with labels from the holdout ``[cutoff, cutoff +
    horizon)``. The population is every customer known at the feature date (signed up
    or ordered before it) who makes a completed, categorised purchase in the window.
    Metrics: top-1 and top-3 accuracy, against the baselines *most frequent past
    category* (the customer's most frequent order category; next in the top 3: their
    next most frequent, then the globally most popular ones; customers without history:
    the globally most popular) and *most popular* (the globally most frequent order
    categories before the feature date), and on simulated stores the *oracle*: the
    simulator's true favourite category (top 3: the favourite and the two most popular
    others). Permutation importance: the drop of top-1 accuracy on the holdout when a
    feature (or a block: all of one kind of per-category share) is shuffled, and the
    joint importance of all hour-of-day features.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from shoplens.analytics.category_history import (
    HOUR_FEATURES,
    add_days,
    category_history,
    line_share_column,
    next_category_labels,
    order_share_column,
    store_categories,
    to_instant,
    value_share_column,
)
from shoplens.errors import InvalidParameterError, ModelError
from shoplens.store.db import existing_tables

__all__ = [
    "MODEL_KINDS",
    "NextCategoryClassifier",
    "category_history",
    "evaluate_next_category",
    "feature_frame",
    "next_category_labels",
    "top_k_accuracy",
]

ModelKind = Literal["hist_gradient_boosting", "random_forest"]
MODEL_KINDS: tuple[ModelKind, ...] = ("hist_gradient_boosting", "random_forest")
MIN_TRAIN_CUSTOMERS = 50
VALIDATION_SHARE = 0.25
IMPORTANCE_REPEATS = 2
MAX_TRAIN_ROWS = 60_000
"""Training rows kept (a seeded sample) when the origins give more: large shops train in
seconds rather than many minutes, and 60,000 purchases pin down 13-100 category mixes."""
MAX_IMPORTANCE_ROWS = 4_000
"""Holdout rows (a seeded sample) the permutation importance is computed on."""
HISTORY_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (0, 0, "0"),
    (1, 1, "1"),
    (2, 3, "2-3"),
    (4, 7, "4-7"),
    (8, 1 << 62, "8+"),
)

F64 = npt.NDArray[np.float64]


def feature_frame(history: pa.Table) -> pd.DataFrame:
    """A :func:`category_history` table as the model's input: customer_id as the index.

    String columns stay strings (object dtype); the classifier encodes them.
    """
    df: pd.DataFrame = history.to_pandas(types_mapper=None).set_index("customer_id")
    for col in df.columns:
        if df[col].dtype != object and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype(object)
    return df


class NextCategoryClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts the category of a customer's next purchase.

    A thin scikit-learn classifier around HistGradientBoosting or RandomForest:
    non-numeric columns of a DataFrame are ordinal-encoded with the categories seen in
    ``fit`` (unseen or missing values become NaN, which both models handle), and
    passed to HistGradientBoosting as categorical features.

    Parameters
    ----------
    model : {"hist_gradient_boosting", "random_forest"}, default="hist_gradient_boosting"
        The wrapped model.
    max_iter : int, default=200
        Boosting iterations (HistGradientBoosting; early stopping on 10% of the data
        when there are at least 1,000 rows).
    learning_rate : float, default=0.05
        HistGradientBoosting's learning rate.
    max_leaf_nodes : int, default=7
        HistGradientBoosting's leaves per tree.
    l2_regularization : float, default=5.0
        HistGradientBoosting's L2 penalty.
    n_estimators : int, default=100
        RandomForest's number of trees.
    min_samples_leaf : int, default=20
        Smallest leaf of either model.
    prior_strength : float, default=8.0
        When ``X`` is a :func:`category_history` frame (it has ``line_share[...]``
        columns): the weight, in order lines, of the demographic prior that smooths a
        customer's line shares into ``affinity[<category>]`` features (0: no derived
        features). See :meth:`fit`.
    n_jobs : int, default=1
        Threads of either model (RandomForest's jobs, HistGradientBoosting's OpenMP
        threads). One by default: on shared machines OpenMP threads competing for
        busy cores slow HistGradientBoosting down many times over.
    random_state : int, default=0
        Seed of the wrapped model.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The categories, sorted.
    estimator_ : HistGradientBoostingClassifier or RandomForestClassifier
        The fitted model.
    n_iter_ : int
        Boosting iterations run (HistGradientBoosting) or trees (RandomForest).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    categories_ : dict of str to list
        The categories of each non-numeric column, in code order.
    priors_ : dict or None
        The learned priors of the derived features (``None`` without them): the
        categories, the age bands, and per (age band, gender) cell the category shares
        of order lines (``"line"``) and of order categories (``"order"``).
    """

    def __init__(
        self,
        *,
        model: ModelKind = "hist_gradient_boosting",
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 7,
        l2_regularization: float = 5.0,
        n_estimators: int = 100,
        min_samples_leaf: int = 20,
        prior_strength: float = 8.0,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.prior_strength = prior_strength
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _encode(self, X: Any, *, fit: bool) -> Any:
        """Non-numeric DataFrame columns -> float codes (NaN: missing or unseen)."""
        if fit:
            self.categories_: dict[str, list[str]] = {}
        if not isinstance(X, pd.DataFrame):
            return X
        X = X.copy()
        if fit:
            for col in X.columns:
                if not pd.api.types.is_numeric_dtype(X[col]) or isinstance(
                    X[col].dtype, pd.CategoricalDtype
                ):
                    values = X[col].dropna().astype(str)
                    self.categories_[str(col)] = sorted(values.unique().tolist())
        for col, cats in self.categories_.items():
            if col not in X.columns:
                continue  # validate_data names the missing column
            values = X[col].astype("string").astype(object)  # missing -> pd.NA -> -1
            codes = pd.Index(cats, dtype=object).get_indexer(values)
            X[col] = np.where(codes < 0, np.nan, codes.astype(float))
        return X

    def _derive(self, X: Any) -> Any:
        """Add ``affinity[<category>]`` (module docstring of :func:`_learn_priors`)."""
        priors = getattr(self, "priors_", None)
        if priors is None or not isinstance(X, pd.DataFrame):
            return X
        cats: list[str] = priors["categories"]
        lines = _counts(X, cats, line_share_column, "n_lines")
        cell = _cells(X, priors["age_bands"])
        prior_line = _cell_prior(priors["line"], cell)
        prior_order = _cell_prior(priors["order"], cell)
        a = self.prior_strength
        affinity = (lines + a * prior_line) / (lines.sum(axis=1, keepdims=True) + a)
        # how often a category is an order's category per line bought in it (price)
        score = affinity * prior_order / np.maximum(prior_line, 1e-12)
        score /= score.sum(axis=1, keepdims=True)
        derived = pd.DataFrame(
            np.hstack([affinity, score]),
            index=X.index,
            columns=[f"affinity[{c}]" for c in cats] + [f"score[{c}]" for c in cats],
        )
        return pd.concat([X, derived], axis=1)

    def _make_estimator(self, n_rows: int, categorical: list[bool]) -> Any:
        if self.model == "hist_gradient_boosting":
            return HistGradientBoostingClassifier(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                l2_regularization=self.l2_regularization,
                min_samples_leaf=self.min_samples_leaf,
                categorical_features=categorical if any(categorical) else None,
                early_stopping=n_rows >= 1000,
                validation_fraction=0.1,
                random_state=self.random_state,
            )
        if self.model == "random_forest":
            return RandomForestClassifier(
                n_estimators=self.n_estimators,
                min_samples_leaf=self.min_samples_leaf,
                n_jobs=self.n_jobs,
                random_state=self.random_state,
            )
        raise InvalidParameterError(
            f"model must be one of {', '.join(MODEL_KINDS)}, got {self.model!r}"
        )

    def fit(self, X: Any, y: Any) -> NextCategoryClassifier:
        """Fit on features ``X`` (DataFrame or array) and categories ``y``.

        Returns
        -------
        self : NextCategoryClassifier
        """
        self.priors_ = _learn_priors(X) if self.prior_strength > 0 else None
        Xe = self._encode(self._derive(X), fit=True)
        Xv, yv = validate_data(self, Xe, y, ensure_all_finite="allow-nan")
        check_classification_targets(yv)
        names = list(getattr(self, "feature_names_in_", []))
        categorical = [str(n) in self.categories_ for n in names] or [False] * Xv.shape[1]
        if any(categorical) and self.model == "hist_gradient_boosting":
            # HistGradientBoosting bins at most 255 categories; rarer ones become NaN
            for j, name in enumerate(names):
                if categorical[j] and len(self.categories_[str(name)]) > 255:
                    Xv[:, j] = np.where(Xv[:, j] >= 255, np.nan, Xv[:, j])
        with threadpool_limits(limits=self.n_jobs, user_api="openmp"):
            self.estimator_ = self._make_estimator(Xv.shape[0], categorical).fit(Xv, yv)
        self.classes_ = self.estimator_.classes_
        self.n_iter_ = int(getattr(self.estimator_, "n_iter_", self.n_estimators))
        return self

    def _features(self, X: Any) -> Any:
        check_is_fitted(self)
        Xe = self._encode(self._derive(X), fit=False)
        Xv = validate_data(self, Xe, reset=False, ensure_all_finite="allow-nan")
        if self.model == "hist_gradient_boosting":
            for name, cats in self.categories_.items():
                if len(cats) > 255 and hasattr(self, "feature_names_in_"):
                    j = list(self.feature_names_in_).index(name)
                    Xv[:, j] = np.where(Xv[:, j] >= 255, np.nan, Xv[:, j])
        return Xv

    def predict_proba(self, X: Any) -> F64:
        """Probability of each category (columns in :attr:`classes_` order)."""
        Xv = self._features(X)
        with threadpool_limits(limits=self.n_jobs, user_api="openmp"):
            proba: F64 = self.estimator_.predict_proba(Xv)
        return proba

    def predict(self, X: Any) -> Any:
        """The most probable category per row."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


AGE_BANDS: tuple[float, ...] = (25.0, 41.0, 56.0)
"""Age bands of the demographic prior (the schema's age groups: 18-24, 25-40, 41-55, 56+)."""
_CELL_SMOOTHING = 50.0  # lines (or orders) of the overall mix added to every cell's counts


def _counts(X: pd.DataFrame, cats: list[str], column: Any, total: str) -> F64:
    shares = X[[column(c) for c in cats]].to_numpy(dtype=float)
    out: F64 = np.nan_to_num(shares) * np.nan_to_num(X[total].to_numpy(dtype=float))[:, None]
    return out


def _cells(X: pd.DataFrame, bands: tuple[float, ...]) -> npt.NDArray[Any]:
    """Demographic cell per row: age band x gender ('?' when unknown or absent)."""
    n = len(X)
    if "age" in X.columns:
        age = X["age"].to_numpy(dtype=float)
        band = np.where(np.isnan(age), "?", np.digitize(age, bands).astype(str))
    else:
        band = np.full(n, "?")
    gender = X["gender"].astype(object).where(X["gender"].notna(), "?") if "gender" in X else None
    g = np.full(n, "?", dtype=object) if gender is None else gender.astype(str).to_numpy()
    return np.char.add(np.char.add(band.astype(str), "|"), g.astype(str))


def _cell_prior(table: dict[str, F64], cell: npt.NDArray[Any]) -> F64:
    overall = table["*"]
    uniq, inverse = np.unique(cell.astype(str), return_inverse=True)
    rows = [table.get(str(u), overall) for u in uniq]
    out: F64 = np.vstack(rows)[inverse] if rows else np.empty((0, len(overall)))
    return out


def _learn_priors(X: Any) -> dict[str, Any] | None:
    """Category mixes per demographic cell, from the features alone (no labels).

    Returns ``None`` unless ``X`` is a :func:`category_history` frame. A customer's
    line shares are noisy when they bought a few times; ``affinity[<category>]`` =
    (their lines in the category + s x the cell's line share) / (their lines + s),
    with s = ``prior_strength``: the posterior mean of a Dirichlet-multinomial whose
    prior is the mix of their age band and gender, learned here from the training
    frame. ``score[<category>]`` reweights the affinity by how often the category is
    an order's (largest-value) category per line bought in it, in the cell (prices
    decide which category an order counts as). Cell mixes are smoothed towards the
    overall mix with 50 lines (orders).
    """
    if not isinstance(X, pd.DataFrame):
        return None
    cats = [c[len("line_share[") : -1] for c in X.columns if str(c).startswith("line_share[")]
    need = {"n_lines", "n_orders", *(order_share_column(c) for c in cats)}
    if len(cats) < 2 or not need <= set(X.columns):
        return None
    cell = _cells(X, AGE_BANDS)
    out: dict[str, Any] = {"categories": cats, "age_bands": AGE_BANDS}
    for kind, column, total in (
        ("line", line_share_column, "n_lines"),
        ("order", order_share_column, "n_orders"),
    ):
        counts = pd.DataFrame(_counts(X, cats, column, total)).groupby(cell).sum()
        overall = counts.sum(axis=0).to_numpy() + 1.0  # +1: no category has share 0
        overall = overall / overall.sum()
        table = {"*": overall}
        for name, row in counts.iterrows():
            v = row.to_numpy() + _CELL_SMOOTHING * overall
            table[str(name)] = v / v.sum()
        out[kind] = table
    return out


def top_k_accuracy(ranked: npt.NDArray[Any], truth: npt.NDArray[Any], k: int) -> float:
    """Share of rows whose true label is among the first ``k`` columns of ``ranked``."""
    if len(truth) == 0:
        return float("nan")
    hits = (ranked[:, :k] == np.asarray(truth)[:, None]).any(axis=1)
    return float(hits.mean())


def _ranked_from_proba(proba: F64, classes: npt.NDArray[Any], k: int = 3) -> npt.NDArray[Any]:
    # stable: equal probabilities keep the classes' (sorted) order
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return np.asarray(classes, dtype=object)[order]


def _popularity(frame: pd.DataFrame, categories: list[str]) -> list[str]:
    """Categories by number of past orders of the known customers, then by name."""
    counts = []
    for cat in categories:
        col = frame[order_share_column(cat)].fillna(0.0) * frame["n_orders"]
        counts.append(float(np.rint(col.sum())))
    return [c for _, c in sorted(zip((-n for n in counts), categories, strict=True))]


def _most_frequent_ranking(
    frame: pd.DataFrame, categories: list[str], popular: list[str], k: int = 3
) -> npt.NDArray[Any]:
    """Per customer: their categories by past orders (ties: value, then name), then popular."""
    cats = np.array(categories, dtype=object)
    orders = np.nan_to_num(frame[[order_share_column(c) for c in categories]].to_numpy(float))
    value = np.nan_to_num(frame[[value_share_column(c) for c in categories]].to_numpy(float))
    pop_rank = np.empty(len(categories))
    pop_rank[[categories.index(c) for c in popular]] = np.arange(len(popular))
    out = np.empty((len(frame), k), dtype=object)
    # own categories first (order share > 0) by orders, value, name; then by popularity
    bought = orders > 0
    for i in range(len(frame)):
        own = np.flatnonzero(bought[i])
        own = own[np.lexsort((own, -value[i, own], -orders[i, own]))]
        rest = np.flatnonzero(~bought[i])
        rest = rest[np.argsort(pop_rank[rest], kind="stable")]
        out[i] = cats[np.concatenate([own, rest])[:k]]
    return out


def _metrics(ranked: npt.NDArray[Any], truth: npt.NDArray[Any]) -> dict[str, float]:
    return {
        "top1": round(top_k_accuracy(ranked, truth, 1), 4),
        "top3": round(top_k_accuracy(ranked, truth, 3), 4),
    }


def _dataset(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    horizon_days: int,
    timezone: str,
    categories: list[str],
) -> tuple[pd.DataFrame, npt.NDArray[Any]]:
    """Features at ``as_of`` of the known customers who buy in the following horizon."""
    frame = feature_frame(
        category_history(con, as_of=as_of, timezone=timezone, categories=categories)
    )
    labels = next_category_labels(con, cutoff=as_of, horizon_days=horizon_days, timezone=timezone)
    y = pd.Series(
        labels.column("category").to_pylist(),
        index=labels.column("customer_id").to_pylist(),
        dtype=object,
    )
    common = frame.index.intersection(y.index, sort=False)
    frame = frame.loc[common]
    return frame, y.loc[common].to_numpy(dtype=object)


def _top1_scorer(est: NextCategoryClassifier, X: Any, y: Any) -> float:
    return top_k_accuracy(_ranked_from_proba(est.predict_proba(X), est.classes_, 1), y, 1)


def feature_groups(columns: list[str]) -> dict[str, list[str]]:
    """Columns grouped for permutation importance.

    The per-category shares form one group per kind (``order_share[*]``,
    ``line_share[*]``, ``value_share[*]``): a single category's share says little
    alone. Every other column is its own group.
    """
    groups: dict[str, list[str]] = {}
    for col in columns:
        head, bracket, _ = col.partition("[")
        key = f"{head}[*]" if bracket else col
        groups.setdefault(key, []).append(col)
    return groups


def grouped_permutation_importance(
    model: NextCategoryClassifier,
    X: pd.DataFrame,
    y: npt.NDArray[Any],
    groups: dict[str, list[str]],
    *,
    n_repeats: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Drop of top-1 accuracy when a group's columns are shuffled together (rows kept).

    Written here because :func:`sklearn.inspection.permutation_importance` shuffles
    one column at a time: the per-category shares and the hour profile are only
    meaningful as a block, and one group at a time is also ~10x fewer predictions.
    Largest first; ties by name.
    """
    base = _top1_scorer(model, X, y)
    rng = np.random.default_rng(seed)
    out = []
    for name, cols in groups.items():
        drops = []
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[cols] = X[cols].to_numpy()[rng.permutation(len(X))]
            drops.append(base - _top1_scorer(model, shuffled, y))
        out.append(
            {
                "feature": name,
                "importance": round(float(np.mean(drops)), 4),
                "std": round(float(np.std(drops)), 4),
            }
        )
    return sorted(out, key=lambda d: (-float(d["importance"]), str(d["feature"])))


def training_set(
    con: duckdb.DuckDBPyConnection,
    *,
    cutoff: datetime,
    horizon_days: int,
    timezone: str,
    categories: list[str],
    origins: int = 3,
) -> tuple[pd.DataFrame, npt.NDArray[Any]]:
    """Training rows for a model used at ``cutoff``: features at ``cutoff - k * horizon``
    with labels from the horizon after each (k = 1 .. ``origins``), stacked.

    Every label window ends at or before ``cutoff``; origins before the first order
    of the store are skipped. A customer appears once per origin where they buy.
    """
    ((first,),) = con.execute("SELECT min(order_ts) FROM orders").fetchall()
    frames, labels = [], []
    for k in range(1, origins + 1):
        as_of = add_days(cutoff, -k * horizon_days, timezone)
        if first is None or as_of <= first:
            break
        X, y = _dataset(con, as_of, horizon_days, timezone, categories)
        frames.append(X)
        labels.append(y)
    if not frames:
        return pd.DataFrame(), np.empty(0, dtype=object)
    return pd.concat(frames), np.concatenate(labels)


def evaluate_next_category(
    con: duckdb.DuckDBPyConnection,
    *,
    cutoff: datetime | date,
    horizon_days: int,
    timezone: str,
    seed: int = 0,
    truth: bool = True,
    origins: int = 3,
    importance_repeats: int = IMPORTANCE_REPEATS,
) -> dict[str, Any]:
    """Rolling-origin evaluation of the next-category model (module docstring).

    Trains on :func:`training_set` (features at ``origins`` dates before the cutoff,
    each with the labels of the horizon after it, all ending by the cutoff), evaluates
    on features at ``cutoff`` with the labels of ``[cutoff, cutoff + horizon)``.

    Returns the ``preference`` part of ``shoplens evaluate --json``: ``model``
    (top1, top3), ``baselines`` (most_frequent, most_popular), ``oracle`` (None unless
    ``truth`` and the store has ``truth_customers``), ``importance`` (grouped
    permutation importance, largest first: feature, importance, std), and also
    ``hour_of_day`` (the joint importance of the hour-of-day features), ``chosen``
    (model kind), ``validation`` (top-1 of each kind on the validation split),
    ``n_customers`` (holdout), ``n_train`` (training rows, at most
    :data:`MAX_TRAIN_ROWS`), ``n_importance`` (holdout rows of the importance, at most
    :data:`MAX_IMPORTANCE_ROWS`), ``origins``,
    ``by_history`` (customers, model and baselines' top-1 per number of past orders)
    and ``label`` (the rule).

    Raises :class:`ModelError` when the store has no categories or a single one, too
    few customers buy before the cutoff, or none after it.
    """
    categories = store_categories(con)
    test_as_of = to_instant(cutoff, timezone)
    X_train, y_train = training_set(
        con,
        cutoff=test_as_of,
        horizon_days=horizon_days,
        timezone=timezone,
        categories=categories,
        origins=origins,
    )
    if len(y_train) < MIN_TRAIN_CUSTOMERS or len(set(y_train)) < 2:
        raise ModelError(
            f"too few customers to train the next-category model: {len(y_train)} purchases"
            f" of known customers in the {horizon_days} days after each training date"
            f" ({len(set(y_train))} categories); at least {MIN_TRAIN_CUSTOMERS} and 2"
            " categories needed"
        )
    X_test, y_test = _dataset(con, test_as_of, horizon_days, timezone, categories)
    if len(y_test) == 0:
        raise ModelError(
            f"no known customer bought a categorised product in the {horizon_days} days"
            " after the cutoff: nothing to evaluate the next-category model on"
        )

    rng = np.random.default_rng(seed)
    if len(y_train) > MAX_TRAIN_ROWS:
        keep = np.sort(rng.choice(len(y_train), MAX_TRAIN_ROWS, replace=False))
        X_train, y_train = X_train.iloc[keep], y_train[keep]
    chosen, validation = choose_model(X_train, y_train, seed=seed)
    model = NextCategoryClassifier(model=chosen, random_state=seed).fit(X_train, y_train)
    ranked = _ranked_from_proba(model.predict_proba(X_test), model.classes_)

    popular = _popularity(X_test, categories)
    most_frequent = _most_frequent_ranking(X_test, categories, popular)
    most_popular = np.tile(np.array(popular[:3], dtype=object), (len(X_test), 1))

    oracle_ranked = None
    if truth and "truth_customers" in existing_tables(con):
        oracle_ranked = _oracle(con, X_test.index, popular)

    sample = np.arange(len(y_test))
    if len(sample) > MAX_IMPORTANCE_ROWS:
        sample = np.sort(rng.choice(len(sample), MAX_IMPORTANCE_ROWS, replace=False))
    X_imp, y_imp = X_test.iloc[sample], y_test[sample]
    groups = feature_groups([str(c) for c in X_test.columns])
    importance = grouped_permutation_importance(
        model, X_imp, y_imp, groups, n_repeats=importance_repeats, seed=seed
    )
    hour_cols = [c for c in HOUR_FEATURES if c in X_test.columns]
    (hour,) = grouped_permutation_importance(
        model, X_imp, y_imp, {"hour_of_day": hour_cols}, n_repeats=importance_repeats, seed=seed
    )
    n_past = X_test["n_orders"].to_numpy()
    by_history = []
    for lo, hi, name in HISTORY_BUCKETS:
        m = (n_past >= lo) & (n_past <= hi)
        if not m.any():
            continue
        row: dict[str, Any] = {"past_orders": name, "customers": int(m.sum())}
        row["model"] = round(top_k_accuracy(ranked[m], y_test[m], 1), 4)
        row["most_frequent"] = round(top_k_accuracy(most_frequent[m], y_test[m], 1), 4)
        if oracle_ranked is not None:
            row["oracle"] = round(top_k_accuracy(oracle_ranked[m], y_test[m], 1), 4)
        by_history.append(row)
    return {
        "model": _metrics(ranked, y_test),
        "baselines": {
            "most_frequent": _metrics(most_frequent, y_test),
            "most_popular": _metrics(most_popular, y_test),
        },
        "oracle": _metrics(oracle_ranked, y_test) if oracle_ranked is not None else None,
        "importance": importance,
        "hour_of_day": {"features": hour_cols, **{k: hour[k] for k in ("importance", "std")}},
        "chosen": chosen,
        "validation": validation,
        "n_customers": len(y_test),
        "n_train": len(y_train),
        "n_importance": len(y_imp),
        "origins": origins,
        "by_history": by_history,
        "label": "category of the first completed purchase in the horizon"
        " (largest net value in the order; ties by name)",
    }


def choose_model(
    X: pd.DataFrame, y: npt.NDArray[Any], *, seed: int
) -> tuple[ModelKind, dict[str, float]]:
    """Fit each model kind on 75% of the customers, keep the best top-1 on the other 25%.

    Ties go to HistGradientBoosting (the faster one).
    """
    counts = pd.Series(y).value_counts()
    stratify = y if counts.min() >= 2 else None
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=VALIDATION_SHARE, random_state=seed, stratify=stratify
    )
    scores: dict[str, float] = {}
    for kind in MODEL_KINDS:
        est = NextCategoryClassifier(model=kind, random_state=seed).fit(X_fit, y_fit)
        scores[kind] = round(_top1_scorer(est, X_val, y_val), 4)
    best = max(MODEL_KINDS, key=lambda k: (scores[k], k == "hist_gradient_boosting"))
    return best, scores


def _oracle(
    con: duckdb.DuckDBPyConnection, customers: pd.Index, popular: list[str]
) -> npt.NDArray[Any] | None:
    """The simulator's favourite category, then the two most popular others."""
    rows = con.execute(
        "SELECT customer_id, CAST(favourite_category AS VARCHAR) FROM truth_customers"
        " WHERE customer_id IN (SELECT unnest($ids))",
        {"ids": [str(c) for c in customers]},
    ).fetchall()
    fav = dict(rows)
    if not fav:
        return None
    out = np.empty((len(customers), 3), dtype=object)
    for i, cust in enumerate(customers):
        f = fav.get(str(cust))
        others = [c for c in popular if c != f]
        out[i] = [f, *others[:2]]
    return out
