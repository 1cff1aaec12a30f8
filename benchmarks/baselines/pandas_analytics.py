"""Baseline analytics: the same KPIs, RFM segments and cohorts with pandas groupby.

This is what a competent pandas user writes: vectorised ``merge``/``groupby`` on
DataFrames already in memory (no Python loops over rows). It mirrors the definitions
of ``shoplens.analytics`` (``kpis.KPI_DEFINITIONS``, ``rfm``, ``segments``,
``cohorts``) so the benchmark can check both sides give the same numbers:

- money is converted once to integer cents (DuckDB sums DECIMALs exactly; float sums
  of many amounts would not tie-break RFM ranks the same way);
- the first order of a customer is the earliest by ``(order_ts, order_id)``, any
  status; ``order_id`` is compared as a string, as in the store (VARCHAR);
- quintile scores are ``ntile(5)`` buckets of ``rank(method="min")`` positions, so
  tied values share a score;
- months, days and recency are shop-local (``tz``).

The frames come from :func:`load_frames` (outside any timing in the benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

# --- the shared definitions (checked against shoplens by the benchmark) --------------

KPI_COLUMNS = (
    "orders",
    "completed_orders",
    "cancelled_orders",
    "returned_orders",
    "customers",
    "gross_revenue",
    "discounts",
    "cancelled_revenue",
    "returned_revenue",
    "net_revenue",
    "new_customer_revenue",
    "returning_customer_revenue",
    "guest_revenue",
    "aov",
    "units_per_order",
    "purchase_frequency",
    "repeat_purchase_rate",
    "promo_order_share",
    "discount_rate",
    "cancellation_rate",
    "return_rate",
)
UNKNOWN = "(unknown)"

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
BEHAVIOUR_SEGMENTS = ("VIP", "Promo addict", "Regular", "Occasional")
RULES: dict[str, float] = {
    "vip_top_share": 0.05,
    "vip_min_orders": 3,
    "promo_min_share": 0.6,
    "promo_min_orders": 2,
    "regular_min_orders": 3,
    "regular_max_gap_days": 90,
}

# order classes, as in kpis.py: 0-2 completed (first order / later order / guest)
NEW, RETURNING, GUEST, CANCELLED, RETURNED = range(5)


@dataclass
class Frames:
    """The store's tables as DataFrames (money as float, as DuckDB hands DECIMALs over)."""

    orders: pd.DataFrame  # order_id, customer_id, order_ts, status, promo_code, discount
    order_items: pd.DataFrame  # order_id, product_id, quantity, unit_price, discount
    products: pd.DataFrame  # product_id, category
    tz: str = "UTC"
    # per-order / per-(order, category) facts, computed once and shared by every
    # analysis (shoplens does the same per connection: analytics/facts.py)
    cache: dict[str, pd.DataFrame] = field(default_factory=dict)


def load_frames(con: Any, tz: str = "UTC") -> Frames:
    """Read the tables the analyses need from a store connection into pandas.

    DECIMAL money arrives as float64 (as ``DuckDBPyConnection.df()`` would give it).
    """

    def read(sql: str) -> pd.DataFrame:
        df: pd.DataFrame = con.sql(sql).to_arrow_table().to_pandas()
        return df

    return Frames(
        orders=read(
            "SELECT order_id, customer_id, order_ts, status, promo_code,"
            " discount::DOUBLE AS discount FROM orders"
        ),
        order_items=read(
            "SELECT order_id, product_id, quantity, unit_price::DOUBLE AS unit_price,"
            " discount::DOUBLE AS discount FROM order_items"
        ),
        products=read("SELECT product_id, category FROM products"),
        tz=tz,
    )


def _cents(s: pd.Series) -> npt.NDArray[np.int64]:
    """Money as exact integer cents."""
    values: npt.NDArray[np.float64] = s.to_numpy(dtype="float64")
    return np.rint(values * 100).astype(np.int64)


def _round2(x: pd.Series) -> pd.Series:
    """Round to cents, halves away from zero (as SQL ``round``; numpy rounds half to even)."""
    r: pd.Series = np.sign(x) * np.floor(x.abs() * 100 + 0.5) / 100
    return r


def _div(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den as float, NaN where den == 0."""
    den = den.astype("float64")
    return num.astype("float64") / den.where(den != 0)


def _month_label(idx: pd.Series) -> pd.Series:
    """Month index (year * 12 + month - 1) -> 'YYYY-MM'."""
    year = (idx // 12).astype(str).str.zfill(4)
    label: pd.Series = year + "-" + (idx % 12 + 1).astype(str).str.zfill(2)
    return label


# --- KPIs -------------------------------------------------------------------------------


def order_facts(fr: Frames) -> pd.DataFrame:
    """One row per order: class, promo flag, money in cents (gross, discounts, net), units.

    Computed on first use and cached on ``fr``.
    """
    if "orders" in fr.cache:
        return fr.cache["orders"]
    o = fr.orders
    it = fr.order_items
    qty = it["quantity"].to_numpy(dtype=np.int64)
    per_order = (
        pd.DataFrame(
            {
                "order_id": it["order_id"],
                "gross": qty * _cents(it["unit_price"]),
                "line_discount": _cents(it["discount"]),
                "units": qty,
                "n_lines": 1,
            }
        )
        .groupby("order_id", sort=False)
        .sum()
    )
    f = o[["order_id", "customer_id", "order_ts"]].join(per_order, on="order_id")
    for col in ("gross", "line_discount", "units", "n_lines"):
        f[col] = f[col].fillna(0).astype("int64")  # an order without lines counts as 0
    f["order_discount"] = _cents(o["discount"])
    f["net"] = f["gross"] - f["line_discount"] - f["order_discount"]
    f["promo"] = o["promo_code"].fillna("").ne("").to_numpy()
    known = o[o["customer_id"].notna()]
    first_ids = known.sort_values(["order_ts", "order_id"]).drop_duplicates("customer_id")[
        "order_id"
    ]
    status = o["status"]
    f["cls"] = np.select(
        [
            status.eq("cancelled").to_numpy(),
            status.eq("returned").to_numpy(),
            o["customer_id"].isna().to_numpy(),
            o["order_id"].isin(first_ids).to_numpy(),
        ],
        [CANCELLED, RETURNED, GUEST, NEW],
        default=RETURNING,
    )
    local = f["order_ts"].dt.tz_convert(fr.tz)
    f["month_idx"] = local.dt.year * 12 + local.dt.month - 1
    fr.cache["orders"] = f
    return f


def line_facts(fr: Frames) -> pd.DataFrame:
    """One row per (order, category) present in the order: gross, discounts, units (cents).

    Computed on first use and cached on ``fr``.
    """
    if "lines" in fr.cache:
        return fr.cache["lines"]
    it = fr.order_items
    qty = it["quantity"].to_numpy(dtype=np.int64)
    lines = pd.DataFrame(
        {
            "order_id": it["order_id"],
            "product_id": it["product_id"],
            "gross": qty * _cents(it["unit_price"]),
            "line_discount": _cents(it["discount"]),
            "units": qty,
            "n_lines": 1,
        }
    ).merge(fr.products, on="product_id", how="left")
    lines["category"] = lines["category"].fillna(UNKNOWN)
    lf = (
        lines.groupby(["order_id", "category"], sort=False)[
            ["gross", "line_discount", "units", "n_lines"]
        ]
        .sum()
        .reset_index()
    )
    fr.cache["lines"] = lf
    return lf


def _finish(cells: pd.DataFrame, per_customer: pd.DataFrame) -> pd.DataFrame:
    """KPI columns per ``grp`` from (grp, cls) cells (money in cents) and per-customer counts."""
    c = cells.copy()
    c["net"] = c["gross"] - c["line_discount"] - c["order_discount"]
    completed = c["cls"] <= GUEST

    def total(col: str, mask: pd.Series | None = None) -> pd.Series:
        src = c if mask is None else c[mask]
        return src.groupby("grp")[col].sum()

    out = pd.DataFrame(index=pd.Index(sorted(c["grp"].unique()), name="grp"))
    out["orders"] = total("n")
    out["completed_orders"] = total("n", completed)
    out["cancelled_orders"] = total("n", c["cls"] == CANCELLED)
    out["returned_orders"] = total("n", c["cls"] == RETURNED)
    pc = per_customer.groupby("grp").agg(
        customers=("n", "size"),
        repeaters=("n", lambda s: int((s >= 2).sum())),
        customer_orders=("n", "sum"),
    )
    out = out.join(pc)
    money = {
        "gross_revenue": total("gross"),
        "discounts": c.assign(d=c["line_discount"] + c["order_discount"]).groupby("grp")["d"].sum(),
        "cancelled_revenue": total("net", c["cls"] == CANCELLED),
        "returned_revenue": total("net", c["cls"] == RETURNED),
        "net_revenue": total("net", completed),
        "new_customer_revenue": total("net", c["cls"] == NEW),
        "returning_customer_revenue": total("net", c["cls"] == RETURNING),
        "guest_revenue": total("net", c["cls"] == GUEST),
    }
    units = total("units", completed).reindex(out.index).fillna(0)
    promo = total("promo_n").reindex(out.index).fillna(0)
    for name, s in money.items():
        out[name] = s.reindex(out.index).fillna(0).astype("float64") / 100  # exact cents
    out = out.fillna({k: 0 for k in ("completed_orders", "cancelled_orders", "returned_orders")})
    out = out.fillna({"customers": 0, "repeaters": 0, "customer_orders": 0})
    out["aov"] = _round2(_div(out["net_revenue"], out["completed_orders"]))
    out["units_per_order"] = _div(units, out["completed_orders"])
    out["purchase_frequency"] = _div(out["customer_orders"], out["customers"])
    out["repeat_purchase_rate"] = _div(out["repeaters"], out["customers"])
    out["promo_order_share"] = _div(promo, out["orders"])
    out["discount_rate"] = _div(out["discounts"], out["gross_revenue"])
    out["cancellation_rate"] = _div(out["cancelled_orders"], out["orders"])
    out["return_rate"] = _div(
        out["returned_orders"], out["completed_orders"] + out["returned_orders"]
    )
    for col in ("orders", "completed_orders", "cancelled_orders", "returned_orders", "customers"):
        out[col] = out[col].astype("int64")
    for name in money:
        out[name] = _round2(out[name])
    return out[list(KPI_COLUMNS)]


def kpis(fr: Frames, by: str | None = None) -> pd.DataFrame:
    """KPIs over all orders: one row (``by=None``), per ``'month'`` or per ``'category'``."""
    if by not in (None, "month", "category"):
        raise ValueError(f"unsupported dimension {by!r}")
    od = order_facts(fr)
    sums = {
        "n": ("order_id", "size"),
        "promo_n": ("promo", "sum"),
        "order_discount": ("order_discount", "sum"),
        "gross": ("gross", "sum"),
        "line_discount": ("line_discount", "sum"),
        "units": ("units", "sum"),
    }
    if by != "category":
        grp = od["month_idx"] if by == "month" else pd.Series(0, index=od.index)
        od = od.assign(grp=grp)
        cells = od.groupby(["grp", "cls"]).agg(**sums).reset_index()
        mask = (od["cls"] <= GUEST) & od["customer_id"].notna()
        per_customer = od[mask].groupby(["grp", "customer_id"]).size().rename("n").reset_index()
    else:
        oc = line_facts(fr).merge(
            od[["order_id", "customer_id", "cls", "promo", "order_discount", "gross", "n_lines"]],
            on="order_id",
            suffixes=("", "_order"),
        )
        # an order discount is shared among its lines pro rata to their gross value
        # (equally per line if the order is free), in floating point as kpis.py does
        t_gross, t_lines = oc["gross_order"], oc["n_lines_order"]
        disc = oc["order_discount"].astype("float64")
        oc["order_discount"] = np.where(
            disc == 0,
            0.0,
            np.where(
                t_gross == 0,
                disc * oc["n_lines"] / t_lines,
                disc * (oc["gross"] / t_gross.where(t_gross != 0)),
            ),
        )
        oc = oc.rename(columns={"category": "grp"})
        cells = oc.groupby(["grp", "cls"]).agg(**sums).reset_index()
        mask = (oc["cls"] <= GUEST) & oc["customer_id"].notna()
        per_customer = oc[mask].groupby(["grp", "customer_id"]).size().rename("n").reset_index()

    out = _finish(cells, per_customer)
    if by is None:
        return out.reset_index(drop=True)
    out = out.reset_index().rename(columns={"grp": by})
    if by == "month":
        out["month"] = _month_label(out["month"])
    else:
        out = out.sort_values("category", key=lambda s: s.eq(UNKNOWN) * 1, kind="stable")
    return out.reset_index(drop=True)


# --- RFM and segments -----------------------------------------------------------------


def _customer_orders(fr: Frames) -> pd.DataFrame:
    """Completed orders of known customers (revenue = net, in cents)."""
    od = order_facts(fr)
    co = od[(od["cls"] <= GUEST) & od["customer_id"].notna()]
    return co.rename(columns={"net": "revenue"})


def _ntile5(pos: pd.Series, n: int) -> np.ndarray:
    """The ntile(5) bucket of 1-based positions among n rows (as rfm.ntile5_of_position)."""
    p = pos.to_numpy(dtype=np.int64)
    q, r = n // 5, n % 5
    big = r * (q + 1)
    return np.where(p <= big, (p - 1) // (q + 1) + 1, r + (p - 1 - big) // max(q, 1) + 1)


def rfm(fr: Frames, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per customer: recency_days, frequency, monetary and the 1..5 scores."""
    local_ts = fr.orders["order_ts"].dt.tz_convert(fr.tz)
    if as_of is None:
        last_day = local_ts.max().normalize().tz_localize(None) + pd.Timedelta(days=1)
        as_of = last_day.tz_localize(fr.tz)
    co = _customer_orders(fr)
    co = co[co["order_ts"] < as_of]
    per = co.groupby("customer_id").agg(
        first_order_ts=("order_ts", "min"),
        last_order_ts=("order_ts", "max"),
        frequency=("order_ts", "size"),
        monetary_cents=("revenue", "sum"),
        promo_orders=("promo", "sum"),
    )
    last_day_local = per["last_order_ts"].dt.tz_convert(fr.tz).dt.normalize().dt.tz_localize(None)
    as_of_day = as_of.tz_convert(fr.tz).normalize().tz_localize(None)
    per["recency_days"] = (as_of_day - last_day_local).dt.days
    n = len(per)
    per["r_score"] = _ntile5(per["recency_days"].rank(method="min", ascending=False), n)
    per["f_score"] = _ntile5(per["frequency"].rank(method="min"), n)
    per["m_score"] = _ntile5(per["monetary_cents"].rank(method="min"), n)
    per["spend_rank"] = per["monetary_cents"].rank(method="min", ascending=False).astype("int64")
    per["monetary"] = per["monetary_cents"] / 100
    per["rfm_score"] = (
        per["r_score"].astype(str) + per["f_score"].astype(str) + per["m_score"].astype(str)
    )
    return per.reset_index().sort_values("customer_id", ignore_index=True)


def segments(fr: Frames, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """RFM plus the named RFM segment and the behavioural segment per customer."""
    s = rfm(fr, as_of)
    s["fm_score"] = (s["f_score"] + s["m_score"]) // 2
    grid = np.empty((6, 6), dtype=object)
    for name, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENTS:
        grid[r_lo : r_hi + 1, fm_lo : fm_hi + 1] = name
    s["rfm_segment"] = grid[s["r_score"].to_numpy(), s["fm_score"].to_numpy()]
    freq = s["frequency"]
    s["promo_order_share"] = s["promo_orders"] / freq
    span_days = (s["last_order_ts"] - s["first_order_ts"]).dt.total_seconds() / 86400.0
    s["avg_gap_days"] = (span_days / (freq - 1)).where(freq > 1)
    vip_places = math.ceil(RULES["vip_top_share"] * len(s))
    s["behaviour_segment"] = np.select(
        [
            (s["spend_rank"] <= vip_places) & (freq >= RULES["vip_min_orders"]),
            (freq >= RULES["promo_min_orders"])
            & (s["promo_order_share"] >= RULES["promo_min_share"]),
            (freq >= RULES["regular_min_orders"])
            & (s["avg_gap_days"] <= RULES["regular_max_gap_days"]),
        ],
        ["VIP", "Promo addict", "Regular"],
        default="Occasional",
    )
    return s


def segment_summary(assignments: pd.DataFrame, kind: str = "rfm") -> pd.DataFrame:
    """Per segment (fixed order, empty ones included): customers, shares, revenue, means."""
    column, names = (
        ("rfm_segment", [n for n, _, _ in RFM_SEGMENTS])
        if kind == "rfm"
        else ("behaviour_segment", list(BEHAVIOUR_SEGMENTS))
    )
    g = assignments.groupby(column).agg(
        customers=("customer_id", "size"),
        revenue_cents=("monetary_cents", "sum"),
        avg_recency_days=("recency_days", "mean"),
        avg_frequency=("frequency", "mean"),
        avg_monetary=("monetary", "mean"),
    )
    g = g.reindex(names)
    g["customers"] = g["customers"].fillna(0).astype("int64")
    g["revenue_cents"] = g["revenue_cents"].fillna(0)
    total_c, total_rev = len(assignments), assignments["monetary_cents"].sum()
    g["share"] = g["customers"] / total_c if total_c else 0.0
    g["revenue"] = g["revenue_cents"] / 100
    g["revenue_share"] = g["revenue_cents"] / total_rev if total_rev else 0.0
    g["avg_monetary"] = _round2(g["avg_monetary"])
    out = g.reset_index().rename(columns={column: "segment"})
    return out[
        [
            "segment",
            "customers",
            "share",
            "revenue",
            "revenue_share",
            "avg_recency_days",
            "avg_frequency",
            "avg_monetary",
        ]
    ]


# --- cohorts ----------------------------------------------------------------------------


def cohort_matrix(fr: Frames, metric: str = "customers") -> pd.DataFrame:
    """Monthly acquisition cohorts (first completed order): activity by months since."""
    co = _customer_orders(fr)
    cm = co.groupby(["customer_id", "month_idx"], as_index=False)["revenue"].sum()
    cm["cohort_idx"] = cm.groupby("customer_id")["month_idx"].transform("min")
    cm["months_since"] = cm["month_idx"] - cm["cohort_idx"]
    sizes = cm[cm["months_since"] == 0].groupby("cohort_idx").size()
    cells = cm.groupby(["cohort_idx", "months_since"]).agg(
        active_customers=("customer_id", "size"), revenue=("revenue", "sum")
    )
    last_idx = int(order_facts(fr)["month_idx"].max())  # last month with any order
    grid = pd.MultiIndex.from_tuples(
        [(c, m) for c in sizes.index for m in range(last_idx - c + 1)],
        names=["cohort_idx", "months_since"],
    )
    out = cells.reindex(grid, fill_value=0).reset_index()
    out["cohort_size"] = out["cohort_idx"].map(sizes)
    month0 = (
        out["revenue"].where(out["months_since"] == 0).groupby(out["cohort_idx"]).transform("max")
    )
    if metric == "customers":
        out["value"] = out["active_customers"] / out["cohort_size"]
    else:
        out["value"] = out["revenue"] / month0.where(month0 != 0)
    out["revenue"] = out["revenue"] / 100
    out["cohort"] = _month_label(out["cohort_idx"])
    return out[
        ["cohort", "months_since", "cohort_size", "active_customers", "revenue", "value"]
    ].astype({"months_since": "int64", "active_customers": "int64", "cohort_size": "int64"})
