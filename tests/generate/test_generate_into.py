"""Writing a simulated shop into a store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shoplens.errors import StoreError
from shoplens.generate import GenerationSummary, SimulationParams, generate_into, simulate
from shoplens.generate import simulator as sim_module
from shoplens.store import open_store, write_new_store
from shoplens.store.db import ALL_TABLES


def test_generate_into_matches_simulate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_module, "BLOCK", 1000)
    params = SimulationParams(customers=2500, chunk_size=2000, seed=4)
    calls: list[tuple[str, int, int]] = []
    result: list[GenerationSummary] = []
    path = tmp_path / "shop.duckdb"
    write_new_store(
        path,
        lambda con: result.append(generate_into(con, params, lambda *a: calls.append(a))),
    )
    expected = {name: t.num_rows for name, t in simulate(params).items()}
    summary = result[0]
    assert dict(summary.rows) == expected
    assert summary.seconds["generate"] > 0
    assert summary.total_seconds >= summary.seconds["keys"]

    con = open_store(path, read_only=True)
    try:
        for name in ALL_TABLES:
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] == expected[name]
        # ids were cast to VARCHAR by the store, money to DECIMAL
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'order_items'"
            ).fetchall()
        )
        assert types["order_id"] == "VARCHAR"
        assert types["unit_price"] == "DECIMAL(18,2)"
        # same values as in memory (revenue to the cent)
        rev = con.execute("SELECT sum(quantity * unit_price - discount) FROM order_items")
        mem = duckdb.connect()
        mem.register("order_items", simulate(params)["order_items"])
        mem_rev = mem.execute(
            "SELECT sum(quantity * unit_price::DECIMAL(18,2) - discount::DECIMAL(18,2)) "
            "FROM order_items"
        )
        assert rev.fetchall() == mem_rev.fetchall()
        # keys were declared
        pk = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()[0][0]
        assert pk >= 3
        # the keys left unindexed (order_items, events) are unique by construction:
        # check them the slow way once here, since generate_into skips that check
        for name in ("order_items", "events"):
            key = ", ".join(ALL_TABLES[name].key)
            dups = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {name} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchall()
            assert dups == [(0,)], name
        assert expected["events"] > 0
    finally:
        con.close()

    # progress: once per chunk for customers and orders, then keys
    stages = [c[0] for c in calls]
    assert stages.count("customers") == 2
    assert stages.count("orders") == 2
    assert calls[-1] == ("keys", 1, 1)
    assert ("customers", 2500, 2500) in calls
    assert ("orders", 2500, 2500) in calls


def test_generate_into_needs_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    params = SimulationParams(customers=200, events=False)

    def once(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, once)

    def again(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)
        generate_into(con, params)

    with pytest.raises(duckdb.CatalogException):
        write_new_store(tmp_path / "other.duckdb", again)
    assert not (tmp_path / "other.duckdb").exists()
    with pytest.raises(StoreError):
        write_new_store(path, again)  # refuses to replace without overwrite


def test_generate_into_without_events(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    out: list[GenerationSummary] = []
    write_new_store(
        path,
        lambda con: out.append(generate_into(con, SimulationParams(customers=300, events=False))),
    )
    assert out[0].rows.get("events", 0) == 0
    con = open_store(path, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]
    finally:
        con.close()


def test_generation_errors_reach_the_caller_and_leave_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in the generator thread")

    monkeypatch.setattr(sim_module, "order_contents", broken)
    path = tmp_path / "shop.duckdb"

    def build(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, SimulationParams(customers=300, events=False))

    with pytest.raises(RuntimeError, match="boom"):
        write_new_store(path, build)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
