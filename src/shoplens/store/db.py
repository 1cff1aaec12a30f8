"""Opening and creating the DuckDB store file.

Loads are atomic: a new store is built in a temporary file next to the target and moved
over it with ``os.replace`` only once everything is written and validated, so a failed
run leaves the previous store exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from shoplens.errors import InvalidParameterError, StoreError
from shoplens.schema import CANONICAL, TRUTH, Table
from shoplens.store import files
from shoplens.store.meta import ShopMeta, read_meta
from shoplens.store.schema_check import check_schema

ALL_TABLES: dict[str, Table] = {**CANONICAL, **TRUTH}

# TEMP tables whose name starts with this prefix are caches derived from the store
# (e.g. the per-order facts of ``shoplens.analytics.facts``); writes drop them.
CACHE_PREFIX = "__shoplens_cache_"

# Writes committed by this process (new stores moved into place, committed transactions):
# the CLI tells "nothing was written" from "stopped after writing" on an interrupt.
_committed = [0]


def note_committed() -> None:
    """Count a write that is now durable in a store (see :func:`committed_writes`)."""
    _committed[0] += 1


def committed_writes() -> int:
    """How many writes this process has committed to stores so far."""
    return _committed[0]


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
    path: str | Path,
    *,
    read_only: bool = False,
    timezone: str | None = None,
    default_timezone: str = "UTC",
    lock_wait: float = 3.0,
) -> duckdb.DuckDBPyConnection:
    """Open an existing store; analytics on it run in the shop's time zone.

    The zone is ``timezone`` if given, else the one the store records (see
    :mod:`shoplens.store.meta`), else ``default_timezone``.

    While another process writes the file (the stream processor holds it for a few
    tens of milliseconds per batch), opening is retried with a short backoff for up to
    ``lock_wait`` seconds before the store is reported in use.

    Raises :class:`StoreError` in one line for a missing, foreign, truncated, damaged,
    read-only (unless ``read_only``) or locked store, and for canonical tables whose
    columns have the wrong types.
    """
    path = Path(path)
    if timezone is not None:
        check_timezone(timezone)
    check_timezone(default_timezone)
    if not path.exists():
        raise StoreError(
            f"store {path} not found (create one with 'shoplens generate' or 'shoplens import')"
        )
    if path.is_dir():
        raise StoreError(f"store {path} is a directory, not a DuckDB file")
    files.check_duckdb_file(path)
    if not read_only:
        files.check_writable(path)
        files.remove_stale_temp_files(path)
    con = _connect(path, read_only=read_only, lock_wait=lock_wait)
    try:
        with files.damage_as_store_error(path):
            quiet_progress(con)
            check_schema(con, path)
            zone = timezone or read_meta(con).timezone or default_timezone
            try:
                con.execute("SET TimeZone = ?", [zone])
            except duckdb.Error:
                raise StoreError(f"store {path} records an unknown time zone {zone!r}") from None
    except BaseException:
        con.close()
        raise
    return con


def shop_meta(path: str | Path) -> ShopMeta:
    """The shop's time zone and currency recorded in the store at ``path`` (empty if new)."""
    path = Path(path)
    if not path.exists():
        return ShopMeta()
    con = open_store(path, read_only=True)
    try:
        return read_meta(con)
    finally:
        con.close()


def quiet_progress(con: duckdb.DuckDBPyConnection) -> None:
    """Turn DuckDB's own progress bar off (the CLI draws its own).

    Inside Jupyter DuckDB refuses to change the setting unless ipywidgets is
    installed; it then has no bar to draw either, so that refusal is ignored.
    """
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")


def _connect(path: Path, *, read_only: bool, lock_wait: float) -> duckdb.DuckDBPyConnection:
    """Connect, retrying for up to ``lock_wait`` s while another process holds the lock."""
    deadline = time.monotonic() + lock_wait
    backoff = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + backoff > deadline:
                raise _open_error(path, exc, read_only) from None
            time.sleep(backoff)
            backoff = min(backoff * 2, 0.1)
        except duckdb.Error as exc:
            raise _open_error(path, exc, read_only) from None


def _open_error(path: Path, exc: duckdb.Error, read_only: bool) -> StoreError:
    msg = str(exc)
    first = msg.splitlines()[0] if msg else type(exc).__name__
    if "lock" in msg.lower() or "different configuration" in msg:
        return files.in_use(path, msg)
    if "permission denied" in msg.lower():
        if read_only:
            return StoreError(f"store {path} cannot be read (permission denied)")
        return files.ReadOnlyStoreError(f"store {path} is read-only ({first})")
    if files.DAMAGE.search(msg):
        return files.damaged(path, first)
    return StoreError(f"store {path} is not a readable DuckDB file: {first}")


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
    directory must exist and be writable. With ``overwrite``, an existing file must be
    a writable DuckDB store (a CSV passed as ``--store`` is never replaced). Writers
    that wait for a source first (a server, a large file) call it up front so the user
    learns before waiting.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"store {path} is a directory, not a DuckDB file")
    if path.exists():
        if not overwrite:
            raise StoreError(f"store {path} already exists (use --force to replace it)")
        if path.stat().st_size and not files.has_duckdb_header(path):
            raise StoreError(f"{path} is not a DuckDB store; --force replaces stores only")
        if not os.access(path, os.W_OK):
            raise files.ReadOnlyStoreError(
                f"store {path} is read-only (no write permission on the file); not replacing it"
            )
    parent = path.parent
    if not parent.exists():
        raise StoreError(f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise files.ReadOnlyStoreError(
            f"cannot create store {path}: directory {parent} is read-only"
        )


def write_new_store(
    path: str | Path,
    build: Callable[[duckdb.DuckDBPyConnection], None],
    *,
    overwrite: bool = False,
) -> None:
    """Build a brand-new store with ``build(con)`` and move it into place atomically.

    ``build`` gets a connection (TimeZone UTC) to an empty temporary database; when it
    returns, the file is checkpointed and renamed over ``path``. If anything raises
    (an interrupt too), the temporary file is removed and ``path`` is untouched.
    Temporary files of earlier runs that were killed are removed first.

    A store being replaced is held open read-only from the start to the rename, so no
    other process writes to it meanwhile (and one that writes to it now is refused).
    """
    path = Path(path)
    check_new_store_path(path, overwrite)
    files.remove_stale_temp_files(path)
    tmp = files.temp_path(path)
    files.remove_db_files(tmp)
    guard = _hold_old_store(path)
    try:
        try:
            con = duckdb.connect(str(tmp))
            try:
                con.execute("SET TimeZone = 'UTC'")
                quiet_progress(con)
                build(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
            with _signals_deferred():
                os.replace(tmp, path)
                # a stale WAL of the replaced store must not be replayed onto the new file
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{path}.wal")
                note_committed()
        except BaseException:
            files.remove_db_files(tmp)
            raise
    finally:
        if guard is not None:
            guard.close()


def _hold_old_store(path: Path) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection to the store about to be replaced (None if there is none).

    A locked store raises :class:`StoreError`; a damaged one may be replaced.
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        return files.probe_lock(path)
    except StoreError:
        raise
    except duckdb.Error:
        return None  # damaged: replacing it is what the user asked for


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (main thread) while the new store replaces the old one.

    The rename and the removal of the old WAL belong together: stopping between them
    would leave the old journal next to the new file.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
