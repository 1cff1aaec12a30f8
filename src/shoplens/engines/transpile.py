"""The shared SQL (DuckDB dialect) as Spark SQL: sqlglot plus one table of rewrites.

The analyses are written once, in DuckDB's dialect. :func:`to_spark` parses a
statement with sqlglot, applies :data:`REWRITES` (the few constructs where a plain
transpile is wrong or rejected on Spark, each measured; see issue #10) and generates
Spark SQL with ``unsupported_level=RAISE``, so anything sqlglot cannot express fails
loudly instead of silently changing meaning. Results are cached per statement text
(parameters stay named markers, ``$name`` becomes ``:name``), so a statement is
transpiled once per process.

``read_parquet('path')`` in a FROM clause is not transpiled (sqlglot drops it with a
warning): it becomes a view name, and :func:`to_spark` returns the views the engine
must register (name -> path).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from shoplens.errors import EngineError

__all__ = ["REWRITES", "SparkStatement", "to_spark"]


@dataclass(frozen=True)
class SparkStatement:
    """A transpiled statement and the Parquet views it reads (view name -> path)."""

    sql: str
    views: dict[str, str] = field(default_factory=dict)
    cache_table: str | None = None  # set for CREATE TEMP TABLE: the table to (re)cache


Rewrite = Callable[[exp.Expression, dict[str, str]], exp.Expression]


def _double(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _temp_schema(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``temp.main.t`` (DuckDB's temp schema) -> ``t`` (a Spark session temp view)."""
    if isinstance(node, exp.Table) and node.catalog == "temp" and node.db == "main":
        return exp.Table(this=exp.to_identifier(node.name), alias=node.args.get("alias"))
    return node


def _cte_materialized(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``AS [NOT] MATERIALIZED`` CTE hints: Spark has no such syntax (and plans its own)."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


def _rowid(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """DuckDB's ``rowid`` -> a unique id (stable because the facts are cached)."""
    if isinstance(node, exp.Column) and node.name.lower() == "rowid":
        return _fn("MONOTONICALLY_INCREASING_ID")
    return node


def _unordered_row_number(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``row_number() OVER ()``: Spark requires an order; any order gives unique keys."""
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.RowNumber)
        and not node.args.get("order")
        and not node.args.get("partition_by")
    ):
        node.set(
            "order", exp.Order(expressions=[exp.Ordered(this=_fn("MONOTONICALLY_INCREASING_ID"))])
        )
    return node


def _arg_min_tuple(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``arg_min(x, (a, b))``: a row value orders like a Spark STRUCT."""
    if isinstance(node, exp.ArgMin | exp.ArgMax) and isinstance(node.expression, exp.Tuple):
        node.set("expression", exp.Struct(expressions=list(node.expression.expressions)))
    return node


def _isodow(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``isodow(ts)`` (Mon=1..Sun=7) -> ``weekday(ts) + 1`` (Spark's weekday: Mon=0)."""
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Paren(
            this=exp.Add(this=_fn("WEEKDAY", node.this), expression=exp.Literal.number(1))
        )
    return node


def _epoch(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``epoch(ts)``: DuckDB keeps the microseconds; Spark's unix_timestamp drops them."""
    if isinstance(node, exp.TimeToUnix):
        micros = _double(_fn("UNIX_MICROS", node.this))
        return exp.Paren(this=exp.Div(this=micros, expression=exp.Literal.number(1_000_000)))
    return node


def _one_based_index(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``list[i]`` / ``list_extract(list, i)`` are 1-based: Spark's ``element_at``."""
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        return _fn("ELEMENT_AT", node.this, _int(node.expressions[0]))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_extract":
        array, index = node.expressions
        return _fn("ELEMENT_AT", array, _int(index))
    return node


def _int(node: exp.Expression) -> exp.Expression:
    """Spark's element_at wants an INT index (DuckDB's arithmetic gives BIGINT)."""
    return exp.Cast(this=node, to=exp.DataType.build("INT"))


def _quantiles(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """Exact quantiles: Spark rejects PERCENTILE_CONT(x, q) and would otherwise get
    PERCENTILE_APPROX; its exact ``percentile`` interpolates like ``quantile_cont``."""
    if isinstance(node, exp.PercentileCont):
        return _fn("PERCENTILE", _double(node.this), node.expression)
    if isinstance(node, exp.Median):
        return _fn("PERCENTILE", _double(node.this), exp.Literal.number("0.5"))
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression
        col = order.expressions[0].this if isinstance(order, exp.Order) else order
        return _fn("PERCENTILE", _double(col), node.this.this)
    return node


def _avg_double(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """``avg`` of a DECIMAL: DuckDB answers a DOUBLE, Spark a rounded decimal(38, 6)."""
    if isinstance(node, exp.Avg) and not isinstance(node.this, exp.Cast):
        node.set("this", _double(node.this))
    return node


def _nulls_order(node: exp.Expression, _: dict[str, str]) -> exp.Expression:
    """DuckDB sorts NULLs last in both directions; Spark puts them first when ascending."""
    if isinstance(node, exp.Ordered) and node.args.get("nulls_first") is None:
        node.set("nulls_first", False)
    return node


def _read_parquet(node: exp.Expression, views: dict[str, str]) -> exp.Expression:
    """``FROM read_parquet('p')`` -> a view the engine registers over ``p``."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.ReadParquet):
        paths = node.this.expressions
        if len(paths) != 1 or not isinstance(paths[0], exp.Literal):
            raise EngineError("read_parquet on Spark takes exactly one literal path")
        path = paths[0].name
        name = "__shoplens_parquet_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        views[name] = path
        return exp.Table(this=exp.to_identifier(name), alias=node.args.get("alias"))
    return node


# The one table of DuckDB -> Spark rewrites, applied in this order to every node.
REWRITES: tuple[tuple[str, Rewrite], ...] = (
    ("temp.main.t -> session temp view t", _temp_schema),
    ("CTE [NOT] MATERIALIZED -> plain CTE", _cte_materialized),
    ("rowid -> monotonically_increasing_id()", _rowid),
    ("row_number() OVER () -> ordered", _unordered_row_number),
    ("arg_min(x, (a, b)) -> min_by(x, struct(a, b))", _arg_min_tuple),
    ("isodow -> weekday + 1", _isodow),
    ("epoch -> unix_micros / 1e6", _epoch),
    ("1-based list index -> element_at", _one_based_index),
    ("quantile_cont/median -> percentile(CAST(x AS DOUBLE), q)", _quantiles),
    ("avg(x) -> avg(CAST(x AS DOUBLE))", _avg_double),
    ("ORDER BY: explicit NULLS LAST", _nulls_order),
    ("read_parquet(path) in FROM -> registered view", _read_parquet),
)


@lru_cache(maxsize=512)
def to_spark(sql: str) -> SparkStatement:
    """Transpile one DuckDB statement to Spark SQL (cached per statement text).

    ``CREATE [OR REPLACE] TEMP TABLE t AS q`` becomes ``CACHE TABLE t AS q`` (an eagerly
    materialised session view) and ``cache_table`` names ``t``. Raises
    :class:`EngineError` if the statement has a construct Spark cannot express.
    """
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError as exc:
        raise EngineError(f"cannot parse the analysis SQL: {exc}") from None
    views: dict[str, str] = {}
    for _, rewrite in REWRITES:
        tree = tree.transform(lambda n, rw=rewrite: rw(n, views), copy=False)
    cache_table = None
    if (
        isinstance(tree, exp.Create)
        and tree.kind == "TABLE"
        and isinstance(tree.expression, exp.Query)
        and any(isinstance(p, exp.TemporaryProperty) for p in tree.find_all(exp.TemporaryProperty))
    ):
        table = tree.this
        assert isinstance(table, exp.Table)
        cache_table = table.name
        tree = exp.Cache(
            this=exp.Table(this=exp.to_identifier(table.name)),
            lazy=False,
            expression=tree.expression,
        )
    try:
        spark_sql = tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise EngineError(f"this analysis cannot run on Spark: {exc}") from None
    return SparkStatement(spark_sql, views, cache_table)
