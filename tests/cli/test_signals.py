"""SIGINT and SIGTERM at several points of generate, a large import and a query.

Each command runs as ``python -m shoplens`` and is signalled when it reaches a point
seen from outside (its temporary store file appears or grows, it has the source CSV or
the store open), not after a fixed sleep, so the test holds on a loaded machine. Then:
one line said, exit 130 (SIGINT) or 143 (SIGTERM), the store as it was (or absent if it
did not exist), no temporary file left. The runs go in parallel to keep the suite short.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from shoplens.store import create_tables, finalize_keys, write_new_store

pytestmark = pytest.mark.slow

LINES = 300_000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300k-line order-lines CSV, a store with 300k orders (built in SQL: fast), a tiny one."""
    root = tmp_path_factory.mktemp("signals")
    with (root / "big.csv").open("w", encoding="utf-8") as f:
        f.write("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n")
        f.writelines(
            f"{500000 + i // 3},{10000 + i % 997},Item {i % 997},{1 + i % 5},"
            f"2010-12-{1 + i % 28:02d} {8 + i % 12:02d}:{i % 60:02d}:00,"
            f"{(i % 500) / 100 + 0.5:.2f},{12000 + i % 4000},United Kingdom\n"
            for i in range(LINES)
        )

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        create_tables(con, ["customers", "products", "orders", "order_items"])
        con.execute(
            "INSERT INTO customers (customer_id, signup_ts, country) SELECT 'c' || i,"
            " TIMESTAMPTZ '2024-01-01' + to_minutes(i), 'DE' FROM range(100000) t(i)"
        )
        con.execute(
            "INSERT INTO products (product_id, name, unit_price)"
            " SELECT 'p' || i, 'n', 1.5 FROM range(100) t(i)"
        )
        con.execute(
            "INSERT INTO orders (order_id, customer_id, order_ts, status, discount, currency)"
            " SELECT 'o' || i, 'c' || (i % 100000), TIMESTAMPTZ '2024-01-01' + to_minutes(i),"
            " 'completed', 0, 'EUR' FROM range(300000) t(i)"
        )
        con.execute(
            "INSERT INTO order_items SELECT 'o' || (i // 2), 1 + i % 2, 'p' || (i % 100),"
            " 1 + i % 3, 2.5, 0 FROM range(600000) t(i)"
        )
        finalize_keys(con, ["customers", "products", "orders"])

    write_new_store(root / "big.duckdb", fill)
    write_new_store(root / "small.duckdb", lambda con: create_tables(con))
    return root


def open_files(pid: int) -> set[str]:
    fds = Path(f"/proc/{pid}/fd")
    names: set[str] = set()
    for fd in fds.iterdir() if fds.exists() else ():
        with contextlib.suppress(OSError):
            names.add(os.readlink(fd))
    return names


def temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if ".tmp-" in p.name]


def temp_appears(directory: Path) -> Callable[[int], bool]:
    return lambda pid: bool(temp_files(directory))


def temp_grows(directory: Path, size: int) -> Callable[[int], bool]:
    return lambda pid: sum(p.stat().st_size for p in temp_files(directory) if p.exists()) > size


def has_open(path: Path) -> Callable[[int], bool]:
    return lambda pid: str(path.resolve()) in open_files(pid)


@dataclass(eq=False)
class Case:
    name: str
    args: list[str]
    directory: Path
    point: Callable[[int], bool]
    signum: int
    before: dict[str, bytes] = field(init=False)
    proc: subprocess.Popen[str] = field(init=False)
    sent: bool = field(init=False)
    err: str = field(init=False)

    def start(self) -> None:
        self.before = snapshot(self.directory)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shoplens", *self.args],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.sent = False


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def run_cases(cases: list[Case], timeout: float = 120) -> None:
    for case in cases:
        case.start()
    deadline = time.monotonic() + timeout
    waiting = list(cases)
    while waiting and time.monotonic() < deadline:
        for case in list(waiting):
            if case.proc.poll() is not None:
                waiting.remove(case)  # ended before its point: reported below
            else:
                try:
                    reached = case.point(case.proc.pid)
                except OSError:
                    reached = False
                if reached:
                    case.proc.send_signal(case.signum)
                    case.sent = True
                    waiting.remove(case)
        time.sleep(0.01)
    for case in cases:
        _, case.err = case.proc.communicate(timeout=max(1.0, deadline - time.monotonic()))


def check(case: Case, after: dict[str, bytes]) -> None:
    assert case.sent, f"{case.name}: ended before its signal point ({case.err[-300:]})"
    code = 130 if case.signum == signal.SIGINT else 143
    said = "interrupted" if case.signum == signal.SIGINT else "terminated"
    assert (case.proc.returncode, case.err.strip().splitlines()) == (
        code,
        [f"{said}; nothing was written"],
    ), case.name
    assert after == case.before, f"{case.name}: the directory changed"


def test_signals_during_generate_import_and_queries(workdir: Path, tmp_path: Path) -> None:
    def area(name: str, *files: str) -> Path:
        d = tmp_path / name
        d.mkdir()
        for f in files:
            src = workdir / f
            os.link(src, d / f) if f.endswith(".csv") else shutil.copyfile(src, d / f)
        return d

    gen = ["generate", "--customers", "60000", "--days", "365", "--no-events"]
    imp = ["import", "big.csv", "--preset", "order-lines", "--max-bad-share", "1"]
    d = {
        n: area(n, *f)
        for n, f in {
            "gen-new-term": (),
            "gen-force-int": ("small.duckdb",),
            "imp-new-int": ("big.csv",),
            "imp-new-term": ("big.csv",),
            "imp-old-int": ("big.csv", "small.duckdb"),
            "kpis-int": ("big.duckdb",),
            "segments-term": ("big.duckdb",),
        }.items()
    }
    new, small, big = (["--store", f] for f in ("shop.duckdb", "small.duckdb", "big.duckdb"))
    sigint, sigterm = signal.SIGINT, signal.SIGTERM
    cases = [
        # generate, mid-load: into a new store, and replacing one (--force)
        Case("gen-new-term", [*gen, *new], d["gen-new-term"],
             temp_grows(d["gen-new-term"], 1 << 20), sigterm),
        Case("gen-force-int", [*gen, *small, "--force"], d["gen-force-int"],
             temp_grows(d["gen-force-int"], 1 << 20), sigint),
        # import into a new store: temporary file created, then while reading the CSV
        Case("imp-new-int", [*imp, *new], d["imp-new-int"], temp_appears(d["imp-new-int"]),
             sigint),
        Case("imp-new-term", [*imp, *new], d["imp-new-term"],
             has_open(d["imp-new-term"] / "big.csv"), sigterm),
        # import into an existing store: while reading the CSV
        Case("imp-old-int", [*imp, *small], d["imp-old-int"],
             has_open(d["imp-old-int"] / "big.csv"), sigint),
        # analyses: as soon as they have the store open, i.e. in their first queries
        # (a fixed delay after that could miss them on an idle machine: they take ~0.3 s)
        Case("kpis-int", ["kpis", *big, "--by", "weekday"], d["kpis-int"],
             has_open(d["kpis-int"] / "big.duckdb"), sigint),
        Case("segments-term", ["segments", *big], d["segments-term"],
             has_open(d["segments-term"] / "big.duckdb"), sigterm),
    ]  # fmt: skip
    run_cases(cases)
    for case in cases:
        check(case, snapshot(case.directory))
