"""Every dashboard page under Streamlit's AppTest: numbers follow the filters, missing
tables show the "not computed yet" state, injection-style values stay values."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from shoplens.dashboard.app import PAGE_FILES
from tests.conftest import MakeStore
from tests.dashboard.conftest import RunApp

MODEL_PAGES = ("clv", "churn", "next_category")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def infos(at: AppTest) -> list[str]:
    return [i.value for i in at.info]


def net_revenue(store: Path, start: date, end: date, countries: list[str] | None = None) -> float:
    """Net revenue of completed orders, computed independently of shoplens (plain SQL)."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        row = con.execute(
            """
            WITH o AS (
              SELECT o.order_id, o.discount FROM orders o LEFT JOIN customers c USING (customer_id)
              WHERE o.status = 'completed'
                AND o.order_ts >= CAST(? AS TIMESTAMPTZ) AND o.order_ts < CAST(? AS TIMESTAMPTZ)
                AND (? OR c.country IN (SELECT unnest(?::VARCHAR[])))
            )
            SELECT sum(i.quantity * i.unit_price - i.discount) - (SELECT sum(discount) FROM o)
            FROM order_items i WHERE i.order_id IN (SELECT order_id FROM o)
            """,
            [start, end + timedelta(days=1), countries is None, countries or []],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return float(row[0] or 0)


def _period(at: AppTest) -> tuple[date, date]:
    start, end = at.session_state["filter_period"]
    return start, end


def test_overview_numbers_follow_the_filters(shop: Path, run_app: RunApp) -> None:
    at = run_app(shop)
    start, end = _period(at)
    assert (end - start).days == 89  # default: the last 90 days of data
    assert metrics(at)["Net revenue"] == f"{net_revenue(shop, start, end):,.0f} EUR"
    at.multiselect(key="w_filter_countries").select("DE").run()
    de = metrics(at)["Net revenue"]
    assert de == f"{net_revenue(shop, start, end, ['DE']):,.0f} EUR"
    assert de != f"{net_revenue(shop, start, end):,.0f} EUR"
    new_start = date(2025, 1, 1)
    at.date_input(key="w_filter_period").set_value((new_start, end)).run()
    assert metrics(at)["Net revenue"] == f"{net_revenue(shop, new_start, end, ['DE']):,.0f} EUR"
    # the filters are kept when switching pages
    at.switch_page("pages/cohorts.py").run()
    assert at.multiselect(key="w_filter_countries").value == ["DE"]
    assert _period(at) == (new_start, end)


def test_every_page_without_model_or_live_tables(shop: Path, run_app: RunApp) -> None:
    at = run_app(shop)
    shown: dict[str, Any] = {}
    for name, title, _ in PAGE_FILES:
        at.switch_page(f"pages/{name}").run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert not at.error, (name, [e.value for e in at.error])
        assert at.title[0].value == title
        shown[name] = infos(at)
    assert shown["clv.py"] == ["Not computed yet: run `shoplens score` on this store."]
    assert "Not computed yet: run `shoplens train` on this store." in shown["churn.py"]
    assert "Not computed yet: run `shoplens score` on this store." in shown["next_category.py"]
    assert shown["live.py"] == ["Not computed yet: run `shoplens stream process` on this store."]
    assert any("No import in this store" in i for i in shown["quality.py"])


def test_segments_and_cohorts_follow_the_filters(shop: Path, run_app: RunApp) -> None:
    at = run_app(shop, "cohorts")
    everyone = metrics(at)["Customers in the cohorts"]
    at.multiselect(key="w_filter_countries").select("FR").run()
    fr = metrics(at)["Customers in the cohorts"]
    assert int(fr.replace(",", "")) < int(everyone.replace(",", ""))
    at.switch_page("pages/segments.py").run()
    table = at.dataframe[0].value
    assert list(table.columns)[:2] == ["segment", "customers"]
    assert at.get("plotly_chart")  # revenue by segment and the RFM grid


def test_model_pages_read_the_contract_tables(scored_shop: Path, run_app: RunApp) -> None:
    at = run_app(scored_shop, "clv")
    assert not infos(at)
    all_customers = metrics(at)["Scored customers"]
    con = duckdb.connect(str(scored_shop), read_only=True)
    (n,) = con.execute("SELECT count(*) FROM customer_scores").fetchone()  # type: ignore[misc]
    (n_de,) = con.execute(
        "SELECT count(*) FROM customer_scores JOIN customers USING (customer_id)"
        " WHERE country = 'DE'"
    ).fetchone()  # type: ignore[misc]
    (high,) = con.execute(
        "SELECT count(*) FROM customer_scores WHERE churn_risk = 'high'"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert all_customers == f"{n:,}"
    at.multiselect(key="w_filter_countries").select("DE").run()
    assert metrics(at)["Scored customers"] == f"{n_de:,}"
    at.multiselect(key="w_filter_countries").unselect("DE").run()
    at.switch_page("pages/churn.py").run()
    assert metrics(at)["High risk"] == f"{high:,}"
    csv = at.get("download_button")[0]
    assert csv.proto.label == "Download all high-risk customers (CSV)"
    assert at.get("plotly_chart")  # the evaluation charts
    at.switch_page("pages/next_category.py").run()
    assert not infos(at)
    at.switch_page("pages/live.py").run()
    assert metrics(at)["Revenue, last window"] == f"{500.50:,.0f} EUR"  # the newest window


def test_customer_page_search(scored_shop: Path, run_app: RunApp) -> None:
    con = duckdb.connect(str(scored_shop), read_only=True)
    cid, orders = con.execute(
        "SELECT customer_id, count(*) FROM orders WHERE status = 'completed'"
        " AND customer_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    con.close()
    at = run_app(scored_shop, "customer")
    at.text_input(key="customer_query").input(cid).run()
    assert at.selectbox(key="customer_pick").value == cid
    assert metrics(at)["Completed orders"] == f"{orders:,}"
    assert "Churn probability" in metrics(at)
    at.text_input(key="customer_query").input("x'); DROP TABLE orders; --").run()
    assert at.warning[0].value.startswith("No customer id starts with")


EVIL = ("x'); DROP TABLE orders; --", "' OR '1'='1", 'DE" OR 1=1 --')


def test_injection_style_values_in_every_filter(make_store: MakeStore, run_app: RunApp) -> None:
    """Countries, categories and segments whose names are SQL: selected, they are values."""
    customers = [{"customer_id": f"c{i}", "signup_ts": "2025-01-01 00:00", "country": EVIL[i % 3]}
                 for i in range(6)]  # fmt: skip
    products = [{"product_id": f"p{k}", "name": "x", "category": EVIL[k], "unit_price": 10}
                for k in range(3)]  # fmt: skip
    orders = [{"order_id": f"o{i}", "customer_id": f"c{i}", "order_ts": f"2025-03-0{i + 1} 10:00"}
              for i in range(6)]  # fmt: skip
    items = [{"order_id": f"o{i}", "line_no": 1, "product_id": f"p{i % 3}", "quantity": 1,
              "unit_price": 10 * (i + 1)} for i in range(6)]  # fmt: skip
    store = make_store(customers=customers, products=products, orders=orders, order_items=items)
    con = duckdb.connect(str(store))
    con.execute(
        "CREATE TABLE customer_segments AS SELECT customer_id, ? AS rfm_segment,"
        " 1 AS r_score, 1 AS fm_score, 0.0 AS monetary FROM customers",
        [EVIL[1]],
    )
    con.close()
    at = run_app(store)
    assert metrics(at)["Net revenue"] == "210 EUR"
    at.multiselect(key="w_filter_countries").select(EVIL[0]).run()
    assert metrics(at)["Net revenue"] == "50 EUR"  # c0 (10) and c3 (40)
    at.multiselect(key="w_filter_categories").select(EVIL[0]).run()
    assert metrics(at)["Net revenue"] == "50 EUR"  # both orders are of category EVIL[0]
    at.multiselect(key="w_filter_categories").unselect(EVIL[0]).select(EVIL[1]).run()
    assert metrics(at)["Net revenue"] == "0 EUR"
    at.multiselect(key="w_filter_categories").unselect(EVIL[1]).run()
    at.multiselect(key="w_filter_segments").select(EVIL[1]).run()
    assert metrics(at)["Net revenue"] == "50 EUR"
    con = duckdb.connect(str(store), read_only=True)
    ((n,),) = con.execute("SELECT count(*) FROM orders").fetchall()
    con.close()
    assert n == 6


def test_segments_page_without_segments(make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store(
        orders=[{"order_id": "o", "order_ts": "2025-01-01 10:00"}],
        order_items=[{"order_id": "o", "line_no": 1, "product_id": "p", "quantity": 1,
                      "unit_price": 5}],
    )  # fmt: skip
    at = run_app(store, "segments")
    assert infos(at) == ["Not computed yet: run `shoplens segments` on this store."]
    assert at.multiselect(key="w_filter_segments").disabled


@pytest.mark.slow
def test_busy_store_is_reported_and_writers_get_in(
    shop: Path, run_app: RunApp, tmp_path: Path
) -> None:
    import shutil
    import subprocess
    import sys

    store = tmp_path / "busy.duckdb"
    shutil.copy(shop, store)
    at = run_app(store)
    before = metrics(at)["Orders"]
    # the dashboard is open: a writer still gets in, writes, and the dashboard sees it
    writer = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); con.execute("
        '"INSERT INTO orders (order_id, customer_id, order_ts, status, discount, currency)'
        " SELECT 'new1', NULL, max(order_ts), 'completed', 0, 'EUR' FROM orders\"); con.close()"
    )
    subprocess.run([sys.executable, "-c", writer, str(store)], check=True, timeout=60)
    at.run()
    assert int(metrics(at)["Orders"].replace(",", "")) == int(before.replace(",", "")) + 1
    # a writer holding the file right now: the page says so and does not crash
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
         " print('ready', flush=True); time.sleep(60)", str(store)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        import streamlit as st

        from shoplens.dashboard import snapshot

        st.cache_data.clear()  # nothing cached: the page must read the store now
        snapshot.clear()
        at.run()
        assert not at.exception
        warnings = [w.value for w in at.warning]
        assert warnings == [f"The store is busy (being written by PID {holder.pid}); retrying…"]
    finally:
        holder.kill()
        holder.wait()
    at.run()
    assert not at.warning
    assert metrics(at)["Orders"]
