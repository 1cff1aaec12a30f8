"""The CLI end to end, in-process: real stores, real output, real exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import pytest

from shoplens.cli import main

# The stable --json names of the KPIs, as documented in the README.
KPI_NAMES = [
    "orders", "completed_orders", "cancelled_orders", "returned_orders", "customers",
    "gross_revenue", "discounts", "cancelled_revenue", "returned_revenue", "net_revenue",
    "new_customer_revenue", "returning_customer_revenue", "guest_revenue", "aov",
    "units_per_order", "purchase_frequency", "repeat_purchase_rate", "promo_order_share",
    "discount_rate", "cancellation_rate", "return_rate",
]  # fmt: skip

SMALL = ["--customers", "600", "--days", "120", "--seed", "3", "--end", "2025-12-31"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with patch.object(sys, "argv", ["shoplens", *args]):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "shop.duckdb"
    with (
        patch.object(sys, "argv", ["shoplens", "generate", *SMALL, "--store", str(path)]),
        pytest.raises(SystemExit) as exit_info,
    ):
        main()
    assert exit_info.value.code == 0
    return path


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2  # Click's exit status for "no command given"
    assert "[OPTIONS] COMMAND [ARGS]" in out + err
    listed = {line.split()[0] for line in (out + err).splitlines() if line.startswith("  ")}
    assert {"generate", "kpis", "segments", "cohorts", "status", "import", "export"} <= listed


def test_generate_json_reports_row_counts(capsys, tmp_path: Path) -> None:
    path = tmp_path / "g.duckdb"
    code, out, _ = run(capsys, "generate", *SMALL, "--store", str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["shoplens"] == "generate"
    assert doc["version"] == 1
    assert doc["tables"]["customers"] == 600
    assert doc["tables"]["orders"] > 0
    assert doc["tables"]["order_items"] >= doc["tables"]["orders"]


def test_status_lists_tables_and_results(capsys, shop: Path) -> None:
    code, out, _ = run(capsys, "status", "--store", str(shop), "--json")
    assert code == 0
    doc = json.loads(out)
    names = {t["table"]: t for t in doc["tables"]}
    assert names["customers"]["rows"] == 600
    assert names["orders"]["first"] >= "2025-09-02"
    assert doc["missing_required"] == []


def test_kpis_json_shape_and_saved_result(capsys, shop: Path) -> None:
    code, out, _ = run(capsys, "kpis", "--store", str(shop), "--json")
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == ["shoplens", "version", "timezone", "from", "to", "by", "rows"]
    assert (doc["shoplens"], doc["version"], doc["by"]) == ("kpis", 1, None)
    (row,) = doc["rows"]
    assert list(row) == KPI_NAMES
    assert (
        row["orders"] == row["completed_orders"] + row["cancelled_orders"] + row["returned_orders"]
    )
    assert row["net_revenue"] == pytest.approx(
        row["gross_revenue"]
        - row["discounts"]
        - row["cancelled_revenue"]
        - row["returned_revenue"],
        abs=0.05,
    )
    code, out, _ = run(capsys, "status", "--store", str(shop), "--json")
    assert "kpis_total" in {r["result"] for r in json.loads(out)["results"]}


def test_kpis_by_month_csv_adds_up_to_total(capsys, shop: Path) -> None:
    _, out, _ = run(capsys, "kpis", "--store", str(shop), "--json", "--no-save")
    total = json.loads(out)["rows"][0]["net_revenue"]
    code, out, _ = run(capsys, "kpis", "--store", str(shop), "--by", "month", "--csv")
    assert code == 0
    lines = out.strip().splitlines()
    header = lines[0].split(",")
    assert header[0] == "month"
    col = header.index("net_revenue")
    months = [line.split(",") for line in lines[1:]]
    assert [m[0] for m in months] == sorted(m[0] for m in months)
    assert sum(float(m[col]) for m in months) == pytest.approx(total, abs=0.05)


def test_kpis_period_filter(capsys, shop: Path) -> None:
    args = ["kpis", "--store", str(shop), "--json", "--no-save"]
    _, out, _ = run(capsys, *args, "--from", "2025-12-01", "--to", "2025-12-31")
    december = json.loads(out)["rows"][0]["orders"]
    _, out, _ = run(capsys, *args, "--by", "month")
    by_month = {r["month"]: r["orders"] for r in json.loads(out)["rows"]}
    assert december == by_month["2025-12"] > 0


def test_segments_json(capsys, shop: Path) -> None:
    code, out, _ = run(capsys, "segments", "--store", str(shop), "--json")
    assert code == 0
    doc = json.loads(out)
    assert sum(r["customers"] for r in doc["rfm"]) == doc["customers"]
    assert sum(r["customers"] for r in doc["behaviour"]) == doc["customers"]
    assert {r["segment"] for r in doc["behaviour"]} >= {"VIP", "Regular", "Occasional"}


def test_cohorts_table_and_json(capsys, shop: Path) -> None:
    code, out, _ = run(capsys, "cohorts", "--store", str(shop))
    assert code == 0
    assert "M0" in out
    code, out, _ = run(capsys, "cohorts", "--store", str(shop), "--metric", "revenue", "--json")
    rows = json.loads(out)["rows"]
    assert rows
    assert list(rows[0]) == [
        "cohort",
        "months_since",
        "cohort_size",
        "active_customers",
        "revenue",
        "value",
    ]
    assert all(r["value"] == pytest.approx(1.0) for r in rows if r["months_since"] == 0)


def test_table_output_for_people(capsys, shop: Path) -> None:
    code, out, _ = run(capsys, "kpis", "--store", str(shop), "--no-save")
    assert code == 0
    assert "net_revenue" in out
    code, out, _ = run(capsys, "segments", "--store", str(shop), "--no-save")
    assert code == 0
    assert "Champions" in out


# --- bad input: one line on stderr, exit 1 (or 2 for usage), no traceback, nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "-5"], "customers"),
        (["--customers", "0"], "customers"),
        (["--customers", "20000000"], "outside [1, 10,000,000]"),
        (["--event-days", "-2"], "--event-days"),
        (["--days", "0"], "days"),
        (["--days", "100000"], "days"),
        (["--churn", "-1"], "churn"),
        (["--country-weights", "DE=abc"], "--country-weights"),
        (["--country-weights", "DE=-1"], "--country-weights"),
        (["--country-weights", "Germany=1"], "--country-weights"),
        (["--tz", "Mars/Olympus"], "time zone"),
    ],
)
def test_generate_rejects_bad_options(capsys, tmp_path: Path, args, message) -> None:
    path = tmp_path / "bad.duckdb"
    code, _out, err = run(capsys, "generate", "--store", str(path), *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_to_overwrite_without_force(capsys, shop: Path) -> None:
    before = shop.stat().st_mtime_ns, shop.stat().st_size
    code, _, err = run(capsys, "generate", *SMALL, "--store", str(shop))
    assert code == 1
    assert "--force" in err
    assert (shop.stat().st_mtime_ns, shop.stat().st_size) == before


@pytest.mark.parametrize("command", ["kpis", "segments", "cohorts", "status"])
def test_missing_store(capsys, tmp_path: Path, command: str) -> None:
    code, _, err = run(capsys, command, "--store", str(tmp_path / "none.duckdb"))
    assert code == 1
    assert "not found" in err
    assert not (tmp_path / "none.duckdb").exists()


@pytest.mark.parametrize("command", ["kpis", "segments", "cohorts", "status"])
def test_corrupt_store(capsys, tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"\x00garbage" * 1000)
    code, _, err = run(capsys, command, "--store", str(bad))
    assert code == 1
    assert "not a readable DuckDB file" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["kpis", "segments", "cohorts"])
def test_store_without_tables(capsys, tmp_path: Path, command: str) -> None:
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    code, _, err = run(capsys, command, "--store", str(empty))
    assert code == 1
    assert "has no table 'orders'" in err


def test_kpis_bad_options(capsys, shop: Path) -> None:
    code, _, err = run(capsys, "kpis", "--store", str(shop), "--by", "planet")
    assert code == 1
    assert "planet" in err
    code, _, err = run(
        capsys, "kpis", "--store", str(shop), "--from", "2025-12-01", "--to", "2025-01-01"
    )
    assert code == 1
    code, _, err = run(capsys, "kpis", "--store", str(shop), "--from", "2025-13-01")
    assert code == 2
    code, _, err = run(capsys, "kpis", "--store", str(shop), "--json", "--csv")
    assert code == 1
    assert "--json" in err


def test_kpis_empty_period_says_so(capsys, shop: Path) -> None:
    args = ["kpis", "--store", str(shop), "--no-save", "--from", "2030-01-01"]
    code, out, _ = run(capsys, *args, "--by", "month")
    assert code == 0
    assert "No orders between 2030-01-01 and the end" in out
    code, out, _ = run(capsys, *args, "--json")
    (row,) = json.loads(out)["rows"]
    assert row["orders"] == 0
    assert row["aov"] is None


def test_store_locked_by_another_process(capsys, shop: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(30)",
            str(shop),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        code, _, err = run(capsys, "kpis", "--store", str(shop))
        assert code == 1
        assert "in use by another process" in err
        assert len(err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()


def test_user_text_is_not_read_as_markup(capsys, tmp_path: Path) -> None:
    # "[/]" and "[bold]" in paths or data must print as they are, not crash rich
    path = tmp_path / "x[/]y[bold].duckdb"
    code, _, err = run(capsys, "status", "--store", str(path))
    assert code == 1
    assert "x[/]y[bold].duckdb not found" in err
    assert "Traceback" not in err


def test_readme_documents_every_kpi() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### KPIs", 1)[1].split("\n\n", 2)[1]
    first_cells = [line.split("|")[1] for line in table.splitlines()[2:]]
    documented = [name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)]
    assert sorted(documented) == sorted(KPI_NAMES)


def test_results_are_saved_as_tables(capsys, shop: Path) -> None:
    import duckdb

    _, out, _ = run(capsys, "segments", "--store", str(shop), "--json")
    doc = json.loads(out)
    _, out, _ = run(capsys, "cohorts", "--store", str(shop), "--json")
    cohorts = json.loads(out)["rows"]
    con = duckdb.connect(str(shop), read_only=True)
    try:
        saved = con.execute("SELECT segment, customers FROM segment_summary_rfm").fetchall()
        assert saved == [(r["segment"], r["customers"]) for r in doc["rfm"]]
        n = con.execute("SELECT count(*) FROM customer_segments").fetchone()
        assert n == (doc["customers"],)
        cells = con.execute(
            "SELECT cohort, months_since, active_customers FROM cohorts_customers"
        ).fetchall()
        assert cells == [(r["cohort"], r["months_since"], r["active_customers"]) for r in cohorts]
    finally:
        con.close()
