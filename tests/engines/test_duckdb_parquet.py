"""DuckDB over Parquet: the layout, and the same results as the store for every analysis."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from shoplens import analytics
from shoplens.engines import DuckDBEngine, open_source
from shoplens.store import open_store
from tests.engines.analyses import ANALYSES
from tests.engines.compare import assert_same
from tests.engines.conftest import Shop


def test_layout_is_partitioned_by_month_with_us_timestamps_and_decimals(shop: Shop) -> None:
    for root in (shop.generated, shop.exported):
        months = sorted(p.name for p in (root / "orders").iterdir())
        assert len(months) == 14  # 400 days ending 2025-12-31: Nov 2024 .. Dec 2025
        assert months[0] == "order_month=2024-11"
        assert sorted(p.name for p in (root / "order_items").iterdir()) == months
        assert not list((root / "customers").glob("*=*"))  # not partitioned
        orders = ds.dataset(root / "orders", format="parquet", partitioning="hive")
        assert orders.schema.field("order_ts").type == pa.timestamp("us", tz="UTC")
        assert orders.schema.field("discount").type == pa.decimal128(18, 2)
        items = ds.dataset(root / "order_items", format="parquet")
        assert items.schema.field("unit_price").type == pa.decimal128(18, 2)
        assert items.count_rows() == ds.dataset(shop.generated / "order_items").count_rows()


def test_every_file_holds_only_its_month(shop: Shop) -> None:
    orders = ds.dataset(shop.exported / "orders", format="parquet", partitioning="hive")
    table = orders.to_table(columns=["order_ts", "order_month"])
    months = pa.compute.strftime(table["order_ts"], format="%Y-%m")
    assert months.to_pylist() == table["order_month"].to_pylist()


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Paris"])
@pytest.mark.parametrize(("label", "analysis"), ANALYSES, ids=[a[0] for a in ANALYSES])
def test_parquet_on_duckdb_matches_the_store(
    shop: Shop, timezone: str, label: str, analysis: object
) -> None:
    assert callable(analysis)
    con = open_store(shop.store, read_only=True, timezone=timezone)
    try:
        expected = analysis(con)
    finally:
        con.close()
    assert expected.num_rows > 0
    for root in (shop.generated, shop.exported):
        engine = DuckDBEngine.from_parquet(root, timezone=timezone)
        try:
            assert_same(analysis(engine), expected, f"{label} ({root.name}, {timezone})")
        finally:
            engine.close()


def test_period_and_as_of_parameters_pass_through(shop: Shop) -> None:
    engine = open_source(shop.generated, engine="duckdb", timezone="America/New_York")
    con = open_store(shop.store, read_only=True, timezone="America/New_York")
    try:
        start, end = date(2025, 3, 1), date(2025, 3, 31)
        assert_same(
            analytics.compute_kpis(engine, start=start, end=end, by="weekday"),
            analytics.compute_kpis(con, start=start, end=end, by="weekday"),
            "period",
        )
        as_of = date(2025, 6, 1)
        assert_same(
            analytics.rfm_table(engine, as_of=as_of), analytics.rfm_table(con, as_of=as_of), "r"
        )
    finally:
        engine.close()
        con.close()
