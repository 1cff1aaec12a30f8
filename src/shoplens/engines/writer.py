"""Writing canonical tables as a Parquet dataset (the layout of :mod:`.source`).

Used by ``shoplens export parquet`` (from a store) and ``shoplens generate --format
parquet`` (from the simulator, chunk by chunk). Every table is cast to its canonical
Arrow type: ids as strings, timestamps as UTC microseconds (Spark refuses nanoseconds),
money as decimal(18, 2). ``orders``, ``order_items`` and ``events`` are hive-partitioned
by the UTC month of the order (or event), so an engine reading one period skips the
other months' files. The dataset is written in a temporary folder next to the target
and renamed into place at the end: a failed run leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from shoplens.engines.base import CANONICAL_SOURCES
from shoplens.engines.source import PARTITIONS
from shoplens.errors import EngineError
from shoplens.schema import CANONICAL, TRUTH

__all__ = ["DatasetWriter", "arrow_schema", "export_store"]

_TABLES = {**CANONICAL, **TRUTH}
_SIMPLE: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def _arrow_type(sql_type: str) -> pa.DataType:
    m = _DECIMAL.match(sql_type)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    return _SIMPLE[sql_type]


def arrow_schema(name: str) -> pa.Schema:
    """The canonical Arrow schema of table ``name`` as written to Parquet."""
    return pa.schema(
        [pa.field(c.name, _arrow_type(c.type), c.nullable) for c in _TABLES[name].columns]
    )


def _conform(name: str, table: pa.Table) -> pa.Table:
    schema = arrow_schema(name)
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table[f.name]
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            cols.append(col.cast(f.type))
        elif f.nullable:
            cols.append(pa.nulls(table.num_rows, f.type))
        else:
            raise EngineError(f"table {name!r} lacks column {f.name!r}")
    return pa.Table.from_arrays(cols, schema=schema)


def _month(ts: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.strftime(ts.cast(pa.timestamp("us", tz="UTC")), format="%Y-%m")


_FORMAT = ds.ParquetFileFormat()
_OPTIONS = _FORMAT.make_write_options(
    coerce_timestamps="us", allow_truncated_timestamps=True, compression="zstd"
)


class DatasetWriter:
    """Write tables chunk by chunk into a new dataset folder ``out`` (atomic)."""

    def __init__(self, out: str | Path, *, force: bool = False) -> None:
        self.out = Path(out)
        empty_dir = self.out.is_dir() and not any(self.out.iterdir())
        if self.out.exists() and not empty_dir and not force:
            raise EngineError(f"{self.out} already exists (use --force to replace it)")
        if not self.out.parent.exists():
            raise EngineError(f"directory {self.out.parent} does not exist")
        self.tmp = self.out.with_name(f".{self.out.name}.tmp-{os.getpid()}")
        self.rows: dict[str, int] = {}
        self._parts: dict[str, int] = {}
        self._order_months: pa.Table | None = None

    def __enter__(self) -> DatasetWriter:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.out.exists():
            old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
            os.replace(self.out, old)
            os.replace(self.tmp, self.out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.out)

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` (any column order, ids may be integers) to table ``name``."""
        data = _conform(name, table)
        partition = PARTITIONS.get(name)
        if name == "orders":
            self._order_months = pa.table(
                {"order_id": data["order_id"], "order_month": _month(data["order_ts"])}
            )
        if partition == "order_month" and name == "order_items":
            if self._order_months is None:
                raise EngineError("order_items written before their orders")
            data = data.join(self._order_months, "order_id", join_type="left outer")
            data = data.select([*arrow_schema(name).names, partition])
        elif partition is not None:
            ts = "order_ts" if name == "orders" else "event_ts"
            data = data.append_column(partition, _month(data[ts]))
        self._write(name, data, partition)

    def _write(
        self, name: str, data: pa.Table | pa.RecordBatchReader, partition: str | None
    ) -> None:
        part = self._parts.get(name, 0)
        self._parts[name] = part + 1
        ds.write_dataset(
            data,
            self.tmp / name,
            format=_FORMAT,
            file_options=_OPTIONS,
            partitioning=(
                ds.partitioning(pa.schema([(partition, pa.string())]), flavor="hive")
                if partition
                else None
            ),
            basename_template=f"part-{part:05d}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
            max_rows_per_group=1 << 20,
        )
        rows = data.num_rows if isinstance(data, pa.Table) else 0
        self.rows[name] = self.rows.get(name, 0) + rows

    def write_query(self, name: str, reader: pa.RecordBatchReader) -> None:
        """Stream a reader whose columns are already canonical (plus the partition)."""
        counted = _Counting(reader)
        self._write(name, counted.reader(), PARTITIONS.get(name))
        self.rows[name] = self.rows.get(name, 0) + counted.rows


class _Counting:
    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._src = reader
        self.rows = 0

    def reader(self) -> pa.RecordBatchReader:
        def batches() -> Iterator[pa.RecordBatch]:
            for batch in self._src:
                self.rows += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self._src.schema, batches())


def export_store(
    con: duckdb.DuckDBPyConnection, out: str | Path, *, force: bool = False
) -> dict[str, int]:
    """Write the store's canonical tables as a Parquet dataset at ``out``; rows per table.

    Streams each table in record batches (memory does not grow with the store).
    """
    have = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    with DatasetWriter(out, force=force) as writer:
        for name in CANONICAL_SOURCES:
            if name not in have:
                continue
            schema = arrow_schema(name)
            cols = ", ".join(
                f'CAST(t."{f.name}" AS {_sql_type(f.type)}) AS "{f.name}"' for f in schema
            )
            partition = PARTITIONS.get(name)
            if name == "order_items":
                sql = (
                    f"SELECT {cols}, strftime(o.order_ts AT TIME ZONE 'UTC', '%Y-%m')"
                    f" AS {partition} FROM order_items AS t"
                    " LEFT JOIN orders AS o ON o.order_id = t.order_id"
                )
            elif partition:
                ts = "order_ts" if name == "orders" else "event_ts"
                sql = (
                    f"SELECT {cols}, strftime(t.{ts} AT TIME ZONE 'UTC', '%Y-%m') AS {partition}"
                    f" FROM {name} AS t"
                )
            else:
                sql = f"SELECT {cols} FROM {name} AS t"
            reader = con.sql(sql).to_arrow_reader(256 * 1024)
            target = schema.append(pa.field(partition, pa.string())) if partition else schema
            writer.write_query(name, _cast_reader(reader, target))
        return dict(writer.rows)


def _sql_type(t: pa.DataType) -> str:
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision}, {t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    return {
        pa.string(): "VARCHAR",
        pa.int32(): "INTEGER",
        pa.int16(): "SMALLINT",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
    }[t]


def _cast_reader(reader: pa.RecordBatchReader, schema: pa.Schema) -> pa.RecordBatchReader:
    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield batch.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, batches())
