"""Customer segments: the named RFM segments and behavioural segments.

Both are computed for the customers of :func:`shoplens.analytics.rfm.rfm_table`
(completed orders of known customers before ``as_of``), so every customer gets
exactly one RFM segment and exactly one behavioural segment.

Named RFM segments
    From ``r_score`` and ``fm_score = floor((f_score + m_score) / 2)`` (the average of
    F and M, rounded down so that a half point never lifts a customer into a better
    band), on the widely used R x FM grid. :data:`RFM_SEGMENTS` is the mapping as
    data, in report order; each (r, fm) cell of the 5 x 5 grid belongs to exactly one
    segment::

                fm=1  fm=2  fm=3  fm=4  fm=5
        r=5     NC    PL    PL    CH    CH
        r=4     PR    PL    PL    LC    LC
        r=3     AS    AS    NA    LC    LC
        r=2     HI    HI    AR    AR    CL
        r=1     LO    LO    AR    AR    CL

    CH Champions, LC Loyal Customers, PL Potential Loyalists, NC New Customers,
    PR Promising, NA Need Attention, AS About To Sleep, AR At Risk, CL Can't Lose Them,
    HI Hibernating, LO Lost.

Behavioural segments
    Rules in :class:`SegmentRules`, checked in this priority order, the first that
    holds wins, so every customer gets exactly one:

    1. **VIP**: among the top ``vip_top_share`` of customers by net revenue (the
       cut-off is ``ceil(vip_top_share * customers)`` places; customers tied with
       the last place are all in) *and* at least ``vip_min_orders`` completed orders.
    2. **Promo addict**: at least ``promo_min_orders`` completed orders and a share
       of them with a promo code (``promo_order_share``) of at least
       ``promo_min_share``.
    3. **Regular**: at least ``regular_min_orders`` completed orders and an average
       gap between consecutive orders (``avg_gap_days`` = (last - first order) /
       (orders - 1), in days) of at most ``regular_max_gap_days``.
    4. **Occasional**: everyone else (one-time buyers, irregular buyers).

    These describe *how* a customer buys; whether they still buy is the RFM
    segment's job (a lapsed regular is "Regular" + "At Risk").

Summaries
    :func:`segment_summary` always returns one row per segment, in the fixed order
    above, including segments with no customers (counts and revenue 0, averages
    NULL), so outputs have a stable shape.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shoplens.analytics.facts import ensure_order_facts
from shoplens.analytics.rfm import ORDER_TABLES, RFM_BASE_SQL, RFM_COLUMNS, check_as_of
from shoplens.engines import Source, as_engine
from shoplens.errors import InvalidParameterError

# (segment, (r_min, r_max), (fm_min, fm_max)), inclusive ranges, in report order.
RFM_SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("Champions", (5, 5), (4, 5)),
    ("Loyal Customers", (3, 4), (4, 5)),
    ("Potential Loyalists", (4, 5), (2, 3)),
    ("New Customers", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need Attention", (3, 3), (3, 3)),
    ("About To Sleep", (3, 3), (1, 2)),
    ("At Risk", (1, 2), (3, 4)),
    ("Can't Lose Them", (1, 2), (5, 5)),
    ("Hibernating", (2, 2), (1, 2)),
    ("Lost", (1, 1), (1, 2)),
)
RFM_SEGMENT_NAMES: tuple[str, ...] = tuple(name for name, _, _ in RFM_SEGMENTS)

BEHAVIOUR_SEGMENTS: tuple[str, ...] = ("VIP", "Promo addict", "Regular", "Occasional")

ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    *RFM_COLUMNS,
    "fm_score",
    "rfm_segment",
    "promo_orders",
    "promo_order_share",
    "avg_gap_days",
    "spend_rank",
    "behaviour_segment",
)

SUMMARY_COLUMNS: tuple[str, ...] = (
    "segment",
    "customers",
    "share",
    "revenue",
    "revenue_share",
    "avg_recency_days",
    "avg_frequency",
    "avg_monetary",
)


def rfm_segment_of(r_score: int, fm_score: int) -> str:
    """The named RFM segment of grid cell (r, fm), both in 1..5."""
    for name, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENTS:
        if r_lo <= r_score <= r_hi and fm_lo <= fm_score <= fm_hi:
            return name
    raise InvalidParameterError(f"no RFM segment for r={r_score}, fm={fm_score}")


def _rfm_grid() -> list[str]:
    """The segment names of the 25 cells, index (r - 1) * 5 + (fm - 1)."""
    return [rfm_segment_of(r, fm) for r in range(1, 6) for fm in range(1, 6)]


class SegmentRules(BaseModel):
    """Rules of the behavioural segments (priority VIP > Promo addict > Regular > Occasional).

    Invalid values raise :class:`~shoplens.errors.InvalidParameterError` naming the
    field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    vip_top_share: float = Field(default=0.05, ge=0, le=1)
    """VIP: share of customers, ranked by net revenue, that can be VIP (0.05 = top 5%)."""
    vip_min_orders: int = Field(default=3, ge=1)
    """VIP: minimum completed orders (a single big basket is not a VIP)."""
    promo_min_share: float = Field(default=0.6, gt=0, le=1)
    """Promo addict: minimum share of completed orders placed with a promo code."""
    promo_min_orders: int = Field(default=2, ge=1)
    """Promo addict: minimum completed orders (one promo order is no habit)."""
    regular_min_orders: int = Field(default=3, ge=2)
    """Regular: minimum completed orders."""
    regular_max_gap_days: float = Field(default=90, gt=0)
    """Regular: maximum average gap between consecutive completed orders, in days."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidParameterError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "rules"
        parts.append(f"{field}: {err['msg']} (got {err.get('input')!r})")
    return "invalid segment rules: " + "; ".join(parts)


_ASSIGN_SQL = f"""
WITH rfm AS ({RFM_BASE_SQL}),
features AS (
    SELECT *,
           (f_score + m_score) // 2 AS fm_score,
           promo_orders / frequency AS promo_order_share,
           CASE WHEN frequency > 1
                THEN (epoch(last_order_ts) - epoch(first_order_ts)) / 86400.0
                     / (frequency - 1)
           END AS avg_gap_days,
           ceil(CAST($vip_top_share AS DECIMAL(10, 6)) * n_customers) AS vip_places
    FROM rfm
)
SELECT customer_id, first_order_ts, last_order_ts, recency_days, frequency, monetary,
       r_score, f_score, m_score, rfm_score, fm_score,
       list_extract($grid, (r_score - 1) * 5 + fm_score) AS rfm_segment,
       promo_orders, promo_order_share, avg_gap_days, spend_rank,
       CASE
           WHEN spend_rank <= vip_places AND frequency >= $vip_min_orders THEN 'VIP'
           WHEN frequency >= $promo_min_orders AND promo_order_share >= $promo_min_share
               THEN 'Promo addict'
           WHEN frequency >= $regular_min_orders AND avg_gap_days <= $regular_max_gap_days
               THEN 'Regular'
           ELSE 'Occasional'
       END AS behaviour_segment
FROM features
ORDER BY customer_id
"""


def assign_segments(
    con: Source,
    *,
    rules: SegmentRules | None = None,
    as_of: date | None = None,
) -> pa.Table:
    """Per customer: the RFM columns, the named RFM segment and the behavioural segment.

    Columns (:data:`ASSIGNMENT_COLUMNS`): the :func:`~shoplens.analytics.rfm.rfm_table`
    columns, then fm_score, rfm_segment, promo_orders (completed orders with a promo
    code), promo_order_share, avg_gap_days (NULL for one order), spend_rank (1 = the
    biggest spender; ties share a rank) and behaviour_segment. Ordered by customer_id.
    """
    if rules is None:
        rules = SegmentRules()
    elif not isinstance(rules, SegmentRules):
        raise InvalidParameterError(f"rules must be a SegmentRules, not {type(rules).__name__}")
    as_of = check_as_of(as_of)
    engine = as_engine(con)
    engine.require_tables(ORDER_TABLES, why="for segments")
    ensure_order_facts(engine)
    # every rule is a named parameter of the SQL, under its field name
    params: dict[str, Any] = {"as_of": as_of, "grid": _rfm_grid(), **rules.model_dump()}
    return engine.sql(_ASSIGN_SQL, params=params)


_SUMMARY_SQL = """
WITH segs AS (
    SELECT segment, ordinality AS pos
    FROM unnest($segments) WITH ORDINALITY AS t(segment, ordinality)
),
per_segment AS (
    SELECT {column} AS segment,
           count(*) AS customers,
           sum(CAST(monetary AS DECIMAL(38, 2))) AS revenue,
           avg(recency_days) AS avg_recency_days,
           avg(frequency) AS avg_frequency,
           avg(monetary) AS avg_monetary
    FROM assignments
    GROUP BY ALL
),
totals AS (
    SELECT count(*) AS customers, sum(CAST(monetary AS DECIMAL(38, 2))) AS revenue
    FROM assignments
)
SELECT s.segment,
       coalesce(p.customers, 0) AS customers,
       coalesce(p.customers / nullif(t.customers, 0), 0) AS share,
       round(CAST(coalesce(p.revenue, 0) AS DOUBLE), 2) AS revenue,
       coalesce(CAST(p.revenue AS DOUBLE) / nullif(CAST(t.revenue AS DOUBLE), 0), 0)
           AS revenue_share,
       p.avg_recency_days,
       p.avg_frequency,
       round(p.avg_monetary, 2) AS avg_monetary
FROM segs AS s
LEFT JOIN per_segment AS p USING (segment)
CROSS JOIN totals AS t
ORDER BY s.pos
"""


def segment_summary(assignments: pa.Table, kind: Literal["rfm", "behaviour"] = "rfm") -> pa.Table:
    """Per segment of ``kind``: customers, share, revenue, revenue_share and averages.

    ``assignments`` is the output of :func:`assign_segments`. Columns
    (:data:`SUMMARY_COLUMNS`): segment, customers, share (of customers), revenue (net,
    sum of monetary), revenue_share, avg_recency_days, avg_frequency, avg_monetary.
    One row per segment in the fixed order of :data:`RFM_SEGMENT_NAMES` or
    :data:`BEHAVIOUR_SEGMENTS`, empty segments included (0 customers, 0 revenue,
    NULL averages).
    """
    if kind == "rfm":
        column, names = "rfm_segment", RFM_SEGMENT_NAMES
    elif kind == "behaviour":
        column, names = "behaviour_segment", BEHAVIOUR_SEGMENTS
    else:
        raise InvalidParameterError(
            f"unknown segment kind {kind!r} (expected 'rfm' or 'behaviour')"
        )
    if not isinstance(assignments, pa.Table):
        raise InvalidParameterError("assignments must be a pyarrow Table from assign_segments")
    needed = (column, "monetary", "recency_days", "frequency")
    missing = [c for c in needed if c not in assignments.column_names]
    if missing:
        raise InvalidParameterError(
            f"assignments lack column(s) {', '.join(missing)} (use assign_segments)"
        )
    with duckdb.connect() as con:
        con.register("assignments", assignments.select(list(needed)))
        # {column} is one of two constants above, never user text.
        sql = _SUMMARY_SQL.format(column=column)
        return con.sql(sql, params={"segments": list(names)}).to_arrow_table()
