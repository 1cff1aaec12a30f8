"""The store as a file: DuckDB header, truncation, permissions, locks and temporary files.

These checks run before DuckDB opens or replaces a file, so a user learns what is wrong
in one line (a CSV passed as ``--store``, a store cut in half by a full disk or a copy,
a read-only file, a store another process is writing) instead of a DuckDB traceback,
and nothing is overwritten that should not be.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import duckdb

from shoplens.errors import StoreError

# A DuckDB database file starts with a 4 KiB main header (magic "DUCK" at bytes 8..11),
# then two 4 KiB database headers (the one with the higher iteration is current), then
# the data blocks. A database header holds, as little-endian uint64 after its checksum:
# iteration, meta block, free list, block count, block allocation size.
_DUCKDB_MAGIC = b"DUCK"
_HEADER_SIZE = 4096
_DATA_START = 3 * _HEADER_SIZE


def has_duckdb_header(path: Path) -> bool:
    """True if ``path`` starts like a DuckDB database file (an empty file does not)."""
    with path.open("rb") as f:
        header = f.read(12)
    return len(header) == 12 and header[8:12] == _DUCKDB_MAGIC


def check_duckdb_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database, or one that was cut short.

    DuckDB 2.0 opens other files too (a CSV becomes a one-view database), so a user
    passing ``--store orders.csv`` would otherwise get "no table 'orders'". A truncated
    store (a copy or a download cut short, a full disk) opens and then fails in the
    middle of a query; its size tells it up front.
    """
    try:
        with path.open("rb") as f:
            head = f.read(_DATA_START)
    except PermissionError:
        raise StoreError(f"store {path} cannot be read (permission denied)") from None
    if not head:
        return  # an empty file: DuckDB makes it a new, empty database
    if len(head) < 12 or head[8:12] != _DUCKDB_MAGIC:
        raise StoreError(
            f"store {path} is not a readable DuckDB file (no DuckDB header;"
            " to load a CSV or other export use 'shoplens import')"
        )
    expected = _expected_size(head)
    # A WAL beside the file: a writer was killed mid-checkpoint, and DuckDB replays the
    # WAL on open (a short file is then expected; real damage still shows as a
    # checksum or short-read error, which damage_as_store_error reports).
    wal_pending = Path(f"{path}.wal").exists()
    if expected is not None and not wal_pending and path.stat().st_size < expected:
        raise damaged(path, f"the file is {path.stat().st_size:,} bytes, expected {expected:,}")


def _expected_size(head: bytes) -> int | None:
    """Bytes the current database header says the file has, or None if unknown."""
    if len(head) < _DATA_START:
        return None
    best: tuple[int, int] | None = None
    for offset in (_HEADER_SIZE, 2 * _HEADER_SIZE):
        _, iteration, _, _, blocks, block_size = struct.unpack_from("<6Q", head, offset)
        # an unknown layout (another storage version) is not judged
        if block_size < 4096 or block_size > 1 << 30 or block_size & (block_size - 1):
            continue
        if blocks > 1 << 40:
            continue
        if best is None or iteration > best[0]:
            best = (iteration, _DATA_START + blocks * block_size)
    return best[1] if best else None


def damaged(path: Path | str, detail: str) -> StoreError:
    """The one error for a store whose content cannot be read back."""
    return StoreError(
        f"the store {path} is damaged ({detail}); restore it from a copy or build it"
        " again with 'shoplens generate' or 'shoplens import'"
    )


DAMAGE = re.compile(
    r"Corrupt database file|Could not read enough bytes|checksum|Failed to deserialize",
    re.IGNORECASE,
)


@contextlib.contextmanager
def damage_as_store_error(path: Path | str) -> Iterator[None]:
    """Turn DuckDB's errors about unreadable blocks into :func:`damaged` errors."""
    try:
        yield
    except duckdb.Error as exc:
        if DAMAGE.search(str(exc)):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise damaged(path, first) from None
        raise


def probe_lock(path: Path) -> duckdb.DuckDBPyConnection:
    """Open ``path`` read-only and return the connection: it holds a shared lock.

    While it is open, no other process can open the store for writing, so a store
    about to be replaced cannot receive new data that the replacement would lose.
    Raises :class:`StoreError` if another process writes to it now.
    """
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        msg = str(exc)
        if "lock" in msg.lower() or "different configuration" in msg:
            raise in_use(path, msg) from None
        raise


def in_use(path: Path, msg: str) -> StoreError:
    detail = msg.splitlines()[0] if msg else ""
    return StoreError(
        f"store {path} is in use by another process; close it there and try again ({detail})"
    )


def check_writable(path: Path) -> None:
    """Raise a :class:`StoreError` if the store file or its directory is read-only.

    DuckDB writes the file and, next to it, a ``.wal`` journal: both need write access.
    """
    if not os.access(path, os.W_OK):
        raise ReadOnlyStoreError(f"store {path} is read-only (no write permission on the file)")
    parent = path.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReadOnlyStoreError(
            f"store {path} is in a read-only directory ({parent}; DuckDB writes a"
            " journal file next to the store)"
        )


class ReadOnlyStoreError(StoreError):
    """The store cannot be written (file or directory permissions)."""


# --- temporary files of new stores -------------------------------------------------

_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(?:\.wal)?$")


def temp_path(path: Path) -> Path:
    """Where this process builds a new store before moving it over ``path``."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def remove_db_files(path: Path) -> None:
    """Remove a database file and its ``.wal`` if they exist."""
    for p in (path, Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove the temporary files of ``path`` left by processes that no longer run.

    A process killed while building a new store (SIGKILL, a power cut) cannot clean up
    its ``.NAME.tmp-PID`` file; the next writer of the same store removes it once the
    process ``PID`` is gone. Files of running processes are left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if not m or m["name"] != path.name:
            continue
        pid = int(m["pid"])
        if pid == os.getpid() or _process_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            entry.unlink()
            removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OverflowError:
        return False
    return True
