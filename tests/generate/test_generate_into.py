"""Writing a simulated shop into a store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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
        assert pk == sum(1 for t in ALL_TABLES.values() if t.enforce_key)
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


def _progress_items(n: int, fail_at: int | None = None) -> Iterator[sim_module._Progress]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError("boom in the producer")
        yield sim_module._Progress("customers", i, n)


def _run_with_timeout(target: object, seconds: float = 10.0) -> list[BaseException]:
    """Run ``target`` in a daemon thread; fail the test if it does not return in time."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the background generator hangs"
    return errors


@pytest.mark.parametrize("depth", [1, 2])
def test_background_consumer_failing_near_the_end_returns(depth: int) -> None:
    n = 6
    seen: list[int] = []

    def consume() -> None:
        for item in sim_module._in_background(_progress_items(n), depth=depth):
            assert isinstance(item, sim_module._Progress)
            seen.append(item.done)
            if item.done == n - 2:  # second-to-last: the producer fills the queue
                time.sleep(0.3)
                raise ValueError("load failed")

    errors = _run_with_timeout(consume)
    assert [type(e) for e in errors] == [ValueError]
    assert seen == list(range(n - 1))


def test_background_consumer_stopping_early_while_producer_fails() -> None:
    def consume() -> None:
        for item in sim_module._in_background(_progress_items(5, fail_at=3), depth=1):
            assert isinstance(item, sim_module._Progress)
            if item.done == 1:
                time.sleep(0.3)  # the producer has failed and waits to report it
                raise ValueError("load failed")

    errors = _run_with_timeout(consume)
    assert [type(e) for e in errors] == [ValueError]


def test_background_passes_items_and_errors_through() -> None:
    got = [i.done for i in sim_module._in_background(_progress_items(5), depth=1)]  # type: ignore[union-attr]
    assert got == list(range(5))
    seen: list[int] = []

    def consume() -> None:
        for item in sim_module._in_background(_progress_items(5, fail_at=3), depth=1):
            assert isinstance(item, sim_module._Progress)
            seen.append(item.done)

    with pytest.raises(RuntimeError, match="boom in the producer"):
        consume()
    assert seen == [0, 1, 2]
