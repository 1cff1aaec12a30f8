"""The HTML report: sections, offline, insights chosen by rules, model sections in both states."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from shoplens.report import SECTION_IDS, build_report, collect, insights, write_report
from shoplens.report.insights import peak_hours
from shoplens.report.sections import kpi_tiles
from tests.conftest import MakeStore
from tests.test_cli import run


class _Outline(HTMLParser):
    """Collects section ids, chart divs and checks that block tags are balanced."""

    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.sections: list[str] = []
        self.charts: list[str] = []
        self.scripts_with_src: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(str(a.get("id")))
        if tag == "div" and a.get("data-chart"):
            self.charts.append(str(a["data-chart"]))
        if tag == "script" and a.get("src"):
            self.scripts_with_src.append(str(a["src"]))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    parser.close()
    return parser


def test_report_has_every_section_and_is_self_contained(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(shop, out)
    html = out.read_text(encoding="utf-8")
    doc = outline(html)
    assert doc.errors == []
    assert doc.stack == []
    assert doc.sections == list(SECTION_IDS)
    assert doc.scripts_with_src == []  # plotly.js is inlined
    assert html.count("plotly.js v") == 1  # ... exactly once (its banner)
    # outside the inlined library (whose code names a CDN for geo maps it never loads
    # here), nothing refers to the network
    library_end = html.index("</script>")
    assert "plotly.js v" in html[:library_end]
    assert not re.search(r"https?://|@font-face|@import", html[library_end:])
    # trends, weekday, hour, 4 breakdowns, promo, RFM grid, 2 segment charts, cohorts
    assert len(doc.charts) == 12
    assert len(doc.charts) == len(set(doc.charts))
    # model sections say what to run
    assert "Not computed yet: run `shoplens score`" in html
    assert "Not computed yet: run `shoplens train`" in html


def test_model_sections_read_the_contract_tables(scored_shop: Path) -> None:
    data = collect(scored_shop)
    html, _ = build_report(data)
    assert "Not computed yet" not in html
    doc = outline(html)
    for key in (
        "clv_distribution",
        "clv_by_segment",
        "churn_scores",
        "churn_calibration",
        "churn_confusion",
        "churn_importance",
        "next_category_scores",
        "clv_calibration",
    ):
        assert key in doc.charts  # fmt: skip
    # the latest evaluation (max trained_at) is the one shown
    assert data.evaluation is not None
    assert data.evaluation["churn"]["model"]["top_decile_lift"] == 3.1
    found = {i.key: i for i in insights(data)}
    assert found["churn_lift"].text == (
        "The churn model finds 3.1x more churners than random in its top decile."
    )
    assert found["next_category"].text.startswith("The next-category model is right 42%")
    assert "7 points" in found["next_category"].text
    # top customers ordered by total CLV
    top = data.top_customers
    assert top is not None
    totals = top.column("total_clv").to_pylist()
    assert totals == sorted(totals, reverse=True)


def test_kpi_tiles_compare_with_the_previous_period() -> None:
    now = {"net_revenue": 1200.0, "orders": 10, "customers": 8, "aov": 120.0,
           "repeat_purchase_rate": 0.25, "promo_order_share": 0.1, "cancellation_rate": None,
           "return_rate": 0.05}  # fmt: skip
    before = {**now, "net_revenue": 1000.0, "repeat_purchase_rate": 0.2, "orders": 0,
              "promo_order_share": 0.05}  # fmt: skip
    tiles = {t.label: t for t in kpi_tiles(now, before, "EUR")}
    assert (tiles["Net revenue"].value, tiles["Net revenue"].unit) == ("1,200", "EUR")
    assert tiles["Net revenue"].change == "+20.0% vs previous"
    assert tiles["Net revenue"].direction == "good"
    assert tiles["Return rate"].direction == "flat"
    worse = {t.label: t for t in kpi_tiles({"return_rate": 0.1}, {"return_rate": 0.05}, "EUR")}
    assert worse["Return rate"].direction == "bad"  # a rising return rate is bad news
    assert tiles["Repeat purchase rate"].change == "+5.0 pts vs previous"
    assert tiles["Orders"].change == "no data in the previous period"
    assert tiles["Cancellation rate"].value == "–"
    assert tiles["Average order value"].value == "120.00"


def _imported_shop(make_store: MakeStore, hour: int) -> Path:
    """Customers without demographics; most revenue at ``hour``."""
    customers = [{"customer_id": f"c{i}", "signup_ts": "2024-01-01 00:00", "country": "FR"}
                 for i in range(10)]  # fmt: skip
    orders, items = [], []
    for k in range(60):
        h = hour if k % 4 else (k * 5) % 24
        when = f"2025-{1 + k % 12:02d}-{1 + k % 27:02d} {h:02d}:15"
        orders.append({"order_id": f"o{k}", "customer_id": f"c{k % 10}", "order_ts": when})
        items.append({"order_id": f"o{k}", "line_no": 1, "product_id": "p1", "quantity": 1,
                      "unit_price": 10 + k})  # fmt: skip
    return make_store(customers=customers, orders=orders, order_items=items,
                      products=[{"product_id": "p1", "name": "P", "unit_price": 10}])  # fmt: skip


def test_insights_adapt_to_the_data(make_store: MakeStore) -> None:
    data = collect(_imported_shop(make_store, hour=21))
    keys = {i.key for i in insights(data)}
    assert "age_group" not in keys  # no ages in this store
    assert data.present["age_group"] is False
    peak = peak_hours(data)
    assert peak is not None
    assert peak.text.startswith("Revenue peaks between 19:00 and 22:00") or peak.text.startswith(
        "Revenue peaks between 20:00 and 23:00"
    ) or peak.text.startswith("Revenue peaks between 21:00 and 00:00")  # fmt: skip
    share = int(re.search(r"\((\d+)% of the day", peak.text).group(1))  # type: ignore[union-attr]
    assert share >= 75  # 45 of 60 orders at 21:15, the larger ones
    assert "1.5x its even share (18.8% of revenue)" in peak.rule
    html, _ = build_report(data)
    assert "No age group in this store" in html
    # a flat day does not get a peak-hours insight
    flat = collect(_flat_shop(make_store))
    assert peak_hours(flat) is None


def _flat_shop(make_store: MakeStore) -> Path:
    orders = [{"order_id": f"o{h}", "customer_id": None, "order_ts": f"2025-03-03 {h:02d}:00"}
              for h in range(24)]  # fmt: skip
    items = [{"order_id": f"o{h}", "line_no": 1, "product_id": "p", "quantity": 1,
              "unit_price": 10} for h in range(24)]  # fmt: skip
    return make_store(orders=orders, order_items=items)


def test_cli_report_and_one_line_errors(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    code, stdout, stderr = run(capsys, "report", "--store", str(shop), "--out", str(out),
                               "--from", "2025-06-01", "--to", "2025-12-31")  # fmt: skip
    assert code == 0, stderr
    assert "report written to" in stdout
    assert "period 2025-06-01 – 2025-12-31" in out.read_text(encoding="utf-8")
    code, _, stderr = run(capsys, "report", "--store", str(shop),
                          "--out", str(tmp_path / "nope" / "r.html"))  # fmt: skip
    assert code == 1
    assert stderr.strip().count("\n") == 0
    assert "does not exist" in stderr
    assert not (tmp_path / "nope").exists()
    code, _, stderr = run(capsys, "report", "--store", str(tmp_path / "missing.duckdb"))
    assert code == 1
    assert "not found" in stderr


@pytest.mark.parametrize("store_kind", ["missing", "empty"])
def test_report_on_a_store_without_orders(
    store_kind: str, make_store: MakeStore, tmp_path: Path
) -> None:
    from shoplens.errors import StoreError

    path = tmp_path / "none.duckdb" if store_kind == "missing" else make_store()
    with pytest.raises(StoreError):
        write_report(path, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
