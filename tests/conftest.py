"""Shared fixtures: hand-made stores for exact checks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from shoplens.store import create_tables, finalize_keys, load_table, open_store, write_new_store
from shoplens.store.db import ALL_TABLES

Rows = Sequence[dict[str, Any]]


def ts(text: str) -> datetime:
    """'2025-03-01 10:00' -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _arrow(table: str, rows: Rows) -> pa.Table:
    spec = ALL_TABLES[table]
    cols: dict[str, list[Any]] = {c.name: [] for c in spec.columns}
    defaults = {"currency": "EUR", "discount": 0, "status": "completed", "line_no": None}
    for i, row in enumerate(rows):
        unknown = set(row) - set(cols)
        if unknown:
            raise KeyError(f"{table}: unknown columns {unknown}")
        for c in cols:
            v = row.get(c, defaults.get(c))
            if c == "line_no" and v is None:
                v = i + 1
            if isinstance(v, str) and c.endswith("_ts"):
                v = ts(v)
            cols[c].append(v)
    return pa.table(cols)


MakeStore = Callable[..., Path]


@pytest.fixture(scope="session")
def empty_settings_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("settings") / "empty-shoplens.toml"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, empty_settings_file: Path) -> None:
    """Tests never read the user's SHOPLENS_* variables or a shoplens.toml in the cwd."""
    for name in list(os.environ):
        if name.startswith("SHOPLENS_") and name != "SHOPLENS_TEST_MONGODB_URI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHOPLENS_CONFIG", str(empty_settings_file))


@pytest.fixture
def make_store(tmp_path: Path) -> MakeStore:
    """Build a store file from lists of row dicts: make_store(orders=[...], order_items=[...]).

    Omitted columns are NULL, except currency ('EUR'), discount (0), status
    ('completed') and line_no (numbered 1.. within the list).
    """
    counter = iter(range(1_000_000))

    def build(**tables: Rows) -> Path:
        path = tmp_path / f"store{next(counter)}.duckdb"

        def fill(con: duckdb.DuckDBPyConnection) -> None:
            create_tables(con)
            for name, rows in tables.items():
                if rows:
                    load_table(con, name, _arrow(name, rows))
            finalize_keys(con)

        write_new_store(path, fill)
        return path

    return build


@pytest.fixture
def open_con() -> Iterator[Callable[..., duckdb.DuckDBPyConnection]]:
    """open_con(path, timezone='UTC') -> a connection closed at teardown."""
    cons: list[duckdb.DuckDBPyConnection] = []

    def _open(
        path: Path, timezone: str = "UTC", read_only: bool = False
    ) -> duckdb.DuckDBPyConnection:
        con = open_store(path, timezone=timezone, read_only=read_only)
        cons.append(con)
        return con

    yield _open
    for con in cons:
        con.close()


# session shops for the report, dashboard and notebook tests (simulated once per run)
from tests.shops import scored_shop, shop  # noqa: E402, F401
