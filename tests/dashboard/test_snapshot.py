"""The dashboard's in-memory snapshot gives the store's numbers for every slice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from shoplens.analytics.explore import Filters, compare_periods, slice_cohorts, slice_kpis
from shoplens.dashboard import snapshot
from shoplens.dashboard.store_access import version
from shoplens.store import open_store


def _close(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    def same(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return abs(x - y) <= 1e-9 * max(1.0, abs(x))
        return x == y

    return len(a) == len(b) and all(
        r1.keys() == r2.keys() and all(same(r1[k], r2[k]) for k in r1)
        for r1, r2 in zip(a, b, strict=True)
    )


@pytest.mark.parametrize(
    "filters",
    [
        Filters(date(2025, 1, 1), date(2025, 6, 30)),
        Filters(date(2025, 3, 1), date(2025, 12, 31), countries=("DE", "FR")),
        Filters(categories=("electronics", "books")),
        Filters(date(2025, 1, 1), date(2025, 12, 31), segments=("Champions", "At Risk")),
    ],
)
def test_snapshot_equals_the_store(shop: Path, filters: Filters) -> None:
    snapshot.clear()
    con = open_store(shop, read_only=True)
    try:
        stamp = version(str(shop))
        for by in (None, "month", "country", "category", "segment", "hour"):

            def run(c: duckdb.DuckDBPyConnection, by: str | None = by) -> pa.Table:
                return slice_kpis(c, filters, by=by)

            mine = snapshot.with_snapshot(str(shop), "UTC", stamp, run)
            assert _close(mine.to_pylist(), slice_kpis(con, filters, by=by).to_pylist()), by
        if filters.start is not None:
            mine = snapshot.with_snapshot(
                str(shop), "UTC", stamp, lambda c: compare_periods(c, filters)
            )
            assert _close(mine.to_pylist(), compare_periods(con, filters).to_pylist())
        mine = snapshot.with_snapshot(str(shop), "UTC", stamp, lambda c: slice_cohorts(c, filters))
        assert mine.equals(slice_cohorts(con, filters))
    finally:
        con.close()
        snapshot.clear()
