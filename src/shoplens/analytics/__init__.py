"""Batch analytics in SQL: KPIs, RFM, segments, cohorts.

Every function takes a store connection (its TimeZone set to the shop's) or an engine
(:mod:`shoplens.engines`: DuckDB or Spark over a Parquet dataset) and parameters, and
returns a ``pyarrow.Table``; nothing here prints or writes. The SQL is written once, in
DuckDB's dialect; the Spark engine transpiles it.
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
