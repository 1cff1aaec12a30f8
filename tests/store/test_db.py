from pathlib import Path

import duckdb
import pytest

from shoplens.errors import StoreError
from shoplens.store import (
    create_tables,
    load_table,
    open_store,
    require_tables,
    store_status,
    write_new_store,
    write_result,
)
from shoplens.store.db import check_new_store_path
from tests.conftest import MakeStore


def test_make_store_round_trip(make_store: MakeStore, open_con) -> None:
    path = make_store(
        orders=[{"order_id": "o1", "customer_id": "c1", "order_ts": "2025-01-01 23:30"}],
        order_items=[{"order_id": "o1", "product_id": "p1", "quantity": 2, "unit_price": 9.99}],
    )
    con = open_con(path, timezone="Europe/Paris")
    assert con.execute("SELECT hour(order_ts), status, currency FROM orders").fetchone() == (
        0,
        "completed",
        "EUR",
    )
    st = store_status(con)
    assert st.table("orders") is not None
    assert st.table("orders").rows == 1  # type: ignore[union-attr]
    assert st.missing_required == []


def test_missing_store_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not found"):
        open_store(tmp_path / "nope.duckdb")


def test_corrupt_store_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable DuckDB file"):
        open_store(bad)


def test_require_tables_names_the_missing_table(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store())
    con.execute("DROP TABLE order_items")
    with pytest.raises(StoreError, match="'order_items'"):
        require_tables(con, ["orders", "order_items"], "x.duckdb")


def test_failed_build_leaves_previous_store_intact(make_store: MakeStore, tmp_path: Path) -> None:
    path = make_store(orders=[{"order_id": "o1", "order_ts": "2025-01-01 10:00"}])
    before = path.read_bytes()

    def boom(con: duckdb.DuckDBPyConnection) -> None:
        create_tables(con)
        load_table(con, "orders", con.sql("SELECT 'x' AS order_id"))  # order_ts NOT NULL

    with pytest.raises(duckdb.ConstraintException):
        write_new_store(path, boom, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_existing_store_needs_overwrite(make_store: MakeStore) -> None:
    path = make_store()
    with pytest.raises(StoreError, match="already exists"):
        write_new_store(path, create_tables)


def test_check_new_store_path(tmp_path: Path) -> None:
    new = tmp_path / "new.duckdb"
    check_new_store_path(new)  # a new file in an existing directory
    new.write_bytes(b"")
    with pytest.raises(StoreError, match=r"already exists \(use --force to replace it\)"):
        check_new_store_path(new)
    check_new_store_path(new, overwrite=True)
    with pytest.raises(StoreError, match="is a directory"):
        check_new_store_path(tmp_path, overwrite=True)
    with pytest.raises(StoreError, match=r"directory .*missing does not exist"):
        check_new_store_path(tmp_path / "missing" / "shop.duckdb")
    with pytest.raises(StoreError, match="does not exist"):  # write_new_store checks first
        write_new_store(tmp_path / "missing" / "shop.duckdb", create_tables)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.duckdb"]


def test_write_result_replaces_and_records(make_store: MakeStore, open_con) -> None:
    con = open_con(make_store())
    write_result(con, "kpis_total", con.sql("SELECT 1 AS a"), {"by": None})
    write_result(con, "kpis_total", con.sql("SELECT * FROM range(3) t(a)"), {"by": None})
    assert con.execute("SELECT count(*) FROM kpis_total").fetchone() == (3,)
    st = store_status(con)
    assert [(r.name, r.rows) for r in st.results] == [("kpis_total", 3)]


def test_a_csv_is_not_a_store(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,total\n1,2\n", encoding="utf-8")
    with pytest.raises(StoreError, match=r"not a readable DuckDB file.*shoplens import"):
        open_store(csv)
    assert csv.read_text(encoding="utf-8") == "order_id,total\n1,2\n"
