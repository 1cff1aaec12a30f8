"""Settings: defaults, shoplens.toml, SHOPLENS_* variables, and their effect on commands."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shoplens.analytics import SegmentRules
from shoplens.config import Settings, load_settings
from tests.test_cli import SMALL, run


def test_defaults() -> None:
    s = load_settings()
    assert (s.store, s.timezone, s.currency) == (Path("shoplens.duckdb"), "UTC", "EUR")
    assert s.segments == SegmentRules()


def test_toml_then_environment_then_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "shop.toml"
    toml.write_text(
        'timezone = "Europe/Paris"\ncurrency = "CHF"\n[segments]\nvip_top_share = 0.2\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SHOPLENS_CONFIG", str(toml))
    s = load_settings()
    assert (s.timezone, s.currency, s.segments.vip_top_share) == ("Europe/Paris", "CHF", 0.2)
    monkeypatch.setenv("SHOPLENS_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("SHOPLENS_SEGMENTS__VIP_MIN_ORDERS", "5")
    s = load_settings()
    assert (s.timezone, s.currency) == ("Asia/Tokyo", "CHF")
    assert (s.segments.vip_top_share, s.segments.vip_min_orders) == (0.2, 5)
    assert load_settings(timezone="UTC", currency=None).timezone == "UTC"  # option wins


def test_settings_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        Settings().timezone = "UTC"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shoplens.cli import main  # the entry point, as a user runs it

    path = tmp_path_factory.mktemp("cfg") / "shop.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["shoplens", "generate", *SMALL, "--store", str(path)])
        with pytest.raises(SystemExit):
            main()
    return path


def test_segment_rules_from_toml_change_the_segments(
    capsys: pytest.CaptureFixture[str], shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def vips() -> int:
        code, out, _ = run(capsys, "segments", "--store", str(shop), "--json", "--no-save")
        assert code == 0
        return int(
            next(r["customers"] for r in json.loads(out)["behaviour"] if r["segment"] == "VIP")
        )

    default = vips()
    toml = tmp_path / "shoplens.toml"
    toml.write_text("[segments]\nvip_top_share = 0.3\nvip_min_orders = 1\n", encoding="utf-8")
    monkeypatch.setenv("SHOPLENS_CONFIG", str(toml))
    assert vips() > default


def test_bad_setting_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "shoplens.toml"
    toml.write_text("[segments]\nvip_top_share = 3\n", encoding="utf-8")
    monkeypatch.setenv("SHOPLENS_CONFIG", str(toml))
    code, _, err = run(capsys, "kpis", "--store", str(shop), "--no-save")
    assert code == 1
    assert "invalid setting segments" in err
    assert "vip_top_share" in err
    assert len(err.strip().splitlines()) == 1


def test_timezone_option_then_store_then_setting(
    capsys: pytest.CaptureFixture[str],
    shop: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def by_hour(store: Path, *extra: str) -> dict[int, int]:
        code, out, _ = run(
            capsys, "kpis", "--store", str(store), "--by", "hour", "--json", "--no-save", *extra
        )
        assert code == 0
        doc = json.loads(out)
        return {r["hour"]: r["orders"] for r in doc["rows"]}

    utc = by_hour(shop)  # generated with the default zone, UTC: recorded in the store
    tokyo = by_hour(shop, "--tz", "Asia/Tokyo")  # UTC+9, no DST
    assert tokyo == {(h + 9) % 24: n for h, n in utc.items()}
    monkeypatch.setenv("SHOPLENS_TIMEZONE", "Asia/Tokyo")
    assert by_hour(shop) == utc  # the store's zone comes before the setting
    # a store that records no zone (made by an older shoplens) uses the setting
    older = tmp_path / "older.duckdb"
    older.write_bytes(shop.read_bytes())
    with duckdb.connect(str(older)) as con:
        con.execute("DROP TABLE shoplens_meta")
    assert by_hour(older) == tokyo


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            b'timezone = "Europe/Paris\n',
            "is not valid TOML: Illegal character '\\n' (at line 1, column 25)",
        ),
        (b'timezone = "Europe/Z\xfcrich"\n', "is not UTF-8 text (byte 20): save it as UTF-8"),
    ],
)
def test_unreadable_settings_file_is_named_in_one_line(
    capsys: pytest.CaptureFixture[str],
    shop: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    said: str,
) -> None:
    toml = tmp_path / "shoplens.toml"
    toml.write_bytes(content)
    monkeypatch.setenv("SHOPLENS_CONFIG", str(toml))
    code, _, err = run(capsys, "status", "--store", str(shop))
    assert code == 1
    assert err.strip().splitlines() == [f"error: settings file {toml} {said}"]
    # ./shoplens.toml, read without SHOPLENS_CONFIG, is named the same way
    monkeypatch.delenv("SHOPLENS_CONFIG")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "status", "--store", str(shop))
    assert code == 1
    assert err.strip().splitlines() == [f"error: settings file shoplens.toml {said}"]


def test_settings_file_named_by_the_environment_must_exist(
    capsys: pytest.CaptureFixture[str], shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for named, said in [
        (tmp_path / "missing.toml", "not found"),
        (tmp_path, "is a directory, not a file"),
    ]:
        monkeypatch.setenv("SHOPLENS_CONFIG", str(named))
        code, _, err = run(capsys, "status", "--store", str(shop))
        assert code == 1
        assert err.strip().splitlines() == [
            f"error: settings file {named} (SHOPLENS_CONFIG) {said}"
        ]
    monkeypatch.delenv("SHOPLENS_CONFIG")
    monkeypatch.chdir(tmp_path)  # no ./shoplens.toml: the defaults, no error
    assert load_settings().timezone == "UTC"
