"""The DuckDB -> Spark transpiler: each rewrite of the table, caching, failures.

These check the generated Spark SQL text; test_parity runs it on Spark.
"""

from __future__ import annotations

import pytest

from shoplens.engines.transpile import REWRITES, to_spark
from shoplens.errors import EngineError


def spark(sql: str) -> str:
    return to_spark(sql).sql


def test_quantiles_become_exact_percentiles_of_doubles() -> None:
    assert spark("SELECT quantile_cont(x, 0.9) FROM t") == (
        "SELECT PERCENTILE(CAST(x AS DOUBLE), 0.9) FROM t"
    )
    assert spark("SELECT median(x) FROM t") == "SELECT PERCENTILE(CAST(x AS DOUBLE), 0.5) FROM t"
    # without the rewrite sqlglot would silently emit PERCENTILE_APPROX
    within = spark("SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY x) FROM t")
    assert within == "SELECT PERCENTILE(CAST(x AS DOUBLE), 0.25) FROM t"


def test_avg_is_of_a_double() -> None:
    assert spark("SELECT avg(price) FROM t") == "SELECT AVG(CAST(price AS DOUBLE)) FROM t"
    assert spark("SELECT avg(CAST(p AS DOUBLE)) FROM t") == "SELECT AVG(CAST(p AS DOUBLE)) FROM t"


def test_null_order_is_explicit_like_duckdb() -> None:
    # Spark already puts NULLs last when descending, so sqlglot leaves that implicit
    assert spark("SELECT a FROM t ORDER BY a, b DESC") == (
        "SELECT a FROM t ORDER BY a NULLS LAST, b DESC"
    )
    assert spark("SELECT rank() OVER (ORDER BY m) FROM t") == (
        "SELECT RANK() OVER (ORDER BY m NULLS LAST) FROM t"
    )


def test_read_parquet_becomes_a_registered_view() -> None:
    st = to_spark("SELECT count(*) FROM read_parquet('/data/shop/orders') AS o")
    ((view, path),) = st.views.items()
    assert path == "/data/shop/orders"
    assert st.sql == f"SELECT COUNT(*) FROM {view} AS o"
    with pytest.raises(EngineError, match="exactly one literal path"):
        to_spark("SELECT * FROM read_parquet(['a', 'b'])")


def test_temp_tables_become_cached_session_views() -> None:
    st = to_spark("CREATE OR REPLACE TEMP TABLE temp.main.f AS SELECT a FROM temp.main.g")
    assert st.cache_table == "f"
    assert st.sql == "CACHE TABLE f AS SELECT a FROM g"


def test_duckdb_only_functions() -> None:
    assert spark("SELECT isodow(ts) FROM t") == "SELECT (WEEKDAY(ts) + 1) FROM t"
    assert spark("SELECT epoch(ts) FROM t") == (
        "SELECT (CAST(UNIX_MICROS(ts) AS DOUBLE) / 1000000) FROM t"
    )
    assert spark("SELECT ['a', 'b'][i] FROM t") == (
        "SELECT ELEMENT_AT(ARRAY('a', 'b'), CAST(i AS INT)) FROM t"
    )
    assert spark("SELECT list_extract($grid, i + 1) FROM t") == (
        "SELECT ELEMENT_AT(:grid, CAST(i + 1 AS INT)) FROM t"
    )
    assert spark("SELECT o.rowid FROM orders AS o") == (
        "SELECT MONOTONICALLY_INCREASING_ID() FROM orders AS o"
    )
    assert spark("SELECT arg_min(id, (ts, id)) FROM t") == (
        "SELECT MIN_BY(id, STRUCT(ts, id)) FROM t"
    )
    assert spark("SELECT row_number() OVER () FROM t") == (
        "SELECT ROW_NUMBER() OVER (ORDER BY MONOTONICALLY_INCREASING_ID() NULLS LAST) FROM t"
    )
    assert spark("WITH a AS MATERIALIZED (SELECT 1 AS x) SELECT x FROM a") == (
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a"
    )


def test_parameters_stay_named_markers_and_results_are_cached() -> None:
    sql = "SELECT * FROM t WHERE d >= CAST($start AS DATE) AND m = $metric"
    to_spark.cache_clear()
    first = to_spark(sql)
    assert first.sql == "SELECT * FROM t WHERE d >= CAST(:start AS DATE) AND m = :metric"
    assert to_spark(sql) is first
    assert to_spark.cache_info().hits == 1


def test_the_rewrite_table_is_the_one_place() -> None:
    names = [name for name, _ in REWRITES]
    assert len(names) == len(set(names)) == 12
    assert any("quantile" in n for n in names)
    assert any("read_parquet" in n for n in names)


def test_unparsable_sql_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="cannot parse the analysis SQL"):
        to_spark("SELECT FROM WHERE (")


def test_every_analysis_transpiles() -> None:
    from shoplens.analytics import cohorts, facts, kpis, rfm, segments

    statements = [
        facts._order_facts_sql({("orders", "channel"), ("orders", "promo_code")}),
        facts._line_facts_sql(),
        rfm.RFM_BASE_SQL,
        segments._ASSIGN_SQL,
        cohorts._COHORT_SQL,
        *(kpis._build_sql(by, kpis._DIMS[by], "TRUE") for by in kpis.DIMENSIONS),
    ]
    for sql in statements:
        out = to_spark(sql).sql
        assert "temp.main" not in out
        assert "MATERIALIZED" not in out
        assert "ISODOW" not in out.upper()
