"""The contract between readers and the import pipeline: a source staged as text.

Every reader (CSV, Parquet, Excel, JSON lines, ...) stages what it read as a TEMP
table whose columns are all VARCHAR, named as in the source header, plus ``__row``:
where the record is in the source, for error messages. Parsing (numbers, dates),
mapping to the canonical tables and cleaning happen later, in SQL, where every bad
value can be counted and reported with its file, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROW_COLUMN = "__row"


@dataclass(frozen=True)
class RawTable:
    """A source file (or one sheet of it) staged on a connection as text."""

    table: str
    """TEMP table name: every source column VARCHAR, plus ``__row`` BIGINT."""
    source: str
    """How messages name it: ``orders.csv``, ``book.xlsx[Sheet1]``."""
    columns: tuple[str, ...]
    """Source column names in file order (without ``__row``)."""
    rows: int
    """Data rows read, before any cleaning."""
    row_kind: str = "line"
    """What ``__row`` counts: ``line`` (line in a text file, the header is line 1) or
    ``row`` (record number in Parquet/JSON lines, sheet row in Excel)."""
    unsaved_formulas: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Excel: column -> (cells holding a formula without a saved value, first such row).
    Those cells are staged empty; the cleaning refuses them in a mapped column."""
