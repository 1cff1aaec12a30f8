"""The simulator driven forward from the end of a store (the live shop's source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from shoplens.errors import InvalidParameterError
from shoplens.generate import SimulationParams, generate_into
from shoplens.generate.forward import ForwardParams, forward_from_store
from shoplens.store import write_new_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fwd") / "shop.duckdb"
    params = SimulationParams(customers=3000, days=120, seed=5)

    def build(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, build)
    return path


def _run(
    store: Path, days: int, seed: int = 1
) -> tuple[duckdb.DuckDBPyConnection, dict[str, pa.Table]]:
    con = duckdb.connect(str(store), read_only=True)
    shop = forward_from_store(con, ForwardParams(seed=seed))
    parts: dict[str, list[pa.Table]] = {}
    for _ in range(days):
        s = shop.step(1)
        for name in ("orders", "order_items", "events", "new_customers"):
            parts.setdefault(name, []).append(getattr(s, name))
    tables = {k: pa.concat_tables(v, promote_options="permissive") for k, v in parts.items()}
    for name, t in tables.items():
        con.register(f"new_{name}", t)
    return con, tables


def test_forward_continues_the_shop(store: Path) -> None:
    con, _ = _run(store, 20)

    def q(sql: str) -> tuple[Any, ...]:
        return con.execute(sql).fetchall()[0]

    (last_ts, last_id, last_event) = q(
        "SELECT max(order_ts), max(order_id::BIGINT), (SELECT max(event_id::BIGINT) FROM events)"
        " FROM orders"
    )
    first_ts, first_id, last_new, n = q(
        "SELECT min(order_ts), min(order_id), max(order_id), count(DISTINCT order_id)"
        " FROM new_orders"
    )
    assert first_ts > last_ts
    assert first_id == last_id + 1  # ids continue, no gaps
    assert last_new == last_id + n
    # the order rate follows the store's recent rate (same customers, same model)
    (recent,) = q(
        "SELECT count(*) / 20 FROM orders"
        " WHERE order_ts > (SELECT max(order_ts) - INTERVAL 20 DAY FROM orders)"
    )
    assert 0.6 * recent < n / 20 < 1.6 * recent
    # every order's customer exists in the store or signed up in the stream
    (orphans,) = q(
        "SELECT count(*) FROM new_orders o WHERE o.customer_id::VARCHAR NOT IN"
        " (SELECT customer_id FROM customers"
        "  UNION ALL SELECT customer_id::VARCHAR FROM new_new_customers)"
    )
    assert orphans == 0
    # customers who had dropped out in the truth never come back
    (ghosts,) = q(
        "SELECT count(*) FROM new_orders o JOIN truth_customers t"
        " ON t.customer_id = o.customer_id::VARCHAR WHERE NOT t.alive_at_end"
    )
    assert ghosts == 0
    (bad_products,) = q(
        "SELECT count(*) FROM new_order_items"
        " WHERE product_id::VARCHAR NOT IN (SELECT product_id FROM products)"
    )
    assert bad_products == 0
    assert q("SELECT min(event_id) FROM new_events")[0] == last_event + 1
    (new_signups,) = q("SELECT count(*) FROM new_new_customers")
    assert new_signups > 0
    assert (
        q(
            "SELECT count(*) FROM new_new_customers"
            " WHERE customer_id::VARCHAR IN (SELECT customer_id FROM customers)"
        )[0]
        == 0
    )


def test_forward_is_seeded(store: Path) -> None:
    _, a = _run(store, 3, seed=2)
    _, b = _run(store, 3, seed=2)
    _, c = _run(store, 3, seed=3)
    assert a["orders"].equals(b["orders"])
    assert a["events"].equals(b["events"])
    assert not a["orders"].equals(c["orders"])


def test_forward_needs_a_simulated_store(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE customers (customer_id VARCHAR, signup_ts TIMESTAMPTZ, country VARCHAR,"
        " age INT, gender VARCHAR, acquisition_channel VARCHAR)"
    )
    con.execute("INSERT INTO customers VALUES ('abc', now(), 'DE', 30, 'male', 'organic')")
    con.execute(
        "CREATE TABLE products (product_id VARCHAR, name VARCHAR, category VARCHAR,"
        " unit_price DECIMAL(18,2))"
    )
    con.execute("INSERT INTO products VALUES ('p1', 'x', 'weird', 1)")
    con.execute(
        "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, order_ts TIMESTAMPTZ,"
        " currency VARCHAR)"
    )
    con.execute("INSERT INTO orders VALUES ('1', 'abc', now(), 'EUR')")
    con.execute("CREATE TABLE order_items (order_id VARCHAR, product_id VARCHAR, quantity INT)")
    with pytest.raises(InvalidParameterError, match="simulator's catalog"):
        forward_from_store(con, ForwardParams())
