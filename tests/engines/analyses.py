"""Every public analysis, as (label, function of an engine or connection) pairs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from shoplens import analytics

Analysis = tuple[str, Callable[[Any], pa.Table]]


def _kpis(by: str | None) -> Callable[[Any], pa.Table]:
    return lambda con: analytics.compute_kpis(con, by=by)


ANALYSES: list[Analysis] = [
    ("kpis", _kpis(None)),
    *((f"kpis by {by}", _kpis(by)) for by in analytics.DIMENSIONS),
    ("segments (RFM scores, both segments)", lambda con: analytics.assign_segments(con)),
    ("cohorts customers", lambda con: analytics.cohort_matrix(con, metric="customers")),
    ("cohorts revenue", lambda con: analytics.cohort_matrix(con, metric="revenue")),
]

# On the standalone cluster: one analysis of each family (line facts, which build the
# order facts first; customers; cohorts); local mode runs them all.
CLUSTER = ("kpis by category", "segments (RFM scores, both segments)", "cohorts revenue")
