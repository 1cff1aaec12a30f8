"""Opening and creating the DuckDB store file.

Loads are atomic: a new store is built in a temporary file next to the target and moved
over it with ``os.replace`` only once everything is written and validated, so a failed
run leaves the previous store exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from shoplens.errors import InvalidParameterError, StoreError
from shoplens.schema import CANONICAL, TRUTH, Table

ALL_TABLES: dict[str, Table] = {**CANONICAL, **TRUTH}

# TEMP tables whose name starts with this prefix are caches derived from the store
# (e.g. the per-order facts of ``shoplens.analytics.facts``); writes drop them.
CACHE_PREFIX = "__shoplens_cache_"


def check_timezone(tz: str) -> str:
    """Return ``tz`` if it names an IANA time zone, else raise a user error."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterError(
            f"unknown time zone {tz!r} (expected an IANA name such as 'Europe/Paris' or 'UTC')"
        ) from None
    return tz


def open_store(
    path: str | Path, *, read_only: bool = False, timezone: str = "UTC"
) -> duckdb.DuckDBPyConnection:
    """Open an existing store; analytics on it run in the shop's ``timezone``."""
    path = Path(path)
    check_timezone(timezone)
    if not path.exists():
        raise StoreError(
            f"store {path} not found (create one with 'shoplens generate' or 'shoplens import')"
        )
    if path.is_dir():
        raise StoreError(f"store {path} is a directory, not a DuckDB file")
    _check_duckdb_file(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            raise StoreError(f"store {path} is in use by another process ({msg})") from None
        raise StoreError(f"store {path} is not a readable DuckDB file: {msg}") from None
    except duckdb.Error as exc:
        raise StoreError(f"store {path} could not be opened: {exc}") from None
    con.execute("SET TimeZone = ?", [timezone])
    quiet_progress(con)
    return con


def quiet_progress(con: duckdb.DuckDBPyConnection) -> None:
    """Turn DuckDB's own progress bar off (the CLI draws its own).

    Inside Jupyter DuckDB refuses to change the setting unless ipywidgets is
    installed; it then has no bar to draw either, so that refusal is ignored.
    """
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")


# A DuckDB database file has this magic at bytes 8..11 of its header.
_DUCKDB_MAGIC = b"DUCK"


def _check_duckdb_file(path: Path) -> None:
    """Refuse files that are not DuckDB databases before DuckDB opens them.

    DuckDB 2.0 opens other files too (a CSV becomes a one-view database), so a user
    passing ``--store orders.csv`` would otherwise get "no table 'orders'".
    """
    with path.open("rb") as f:
        header = f.read(12)
    if header and header[8:12] != _DUCKDB_MAGIC:
        raise StoreError(
            f"store {path} is not a readable DuckDB file (no DuckDB header;"
            " to load a CSV or other export use 'shoplens import')"
        )


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def require_tables(
    con: duckdb.DuckDBPyConnection,
    names: Iterable[str],
    path: str | Path | None = None,
    *,
    why: str = "",
) -> None:
    """Raise a :class:`StoreError` naming the tables the store lacks.

    ``path`` names the store in the message (default: the connection's file).
    """
    have = existing_tables(con)
    missing = [n for n in names if n not in have]
    if missing:
        if path is None:
            row = con.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchone()
            path = row[0] if row and row[0] else None
        where = f"store {path}" if path else "the store"
        purpose = f" needed {why}" if why else ""
        raise StoreError(
            f"{where} has no table {', '.join(repr(m) for m in missing)}{purpose}"
            " (fill it with 'shoplens generate' or 'shoplens import')"
        )


def create_tables(con: duckdb.DuckDBPyConnection, names: Iterable[str] | None = None) -> None:
    """Create canonical (and truth) tables without key indexes; see :func:`finalize_keys`."""
    for name in names if names is not None else ALL_TABLES:
        con.execute(ALL_TABLES[name].ddl())


def load_table(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    """Append ``data`` (an Arrow table/batch/reader, DataFrame or relation) to ``name``.

    Columns are matched by name; DuckDB casts types (e.g. integer ids to VARCHAR) in
    parallel. Timestamps must be timezone-aware (UTC) Arrow timestamps.
    """
    if name not in ALL_TABLES:
        raise ValueError(f"unknown table {name!r}")
    drop_cached_tables(con)
    con.register("__shoplens_load", data)
    try:
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM __shoplens_load')
    finally:
        con.unregister("__shoplens_load")


def drop_cached_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop this connection's cached derived tables (TEMP tables named ``CACHE_PREFIX*``)."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
        [CACHE_PREFIX],
    ).fetchall()
    for (table,) in rows:
        con.execute(f'DROP TABLE IF EXISTS temp.main."{table}"')


def finalize_keys(
    con: duckdb.DuckDBPyConnection,
    names: Iterable[str] | None = None,
    *,
    verify_unenforced: bool = True,
) -> None:
    """Declare primary keys after bulk loading, or check uniqueness where not enforced.

    ``verify_unenforced=False`` skips the GROUP BY check of the unenforced keys
    (order_items, events): for writers whose ids are unique by construction.
    """
    have = existing_tables(con)
    for name in names if names is not None else ALL_TABLES:
        table = ALL_TABLES[name]
        if name not in have:
            continue
        cols = ", ".join(f'"{c}"' for c in table.key)
        if table.enforce_key:
            try:
                con.execute(f'ALTER TABLE "{name}" ADD PRIMARY KEY ({cols})')
            except duckdb.ConstraintException as exc:
                raise StoreError(f"duplicate key in table {name!r}: {exc}") from None
        elif verify_unenforced:
            dup = con.execute(
                f'SELECT {cols} FROM "{name}" GROUP BY ALL HAVING count(*) > 1 LIMIT 1'
            ).fetchone()
            if dup is not None:
                raise StoreError(f"duplicate key {dup} in table {name!r} ({cols})")


def check_new_store_path(path: str | Path, overwrite: bool = False) -> None:
    """Raise a :class:`StoreError` unless :func:`write_new_store` may write ``path``.

    ``path`` must not be a directory, must not exist unless ``overwrite``, and its
    directory must exist. Writers that wait for a source first (a server, a large file)
    call it up front so the user learns before waiting.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"store {path} is a directory, not a DuckDB file")
    if path.exists() and not overwrite:
        raise StoreError(f"store {path} already exists (use --force to replace it)")
    if not path.parent.exists():
        raise StoreError(f"directory {path.parent} does not exist")


def write_new_store(
    path: str | Path,
    build: Callable[[duckdb.DuckDBPyConnection], None],
    *,
    overwrite: bool = False,
) -> None:
    """Build a brand-new store with ``build(con)`` and move it into place atomically.

    ``build`` gets a connection (TimeZone UTC) to an empty temporary database; when it
    returns, the file is checkpointed and renamed over ``path``. If anything raises,
    the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    check_new_store_path(path, overwrite)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _remove_db_files(tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET TimeZone = 'UTC'")
            quiet_progress(con)
            build(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
        # a stale WAL of the replaced store must not be replayed onto the new file
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}.wal")
    except BaseException:
        _remove_db_files(tmp)
        raise


def _remove_db_files(path: Path) -> None:
    for p in (path, Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
