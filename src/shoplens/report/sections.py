"""The report's sections, in order: each a title, a sentence and blocks (tiles, charts, tables).

Sections never compute: they pick tables from :class:`ReportData` and hand them to the
figure builders. A section whose data is missing says which command computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa

from shoplens import figures
from shoplens.analytics import KPI_DEFINITIONS
from shoplens.analytics.results import NOT_COMPUTED
from shoplens.figures.models import contenders
from shoplens.figures.theme import count, money, percent
from shoplens.ingest.quality import COUNT_DEFINITIONS
from shoplens.report.collect import ReportData
from shoplens.report.insights import Insight, insights

SECTION_IDS: tuple[str, ...] = (
    "summary",
    "kpis",
    "trends",
    "breakdowns",
    "promo",
    "segments",
    "cohorts",
    "clv",
    "churn",
    "next-category",
    "quality",
    "methods",
)


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    change: str  # "+12.3% vs previous" or "no previous data"
    direction: str  # "good", "bad", "flat", "none" (a rising return rate is bad)
    unit: str = ""  # the currency of money tiles, shown smaller


@dataclass(frozen=True)
class Chart:
    key: str  # file name of its PNG
    figure: go.Figure


@dataclass(frozen=True)
class TableBlock:
    caption: str
    table: pa.Table
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    text: str
    missing: bool = False  # a "not computed yet" state


Block = Tile | Chart | TableBlock | Note | list[Tile] | list[Insight] | dict[str, str]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    blocks: list[Block]


def _not_computed(table: str) -> Note:
    return Note(f"Not computed yet: run `{NOT_COMPUTED[table]}` on this store.", missing=True)


_TILES: tuple[tuple[str, str, str], ...] = (
    ("net_revenue", "Net revenue", "money"),
    ("orders", "Orders", "count"),
    ("customers", "Customers", "count"),
    ("aov", "Average order value", "money2"),
    ("repeat_purchase_rate", "Repeat purchase rate", "percent"),
    ("promo_order_share", "Orders with promo", "percent"),
    ("cancellation_rate", "Cancellation rate", "percent"),
    ("return_rate", "Return rate", "percent"),
)


_LOWER_IS_BETTER = {"cancellation_rate", "return_rate"}


def _fmt(kind: str, value: Any) -> str:
    if value is None:
        return "–"
    if kind == "money":
        return money(value)
    if kind == "money2":
        return f"{float(value):,.2f}"
    if kind == "percent":
        return percent(float(value))
    return count(value)


def kpi_tiles(now: dict[str, Any], before: dict[str, Any], currency: str) -> list[Tile]:
    tiles = []
    for key, label, kind in _TILES:
        value, prev = now.get(key), before.get(key)
        text = _fmt(kind, value)
        unit = currency if kind.startswith("money") and value is not None else ""
        if value is None or not prev:
            tiles.append(Tile(label, text, "no data in the previous period", "none", unit))
            continue
        if kind == "percent":  # rates: the change in points
            delta = (float(value) - float(prev)) * 100
            change, sign = f"{delta:+.1f} pts vs previous", delta
        else:
            rel = float(value) / float(prev) - 1
            change, sign = f"{rel:+.1%} vs previous", rel
        if key in _LOWER_IS_BETTER:
            sign = -sign
        direction = "good" if sign > 0 else "bad" if sign < 0 else "flat"
        tiles.append(Tile(label, text, change, direction, unit))
    return tiles


def _summary(d: ReportData) -> Section:
    found = insights(d)
    blocks: list[Block] = [found] if found else [Note("No effect passed its rule's threshold.")]
    return Section(
        "summary",
        "Executive summary",
        f"What stands out in {d.start} – {d.end}. Each finding is chosen by a rule that tests "
        "whether the effect is large enough to mention; the rule is stated under it.",
        blocks,
    )


def _kpis(d: ReportData) -> Section:
    return Section(
        "kpis",
        "Key figures",
        f"{d.start} – {d.end} compared with the {(d.end - d.start).days + 1} days before "
        f"({d.previous_start} – {d.previous_end}). Rates compare in percentage points.",
        [kpi_tiles(d.kpis, d.previous_kpis, d.currency)],
    )


def _trends(d: ReportData) -> Section:
    return Section(
        "trends",
        "Trends",
        "Revenue and orders by month over the whole history; weekday and hour of day over "
        "the report period (shop time zone " + d.timezone + ").",
        [
            Chart("trend_month", figures.monthly_trend(d.by_month)),
            Chart("trend_weekday", figures.revenue_share_bars(d.by["weekday"], "weekday")),
            Chart("trend_hour", figures.revenue_share_bars(d.by["hour"], "hour")),
        ],
    )


def _breakdowns(d: ReportData) -> Section:
    blocks: list[Block] = []
    labels = {
        "country": "country",
        "category": "category",
        "age_group": "age group",
        "channel": "sales channel",
    }
    for dim, label in labels.items():
        if d.present.get(dim):
            blocks.append(Chart(f"breakdown_{dim}", figures.breakdown_bars(d.by[dim], dim)))
        else:
            blocks.append(Note(f"No {label} in this store's data: no breakdown by {label}."))
    return Section("breakdowns", "Breakdowns", "Net revenue over the report period.", blocks)


def _promo(d: ReportData) -> Section:
    k = d.kpis
    return Section(
        "promo",
        "Promo usage",
        f"{percent(k.get('promo_order_share'))} of the period's orders used a promo code; "
        f"discounts were {percent(k.get('discount_rate'))} of gross revenue "
        f"({money(k.get('discounts'))} {d.currency}).",
        [Chart("promo_month", figures.promo_usage(d.by_month))],
    )


def _segments(d: ReportData) -> Section:
    shares = d.segment_revenue.select(["segment", "customers", "share", "revenue", "revenue_share"])
    return Section(
        "segments",
        "Segments",
        f"RFM scores as of the day after {d.end}. The charts compare each segment's share of "
        "customers with its share of all-history revenue; the table gives the report "
        "period's revenue. Behavioural segments describe how customers buy (VIP, promo "
        "addict, regular, occasional).",
        [
            Chart("rfm_grid", figures.rfm_grid(d.rfm_cells)),
            Chart(
                "rfm_segments",
                figures.segment_shares(d.rfm_summary, title="RFM segments: customers vs revenue"),
            ),
            TableBlock("RFM segments: revenue of the report period", shares),
            Chart(
                "behaviour_segments",
                figures.segment_shares(
                    d.behaviour_summary,
                    title="Behaviour: customers vs revenue",
                ),
            ),
        ],
    )


def _cohorts(d: ReportData) -> Section:
    return Section(
        "cohorts",
        "Cohort retention",
        "Customers grouped by the month of their first completed order; each cell is the "
        "share of the cohort that bought again N months later.",
        [Chart("cohorts", figures.retention_heatmap(d.cohorts, title="Cohort retention"))],
    )


def _clv(d: ReportData) -> Section:
    intro = "Historic value so far plus the value the models expect over the CLV horizon."
    if d.clv_bins is None or d.clv_summary is None or d.top_customers is None:
        return Section("clv", "Lifetime value", intro, [_not_computed("customer_scores")])
    top = d.top_customers.select(
        ["customer_id", "rfm_segment", "historic_clv", "predicted_clv", "total_clv", "churn_risk"]
    )
    return Section(
        "clv",
        "Lifetime value",
        intro,
        [
            Chart("clv_distribution", figures.clv_histogram(d.clv_bins)),
            Chart("clv_by_segment", figures.clv_by_segment(d.clv_summary)),
            TableBlock("Top customers by total lifetime value", top),
        ],
    )


def _churn(d: ReportData) -> Section:
    intro = (
        "How well the churn model ranks customers who will not buy in the horizon, on "
        "a holdout it never saw, against simple baselines."
    )
    churn = (d.evaluation or {}).get("churn")
    blocks: list[Block] = []
    if not churn or not churn.get("model"):
        blocks.append(_not_computed("model_evaluation"))
    else:
        rows = []
        for name, metrics in contenders(churn):
            rows.append(
                {
                    "model": name,
                    **{
                        k: metrics.get(k) for k in ("roc_auc", "pr_auc", "brier", "top_decile_lift")
                    },
                }
            )
        blocks += [
            Chart("churn_scores", figures.churn_scores(churn)),
            TableBlock("Churn: holdout metrics", pa.Table.from_pylist(rows)),
            *(  # ROC curves only when the evaluation carries their points
                [Chart("churn_roc", figures.roc_curves(churn))]
                if any(m.get("roc_curve") for _, m in contenders(churn))
                else []
            ),
            Chart("churn_calibration", figures.calibration(churn)),
            Chart("churn_confusion", figures.confusion_matrix(churn)),
            Chart("churn_importance", figures.importance(churn.get("importance") or [])),
        ]
        clv = (d.evaluation or {}).get("clv") or {}
        if clv.get("calibration"):
            blocks.append(Chart("clv_calibration", figures.clv_calibration(clv)))
    if d.churn_risk is not None:
        blocks.append(TableBlock("Customers by churn risk (latest scores)", d.churn_risk))
    return Section("churn", "Churn", intro, blocks)


def _next_category(d: ReportData) -> Section:
    intro = "Which category each customer buys next: accuracy on the holdout's next purchases."
    pref = (d.evaluation or {}).get("preference")
    if not pref or not pref.get("model"):
        return Section("next-category", "Next category", intro, [_not_computed("model_evaluation")])
    return Section(
        "next-category",
        "Next category",
        intro,
        [
            Chart("next_category_scores", figures.next_category_scores(pref)),
            Chart(
                "next_category_importance",
                figures.importance(
                    pref.get("importance") or [], title="Next category: permutation importance"
                ),
            ),
        ],
    )


def _quality(d: ReportData) -> Section:
    rows = pa.table({"table": list(d.table_rows), "rows": list(d.table_rows.values())})
    blocks: list[Block] = [TableBlock("Tables in the store", rows)]
    q = d.quality
    if q is None:
        blocks.insert(
            0,
            Note(
                "No import in this store (simulated or written by other tools): "
                "no data-quality report."
            ),
        )
    else:
        counts = q.counts()
        table = pa.table(
            {
                "count": list(COUNT_DEFINITIONS),
                "value": [counts.get(k) for k in COUNT_DEFINITIONS],
                "meaning": list(COUNT_DEFINITIONS.values()),
            }
        )
        blocks.insert(0, TableBlock(f"Latest import: {q.source} ({q.mapping})", table))
    return Section(
        "quality", "Data quality", "What the latest import kept, fixed or dropped.", blocks
    )


MODEL_METHODS: dict[str, str] = {
    "RFM scores": "Recency, frequency and monetary value of completed orders, each scored 1-5 "
    "by quintile (ties share a score); segments are named cells of the R x FM grid.",
    "Behavioural segments": "VIP, promo addict, regular or occasional by rules on spend rank, "
    "promo share and the gap between orders (first rule that holds wins).",
    "Cohort retention": "Share of customers first buying in a month who buy again N months "
    "later (completed orders, shop time zone).",
    "BG/NBD": "Models repeat purchases as a Poisson process per customer that stops for good "
    "with some probability after each purchase; gives P(alive) and expected orders.",
    "Gamma-Gamma": "Models a customer's average order value around the shop's; with BG/NBD it "
    "gives the predicted (discounted) lifetime value.",
    "Churn model": "A classifier (gradient boosting or random forest, calibrated) of 'no "
    "completed order in the horizon after the cutoff', trained on earlier data.",
    "ROC-AUC": "The chance the model scores a random churner above a random non-churner.",
    "Top-decile lift": "Churners among the top-scored 10% divided by the overall churn rate.",
    "Next category": "A classifier of the category of a customer's next purchase; top-1 and "
    "top-3 accuracy on the holdout's next purchases.",
}


def _methods(d: ReportData) -> Section:
    del d
    return Section(
        "methods",
        "Methods",
        "Every figure in this report, defined in a sentence.",
        [{**KPI_DEFINITIONS, **MODEL_METHODS}],
    )


def build_sections(d: ReportData) -> list[Section]:
    """Every section of the report, in :data:`SECTION_IDS` order."""
    sections = [
        _summary(d),
        _kpis(d),
        _trends(d),
        _breakdowns(d),
        _promo(d),
        _segments(d),
        _cohorts(d),
        _clv(d),
        _churn(d),
        _next_category(d),
        _quality(d),
        _methods(d),
    ]
    assert tuple(s.id for s in sections) == SECTION_IDS
    return sections


def charts(sections: list[Section]) -> list[Chart]:
    return [b for s in sections for b in s.blocks if isinstance(b, Chart)]
