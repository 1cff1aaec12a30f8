"""Plain plotly figure builders shared by the report, the dashboard and the notebook.

Data in (the ``pyarrow.Table`` or dict that :mod:`shoplens.analytics` and the models
return), ``plotly.graph_objects.Figure`` out; no store access, no streamlit.
"""

from shoplens.figures.clv import clv_by_segment, clv_histogram
from shoplens.figures.cohorts import retention_heatmap
from shoplens.figures.kpis import breakdown_bars, monthly_trend, promo_usage, revenue_share_bars
from shoplens.figures.live import live_revenue
from shoplens.figures.models import (
    calibration,
    churn_scores,
    clv_calibration,
    confusion_matrix,
    importance,
    next_category_scores,
    roc_curves,
)
from shoplens.figures.segments import rfm_grid, segment_shares
from shoplens.figures.theme import TEMPLATE

__all__ = [
    "TEMPLATE",
    "breakdown_bars",
    "calibration",
    "churn_scores",
    "clv_by_segment",
    "clv_calibration",
    "clv_histogram",
    "confusion_matrix",
    "importance",
    "live_revenue",
    "monthly_trend",
    "next_category_scores",
    "promo_usage",
    "retention_heatmap",
    "revenue_share_bars",
    "rfm_grid",
    "roc_curves",
    "segment_shares",
]
