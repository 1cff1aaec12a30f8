"""Options and the opening helper shared by the commands that analyse a store OR a
Parquet dataset on an engine (``--source DIR --engine duckdb|spark``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import duckdb
import typer

from shoplens import store
from shoplens.cli.core import _open
from shoplens.config import Settings
from shoplens.engines import Engine, Source, open_source
from shoplens.errors import InvalidParameterError


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="Parquet dataset (a folder per table, as 'export parquet' writes) instead of a"
        " store; nothing is saved.",
    ),
]
EngineOpt = Annotated[
    EngineName, typer.Option("--engine", help="Engine for --source: duckdb or spark.")
]
MasterOpt = Annotated[
    str,
    typer.Option("--spark-master", help="Spark master: local[N] or spark://HOST:PORT."),
]


@contextmanager
def open_analysis(
    settings: Settings,
    *,
    source: str | None,
    engine: EngineName,
    master: str,
    write: bool,
    needs_orders: str,
    timezone: str | None = None,
) -> Iterator[tuple[Source, duckdb.DuckDBPyConnection | None, str]]:
    """Yield (what the analyses run on, the store connection to save results or None,
    the shop time zone the analyses run in).

    The zone is ``timezone`` (the option), else the store's recorded zone (stores only),
    else the setting's.
    """
    if source is None:
        if engine is not EngineName.duckdb:
            raise InvalidParameterError(
                f"--engine {engine.value} reads a Parquet dataset: give --source DIR"
                " (write one from a store with 'shoplens export parquet')"
            )
        with _open(
            settings,
            write=write,
            needs_orders=needs_orders,
            no_save_hint=True,
            timezone=timezone,
        ) as con:
            yield con, (con if write else None), store.session_timezone(con)
        return
    tz = timezone or settings.timezone
    eng: Engine = open_source(source, engine=engine.value, timezone=tz, master=master)
    try:
        eng.require_tables(["orders", "order_items"], why=needs_orders)
        yield eng, None, tz
    finally:
        eng.close()
