"""Model-evaluation figures, from the ``evaluate --json`` document (issue #7).

The document's ``churn`` and ``preference`` parts go in as dicts. Where the issue leaves
the shape of a list open (importance, calibration curve, ROC points) the builders accept
the usual spellings (``feature``/``importance``; ``predicted``/``observed``, or sklearn's
``prob_pred``/``prob_true``; ``fpr``/``tpr``) and say when the data is not there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from shoplens.figures.theme import (
    MUTED,
    PALETTE,
    PERCENT_FORMAT,
    PRIMARY,
    SECONDARY,
    SEQUENTIAL,
    empty_figure,
    new_figure,
)

LABELS: dict[str, str] = {
    "model": "Model",
    "hiatus": "Hiatus rule",
    "p_alive": "1 − P(alive)",
    "bgnbd_p_zero": "BG/NBD P(no purchase)",
    "oracle": "Oracle (true rates)",
    "most_frequent": "Most frequent past category",
    "most_popular": "Most popular category",
}


def _first(item: Mapping[str, Any], names: Sequence[str]) -> Any:
    for n in names:
        if n in item and item[n] is not None:
            return item[n]
    return None


def contenders(part: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, metrics) of the model, each baseline and the oracle (when present)."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(part.get("model"), Mapping):
        chosen = part.get("chosen")
        label = f"Model ({str(chosen).replace('_', ' ')})" if chosen else "Model"
        out.append((label, part["model"]))
    for name, metrics in (part.get("baselines") or {}).items():
        if isinstance(metrics, Mapping):
            out.append((LABELS.get(name, name.replace("_", " ")), metrics))
    if isinstance(part.get("oracle"), Mapping):
        out.append((LABELS["oracle"], part["oracle"]))
    return out


def metric_bars(
    part: Mapping[str, Any],
    metrics: Sequence[str],
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
    percent: bool = False,
) -> go.Figure:
    """Grouped bars of ``metrics`` for the model, its baselines and the oracle."""
    rows = contenders(part)
    if not rows:
        return empty_figure(title, "No evaluation")
    fig = new_figure(title, height=320)
    fmt = PERCENT_FORMAT if percent else ".3f"
    for i, metric in enumerate(metrics):
        fig.add_bar(
            x=[name for name, _ in rows],
            y=[m.get(metric) for _, m in rows],
            name=(labels or {}).get(metric, metric),
            marker_color=PALETTE[i % len(PALETTE)],
            texttemplate="%{y:" + fmt + "}",
            textposition="outside",
            hovertemplate="%{x}: %{y:" + fmt + "}<extra>" + metric + "</extra>",
        )
    fig.update_layout(
        barmode="group",
        xaxis={"title": {"text": "Model or baseline"}, "type": "category"},
        yaxis={
            "title": {"text": "Score"},
            "tickformat": ".0%" if percent else ".2f",
            "rangemode": "tozero",
        },
    )
    return fig


def churn_scores(churn: Mapping[str, Any]) -> go.Figure:
    """ROC-AUC and PR-AUC of the churn model against its baselines (and the oracle)."""
    return metric_bars(
        churn,
        ("roc_auc", "pr_auc"),
        title="Churn: model vs baselines on the holdout",
        labels={"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC"},
    )


def roc_curves(churn: Mapping[str, Any]) -> go.Figure:
    """ROC curves of every contender that carries points (``roc_curve``: fpr, tpr)."""
    title = "Churn: ROC curves on the holdout"
    fig = new_figure(title, height=380)
    drawn = 0
    for i, (name, metrics) in enumerate(contenders(churn)):
        points = metrics.get("roc_curve") or []
        if not points:
            continue
        xs = [_first(p, ("fpr", "false_positive_rate")) for p in points]
        ys = [_first(p, ("tpr", "true_positive_rate")) for p in points]
        auc = metrics.get("roc_auc")
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": PALETTE[i % len(PALETTE)]},
            name=f"{name} (AUC {auc:.3f})" if isinstance(auc, int | float) else name,
        )
        drawn += 1
    if not drawn:
        return empty_figure(title, "The evaluation carries no ROC points (see the AUCs)")
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Random", line={"color": MUTED, "dash": "dot"}
    )
    fig.update_layout(
        xaxis={"title": {"text": "False positive rate"}, "range": [0, 1]},
        yaxis={"title": {"text": "True positive rate"}, "range": [0, 1]},
    )
    return fig


_PREDICTED = ("predicted", "mean_predicted", "prob_pred", "mean_predicted_value")
_OBSERVED = ("observed", "fraction_positive", "prob_true", "actual", "fraction_of_positives")


def calibration(churn: Mapping[str, Any]) -> go.Figure:
    """Predicted churn probability vs observed churn share per bin."""
    title = "Churn: calibration (predicted vs observed)"
    points = churn.get("calibration_curve") or []
    if not points:
        return empty_figure(title, "No calibration curve in the evaluation")
    xs = [_first(p, _PREDICTED) for p in points]
    ys = [_first(p, _OBSERVED) for p in points]
    fig = new_figure(title, height=360)
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Perfect", line={"color": MUTED, "dash": "dot"}
    )
    fig.add_scatter(x=xs, y=ys, mode="lines+markers", name="Model", line={"color": PRIMARY})
    fig.update_layout(
        xaxis={
            "title": {"text": "Predicted churn probability"},
            "range": [0, 1],
            "tickformat": ".0%",
        },
        yaxis={"title": {"text": "Observed churn share"}, "range": [0, 1], "tickformat": ".0%"},
    )
    return fig


def confusion_matrix(churn: Mapping[str, Any]) -> go.Figure:
    """The confusion matrix at the chosen threshold ([[tn, fp], [fn, tp]], sklearn layout)."""
    model = churn.get("model") or {}
    matrix = model.get("confusion_matrix")
    threshold = model.get("threshold")
    title = "Churn: confusion matrix" + (
        f" at threshold {threshold:.2f}" if isinstance(threshold, int | float) else ""
    )
    if not matrix:
        return empty_figure(title, "No confusion matrix in the evaluation")
    if isinstance(matrix, Mapping):  # {"tn":.., "fp":.., "fn":.., "tp":..}
        matrix = [[matrix["tn"], matrix["fp"]], [matrix["fn"], matrix["tp"]]]
    total = sum(sum(r) for r in matrix) or 1
    text = [[f"{v:,}<br>{v / total:.0%}" for v in r] for r in matrix]
    fig = new_figure(title, height=340)
    fig.add_heatmap(
        z=matrix,
        x=["Predicted active", "Predicted churn"],
        y=["Active", "Churned"],
        text=text,
        texttemplate="%{text}",
        colorscale=SEQUENTIAL,
        showscale=False,
        hovertemplate="%{y}, %{x}: %{z:,}<extra></extra>",
    )
    fig.update_layout(
        xaxis={"title": {"text": "Prediction"}, "type": "category"},
        yaxis={"title": {"text": "Actual (holdout)"}, "type": "category", "autorange": "reversed"},
    )
    return fig


def importance(
    items: Sequence[Any], *, title: str = "Permutation feature importance", top: int = 15
) -> go.Figure:
    """Horizontal bars of the ``top`` features by importance (drop in score when shuffled)."""
    pairs: list[tuple[str, float, float | None]] = []
    for it in items:
        if isinstance(it, Mapping):
            name = _first(it, ("feature", "name"))
            value = _first(it, ("importance", "importance_mean", "mean", "value"))
            std = _first(it, ("std", "importance_std"))
        else:
            name, value, std = it[0], it[1], (it[2] if len(it) > 2 else None)
        if name is not None and value is not None:
            pairs.append((str(name), float(value), None if std is None else float(std)))
    if not pairs:
        return empty_figure(title, "No feature importance in the evaluation")
    pairs = sorted(pairs, key=lambda p: p[1], reverse=True)[:top][::-1]
    fig = new_figure(title, height=max(260, 70 + 24 * len(pairs)))
    has_std = all(p[2] is not None for p in pairs)
    fig.add_bar(
        y=[p[0] for p in pairs],
        x=[p[1] for p in pairs],
        orientation="h",
        marker_color=PRIMARY,
        error_x={"type": "data", "array": [p[2] for p in pairs]} if has_std else None,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        name="Importance",
    )
    fig.update_layout(
        xaxis={"title": {"text": "Importance (score drop when shuffled)"}},
        yaxis={"title": {"text": "Feature"}, "type": "category"},
        showlegend=False,
    )
    return fig


def next_category_scores(preference: Mapping[str, Any]) -> go.Figure:
    """Top-1 and top-3 accuracy of the next-category model against its baselines."""
    return metric_bars(
        preference,
        ("top1", "top3"),
        title="Next category: accuracy on the holdout's next purchases",
        labels={"top1": "Top-1 accuracy", "top3": "Top-3 accuracy"},
        percent=True,
    )


def clv_calibration(clv: Mapping[str, Any]) -> go.Figure:
    """BTYD calibration table: predicted vs actual holdout purchases by past frequency."""
    title = "Lifetime value: predicted vs actual holdout purchases"
    rows = clv.get("calibration") or []
    if not rows:
        return empty_figure(title, "No calibration table in the evaluation")
    xs = [str(r.get("frequency")) for r in rows]
    fig = new_figure(title, height=320)
    for col, name, colour in (("predicted", "Predicted", PRIMARY), ("actual", "Actual", SECONDARY)):
        fig.add_bar(
            x=xs,
            y=[r.get(col) for r in rows],
            name=name,
            marker_color=colour,
            hovertemplate="%{x}: %{y:.2f}<extra>" + name + "</extra>",
        )
    fig.update_layout(
        barmode="group",
        xaxis={"title": {"text": "Repeat purchases before the cutoff"}, "type": "category"},
        yaxis={"title": {"text": "Mean purchases in the holdout"}},
    )
    return fig
