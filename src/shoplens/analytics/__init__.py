"""Batch analytics in SQL on DuckDB: KPIs, RFM, segments, cohorts.

Every function takes a store connection (its TimeZone set to the shop's) and
parameters, and returns a ``pyarrow.Table``; nothing here prints or writes.
"""

from shoplens.analytics.cohorts import cohort_matrix
from shoplens.analytics.kpis import DIMENSIONS, KPI_DEFINITIONS, compute_kpis
from shoplens.analytics.rfm import rfm_table
from shoplens.analytics.segments import SegmentRules, assign_segments, segment_summary

__all__ = [
    "DIMENSIONS",
    "KPI_DEFINITIONS",
    "SegmentRules",
    "assign_segments",
    "cohort_matrix",
    "compute_kpis",
    "rfm_table",
    "segment_summary",
]
