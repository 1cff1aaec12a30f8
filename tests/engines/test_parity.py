"""Spark equals DuckDB on the same data: every KPI (total and each breakdown), each
customer's RFM scores and both segments, every cohort cell.

Counts, text and money sums exactly; averages and rates to 1e-9. Parquet written by
``generate --format parquet`` and by ``export parquet``; in UTC and in a zone with
daylight saving time. Spark runs in local mode in this process (one session for the
test session), and on a real standalone cluster (executors in their own JVMs) in a
subprocess, since a process holds one Spark context.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pyarrow as pa
import pytest

from shoplens.engines import DuckDBEngine
from tests.engines.analyses import ANALYSES, CLUSTER
from tests.engines.compare import assert_same
from tests.engines.conftest import Shop
from tests.engines.spark_fixtures import Cluster, spark_cluster, spark_local

__all__ = ["spark_cluster", "spark_local"]  # fixtures

pytestmark = pytest.mark.slow


# Both writers and both kinds of zone, without the full cross product (Spark's fixed
# cost per query dominates on small data; test_duckdb_parquet already shows that the
# generated and the exported datasets give the store's results in every zone).
@pytest.mark.parametrize(
    ("dataset", "timezone"), [("generated", "UTC"), ("exported", "Europe/Paris")]
)
def test_spark_local_equals_duckdb(
    shop: Shop, spark_local: Any, dataset: str, timezone: str
) -> None:
    from shoplens.engines.source import inspect_source
    from shoplens.engines.spark import SparkEngine

    root = getattr(shop, dataset)
    duck = DuckDBEngine.from_parquet(root, timezone=timezone)
    spark = SparkEngine(spark_local, timezone=timezone, source=inspect_source(root))
    for t in spark.source.tables.values():
        spark._register_parquet(t.name, t.path, t.columns)
    try:
        for label, analysis in ANALYSES:
            expected = analysis(duck)
            assert expected.num_rows > 0, label
            assert_same(analysis(spark), expected, f"{label} on Spark ({dataset}, {timezone})")
    finally:
        spark.close()
        duck.close()


def test_cli_on_spark_prints_the_same_json(
    shop: Shop, spark_local: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli import run

    args = ["kpis", "--by", "channel", "--timezone", "Asia/Kolkata", "--json"]
    code, duck, err = run(capsys, *args, "--source", str(shop.exported))
    assert code == 0, err
    code, spark, err = run(capsys, *args, "--source", str(shop.exported), "--engine", "spark")
    assert code == 0, err
    assert err == ""  # no Spark banner, progress bar or log line
    assert json.loads(spark) == json.loads(duck)


_CLUSTER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from shoplens.engines.session import spark_session
    from shoplens.engines import open_source
    from tests.engines.analyses import ANALYSES, CLUSTER
    from tests.engines.spark_fixtures import SMALL_DATA_CONF

    master, root, tz = sys.argv[1:4]
    session = spark_session(master, conf=SMALL_DATA_CONF)
    engine = open_source(root, engine="spark", timezone=tz, master=master)
    executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
    # Python workers on the executors: the partition sizes, computed by mapInPandas
    orders = engine.spark.sql("SELECT 1 AS x FROM orders")
    sizes = orders.mapInPandas(lambda frames: (f.iloc[:0].assign(x=[len(f)]) for f in frames),
                               "x long").collect()
    out = {label: f(engine).to_pylist() for label, f in ANALYSES if label in CLUSTER}
    json.dump({"executors": executors, "python_rows": sum(r.x for r in sizes),
               "results": out}, sys.stdout, default=str)
    """
)


def test_spark_cluster_equals_duckdb(shop: Shop, spark_cluster: Cluster) -> None:
    timezone = "Europe/Paris"
    run = subprocess.run(
        [sys.executable, "-c", _CLUSTER_SCRIPT, spark_cluster.master, str(shop.exported), timezone],
        env=spark_cluster.env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout)
    assert got["executors"] == 1  # one worker: one executor JVM besides the driver
    duck = DuckDBEngine.from_parquet(shop.exported, timezone=timezone)
    try:
        assert got["python_rows"] == duck.sql("SELECT count(*) AS n FROM orders")["n"][0].as_py()
        assert sorted(got["results"]) == sorted(CLUSTER)
        for label, analysis in ANALYSES:
            if label not in CLUSTER:
                continue
            expected = analysis(duck)
            rows = got["results"][label]
            # timestamps came back as text through JSON: compare those columns as text
            table = (
                pa.Table.from_pylist([{k: r[k] for k in expected.column_names} for r in rows])
                if rows
                else expected.slice(0, 0)
            )
            for name in expected.column_names:
                if pa.types.is_timestamp(expected.schema.field(name).type):
                    expected = expected.set_column(
                        expected.column_names.index(name),
                        name,
                        pa.array([str(v) for v in expected[name].to_pylist()]),
                    )
            assert_same(table, expected, f"{label} on the cluster")
    finally:
        duck.close()
