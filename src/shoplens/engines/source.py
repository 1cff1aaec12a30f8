"""A Parquet dataset of canonical tables: layout and checks, shared by every engine.

Layout (what ``shoplens export parquet`` and ``shoplens generate --format parquet``
write): one folder per table, ``DIR/<table>/``, holding Parquet files, possibly in
hive partitions (``DIR/orders/order_month=2025-01/part-0.parquet``). Partition columns
are not part of the canonical table. Timestamps are UTC instants (Parquet
``isAdjustedToUTC``) in microseconds; money is decimal(18, 2).

Paths with a URI scheme (``s3://``, ``hdfs://``...) are handed to the engine as they
are; local folders are checked first, so a wrong folder gets one clear line instead
of an engine stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from shoplens.engines.base import CANONICAL_SOURCES
from shoplens.errors import EngineError
from shoplens.schema import CANONICAL

__all__ = ["ParquetSource", "TableSource", "inspect_source", "table_glob"]

# Tables partitioned by month, and the partition column (the UTC month of the time).
PARTITIONS: dict[str, str] = {
    "orders": "order_month",
    "order_items": "order_month",
    "events": "event_month",
}


@dataclass(frozen=True)
class TableSource:
    name: str
    path: str  # the table's folder (or URI)
    columns: tuple[str, ...]  # canonical columns present, in canonical order


@dataclass(frozen=True)
class ParquetSource:
    root: str
    tables: dict[str, TableSource]

    def describe(self) -> str:
        return f"source {self.root}"


def table_glob(path: str) -> str:
    """The files of a table folder, hive partitions included (DuckDB's glob)."""
    return path.rstrip("/") + "/**/*.parquet"


def _is_uri(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def inspect_source(root: str | Path) -> ParquetSource:
    """Find the canonical tables under ``root`` and check their columns and types.

    Raises :class:`EngineError` for a missing folder, a table folder without Parquet
    files, a required column that is missing, or a timestamp column in nanoseconds or
    without a time zone (naming the file and the column).
    """
    text = str(root)
    if _is_uri(text):
        base = text.rstrip("/")
        tables = {
            n: TableSource(n, f"{base}/{n}", CANONICAL[n].column_names) for n in CANONICAL_SOURCES
        }
        return ParquetSource(text, tables)
    path = Path(text.removeprefix("file://"))
    if not path.is_dir():
        raise EngineError(
            f"source {path} is not a folder of Parquet tables"
            " (write one with 'shoplens export parquet' or 'shoplens generate --format parquet')"
        )
    found: dict[str, TableSource] = {}
    for name in CANONICAL_SOURCES:
        folder = path / name
        if folder.is_dir():
            found[name] = _inspect_table(name, folder)
    if not found:
        raise EngineError(
            f"source {path} has none of the tables {', '.join(CANONICAL_SOURCES)}"
            " (expected one folder of Parquet files per table)"
        )
    return ParquetSource(str(path), found)


def _inspect_table(name: str, folder: Path) -> TableSource:
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise EngineError(f"source table {folder} has no Parquet files")
    spec = CANONICAL[name]
    partition = PARTITIONS.get(name)
    names: set[str] | None = None
    for file in files:
        try:
            schema = ds.dataset(file, format="parquet").schema
        except (pa.ArrowInvalid, OSError) as exc:
            raise EngineError(f"{file}: not a readable Parquet file ({exc})") from None
        for fld in schema:
            if pa.types.is_timestamp(fld.type) and fld.name in spec.column_names:
                if fld.type.unit == "ns":
                    raise EngineError(
                        f"{file}, column {fld.name!r}: nanosecond timestamps are not"
                        " readable by Spark; write microseconds (pyarrow"
                        " coerce_timestamps='us')"
                    )
                if fld.type.tz is None:
                    raise EngineError(
                        f"{file}, column {fld.name!r}: timestamp without time zone;"
                        " shoplens expects UTC instants (timestamp with tz='UTC')"
                    )
        here = set(schema.names) - ({partition} if partition else set())
        names = here if names is None else names & here
        missing = [c.name for c in spec.columns if not c.nullable and c.name not in here]
        if missing:
            raise EngineError(f"{file}: table {name!r} lacks column(s) {', '.join(missing)}")
    assert names is not None
    cols = tuple(c for c in spec.column_names if c in names)
    return TableSource(name, str(folder), cols)
