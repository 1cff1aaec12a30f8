"""The CLI over a Parquet dataset: export, generate --format parquet, --source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.engines.conftest import Shop
from tests.test_cli import run


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    doc: dict[str, object] = json.loads(out)
    return doc


def test_export_parquet_writes_every_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shop: Shop
) -> None:
    out = tmp_path / "ds"
    doc = _json(capsys, "export", "parquet", "--store", str(shop.store), "--out", str(out))
    rows = doc["rows"]
    assert isinstance(rows, dict)
    for name in ("customers", "products", "orders", "order_items"):
        assert ds.dataset(out / name, format="parquet").count_rows() == rows[name] > 0
    # --force replaces it; without, the folder is refused (tested in test_errors)
    _json(capsys, "export", "parquet", "--store", str(shop.store), "--out", str(out), "--force")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_generate_parquet_then_analyse_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "gen"
    small = ["--customers", "300", "--days", "200", "--seed", "4", "--no-events"]
    doc = _json(capsys, "generate", *small, "--format", "parquet", "--out", str(out))
    tables = doc["tables"]
    assert isinstance(tables, dict)
    assert tables["customers"] == 300
    store = tmp_path / "same.duckdb"
    _json(capsys, "generate", *small, "--store", str(store))
    for cmd in (["kpis", "--by", "month"], ["segments"], ["cohorts", "--metric", "revenue"]):
        from_store = _json(capsys, *cmd, "--store", str(store), "--timezone", "Asia/Tokyo")
        from_parquet = _json(capsys, *cmd, "--source", str(out), "--timezone", "Asia/Tokyo")
        assert from_parquet == from_store, cmd


def test_source_never_writes_results(capsys: pytest.CaptureFixture[str], shop: Shop) -> None:
    before = shop.store.stat().st_mtime_ns
    _json(capsys, "kpis", "--source", str(shop.exported), "--engine", "duckdb")
    code, out, _ = run(capsys, "segments", "--source", str(shop.exported))
    assert code == 0
    assert "RFM segments" in out
    assert shop.store.stat().st_mtime_ns == before
