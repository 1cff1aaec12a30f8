"""The store as a file: foreign, truncated, locked and damaged files; temporary files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from shoplens.errors import StoreError
from shoplens.store import create_tables, open_store, write_new_store
from shoplens.store.files import check_duckdb_file, remove_stale_temp_files
from tests.conftest import MakeStore


def hold_for_writing(path: Path) -> subprocess.Popen[str]:
    """Another process that has ``path`` open for writing (and has written to it)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(path)!r})\n"
            "con.execute('CREATE TABLE IF NOT EXISTS held AS SELECT 42 AS answer')\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


def test_force_refuses_a_store_another_process_writes(make_store: MakeStore) -> None:
    path = make_store(orders=[{"order_id": "o1", "order_ts": "2025-01-01 10:00"}])
    writer = hold_for_writing(path)
    try:
        with pytest.raises(StoreError, match="in use by another process"):
            write_new_store(path, create_tables, overwrite=True)
    finally:
        release(writer)
    # the other process's data is still there (its WAL was not deleted)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT answer FROM held").fetchone() == (42,)
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (1,)


@pytest.mark.parametrize(
    "content", [b"order_id,total\n1,2\n", b"PK\x03\x04" + b"\0" * 100, b"x" * 5000]
)
def test_force_never_replaces_a_file_that_is_not_a_store(tmp_path: Path, content: bytes) -> None:
    victim = tmp_path / "victim.csv"
    victim.write_bytes(content)
    with pytest.raises(StoreError, match="is not a DuckDB store; --force replaces stores only"):
        write_new_store(victim, create_tables, overwrite=True)
    assert victim.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.csv"]


def test_force_replaces_an_empty_file_and_a_damaged_store(
    tmp_path: Path, make_store: MakeStore
) -> None:
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    write_new_store(empty, create_tables, overwrite=True)
    damaged = make_store(orders=[{"order_id": "o1", "order_ts": "2025-01-01 10:00"}])
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    write_new_store(damaged, create_tables, overwrite=True)
    for path in (empty, damaged):
        open_store(path, read_only=True).close()


def test_truncated_store_is_damaged(make_store: MakeStore) -> None:
    path = make_store(orders=[{"order_id": "o1", "order_ts": "2025-01-01 10:00"}])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match=r"store .* is damaged \(the file is [\d,]+ bytes"):
        open_store(path)
    assert path.read_bytes() == data[: len(data) // 2]


def test_short_file_with_a_pending_wal_is_left_to_duckdb(make_store: MakeStore) -> None:
    # a writer killed mid-checkpoint leaves a short file and a WAL that DuckDB replays:
    # the size check must not call that store damaged (seen with SIGKILLed processors)
    path = make_store(orders=[{"order_id": "o1", "order_ts": "2025-01-01 10:00"}])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    Path(f"{path}.wal").write_bytes(b"")
    check_duckdb_file(path)  # no StoreError from the size check
    Path(f"{path}.wal").unlink()
    with pytest.raises(StoreError, match="is damaged"):
        check_duckdb_file(path)


def retype(path: Path, table: str, column: str, sql_type: str) -> None:
    """Rebuild ``table`` with ``column`` cast to ``sql_type`` (as another tool might)."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE"
            f" (CAST({column} AS {sql_type}) AS {column}) FROM {table}"
        )


def test_wrong_column_type_is_named(make_store: MakeStore) -> None:
    path = make_store()
    retype(path, "order_items", "quantity", "VARCHAR")
    with pytest.raises(
        StoreError, match=r"column order_items\.quantity is VARCHAR, expected an integer"
    ):
        open_store(path)
    retype(path, "order_items", "quantity", "BIGINT")  # the same family: accepted
    open_store(path).close()
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE OR REPLACE TABLE orders AS SELECT * EXCLUDE (currency) FROM orders")
    with pytest.raises(StoreError, match=r"table 'orders' has no column 'currency'"):
        open_store(path)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    store = tmp_path / "shop.duckdb"
    dead, alive = _dead_pid(), os.getppid()
    stale = [tmp_path / f".shop.duckdb.tmp-{dead}", tmp_path / f".shop.duckdb.tmp-{dead}.wal"]
    kept = [tmp_path / f".shop.duckdb.tmp-{alive}", tmp_path / f".other.duckdb.tmp-{dead}"]
    for p in stale + kept:
        p.write_bytes(b"partial")
    assert sorted(remove_stale_temp_files(store)) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    (tmp_path / f".shop.duckdb.tmp-{dead}").write_bytes(b"partial")
    write_new_store(store, create_tables)  # every writer cleans up first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["shop.duckdb", *(p.name for p in kept)]
    )
    (tmp_path / f".shop.duckdb.tmp-{dead}").write_bytes(b"partial")
    open_store(store).close()  # so does every command that opens the store to write
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["shop.duckdb", *(p.name for p in kept)]
    )
