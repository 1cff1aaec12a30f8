"""The MongoDB commands' error paths (no server here; the round trip is in tests/ingest)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.test_cli import run

UNREACHABLE = "mongodb://127.0.0.1:1/shop?serverSelectionTimeoutMS=300&connectTimeoutMS=300"


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shoplens.generate import SimulationParams, generate_into
    from shoplens.store import write_new_store

    path = tmp_path_factory.mktemp("mongo") / "shop.duckdb"
    params = SimulationParams(customers=50, days=30, events=False)

    def build(con: duckdb.DuckDBPyConnection) -> None:
        generate_into(con, params)

    write_new_store(path, build)
    return path


def test_export_unreachable_server(capsys, small_store: Path) -> None:
    code, _, err = run(capsys, "export", UNREACHABLE, "--store", str(small_store))
    assert code == 1
    assert "cannot reach MongoDB at 127.0.0.1:1" in err
    assert len(err.strip().splitlines()) == 1


def test_export_needs_a_mongodb_uri(capsys, small_store: Path) -> None:
    code, _, err = run(capsys, "export", "shop.json", "--store", str(small_store))
    assert code == 1
    assert "expected a mongodb:// URI" in err


def test_import_unreachable_server_writes_nothing(capsys, tmp_path: Path) -> None:
    target = tmp_path / "new.duckdb"
    code, _, err = run(capsys, "import", UNREACHABLE, "--store", str(target))
    assert code == 1
    assert "cannot reach MongoDB" in err
    assert list(tmp_path.iterdir()) == []


def test_import_into_existing_store_needs_force(capsys, small_store: Path) -> None:
    before = small_store.read_bytes()
    code, _, err = run(capsys, "import", UNREACHABLE, "--store", str(small_store))
    assert code == 1
    assert small_store.read_bytes() == before
    assert "already exists (use --force" in err


def test_import_into_existing_store_fails_before_connecting(
    capsys, small_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shoplens.ingest import mongo

    def no_connect(uri: str, *, timeout_ms: int = 5000) -> None:
        raise AssertionError("connected")

    monkeypatch.setattr(mongo, "connect", no_connect)
    code, _, err = run(
        capsys, "import", "mongodb://127.0.0.1:27017/shop", "--store", str(small_store)
    )
    assert code == 1
    assert "already exists (use --force" in " ".join(err.split())
