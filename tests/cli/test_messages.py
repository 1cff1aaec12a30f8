"""Plain words: dates, option names, help placeholders, --version, plurals (#6 items 15, 16, 18)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from shoplens.errors import InvalidParameterError
from shoplens.generate import SimulationParams
from tests.test_cli import run

COMMANDS = ["generate", "kpis", "segments", "cohorts", "status", "import", "export", "quality"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["generate", "--end", "2025-13-01"],
         "Invalid value for '--end': '2025-13-01' is not a date; write it as YYYY-MM-DD"),
        (["kpis", "--from", "2025-1-1"],
         "Invalid value for '--from': '2025-1-1' is not a date; write it as YYYY-MM-DD"),
        (["kpis", "--to", "31.12.2025"],
         "Invalid value for '--to': '31.12.2025' is not a date; write it as YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_dates_are_checked_in_plain_words(
    capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert said in err
    assert "%Y" not in err
    assert "does not match the format" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--end", "1970-01-01"], "invalid --end: 1970-01-01 is out of the supported range"),
        (["--cancel-rate", "0.9", "--return-rate", "0.5"],
         "invalid --cancel-rate: --cancel-rate + --return-rate must not exceed 1"),
        (["--event-days", "-1"], "invalid --event-days: -1 is outside"),
        (["--country-weights", "DE=1,ZZ=2"],
         "invalid --country-weights: 'ZZ' is not an ISO 3166 country code"),
        (["--country-weights", "UK=1"],
         "invalid --country-weights: 'UK' is not an ISO 3166 country code"),
    ],
)  # fmt: skip
def test_generate_errors_name_the_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], said: str
) -> None:
    code, _, err = run(capsys, "generate", *args, "--store", str(tmp_path / "s.duckdb"))
    assert code == 1
    assert err.strip().splitlines() == [f"error: {said}"] or said in err.strip()
    assert len(err.strip().splitlines()) == 1
    assert not re.search(r"\b(end_date|cancel_rate|return_rate|country_weights)\b", err)
    assert list(tmp_path.iterdir()) == []


def test_country_codes_are_iso_3166() -> None:
    assert SimulationParams(country_weights={"de": 1, "XK": 1, "GB": 1}).customers > 0
    with pytest.raises(InvalidParameterError, match="'EU' is not an ISO 3166 country code"):
        SimulationParams(country_weights={"DE": 1, "EU": 1})


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_typer_placeholders(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert not re.search(r"<[a-z%][^>]*>|\{[A-Z]+\}", out), out
    if command in ("generate", "kpis"):
        assert "YYYY-MM-DD" in out
    if command != "export":
        assert "--store FILE" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"shoplens {version('shoplens')}")


def test_generate_summary_counts_in_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["generate", "--days", "1", "--products", "20", "--no-events"]
    code, out, _ = run(capsys, *args, "--customers", "1", "--store", str(tmp_path / "a.duckdb"))
    assert code == 0
    assert "simulated 1 customer over 1 day in" in out
    code, out, _ = run(capsys, *args, "--customers", "2", "--store", str(tmp_path / "b.duckdb"))
    assert "simulated 2 customers over 1 day in" in out
