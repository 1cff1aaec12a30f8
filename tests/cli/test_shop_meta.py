"""The store remembers the shop's time zone and currency; commands use them (#6 item 13)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shoplens.store import read_meta
from tests.ingest.import_files import CUSTOM_CSV, CUSTOM_TOML, SHOPIFY_CSV, write
from tests.test_cli import SMALL, run


def meta(path: Path) -> tuple[str | None, str | None]:
    with duckdb.connect(str(path), read_only=True) as con:
        m = read_meta(con)
    return m.timezone, m.currency


def test_generate_records_the_shop_and_every_command_uses_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "paris.duckdb"
    code, _, _ = run(
        capsys, "generate", *SMALL, "--store", str(path), "--tz", "Europe/Paris",
        "--currency", "CHF", "--json",
    )  # fmt: skip
    assert code == 0
    assert meta(path) == ("Europe/Paris", "CHF")
    code, out, _ = run(capsys, "kpis", "--store", str(path), "--by", "month", "--json")
    assert code == 0
    assert json.loads(out)["timezone"] == "Europe/Paris"
    by_month = {r["month"]: r["orders"] for r in json.loads(out)["rows"]}
    code, out, _ = run(capsys, "status", "--store", str(path), "--json")
    doc = json.loads(out)
    assert doc["shop"] == {"timezone": "Europe/Paris", "currency": "CHF"}
    # the saved result records the zone it was computed in
    (saved,) = [r for r in doc["results"] if r["result"] == "kpis_by_month"]
    assert json.loads(saved["params"])["timezone"] == "Europe/Paris"
    # an explicit option wins for that run (and is recorded with its result)
    code, out, _ = run(
        capsys,
        "kpis",
        "--store",
        str(path),
        "--by",
        "month",
        "--json",
        "--tz",
        "Pacific/Kiritimati",
    )
    assert json.loads(out)["timezone"] == "Pacific/Kiritimati"  # UTC+14: months move
    assert {r["month"]: r["orders"] for r in json.loads(out)["rows"]} != by_month
    with duckdb.connect(str(path), read_only=True) as con:
        (params,) = con.execute(
            "SELECT params FROM shoplens_results WHERE name = 'kpis_by_month'"
        ).fetchone() or ("{}",)
    assert json.loads(params)["timezone"] == "Pacific/Kiritimati"
    assert meta(path) == ("Europe/Paris", "CHF")  # analyses do not change the shop
    code, out, _ = run(capsys, "segments", "--store", str(path), "--json", "--no-save")
    assert json.loads(out)["timezone"] == "Europe/Paris"


def test_import_records_the_shop_zone_apart_from_the_source_zone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "shop.duckdb"
    src = write(tmp_path, "export.csv", CUSTOM_CSV)
    mapping = write(tmp_path, "m.toml", CUSTOM_TOML.replace('timezone = "Europe/Berlin"\n', ""))
    args = ["import", str(src), "--mapping", str(mapping), "--store", str(store), "--json"]
    code, _, _ = run(capsys, *args, "--source-timezone", "America/New_York", "--tz", "Asia/Tokyo")
    assert code == 0
    assert meta(store) == ("Asia/Tokyo", "EUR")
    with duckdb.connect(str(store), read_only=True) as con:
        ((ts,),) = con.execute("SELECT order_ts FROM orders WHERE order_id = 'A-1'").fetchall()
    assert ts.isoformat() == "2024-03-05T19:30:00+00:00"  # 14:30 in New York (UTC-5)
    # the next import, without options, reads source times in the store's (shop's) zone
    again = write(tmp_path, "more.csv", CUSTOM_CSV.replace("A-", "B-"))
    args[1] = str(again)
    code, _, _ = run(capsys, *args)
    assert code == 0
    assert meta(store) == ("Asia/Tokyo", "EUR")
    with duckdb.connect(str(store), read_only=True) as con:
        ((ts,),) = con.execute("SELECT order_ts FROM orders WHERE order_id = 'B-1'").fetchall()
    assert ts.isoformat() == "2024-03-05T05:30:00+00:00"  # 14:30 in Tokyo (UTC+9)
    code, out, _ = run(capsys, "cohorts", "--store", str(store), "--json", "--no-save")
    assert json.loads(out)["timezone"] == "Asia/Tokyo"


def test_import_records_the_currency_its_orders_are_in(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a Shopify export whose orders are all in USD: the store's currency is USD, not the
    # EUR default of the settings (found when merging the import and store branches)
    src = write(tmp_path, "shopify.csv", SHOPIFY_CSV.replace(",EUR,", ",USD,"))
    path = tmp_path / "usd.duckdb"
    code, _, err = run(
        capsys, "import", str(src), "--preset", "shopify", "--store", str(path), "--json",
        "--unknown-status", "cancelled", "--max-bad-share", "0.5",
    )  # fmt: skip
    assert code == 0, err
    assert meta(path)[1] == "USD"


def test_model_commands_and_report_use_the_stores_time_zone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a Paris shop, no --timezone anywhere: train, score and the report compute in the
    # zone the store records (they used the settings' UTC before)
    path = tmp_path / "paris.duckdb"
    gen = ["generate", "--customers", "1500", "--days", "400", "--seed", "5"]
    code, _, err = run(capsys, *gen, "--end", "2025-12-31", "--store", str(path),
                       "--tz", "Europe/Paris", "--json")  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "train", "--store", str(path), "--json")
    assert code == 0, err
    code, _, err = run(capsys, "score", "--store", str(path), "--json")
    assert code == 0, err
    with duckdb.connect(str(path), read_only=True) as con:
        (params,) = con.execute(
            "SELECT params FROM shoplens_results WHERE name = 'customer_scores'"
        ).fetchone() or ("{}",)
    assert json.loads(params)["timezone"] == "Europe/Paris"
    html = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--store", str(path), "--out", str(html))
    assert code == 0, err
    assert "time zone Europe/Paris" in html.read_text(encoding="utf-8")
