"""Bad stores, for every command that opens one: one line, non-zero exit, store unchanged.

Truncated, wrong column types and locked by a writer run the CLI in-process; read-only
files and directories run it as a subprocess without the power to ignore permissions
(tests usually run as root here, and root writes read-only files).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.import_files import UCI_CSV
from tests.store.test_files import hold_for_writing, release, retype
from tests.test_cli import run

TINY = ["--customers", "40", "--days", "20", "--seed", "1", "--no-events"]

# every command that opens an existing store; the store path is appended
COMMANDS: dict[str, list[str]] = {
    "status": ["status"],
    "quality": ["quality"],
    "kpis": ["kpis"],
    "kpis --no-save": ["kpis", "--no-save"],
    "segments": ["segments"],
    "cohorts": ["cohorts"],
    "export": ["export", "mongodb://127.0.0.1:9/never_reached"],
    "import": ["import", "{csv}", "--preset", "order-lines", "--max-bad-share", "1"],
    "generate --force": ["generate", *TINY, "--force"],
}
READERS = {"status", "quality", "kpis --no-save"}  # need no write access


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-stores") / "good.duckdb"
    import_csv = path.parent / "uci.csv"
    import_csv.write_text(UCI_CSV, encoding="utf-8")
    from shoplens.cli import main

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["shoplens", "generate", *TINY, "--store", str(path)])
        with pytest.raises(SystemExit) as exit_info:
            main()
    assert exit_info.value.code == 0
    return path


def copy_store(good: Path, directory: Path, name: str = "shop.duckdb") -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    shutil.copyfile(good, path)
    shutil.copyfile(good.parent / "uci.csv", directory / "uci.csv")
    return path


def argv(command: str, store: Path) -> list[str]:
    csv = str(store.parent / "uci.csv")
    return [a.replace("{csv}", csv) for a in COMMANDS[command]] + ["--store", str(store)]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def assert_refused(code: int, err: str, said: str) -> None:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert said in lines[0]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "generate --force"])
def test_truncated_store(
    capsys: pytest.CaptureFixture[str], good_store: Path, tmp_path: Path, command: str
) -> None:
    path = copy_store(good_store, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = snapshot(tmp_path)
    code, _, err = run(capsys, *argv(command, path))
    assert_refused(code, err, f"the store {path} is damaged (the file is ")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "generate --force"])
def test_wrong_column_types(
    capsys: pytest.CaptureFixture[str], good_store: Path, tmp_path: Path, command: str
) -> None:
    path = copy_store(good_store, tmp_path)
    retype(path, "order_items", "quantity", "VARCHAR")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, *argv(command, path))
    assert_refused(code, err, "column order_items.quantity is VARCHAR, expected an integer")
    assert snapshot(tmp_path) == before


def test_generate_force_replaces_a_damaged_store(
    capsys: pytest.CaptureFixture[str], good_store: Path, tmp_path: Path
) -> None:
    path = copy_store(good_store, tmp_path)
    path.write_bytes(path.read_bytes()[:20_000])
    code, _, err = run(capsys, *argv("generate --force", path))
    assert (code, err) == (0, "")
    code, _, _ = run(capsys, "status", "--store", str(path))
    assert code == 0


@pytest.fixture(scope="module")
def locked(good_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store another process has open for writing, with data only in its WAL."""
    path = copy_store(good_store, tmp_path_factory.mktemp("locked"))
    writer = hold_for_writing(path)
    yield path
    release(writer)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_locked_by_a_writer(capsys: pytest.CaptureFixture[str], locked: Path, command: str) -> None:
    before = snapshot(locked.parent)
    code, _, err = run(capsys, *argv(command, locked))
    assert_refused(code, err, f"store {locked} is in use by another process")
    assert snapshot(locked.parent) == before  # the writer's .wal too


# --- read-only files and directories ------------------------------------------------


def _drop_dac_capabilities() -> None:  # pragma: no cover - runs in the child
    """Root without CAP_DAC_OVERRIDE/READ_SEARCH obeys file permissions (child only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


# Runs the CLI once per argument list in one (unprivileged) process: one start-up.
_RUNNER = """
import contextlib, io, json, sys
from shoplens.cli import main
results = {}
for name, args in json.load(sys.stdin).items():
    sys.argv = ["shoplens", *args]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    results[name] = [code, err.getvalue()]
json.dump(results, sys.stdout)
"""


def run_all_unprivileged(runs: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Run ``shoplens ARGS`` for each entry, without root's power over permissions."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(runs),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_drop_dac_capabilities if os.geteuid() == 0 else None,
        check=True,
    )
    return {name: (code, err) for name, (code, err) in json.loads(proc.stdout).items()}


def test_read_only_file_and_directory(good_store: Path, tmp_path: Path) -> None:
    ro_file = copy_store(good_store, tmp_path / "file")
    ro_file.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    ro_dir = copy_store(good_store, tmp_path / "dir")
    ro_dir.parent.chmod(0o555)
    try:
        before = {d: snapshot(d.parent) for d in (ro_file, ro_dir)}
        runs = {
            (where, command): argv(command, path)
            for where, path in (("file", ro_file), ("dir", ro_dir))
            for command in COMMANDS
            if command != "export"
        }
        runs[("dir", "generate new")] = ["generate", *TINY, "--store", str(ro_dir.parent / "n")]
        results = run_all_unprivileged({f"{w}:{c}": a for (w, c), a in runs.items()})
        for (where, command), _ in runs.items():
            code, err = results[f"{where}:{command}"]
            if command in READERS:
                assert (code, err) == (0, ""), (where, command)
                continue
            said = (
                "is read-only (no write permission on the file)"
                if where == "file"
                else "read-only directory"
                if command not in ("generate --force", "generate new")
                else f"directory {ro_dir.parent} is read-only"
            )
            assert_refused(code, err, said)
            if command in ("kpis", "segments", "cohorts"):
                assert err.strip().endswith(
                    "add --no-save to analyse it without saving the results"
                )
            assert "not a readable DuckDB file" not in err
        assert {d: snapshot(d.parent) for d in (ro_file, ro_dir)} == before
    finally:
        ro_dir.parent.chmod(0o755)
