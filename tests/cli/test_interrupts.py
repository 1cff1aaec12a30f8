"""What an interrupt says depends on whether the store was written (in-process, fast)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import run

TINY = ["generate", "--customers", "5", "--days", "3", "--products", "20", "--no-events"]


def _interrupt(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


def test_interrupt_before_the_write_leaves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shoplens.generate.generate_into", _interrupt)
    code, _, err = run(capsys, *TINY, "--store", str(tmp_path / "s.duckdb"))
    assert (code, err.strip().splitlines()) == (130, ["interrupted; nothing was written"])
    assert list(tmp_path.iterdir()) == []


def test_interrupt_after_the_write_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shoplens.output.counts_table", _interrupt)  # the summary, at the end
    code, _, err = run(capsys, *TINY, "--store", str(tmp_path / "s.duckdb"))
    assert (code, err.strip().splitlines()) == (130, ["interrupted after the store was written"])
    assert [p.name for p in tmp_path.iterdir()] == ["s.duckdb"]


def test_query_interrupted_by_duckdb_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB reports Ctrl-C during a query as RuntimeError('Query interrupted')."""
    code, _, _ = run(capsys, *TINY, "--store", str(tmp_path / "s.duckdb"))
    assert code == 0
    before = (tmp_path / "s.duckdb").read_bytes()

    def query_interrupted(*args: Any, **kwargs: Any) -> Any:
        try:  # the SIGINT handler runs inside DuckDB's signal check...
            handler = signal.getsignal(signal.SIGINT)
            assert callable(handler)
            handler(signal.SIGINT, None)
        except KeyboardInterrupt:  # ...which replaces its exception with this one
            raise RuntimeError("Query interrupted") from None

    monkeypatch.setattr("shoplens.analytics.compute_kpis", query_interrupted)
    code, _, err = run(capsys, "kpis", "--store", str(tmp_path / "s.duckdb"))
    assert (code, err.strip().splitlines()) == (130, ["interrupted; nothing was written"])
    assert (tmp_path / "s.duckdb").read_bytes() == before
