"""Errors of the engines and of --source: one line, a non-zero exit, no waiting.

None of these start a JVM: every check runs before Spark would.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplens.engines import open_source
from shoplens.engines.session import check_java, check_master, require_pyspark
from shoplens.errors import EngineError
from tests.engines.conftest import Shop
from tests.test_cli import run


def _fake_java(tmp_path: Path, version_line: str) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)
    return home


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


def test_spark_extra_missing_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shop: Shop
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineError, match=r"pip install 'shoplens\[spark\]'"):
        require_pyspark()
    code, out, err = run(capsys, "kpis", "--source", str(shop.generated), "--engine", "spark")
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "error: the Spark engine needs pyspark: pip install 'shoplens[spark]'"
    ]


def test_java_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(EngineError, match="needs Java 17 or newer, and no java was found"):
        check_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match="no java was found"):
        check_java()


@pytest.mark.parametrize(
    ("line", "major"),
    [('openjdk version "11.0.22" 2024-01-16', 11), ('java version "1.8.0_392"', 8)],
)
def test_java_too_old(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line: str, major: int
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, line)))
    with pytest.raises(EngineError, match=f"needs Java 17 or newer; .* is Java {major} "):
        check_java()


def test_java_17_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "17.0.15" x')))
    assert check_java() == 17


def test_java_too_old_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, shop: Shop
) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "11.0.2"')))
    code, _, err = run(
        capsys, "segments", "--source", str(shop.generated), "--engine", "spark",
        "--spark-master", "local[1]",
    )  # fmt: skip
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "needs Java 17 or newer" in err
    assert "is Java 11" in err


def test_unreachable_master_answers_within_seconds(
    capsys: pytest.CaptureFixture[str], shop: Shop
) -> None:
    pytest.importorskip("pyspark")
    master = f"spark://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(EngineError, match=f"Spark master {master} is unreachable"):
        check_master(master)
    code, _, err = run(
        capsys, "kpis", "--source", str(shop.generated), "--engine", "spark",
        "--spark-master", master,
    )  # fmt: skip
    elapsed = time.monotonic() - t0
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: Spark master {master} is unreachable (127.0.0.1:{master.rsplit(':', 1)[1]}:"
        " Connection refused)"
    ]
    assert elapsed < 15  # java -version + a refused connection, not Spark's 70 s of retries


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4,2]"])
def test_local_masters_need_no_server(master: str) -> None:
    check_master(master)


@pytest.mark.parametrize("master", ["spark://nohostport", "sparks://h:1", "localhost"])
def test_malformed_master(master: str) -> None:
    with pytest.raises(EngineError, match="master"):
        check_master(master)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_source_that_is_not_a_dataset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str
) -> None:
    code, _, err = run(capsys, "kpis", "--source", str(tmp_path / "nope"), "--engine", engine)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: source {tmp_path / 'nope'} is not a folder of Parquet tables (write one with"
        " 'shoplens export parquet' or 'shoplens generate --format parquet')"
    ]
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "cohorts", "--source", str(tmp_path / "empty"), "--engine", engine)
    assert code == 1
    assert "has none of the tables customers, products, orders, order_items, events" in err


def _copy_table(src: Path, dst: Path, name: str, table: pa.Table | None = None) -> None:
    (dst / name).mkdir(parents=True)
    data = table if table is not None else pq.read_table(src / name)
    pq.write_table(data, dst / name / "part-0.parquet", coerce_timestamps="us")


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_source_without_a_table_or_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shop: Shop, engine: str
) -> None:
    only_orders = tmp_path / "only_orders"
    _copy_table(shop.generated, only_orders, "orders")
    if engine == "duckdb":  # Spark would start a JVM to get this far
        code, _, err = run(capsys, "segments", "--source", str(only_orders))
        assert code == 1
        assert err.strip().splitlines() == [
            f"error: source {only_orders} has no table 'order_items' needed for segments"
        ]
    no_ts = tmp_path / "no_ts"
    orders = pq.read_table(shop.generated / "orders").drop_columns(["order_ts", "status"])
    _copy_table(shop.generated, no_ts, "orders", orders)
    code, _, err = run(capsys, "kpis", "--source", str(no_ts), "--engine", engine)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {no_ts / 'orders' / 'part-0.parquet'}: table 'orders' lacks column(s)"
        " order_ts, status"
    ]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_nanosecond_timestamps_are_refused_naming_file_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shop: Shop, engine: str
) -> None:
    root = tmp_path / "ns"
    orders = pq.read_table(shop.generated / "orders")
    i = orders.column_names.index("order_ts")
    orders = orders.set_column(i, "order_ts", orders["order_ts"].cast(pa.timestamp("ns", "UTC")))
    (root / "orders").mkdir(parents=True)
    pq.write_table(orders, root / "orders" / "o.parquet", version="2.6")
    _copy_table(shop.generated, root, "order_items")
    code, _, err = run(capsys, "kpis", "--source", str(root), "--engine", engine)
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {root / 'orders' / 'o.parquet'}, column 'order_ts': nanosecond timestamps are"
        " not readable by Spark; write microseconds (pyarrow coerce_timestamps='us')"
    ]


def test_naive_timestamps_are_refused(tmp_path: Path, shop: Shop) -> None:
    root = tmp_path / "naive"
    orders = pq.read_table(shop.generated / "orders")
    i = orders.column_names.index("order_ts")
    orders = orders.set_column(i, "order_ts", orders["order_ts"].cast(pa.timestamp("us")))
    _copy_table(shop.generated, root, "orders", orders)
    with pytest.raises(EngineError, match="'order_ts': timestamp without time zone"):
        open_source(root)


def test_spark_engine_needs_a_source(capsys: pytest.CaptureFixture[str], shop: Shop) -> None:
    code, _, err = run(capsys, "kpis", "--store", str(shop.store), "--engine", "spark")
    assert code == 1
    assert "--engine spark reads a Parquet dataset: give --source DIR" in err


def test_export_and_generate_parquet_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shop: Shop
) -> None:
    code, _, err = run(capsys, "export", "parquet", "--store", str(shop.store))
    assert (code, err.strip()) == (1, "error: export parquet needs --out DIR")
    code, _, err = run(
        capsys, "export", "parquet", "--store", str(shop.store), "--out", str(shop.generated)
    )
    assert code == 1
    assert err.strip() == f"error: {shop.generated} already exists (use --force to replace it)"
    code, _, err = run(capsys, "generate", "--format", "parquet", "--customers", "10")
    assert (code, err.strip()) == (1, "error: --format parquet needs --out DIR")
    assert not list(tmp_path.iterdir())
