"""Smoke tests of the benchmark baselines on tiny inputs (speed is never asserted)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from benchmarks.baselines import faker_loop
from benchmarks.baselines import pandas_analytics as pda

from shoplens.analytics import (
    KPI_DEFINITIONS,
    assign_segments,
    cohort_matrix,
    compute_kpis,
    segment_summary,
)
from tests.conftest import MakeStore


def test_faker_loop_shapes_and_determinism(tmp_path: Path) -> None:
    customers, lines = faker_loop.generate(20, 2.5, seed=3)
    assert list(customers.columns) == faker_loop.CUSTOMER_COLUMNS
    assert list(lines.columns) == faker_loop.TRANSACTION_COLUMNS
    assert len(customers) == 20
    assert len(lines) == 50
    assert customers["customer_id"].is_unique
    assert lines["customer_id"].between(1, 20).all()
    assert lines["quantity"].between(1, 5).all()
    assert set(lines["product_category"]) <= set(faker_loop.CATEGORIES)
    again_c, again_l = faker_loop.generate(20, 2.5, seed=3)
    pd.testing.assert_frame_equal(customers, again_c)
    pd.testing.assert_frame_equal(
        lines.drop(columns="transaction_id"), again_l.drop(columns="transaction_id")
    )

    faker_loop.write(customers, lines, tmp_path)
    assert len(pd.read_csv(tmp_path / "customers.csv")) == 20
    assert len(pd.read_csv(tmp_path / "ecommerce_data.csv")) == 50


@pytest.fixture
def tiny_store(make_store: MakeStore) -> Path:
    """c1: 2 completed orders (first has a promo + order discount); c2: a cancelled
    first order then a completed one; a guest order; c3: only a returned order."""
    return make_store(
        products=[
            {"product_id": "p1", "name": "one", "category": "A", "unit_price": 10},
            {"product_id": "p2", "name": "two", "category": "B", "unit_price": 5},
        ],
        orders=[
            {"order_id": "o1", "customer_id": "c1", "order_ts": "2025-01-05 10:00",
             "promo_code": "X", "discount": 1.00},
            {"order_id": "o2", "customer_id": "c1", "order_ts": "2025-02-10 10:00"},
            {"order_id": "o3", "customer_id": "c2", "order_ts": "2025-01-20 10:00",
             "status": "cancelled"},
            {"order_id": "o4", "customer_id": "c2", "order_ts": "2025-03-01 10:00"},
            {"order_id": "o5", "customer_id": None, "order_ts": "2025-03-02 10:00"},
            {"order_id": "o6", "customer_id": "c3", "order_ts": "2025-03-03 10:00",
             "status": "returned"},
        ],
        order_items=[
            {"order_id": "o1", "line_no": 1, "product_id": "p1", "quantity": 2, "unit_price": 10},
            {"order_id": "o1", "line_no": 2, "product_id": "p2", "quantity": 1, "unit_price": 5,
             "discount": 0.50},
            {"order_id": "o2", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10},
            {"order_id": "o3", "line_no": 1, "product_id": "p2", "quantity": 3, "unit_price": 5},
            {"order_id": "o4", "line_no": 1, "product_id": "p2", "quantity": 1, "unit_price": 5},
            {"order_id": "o5", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10},
            {"order_id": "o6", "line_no": 1, "product_id": "p1", "quantity": 1, "unit_price": 10},
        ],
    )  # fmt: skip


def test_pandas_analytics_numbers_and_shapes(tiny_store: Path, open_con) -> None:
    fr = pda.load_frames(open_con(tiny_store, read_only=True))
    total = pda.kpis(fr).iloc[0]
    assert tuple(pda.KPI_COLUMNS) == tuple(KPI_DEFINITIONS)
    assert (total["orders"], total["completed_orders"], total["customers"]) == (6, 4, 2)
    assert total["gross_revenue"] == 75.0
    assert total["discounts"] == 1.5
    assert total["net_revenue"] == 48.5  # 23.50 + 10 + 5 + 10
    assert total["new_customer_revenue"] == 23.5  # o4 is not c2's first order (o3 is)
    assert total["returning_customer_revenue"] == 15.0
    assert total["guest_revenue"] == 10.0
    assert total["repeat_purchase_rate"] == 0.5

    by_month = pda.kpis(fr, by="month")
    assert list(by_month["month"]) == ["2025-01", "2025-02", "2025-03"]
    by_cat = pda.kpis(fr, by="category")
    assert list(by_cat["category"]) == ["A", "B"]
    assert by_cat["net_revenue"].sum() == pytest.approx(48.5)

    seg = pda.segments(fr)
    assert list(seg["customer_id"]) == ["c1", "c2"]  # c3 only returned, guests left out
    assert list(seg["frequency"]) == [2, 1]
    assert list(seg["monetary"]) == [33.5, 5.0]
    summary = pda.segment_summary(seg, "behaviour")
    assert list(summary["segment"]) == list(pda.BEHAVIOUR_SEGMENTS)
    assert summary["customers"].sum() == 2

    coh = pda.cohort_matrix(fr)
    assert list(coh["cohort"]) == ["2025-01", "2025-01", "2025-01", "2025-03"]
    assert list(coh["active_customers"]) == [1, 1, 0, 1]


def test_pandas_analytics_agrees_with_shoplens(tiny_store: Path, open_con) -> None:
    con = open_con(tiny_store, read_only=True)
    fr = pda.load_frames(con)
    for by in (None, "month", "category"):
        ours = compute_kpis(con, by=by).to_pandas()
        base = pda.kpis(fr, by=by)
        pd.testing.assert_frame_equal(ours, base, check_dtype=False, check_exact=False, rtol=1e-9)
    a = assign_segments(con)
    base_seg = pda.segments(fr)
    for col in ("recency_days", "frequency", "rfm_score", "rfm_segment", "behaviour_segment"):
        assert a.column(col).to_pylist() == base_seg[col].tolist(), col
    for kind in ("rfm", "behaviour"):
        ours_s = segment_summary(a, kind).to_pandas()
        base_s = pda.segment_summary(base_seg, kind)
        assert ours_s["customers"].tolist() == base_s["customers"].tolist()
    ours_c = cohort_matrix(con).to_pandas()
    pd.testing.assert_frame_equal(
        ours_c, pda.cohort_matrix(fr), check_dtype=False, check_exact=False, rtol=1e-9
    )


# --- the benchmark scripts' shared pieces ---------------------------------------------


def test_checks_and_worker_dispatch_are_shared(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import _common, bench_analytics, bench_generate, bench_import

    assert vars(bench_analytics)["Check"] is vars(bench_import)["Check"] is _common.Check
    ok = [_common.Check("orders", 1_234, "every row", True)]
    assert _common.print_checks(ok) is True
    out = capsys.readouterr().out
    assert "agreement check" in out
    assert "1,234" in out
    assert " OK " in out
    assert _common.print_checks([*ok, _common.Check("lines", 5, "2 differ", False)]) is False
    assert "DIFFERS" in capsys.readouterr().out

    for module in (bench_analytics, bench_generate, bench_import):
        args = module.parse_args(["--worker", "baseline", "--seed", "3", "--quick"])
        assert (args.worker, args.seed, args.quick, args.out) == ("baseline", 3, True, None)
    workers = {"ours": lambda: {"side": "ours"}, "baseline": lambda: {"side": "baseline"}}
    assert _common.run_as_worker(None, workers) is False
    assert capsys.readouterr().out == ""
    assert _common.run_as_worker("baseline", workers) is True
    line = capsys.readouterr().out
    assert line.startswith(_common.WORKER_TAG)
    assert '"side": "baseline"' in line
    assert '"peak_rss_mb": ' in line


def test_generate_store_times_one_run(tmp_path: Path) -> None:
    from benchmarks import run_generate_scale
    from benchmarks._simulator import generate_store

    from shoplens.generate import SimulationParams
    from shoplens.store import open_store

    params = SimulationParams(customers=100, days=30, events=False)
    path = tmp_path / "sub" / "shop.duckdb"
    run = generate_store(path, params)
    assert run.seconds >= run.summary.total_seconds
    assert run.checkpoint_seconds >= 0
    assert run.cpu_seconds > 0
    con = open_store(path, read_only=True)
    try:
        for table, rows in run.summary.rows.items():
            assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (rows,)
    finally:
        con.close()
    assert run.summary.rows["customers"] == 100

    again, stages = run_generate_scale.run_once(params, path)  # replaces the store
    assert again.summary.rows == run.summary.rows
    assert stages[-1].startswith("keys 1/1 ")


def test_faker_baseline_time_excludes_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import tempfile
    import time
    from collections.abc import Iterator

    from benchmarks import bench_generate

    real = tempfile.TemporaryDirectory

    @contextlib.contextmanager
    def slow_cleanup() -> Iterator[str]:
        with real() as tmp:
            yield tmp
            time.sleep(0.3)

    monkeypatch.setattr(tempfile, "TemporaryDirectory", slow_cleanup)
    t0 = time.perf_counter()
    result = bench_generate.worker_baseline(20, 2.0, seed=1)
    total = time.perf_counter() - t0
    assert result["order_lines"] == 40
    assert result["bytes"] > 0
    assert result["seconds"] <= total - 0.3  # the clock stops before the cleanup
    assert result["seconds"] == pytest.approx(result["generate_seconds"] + result["write_seconds"])
