"""The Typer app, the options and helpers the commands share, and ``main``.

User errors (``ShoplensError``) print one line on stderr and exit with status 1; usage
errors exit with status 2 (Typer's convention).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shoplens import signals as stop
from shoplens import store
from shoplens.config import Settings, load_settings
from shoplens.errors import InvalidParameterError, ShoplensError

app = typer.Typer(
    name="shoplens",
    help="E-commerce customer analytics: simulate or import a shop, then KPIs, segments,"
    " cohorts, lifetime value, churn and next-category models, a report, a dashboard and"
    " a live stream.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"shoplens {version('shoplens')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """E-commerce customer analytics: simulate or import a shop, then KPIs, segments, cohorts."""


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", "-s", metavar="FILE", help="DuckDB store file [setting: store]."),
]
TzOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        "--tz",
        metavar="ZONE",
        help="Shop time zone, IANA name [default: the store's, else setting: timezone].",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
NoSaveOpt = Annotated[
    bool, typer.Option("--no-save", help="Do not write the result tables back to the store.")
]


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidParameterError(f"invalid setting {where}: {msg}") from None


def _shop_settings(store_path: Path | None, timezone: str | None, **overrides: Any) -> Settings:
    """Settings whose time zone and currency are the shop's: ``--timezone`` if given, else
    what the store records (:mod:`shoplens.store.meta`), else the settings'.

    For commands that hand the zone on (report, dashboard, stream) rather than open the
    store through :func:`_open`, which applies the same precedence to its connection.
    """
    settings = _settings(store=store_path, **overrides)
    meta = store.shop_meta(settings.store)
    return settings.model_copy(
        update={
            "timezone": timezone or meta.timezone or settings.timezone,
            "currency": meta.currency or settings.currency,
        }
    )


def _format(as_json: bool, as_csv: bool) -> Format:
    if as_json and as_csv:
        raise InvalidParameterError("choose one of --json and --csv")
    return Format.json if as_json else Format.csv if as_csv else Format.table


@contextmanager
def _open(
    settings: Settings,
    *,
    write: bool,
    needs_orders: str | None = None,
    no_save_hint: bool = False,
    timezone: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store; ``needs_orders='for KPIs'`` also checks the order tables exist.

    DuckDB errors that mean the file is damaged (a block that cannot be read back),
    here or in the command's queries, become one-line :class:`StoreError`s.
    ``no_save_hint``: a read-only store suggests ``--no-save`` (analysis commands).
    The time zone is ``timezone`` (the option), else the store's, else the setting's.
    """
    try:
        con = store.open_store(
            settings.store,
            read_only=not write,
            timezone=timezone,
            default_timezone=settings.timezone,
        )
    except store.ReadOnlyStoreError as exc:
        if no_save_hint:
            raise store.ReadOnlyStoreError(
                f"{exc}; add --no-save to analyse it without saving the results"
            ) from None
        raise
    try:
        with store.damage_as_store_error(settings.store):
            if needs_orders:
                store.require_tables(
                    con, ["orders", "order_items"], settings.store, why=needs_orders
                )
            yield con
    finally:
        con.close()


@contextmanager
def _progress(*, quiet: bool) -> Iterator[Any]:
    if quiet or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def main() -> None:
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = 120  # pipes and CI logs: room for the tables
    previous = stop.install()
    writes = store.db.committed_writes()
    try:
        app()
    except SystemExit as exc:
        # Typer turns KeyboardInterrupt into a silent exit 130
        if stop.stopped_by() is not None or exc.code == stop.exit_code(signal.SIGINT):
            _stopped(wrote=store.db.committed_writes() > writes)
        raise
    except BaseException as exc:
        if stop.stopped_by() is not None or isinstance(exc, KeyboardInterrupt):
            _stopped(wrote=store.db.committed_writes() > writes)
        if isinstance(exc, ShoplensError):
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(1)
        raise
    finally:
        stop.restore(previous)


def _stopped(*, wrote: bool) -> None:
    """Say why the command stopped, in one line, and exit 128 + the signal.

    ``wrote``: the signal came after the command had committed its write (e.g. while
    printing the summary): the store holds the new data, and the message says so.
    """
    signum = stop.stopped_by() or signal.SIGINT
    message = stop.MESSAGES.get(signum, "stopped; nothing was written")
    if wrote:
        message = message.replace("; nothing was written", " after the store was written")
    err.print(message, highlight=False)
    sys.exit(stop.exit_code(signum))
