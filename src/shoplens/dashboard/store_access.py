"""Short read-only access to the store: open, run, close; a writer's lock is reported.

DuckDB lets no writer in while any process holds the file, even read-only, and no
reader while a writer holds it. The dashboard therefore never keeps a connection:
every load opens the file read-only, queries and closes. When a writer holds the
file, the open is retried briefly; if it is still held, :class:`StoreBusy` says by
which process, and the app shows it and retries later instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from shoplens.errors import StoreError
from shoplens.store import open_store

T = TypeVar("T")

RETRIES = 3
RETRY_DELAY_S = 0.3
_PID = re.compile(r"PID (\d+)")


class StoreBusy(StoreError):
    """A writer holds the store file right now."""

    def __init__(self, path: str, pid: int | None) -> None:
        who = f"being written by PID {pid}" if pid is not None else "being written"
        super().__init__(f"the store is busy ({who}); retrying")
        self.path = path
        self.pid = pid


def _lock_pid(message: str) -> int | None:
    m = _PID.search(message)
    return int(m.group(1)) if m else None


def with_store(path: str, timezone: str, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run ``fn`` on a fresh read-only connection, closed afterwards; retry a held lock."""
    last: StoreError | None = None
    for attempt in range(RETRIES):
        try:
            con = open_store(path, read_only=True, timezone=timezone)
        except StoreError as exc:
            if "in use" not in str(exc):
                raise
            last = exc
            if attempt + 1 < RETRIES:
                time.sleep(RETRY_DELAY_S)
            continue
        try:
            return fn(con)
        finally:
            con.close()
    raise StoreBusy(path, _lock_pid(str(last)))


def version(path: str) -> int:
    """A cheap token that changes when the store is written (file or WAL modified)."""
    stamp = 0
    for p in (Path(path), Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError):
            stamp = max(stamp, os.stat(p).st_mtime_ns)
    return stamp
