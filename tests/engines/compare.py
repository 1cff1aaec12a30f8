"""Comparing analysis results across engines: exact for integers and text, 1e-9 for floats."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

TOL = 1e-9


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=TOL, abs_tol=TOL)
    return bool(a == b)


# Sums of money (exact decimals, rounded to cents): equal exactly, not to 1e-9.
EXACT = {
    "gross_revenue",
    "discounts",
    "cancelled_revenue",
    "returned_revenue",
    "net_revenue",
    "new_customer_revenue",
    "returning_customer_revenue",
    "guest_revenue",
    "monetary",
    "revenue",
}


def assert_same(left: pa.Table, right: pa.Table, what: str) -> None:
    """Same columns, same rows in the same order; counts, text and sums equal exactly,
    other floats (averages, rates) to 1e-9."""
    assert left.column_names == right.column_names, what
    assert left.num_rows == right.num_rows, f"{what}: {left.num_rows} vs {right.num_rows} rows"
    for name in left.column_names:
        a, b = left[name].to_pylist(), right[name].to_pylist()
        same = (lambda x, y: x == y) if name in EXACT else _close
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if not same(x, y)]
        assert not bad, f"{what}, column {name}: first differences {bad[:3]}"
