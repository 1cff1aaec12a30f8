"""Smoke tests of the import benchmark: the pandas baseline's counts on a tiny CSV, and its
agreement with ``shoplens.ingest.import_file`` (speed is never asserted)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from benchmarks import bench_import
from benchmarks.baselines import pandas_import as pi

from shoplens.ingest import PRESETS, ImportOptions, import_file

HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
TINY = HEADER + (
    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"  # dup
    ",,,,,,,\n"  # empty
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,,United Kingdom\n"  # guest
    "536366,22632,HAND WARMER RED POLKA DOT,-2,12/1/2010 8:28,1.85,,United Kingdom\n"  # mixed
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527.0,United Kingdom\n"  # cancelled
    "536380,22961,JAM MAKING SET PRINTED,-3,12/13/2010 9:41,1.45,13047.0,France\n"  # returned
    "536381,22139,RETROSPOT TEA SET,2,13/45/2010 9:41,4.95,17850.0,United Kingdom\n"  # bad date
    "A563185,B,Adjust bad debt,1,8/12/2011 14:50,-11062.06,,United Kingdom\n"  # negative price
    "536382,22139,,4,12/14/2010 10:00,0.00,17850.0,United Kingdom\n"  # free, no description
)
EXPECTED = {
    "rows_read": 11,
    "empty_rows": 1,
    "duplicate_rows": 1,
    "dates_parsed": 8,
    "unparseable_dates": 1,
    "negative_price_rows": 1,
    "mixed_sign_lines": 1,
    "lines": 6,
    "orders": 5,
    "customers": 3,
    "products": 6,
    "guest_orders": 1,
    "completed_orders": 3,
    "cancelled_orders": 1,
    "returned_orders": 1,
}


def test_pandas_baseline_counts_and_tables(tmp_path: Path) -> None:
    csv = tmp_path / "tiny.csv"
    csv.write_text(TINY)
    result = pi.clean(csv)
    assert result.counts == EXPECTED

    orders = result.frames["orders"].set_index("order_id")
    assert orders["status"].to_dict() == {
        "536365": "completed",
        "536366": "completed",
        "C536379": "cancelled",
        "536380": "returned",
        "536382": "completed",
    }
    assert orders.loc["536365", "customer_id"] == "17850"
    assert orders["customer_id"].isna().tolist() == [False, True, False, False, False]
    assert orders.loc["536380", "order_ts"] == pd.Timestamp("2010-12-13 09:41")

    items = result.frames["order_items"]
    assert items["quantity"].tolist() == [6, 6, 6, 1, 3, 4]  # absolute values
    assert items["line_no"].tolist() == [1, 2, 1, 1, 1, 1]
    completed = items[items["order_id"].isin(["536365", "536366", "536382"])]
    assert round(float((completed["quantity"] * completed["unit_price"]).sum()), 2) == 46.74

    customers = result.frames["customers"].set_index("customer_id")
    assert customers["country"].to_dict() == {
        "17850": "United Kingdom",
        "14527": "United Kingdom",
        "13047": "France",
    }
    products = result.frames["products"].set_index("product_id")
    assert products.loc["22139", "name"] == "22139"  # no description: the stock code
    assert products.loc["22139", "unit_price"] == 0

    store = tmp_path / "pandas.duckdb"
    pi.write(result.frames, store)
    with duckdb.connect(str(store), read_only=True) as con:
        for table, frame in result.frames.items():
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (len(frame),)


def test_baseline_agrees_with_shoplens_on_tiny_and_generated_csv(tmp_path: Path) -> None:
    generated = tmp_path / "gen.csv"
    bench_import.generate_csv(generated, 3_000, seed=1)
    assert len(generated.read_text().splitlines()) == 3_001
    tiny = tmp_path / "tiny.csv"
    tiny.write_text(TINY)
    for csv in (tiny, generated):
        ours_store, base_store = tmp_path / f"ours-{csv.stem}.duckdb", tmp_path / f"b-{csv.stem}"
        opts = ImportOptions(max_bad_share=0.5)  # the tiny file: 1 bad row in 9
        (report,) = import_file(csv, ours_store, PRESETS["order-lines"], opts)
        counts = pi.run(csv, base_store)
        checks, _ = bench_import.compare(ours_store, base_store)
        assert [c.name for c in checks if not c.ok] == [], checks
        _, same = bench_import.quality_rows(report.counts(), counts)
        assert same, (report.counts(), counts)
        if csv == tiny:
            assert report.counts()["unparseable_values"] == 1
        else:  # the generator writes what it promises
            assert counts["duplicate_rows"] > 0
            assert counts["empty_rows"] == bench_import.EMPTY_ROWS
            assert counts["cancelled_orders"] > 0
            assert counts["guest_orders"] > 0
