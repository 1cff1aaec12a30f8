"""``shoplens import`` and ``shoplens quality`` end to end, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ingest.import_files import (
    AMBIGUOUS_CSV,
    CUSTOM_CSV,
    CUSTOM_TOML,
    SHOPIFY_CSV,
    UCI_CSV,
    snapshot,
    write,
)
from tests.test_cli import run


def test_import_prints_report_and_store_answers_kpis(capsys, tmp_path: Path) -> None:
    src = write(tmp_path, "uci.csv", UCI_CSV)
    store = str(tmp_path / "shop.duckdb")
    args = ["import", str(src), "--preset", "order-lines", "--store", store]
    code, out, err = run(capsys, *args, "--max-bad-share", "0.1")
    assert (code, err) == (0, "")
    assert "imported 10 order lines from uci.csv" in out
    assert "duplicate_rows" in out
    assert "13/45/2010 11:00" in out  # the unparseable date, as an example
    code, out, _ = run(capsys, "kpis", "--store", store, "--json", "--no-save")
    assert code == 0
    (k,) = json.loads(out)["rows"]
    assert (k["orders"], k["net_revenue"], k["customers"]) == (8, 1471.15, 2)
    code, out, _ = run(capsys, "segments", "--store", store, "--json", "--no-save")
    assert code == 0
    assert json.loads(out)["customers"] == 2
    code, out, _ = run(capsys, "cohorts", "--store", store, "--json", "--no-save")
    assert code == 0
    cells = {(r["cohort"], r["months_since"]): r for r in json.loads(out)["rows"]}
    assert cells[("2010-12", 0)]["cohort_size"] == 2


def test_import_json_and_quality_json(capsys, tmp_path: Path) -> None:
    store = str(tmp_path / "shop.duckdb")
    src = write(tmp_path, "orders_export.csv", SHOPIFY_CSV)
    code, out, _ = run(
        capsys, "import", str(src), "--preset", "shopify", "--store", store, "--json",
        "--unknown-status", "completed",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert (doc["shoplens"], doc["version"]) == ("quality", 1)
    (imp,) = doc["imports"]
    assert (imp["run_id"], imp["orders"], imp["lines"], imp["unknown_status_orders"]) == (
        1, 5, 7, 1
    )  # fmt: skip
    assert imp["findings"][0]["kind"] == "unknown_status"
    code, out, _ = run(capsys, "quality", "--store", store, "--json")
    assert code == 0
    again = json.loads(out)
    assert again["imports"][0]["orders"] == 5
    assert again["imports"][0]["findings"] == imp["findings"]
    code, out, _ = run(capsys, "quality", "--store", store)
    assert code == 0
    assert "Import 1: orders_export.csv (shopify" in out


def test_import_with_mapping_file_and_source_timezone(capsys, tmp_path: Path) -> None:
    store = str(tmp_path / "shop.duckdb")
    src = write(tmp_path, "export.csv", CUSTOM_CSV)
    mapping = write(tmp_path, "m.toml", CUSTOM_TOML.replace('timezone = "Europe/Berlin"\n', ""))
    args = ["import", str(src), "--mapping", str(mapping), "--store", store, "--json"]
    code, out, _ = run(capsys, *args, "--source-timezone", "America/New_York")
    assert code == 0
    assert json.loads(out)["imports"][0]["orders"] == 3
    import duckdb

    con = duckdb.connect(store, read_only=True)
    ((ts,),) = con.execute("SELECT order_ts FROM orders WHERE order_id = 'A-1'").fetchall()
    con.close()
    assert ts.isoformat() == "2024-03-05T19:30:00+00:00"  # 14:30 in New York (UTC-5)


def test_infer_prints_a_mapping(capsys, tmp_path: Path) -> None:
    src = write(
        tmp_path, "shop.csv", "order no,date,email,item,qty,price\nA1,2024-03-01,a@x,M,1,2\n"
    )
    code, out, _ = run(capsys, "import", "--infer", str(src))
    assert code == 0
    assert 'order_id = "order no"' in out
    assert 'unit_price = "price"' in out
    assert not list(tmp_path.glob("*.duckdb"))


def test_errors_are_one_line_and_write_nothing(capsys, tmp_path: Path) -> None:
    store = tmp_path / "shop.duckdb"
    uci = write(tmp_path, "uci.csv", UCI_CSV)
    amb = write(tmp_path, "amb.csv", AMBIGUOUS_CSV)
    code, _, err = run(capsys, "import", str(uci), "--preset", "order-lines", "--store", str(store))
    assert code == 1
    assert err.startswith("error: uci.csv, row 10, column 'InvoiceDate':")
    assert len(err.strip().splitlines()) == 1
    assert not store.exists()
    run(capsys, "import", str(uci), "--preset", "order-lines", "--store", str(store),
        "--max-bad-share", "0.1")  # fmt: skip
    before = snapshot(store)
    cases = [
        (["import", str(amb), "--preset", "order-lines"], "ambiguous dates"),
        (["import", str(uci)], "--preset"),
        (["import", str(uci), "--preset", "olist2"], "unknown preset 'olist2'"),
        (["import", str(uci), "--preset", "shopify"], "names columns the source lacks"),
        (["import", str(uci), "--preset", "order-lines", "--max-bad-share", "2"], "between 0"),
        (["import", str(uci), "--preset", "order-lines", "--tz", "Nowhere/City"], "time zone"),
        (["import", str(tmp_path / "none.csv"), "--preset", "order-lines"], "not found"),
        (["import", str(uci), "--mapping", str(tmp_path / "none.toml")], "not found"),
    ]
    for args, message in cases:
        code, _, err = run(capsys, *args, "--store", str(store))
        assert code == 1, args
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
    assert snapshot(store) == before


def test_quality_on_store_without_imports(capsys, make_store) -> None:
    store = make_store(orders=[])
    code, out, _ = run(capsys, "quality", "--store", str(store))
    assert code == 0
    assert "No imports" in out
    code, out, _ = run(capsys, "quality", "--store", str(store), "--json")
    assert json.loads(out) == {"shoplens": "quality", "version": 1, "imports": []}


@pytest.mark.parametrize("command", ["quality"])
def test_quality_missing_store(capsys, tmp_path: Path, command: str) -> None:
    code, _, err = run(capsys, command, "--store", str(tmp_path / "none.duckdb"))
    assert code == 1
    assert "not found" in err


def test_report_prints_bad_values_as_they_are(capsys, tmp_path: Path) -> None:
    src = tmp_path / "br.csv"
    src.write_text(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "1,A,[bold]Mug,2,2024-03-01 10:00,3.50,7,DE\n"
        "2,B,Cup,[/],2024-03-02 10:00,2.00,8,FR\n",
        encoding="utf-8",
    )
    store = tmp_path / "s.duckdb"
    args = ["import", str(src), "--preset", "order-lines", "--max-bad-share", "0.9"]
    code, out, _ = run(capsys, *args, "--store", str(store))
    assert code == 0
    assert "│ [/]   │" in out
    code, out, _ = run(capsys, "quality", "--store", str(store))
    assert code == 0
    assert "│ [/]   │" in out
