"""The dataset writer: canonical types, month partitions of items, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from shoplens.engines.writer import DatasetWriter, arrow_schema
from shoplens.errors import EngineError

ORDERS = pa.table(
    {
        "order_id": pa.array([1, 2], pa.int64()),  # integer ids, as the simulator makes
        "customer_id": ["c1", None],
        "order_ts": pa.array(
            [datetime(2025, 1, 31, 23, 30, tzinfo=UTC), datetime(2025, 2, 1, 0, 30, tzinfo=UTC)],
            pa.timestamp("ns", tz="UTC"),
        ),
        "status": ["completed", "returned"],
        "discount": [0.0, 1.5],
        "currency": ["EUR", "EUR"],
    }
)
ITEMS = pa.table(
    {
        "order_id": [2, 1, 1],
        "line_no": [1, 1, 2],
        "product_id": ["p1", "p1", "p2"],
        "quantity": [1, 2, 3],
        "unit_price": [9.99, 5.0, 1.25],
        "discount": [0.0, 0.0, 0.1],
    }
)


def test_tables_are_cast_and_items_follow_their_order_month(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with DatasetWriter(out) as w:
        w.write("orders", ORDERS)
        w.write("order_items", ITEMS)
        assert w.rows == {"orders": 2, "order_items": 3}
    orders = ds.dataset(out / "orders", format="parquet", partitioning="hive").to_table()
    assert orders.schema.field("order_ts").type == pa.timestamp("us", tz="UTC")
    assert orders.schema.field("discount").type == pa.decimal128(18, 2)
    assert orders.schema.field("channel").type == pa.string()  # nullable, filled with NULL
    assert sorted(orders["order_id"].to_pylist()) == ["1", "2"]
    items = ds.dataset(out / "order_items", format="parquet", partitioning="hive").to_table()
    by_order = {
        (o, n): m
        for o, n, m in zip(
            items["order_id"].to_pylist(),
            items["line_no"].to_pylist(),
            items["order_month"].to_pylist(),
            strict=True,
        )
    }
    # UTC months: order 1 at 23:30 on 31 Jan, order 2 just after midnight
    assert by_order == {("2", 1): "2025-02", ("1", 1): "2025-01", ("1", 2): "2025-01"}
    assert items.schema.field("unit_price").type == pa.decimal128(18, 2)
    assert items.filter(pa.compute.equal(items["line_no"], 2))["discount"].to_pylist() == [
        Decimal("0.10")
    ]
    assert arrow_schema("order_items").names == [
        "order_id", "line_no", "product_id", "quantity", "unit_price", "discount"
    ]  # fmt: skip


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    customers = pa.table(
        {
            "customer_id": ["c1"],
            "signup_ts": pa.array([datetime(2025, 1, 1, tzinfo=UTC)]),
            "country": ["FR"],
        }
    )

    def write_both() -> None:
        with DatasetWriter(out) as w:
            w.write("customers", customers)
            w.write("orders", ORDERS.drop_columns(["order_ts"]))

    with pytest.raises(EngineError, match="lacks column 'order_ts'"):
        write_both()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(EngineError, match="already exists"):
        DatasetWriter(out)
    with DatasetWriter(out, force=True) as w:
        w.write("orders", ORDERS)
    assert not (out / "keep.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
