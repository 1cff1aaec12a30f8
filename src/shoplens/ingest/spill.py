"""Bounded memory for imports: DuckDB works within a memory limit and spills to disk.

An import stages, cleans and writes everything in SQL over TEMP tables (see
:mod:`shoplens.ingest.clean`); no row passes through Python objects. By default DuckDB
may use 80% of the machine's memory before it spills, so the memory of an import grew
with its file (5M lines: 4.5 GB). :func:`bounded_memory` gives the import's connection
a fixed ``memory_limit`` (:data:`DEFAULT_MEMORY_LIMIT`) and a temporary directory of
its own for what does not fit: TEMP tables, sorts, hash aggregates and joins are
written there, so a file of any size imports in about the same memory. The
directory is removed when the import ends.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator

import duckdb

from shoplens.errors import InvalidParameterError

DEFAULT_MEMORY_LIMIT = "1GB"
"""What DuckDB may hold in memory during an import (the process adds ~150 MB)."""

_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)


def check_memory_limit(limit: str) -> str:
    """``limit`` if it is a size such as ``1GB`` or ``512MB``, else a user error."""
    if not _SIZE.match(limit):
        raise InvalidParameterError(f"memory limit {limit!r} is not a size such as 512MB or 2GB")
    return limit.strip()


@contextlib.contextmanager
def bounded_memory(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """Within the block, ``con`` holds at most ``limit`` in memory and spills the rest
    to a temporary directory (``None``: DuckDB's defaults)."""
    if limit is None:
        yield
        return
    limit = check_memory_limit(limit)
    ((old_limit, old_dir),) = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()
    tmp = tempfile.mkdtemp(prefix="shoplens-import-")
    try:
        con.execute(f"SET memory_limit = '{limit}'")
        with contextlib.suppress(duckdb.Error):  # a directory already in use stays
            con.execute(f"SET temp_directory = '{tmp.replace(chr(39), chr(39) * 2)}'")
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"SET memory_limit = '{old_limit}'")
            if old_dir:
                con.execute(f"SET temp_directory = '{str(old_dir).replace(chr(39), chr(39) * 2)}'")
        shutil.rmtree(tmp, ignore_errors=True)
